/**
 * Fair upstream scheduling, measured (issue 10, section 2): while caller A's operation waits for
 * 2,000 cold upstream calls, how long does caller B's one-call operation take, compared with the
 * same operation when B is alone? Prints JSON.
 *
 *   npm run bench:fairness
 *   FAIRNESS_SAMPLES=20 FAIRNESS_UPSTREAM_LATENCY_MS=50 npm run bench:fairness
 *
 * Processes (bench/harness): the gateway pinned to BENCH_SERVER_CPU (0), the CCC emulator to
 * BENCH_UPSTREAM_CPU (1) with a fixed latency per answer. Callers are told apart by their tokens
 * (AUTH_MODE=jwt, HS256), as in production. Every B operation reads a fresh instance, so each is
 * exactly one cold upstream call; A reads 20 x 100 fresh instances, one cold hour each.
 */
import { SignJWT } from 'jose';
import os from 'node:os';
import { DAY_MS, HOUR_MS } from '../src/reports/intervals';
import { emulatorControl, gatewayEnvFor, postGraphQL, SERVER_CPU, startEmulator, startGatewayProcess } from './harness';

const SAMPLES = Number(process.env.FAIRNESS_SAMPLES ?? 15);
const LATENCY_MS = Number(process.env.FAIRNESS_UPSTREAM_LATENCY_MS ?? 20);
const CONCURRENCY = 4;
const ALIASES = 20;
const PER_ALIAS = 100;
const SECRET = 'fairness-bench-secret-0123456789abcdef';

const token = (sub: string) =>
  new SignJWT({ sub, ccc_instances: '*' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));

function summary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => +sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(1);
  return { samples: sorted.length, medianMs: at(0.5), p90Ms: at(0.9), maxMs: +sorted[sorted.length - 1].toFixed(1) };
}

async function main(): Promise<void> {
  const emulator = await startEmulator({ EMULATOR_LATENCY_MS: String(LATENCY_MS) });
  const gateway = await startGatewayProcess(
    gatewayEnvFor(emulator.url, {
      AUTH_MODE: 'jwt',
      AUTH_JWT_SECRET: SECRET,
      UPSTREAM_CONCURRENCY: String(CONCURRENCY),
      MAX_INSTANCES_PER_FIELD: String(PER_ALIAS),
      RATE_LIMIT_PER_SECOND: '0',
      RESPONSE_CACHE_MAX_BYTES: '0',
    }),
  );
  const a = { authorization: `Bearer ${await token('caller-a')}` };
  const b = { authorization: `Bearer ${await token('caller-b')}` };
  // One closed hour two days ago: final, one upstream call per instance.
  const start = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 2 * DAY_MS;
  const end = start + HOUR_MS;
  const one = (instanceId: string) =>
    `{ r: intervalInstanceReport(instanceId: "${instanceId}", interval: HOURLY, startTime: ${start}, endTime: ${end}) { statsTime inbound { callsOffered } } }`;
  let sequence = 0;
  const timedOne = async (tag: string): Promise<number> => {
    const t0 = performance.now();
    const answer = await postGraphQL(gateway.url, one(`ccc-sim-fair-${tag}-${sequence++}`), undefined, b);
    if (answer.errors) throw new Error(`B's operation failed: ${JSON.stringify(answer.errors)}`);
    return performance.now() - t0;
  };

  // Warm-up (JIT, connections), then B alone.
  for (let i = 0; i < 5; i++) await timedOne('warmup');
  const alone: number[] = [];
  for (let i = 0; i < SAMPLES; i++) alone.push(await timedOne('alone'));

  // A's 2,000 cold calls, then B again while they are queued.
  const variables = Object.fromEntries(
    Array.from({ length: ALIASES }, (_, k) => [`ids${k}`, Array.from({ length: PER_ALIAS }, (_, i) => `ccc-sim-fair-a-${k * PER_ALIAS + i}`)]),
  );
  const big = `query Big(${Array.from({ length: ALIASES }, (_, k) => `$ids${k}: [ID!]!`).join(', ')}) { ${Array.from(
    { length: ALIASES },
    (_, k) => `a${k}: combinedIntervalReport(instanceIds: $ids${k}, interval: HOURLY, startTime: ${start}, endTime: ${end}) { statsTime }`,
  ).join(' ')} }`;
  await emulatorControl(emulator.url, 'reset');
  const aStarted = performance.now();
  let aDoneAt: number | undefined;
  const aOperation = postGraphQL(gateway.url, big, variables, a).then((answer) => {
    aDoneAt = performance.now();
    return answer;
  });
  // Wait until A's calls are flowing (the queue then holds nearly all of them).
  while (((await emulatorControl(emulator.url, 'stats')) as { callsReceived: number }).callsReceived < 50) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const contended: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    contended.push(await timedOne('contended'));
    if (aDoneAt !== undefined) break;
  }
  const bFinishedAt = performance.now();
  const aAnswer = await aOperation;
  if (aAnswer.errors) throw new Error(`A's operation failed: ${JSON.stringify(aAnswer.errors).slice(0, 500)}`);
  const upstream = (await emulatorControl(emulator.url, 'stats')) as { callsReceived: number };

  const aloneSummary = summary(alone);
  const contendedSummary = summary(contended);
  console.log(
    JSON.stringify(
      {
        config: {
          upstreamLatencyMs: LATENCY_MS,
          upstreamConcurrency: CONCURRENCY,
          callerACalls: ALIASES * PER_ALIAS,
          samples: SAMPLES,
          machine: { cpus: os.cpus().length, node: process.version, serverCpu: SERVER_CPU },
        },
        callerBAlone: aloneSummary,
        callerBDuringA: contendedSummary,
        ratioMedian: +(contendedSummary.medianMs / aloneSummary.medianMs).toFixed(2),
        ratioP90: +(contendedSummary.p90Ms / aloneSummary.p90Ms).toFixed(2),
        callerA: {
          totalMs: Math.round((aDoneAt ?? performance.now()) - aStarted),
          // Every B sample must have run while A was still waiting for upstream.
          stillRunningWhenBFinished: aDoneAt === undefined || aDoneAt > bFinishedAt,
          upstreamCallsReceived: upstream.callsReceived,
        },
      },
      null,
      2,
    ),
  );
  await Promise.all([gateway.stop(), emulator.stop()]);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
