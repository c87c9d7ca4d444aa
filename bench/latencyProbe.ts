/**
 * The hostile-document bench's observer (./hostileDocuments.ts), in a process of its own: polls
 * `/healthz` and runs the normal dashboard query, each at a fixed rate, and prints their latencies
 * as one JSON line. A process of its own so that what it measures is the gateway, not the queueing
 * inside the load generator's event loop (which sends the attacker's 50 requests a second).
 *
 * Input: one JSON argument, `{ healthzUrl, graphqlUrl, dashboardBody, dashboardHeaders, rate, seconds }`.
 * Output: a line `ready` when it starts sending, then `{ healthz, dashboard }`.
 */
import { fixedRate } from './fixedRate';

interface ProbeInput {
  healthzUrl: string;
  graphqlUrl: string;
  dashboardBody: string;
  dashboardHeaders: Record<string, string>;
  rate: number;
  seconds: number;
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2]) as ProbeInput;
  const running = Promise.all([
    fixedRate(input.healthzUrl, { method: 'GET', rate: input.rate, connections: 2, seconds: input.seconds }),
    fixedRate(input.graphqlUrl, { method: 'POST', body: input.dashboardBody, headers: input.dashboardHeaders, rate: input.rate, connections: 2, seconds: input.seconds }),
  ]);
  process.stdout.write('ready\n');
  const [healthz, dashboard] = await running;
  process.stdout.write(`${JSON.stringify({ healthz, dashboard })}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
