/**
 * Issue 12, target 3: executed answers per bucket, `npm run bench:executed` (about 2 minutes),
 * JSON on stdout.
 *
 * The large answer of `npm run bench` (50 instances x 31 DAILY buckets x all 82 fields, 1,550
 * buckets), executed every time (`x-gateway-debug: 1` bypasses the response cache), against two
 * gateway processes differing only in `GRAPHQL_EXECUTOR`: `graphql-js` (the baseline: how every
 * operation executed before) and `planned` (report operations from a per-operation plan,
 * src/server/reportExecution.ts).
 * Both are pinned to core 0, warmed, checked to answer identically, then measured in alternating
 * rounds at one connection, so a change in the machine's load hits both alike.
 *
 * BENCH_EXECUTED_ROUNDS (default 5) rounds of BENCH_DURATION_S (default 5) seconds each;
 * BENCH_PROFILE=<dir> starts both gateways with `--cpu-prof` into that directory.
 */
import os from 'node:os';
import { DAY_MS, HOUR_MS } from '../src/reports/intervals';
import { METRICS } from '../src/reports/metrics';
import { startRedisServer } from '../test/helpers/redisServer';
import { gatewayEnvFor, load, postGraphQL, startEmulator, startGatewayProcess, type LoadResult, type Started } from './harness';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const ROUNDS = Number(process.env.BENCH_EXECUTED_ROUNDS ?? 5);
const INSTANCES = 50;
const DAYS = 31;
const ALL_FIELDS = `statsTime closed ${(['inbound', 'outbound', 'overall'] as const).map((g) => `${g} { ${METRICS[g].map((m) => m.name).join(' ')} }`).join(' ')}`;
const EXECUTORS = ['graphql-js', 'planned'] as const;
type Executor = (typeof EXECUTORS)[number];

const round2 = (x: number) => +x.toFixed(2);

async function main(): Promise<void> {
  const loadAverageAtStart = os.loadavg().map(round2);
  const redis = await startRedisServer();
  const emulator = await startEmulator();
  const gateways = {} as Record<Executor, Started>;
  try {
    for (const executor of EXECUTORS) {
      const env = gatewayEnvFor(emulator.url, {
        REDIS_URL: redis.url,
        NODE_ENV: 'production',
        AUTH_ALLOW_OFF_IN_PRODUCTION: 'true',
        MAX_BUCKETS_PER_FIELD: '50000',
        OPERATION_MAX_COST: '200000',
        RATE_LIMIT_PER_SECOND: '0',
        GRAPHQL_EXECUTOR: executor,
      });
      const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`, `--cpu-prof-name=${executor}.cpuprofile`] : [];
      gateways[executor] = await startGatewayProcess(env, profile);
    }

    const closedEnd = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - DAY_MS;
    const fields = Array.from(
      { length: INSTANCES },
      (_, i) => `r${i}: intervalInstanceReport(instanceId: "ccc-sim-large-${i}", startTime: ${closedEnd - DAYS * DAY_MS}, endTime: ${closedEnd - 1}, interval: DAILY) { ...AllFields }`,
    );
    const query = `{ ${fields.join(' ')} } fragment AllFields on IntervalReport { ${ALL_FIELDS} }`;
    const body = JSON.stringify({ query });
    const debug = { 'x-gateway-debug': '1' };

    // Warm: the first answer fills the caches (upstream), the next ones compile and settle V8.
    const answers: Record<string, string> = {};
    for (const executor of EXECUTORS) {
      const first = await postGraphQL(gateways[executor].url, query);
      if (first.errors) throw new Error(`warm-up failed (${executor}): ${JSON.stringify(first.errors).slice(0, 500)}`);
      await load(gateways[executor].url, body, 1, 2, debug);
      const executed = await postGraphQL(gateways[executor].url, query, undefined, debug);
      if (executed.errors) throw new Error(`executed answer failed (${executor}): ${JSON.stringify(executed.errors).slice(0, 500)}`);
      answers[executor] = JSON.stringify(executed.data);
    }
    const answersIdentical = answers['graphql-js'] === answers.planned;
    if (!answersIdentical) throw new Error('the graphql-js and planned gateways answered differently');
    // About 50 x 31: a range not on the zone's day boundaries takes the buckets it touches, whole.
    const buckets = Object.values(JSON.parse(answers.planned) as Record<string, unknown[]>).reduce((n, rows) => n + rows.length, 0);

    const rounds: Record<Executor, LoadResult>[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const results = {} as Record<Executor, LoadResult>;
      // Alternate which goes first, so neither always follows the other's garbage.
      for (const executor of round % 2 === 0 ? EXECUTORS : [...EXECUTORS].reverse()) {
        results[executor] = await load(gateways[executor].url, body, 1, DURATION_S, debug);
      }
      rounds.push(results);
    }
    const perBucket = (r: LoadResult) => (r.meanMs * 1000) / buckets;
    // Medians: on a shared machine a burst of someone else's load lands in one round, not all.
    const median = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    };
    const medianPerBucket = (executor: Executor) => round2(median(rounds.map((r) => perBucket(r[executor]))));
    const speedupPerRound = rounds.map((r) => round2(perBucket(r['graphql-js']) / perBucket(r.planned)));
    const speedup = round2(median(speedupPerRound));
    const failed = rounds.reduce((n, r) => n + EXECUTORS.reduce((m, e) => m + r[e].errors + r[e].non2xx, 0), 0);
    console.log(
      JSON.stringify(
        {
          scenario: `${INSTANCES} instances x ${DAYS} DAILY x 82 fields (${buckets} buckets), executed each time, 1 connection`,
          answersIdentical,
          failedRequests: failed,
          // Median over the rounds, per executor.
          microsecondsPerBucket: { graphqlJs: medianPerBucket('graphql-js'), planned: medianPerBucket('planned') },
          // graphql-js over planned, per round (measured back to back), and their median.
          speedupPerRound,
          speedup,
          target: { speedup: 2, holds: speedup >= 2, what: 'issue 12, target 3: executed answers >= 2x faster per bucket' },
          rounds: rounds.map((r) => ({
            graphqlJs: { usPerBucket: round2(perBucket(r['graphql-js'])), requestsPerSecond: r['graphql-js'].requestsPerSecond, p99Ms: r['graphql-js'].p99Ms },
            planned: { usPerBucket: round2(perBucket(r.planned)), requestsPerSecond: r.planned.requestsPerSecond, p99Ms: r.planned.p99Ms },
          })),
          machine: { cpus: os.cpus().length, node: process.version, loadAverageAtStart, loadAverageAtEnd: os.loadavg().map(round2), durationSeconds: DURATION_S },
        },
        null,
        2,
      ),
    );
  } finally {
    await Promise.all(Object.values(gateways).map((g) => g.stop()));
    await emulator.stop();
    await redis.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
