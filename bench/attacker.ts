/**
 * The hostile-document bench's attacker (./hostileDocuments.ts), in a process of its own that the
 * bench runs at the lowest CPU priority (nice 19). Why: the attacker's load generator shares a
 * core with the latency probe (./latencyProbe.ts), and what the bench asks is what the attack does
 * to the gateway, not how much the attacker's own request building delays the probe's timers.
 * The gateway, on its own core, sees exactly the same requests at the same rate.
 *
 * Input: one JSON argument, `{ url, query, variables, headers, rate, connections, seconds }`; every
 * request's text differs (a trailing comment), so no cache of parsed or refused documents helps.
 * Output: one JSON line, the attacker's latencies.
 */
import { fixedRate } from './fixedRate';

interface AttackerInput {
  url: string;
  query: string;
  variables?: Record<string, unknown>;
  headers: Record<string, string>;
  rate: number;
  connections: number;
  seconds: number;
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2]) as AttackerInput;
  const result = await fixedRate(input.url, {
    method: 'POST',
    bodyFor: (n) => JSON.stringify({ query: `${input.query}\n# ${n}`, variables: input.variables }),
    headers: input.headers,
    rate: input.rate,
    connections: input.connections,
    seconds: input.seconds,
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
