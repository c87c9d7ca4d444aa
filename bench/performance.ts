/**
 * Issue 7 benchmark suite: `npm run bench` (a few minutes), JSON on stdout.
 *
 * Servers (gateway, emulator, the bare-Apollo ceiling, redis-server) run as separate processes
 * pinned to core 0 (BENCH_SERVER_CPU); this process, the load generator (autocannon), is pinned
 * to core 1 by the npm script. Every ratio is against a baseline measured in the same run.
 */
import Redis from 'ioredis';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { DAY_MS, HOUR_MS } from '../src/reports/intervals';
import { METRICS } from '../src/reports/metrics';
import { startRedisServer } from '../test/helpers/redisServer';
import { DIST, emulatorControl, gatewayEnvFor, load, postGraphQL, startEmulator, startGatewayProcess, startNode, type LoadResult } from './harness';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const TEN_FIELDS = `statsTime closed inbound { callsOffered callsHandled callsAbandoned handleRate serviceLevel20 averageWaitTime averageTalkTime maxWaitTime } overall { totalCalls occupancyRate }`;
const ALL_FIELDS = `statsTime closed ${(['inbound', 'outbound', 'overall'] as const).map((g) => `${g} { ${METRICS[g].map((m) => m.name).join(' ')} }`).join(' ')}`;

function reportField(alias: string, instanceId: string, start: number, end: number, interval: string, selection: string): string {
  return `${alias}: intervalInstanceReport(instanceId: "${instanceId}", startTime: ${start}, endTime: ${end}, interval: ${interval}) { ${selection} }`;
}

interface Fixture {
  field: string;
  args: Record<string, unknown>;
  result: unknown;
}

async function main(): Promise<void> {
  const redis = await startRedisServer();
  const emulator = await startEmulator();
  const gatewayEnv = gatewayEnvFor(emulator.url, { REDIS_URL: redis.url, NODE_ENV: 'production', AUTH_ALLOW_OFF_IN_PRODUCTION: 'true', MAX_BUCKETS_PER_FIELD: '50000', OPERATION_MAX_COST: '200000', RATE_LIMIT_PER_SECOND: '0' });
  const gateway = await startGatewayProcess(gatewayEnv, process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []);

  const now = Date.now();
  const hour = Math.floor(now / HOUR_MS) * HOUR_MS;
  const closedEnd = hour - DAY_MS;
  const instances5 = ['ccc-test', 'ccc-demo-1', 'ccc-demo-2', 'ccc-demo-3', 'ccc-demo-4'];
  const queries = {
    dashboard1: `{ ${reportField('r0', 'ccc-test', hour - 7 * DAY_MS + HOUR_MS, now, 'HOURLY', TEN_FIELDS)} }`,
    dashboard5: `{ ${instances5.map((id, i) => reportField(`r${i}`, id, hour - 7 * DAY_MS + HOUR_MS, now, 'HOURLY', TEN_FIELDS)).join(' ')} }`,
    closed1: `{ ${reportField('r0', 'ccc-test', closedEnd - 7 * DAY_MS, closedEnd, 'HOURLY', TEN_FIELDS)} }`,
    large: `{ ${Array.from({ length: 50 }, (_, i) => reportField(`r${i}`, `ccc-sim-large-${i}`, closedEnd - 31 * DAY_MS, closedEnd - 1, 'DAILY', '...AllFields')).join(' ')} } fragment AllFields on IntervalReport { ${ALL_FIELDS} }`,
  };

  // Warm the cache and record the gateway's answers: the ceiling serves exactly these.
  const fixtures: Fixture[] = [];
  const firstAnswers: Record<string, string> = {};
  for (const [name, query] of Object.entries(queries)) {
    const answer = await postGraphQL(gateway.url, query);
    firstAnswers[name] = JSON.stringify(answer.data);
    if (answer.errors) throw new Error(`warm-up failed: ${JSON.stringify(answer.errors).slice(0, 500)}`);
    for (const match of query.matchAll(/(r\d+): intervalInstanceReport\(instanceId: "([^"]+)", startTime: (\d+), endTime: (\d+), interval: (\w+)\)/g)) {
      fixtures.push({
        field: 'intervalInstanceReport',
        args: { instanceId: match[2], startTime: Number(match[3]), endTime: Number(match[4]), interval: match[5] },
        result: answer.data[match[1]],
      });
    }
  }
  const fixturesFile = join(os.tmpdir(), `ceiling-fixtures-${process.pid}.json`);
  writeFileSync(fixturesFile, JSON.stringify(fixtures));
  const ceiling = await startNode(join(DIST, 'bench/ceilingServer.js'), { CEILING_FIXTURES: fixturesFile }, /ceiling listening on (http:\/\/[^\s]+)/);

  // Identical answers, checked once per query before measuring.
  for (const [name, query] of Object.entries(queries)) {
    const [g, c] = await Promise.all([postGraphQL(gateway.url, query), postGraphQL(ceiling.url, query)]);
    if (JSON.stringify(g.data) !== JSON.stringify(c.data)) throw new Error(`${name}: gateway and ceiling answers differ`);
  }

  const compare = async (name: string, query: string, connections: number[]) => {
    const body = JSON.stringify({ query });
    const rows = [];
    for (const c of connections) {
      const ceilingResult = await load(ceiling.url, body, c, DURATION_S);
      const gatewayResult = await load(gateway.url, body, c, DURATION_S);
      rows.push({
        connections: c,
        gateway: gatewayResult,
        ceiling: ceilingResult,
        throughputRatio: +(gatewayResult.requestsPerSecond / ceilingResult.requestsPerSecond).toFixed(2),
        p99Ratio: +(gatewayResult.p99Ms / Math.max(ceilingResult.p99Ms, 1)).toFixed(2),
      });
    }
    return { scenario: name, rows };
  };

  const results: Record<string, unknown> = {};
  // BENCH_ONLY=warmDashboard,closedRangeRepeat runs just those scenarios (a quick before/after).
  const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
  const runs = (scenario: string) => !only || only.includes(scenario);
  if (runs('warmDashboard')) results.warmDashboard = [
    await compare('7-day HOURLY, 10 fields, 1 instance, ending now', queries.dashboard1, [1, 10, 50]),
    await compare('7-day HOURLY, 10 fields, 5 instances, ending now', queries.dashboard5, [1, 10, 50]),
  ];
  if (runs('closedRangeRepeat')) results.closedRangeRepeat = await compare('7-day HOURLY, 10 fields, closed range', queries.closed1, [10, 50]);
  const closedCheck = await postGraphQL(gateway.url, queries.closed1);
  // After thousands of repeats, the answer is still byte for byte the first one computed.
  results.closedRangeAnswerStillExact = JSON.stringify(closedCheck.data) === firstAnswers.closed1;

  if (only && !only.some((s) => !['warmDashboard', 'closedRangeRepeat'].includes(s))) return finish();
  const large = await compare('50 instances x 31 DAILY x 82 fields', queries.large, [1]);
  // The same, executed every time: the debug header bypasses the response cache.
  const largeExecuted = await load(gateway.url, JSON.stringify({ query: queries.large }), 1, DURATION_S, { 'x-gateway-debug': '1' });
  // One connection: mean latency per bucket of the answer.
  const perBucket = (r: LoadResult) => +((r.meanMs * 1000) / 1550).toFixed(2);
  results.largeAnswer = {
    ...large,
    gatewayExecutedEachTime: largeExecuted,
    microsecondsPerBucket: {
      gatewayResponseCache: perBucket(large.rows[0].gateway),
      gatewayExecuted: perBucket(largeExecuted),
      ceiling: perBucket(large.rows[0].ceiling),
    },
  };

  // Cold fetch: 179.9 days of HOURLY (4,318 buckets, 18 calls) with upstream answering in 200 ms.
  await emulatorControl(emulator.url, 'options', { latencyMs: 200 });
  await emulatorControl(emulator.url, 'reset');
  const coldId = `ccc-sim-cold-${process.pid}`;
  const coldQuery = `{ ${reportField('r0', coldId, hour - 179 * DAY_MS - 20 * HOUR_MS, hour - 2 * HOUR_MS, 'HOURLY', 'statsTime')} }`;
  const coldStart = performance.now();
  const cold = await postGraphQL(gateway.url, coldQuery);
  const coldMs = performance.now() - coldStart;
  const coldStats = await emulatorControl(emulator.url, 'stats');
  const concurrency = 4;
  const bound = 200 * Math.ceil(coldStats.callsReceived / concurrency);
  results.coldFetch = {
    failed: Boolean(cold.errors),
    upstreamCalls: coldStats.callsReceived,
    upstreamConcurrency: concurrency,
    wallMs: Math.round(coldMs),
    boundMs: bound,
    ratioToBound: +(coldMs / bound).toFixed(2),
  };

  // Stampede: 500 concurrent identical cold operations.
  await emulatorControl(emulator.url, 'reset');
  const stampedeQuery = `{ ${reportField('r0', `ccc-sim-stampede-${process.pid}`, closedEnd - 25 * DAY_MS, closedEnd, 'HOURLY', TEN_FIELDS)} }`;
  const latencies: number[] = [];
  const answers = await Promise.all(
    Array.from({ length: 500 }, async () => {
      const t = performance.now();
      const a = await postGraphQL(gateway.url, stampedeQuery);
      latencies.push(performance.now() - t);
      return a;
    }),
  );
  latencies.sort((a, b) => a - b);
  const stampedeStats = await emulatorControl(emulator.url, 'stats');
  results.stampede = {
    operations: 500,
    failed: answers.filter((a) => a.errors).length,
    upstreamCalls: stampedeStats.callsReceived,
    plannedCalls: 3,
    p50Ms: Math.round(latencies[249]),
    p99Ms: Math.round(latencies[494]),
  };
  await emulatorControl(emulator.url, 'options', { latencyMs: 0 });

  // Cost of caching: Redis round trips per operation (debug extension) and bytes per report.
  const debug = { 'x-gateway-debug': '1' };
  const coldRoundTrips = await postGraphQL(gateway.url, `{ ${reportField('r0', `ccc-sim-rt-${process.pid}`, closedEnd - 7 * DAY_MS, closedEnd, 'HOURLY', 'statsTime')} }`, undefined, debug);
  await postGraphQL(gateway.url, queries.dashboard1); // refresh the open hour if its TTL passed
  const warmRoundTrips = await postGraphQL(gateway.url, queries.dashboard1, undefined, debug);
  const client = new Redis(redis.url);
  const keys = await client.keys('ccc:v1:{ccc-test}:H:*');
  const sizes = (await Promise.all(keys.map((k) => client.memory('USAGE', k)))).map(Number).sort((a, b) => a - b);
  client.disconnect();
  const trips = (t: any) => t && t.sharedReads + t.sharedWrites + t.leaseRoundTrips;
  results.costOfCaching = {
    redisRoundTripsColdOperation: trips(coldRoundTrips.extensions?.gateway),
    redisRoundTripsWarmOperation: trips(warmRoundTrips.extensions?.gateway) ?? 0,
    bytesPerCachedHourlyReport: { median: sizes[Math.floor(sizes.length / 2)], max: sizes.at(-1), keys: sizes.length },
  };

  return finish();
  async function finish(): Promise<void> {
    console.log(JSON.stringify({ machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, serverCpu: process.env.BENCH_SERVER_CPU ?? '0', durationSeconds: DURATION_S }, ...results }, null, 2));
    await Promise.all([gateway.stop(), ceiling.stop(), emulator.stop()]);
    if (!redis.external) await redis.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
