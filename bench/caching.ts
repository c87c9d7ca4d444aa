/**
 * Issue 3 benchmark: what caching saves. Prints JSON.
 *
 *   npm run bench:caching
 *
 * Upstream calls per operation (counted by the emulator), Redis round trips per operation (from
 * the gateway's debug extension), bytes per cached hourly report (Redis MEMORY USAGE), and the
 * warm-cache throughput of a 7-day HOURLY dashboard against the same gateway with caching off,
 * all in one run.
 */
import Redis from 'ioredis';
import { DAY_MS, HOUR_MS } from '../src/reports/intervals';
import { startRedisServer } from '../test/helpers/redisServer';
import { emulatorControl, gatewayEnvFor, load, postGraphQL, startEmulator, startGatewayProcess } from './harness';

const DASHBOARD = `query($id: ID!, $s: Timestamp!, $e: Timestamp!) {
  intervalInstanceReport(instanceId: $id, startTime: $s, endTime: $e, interval: HOURLY) {
    statsTime closed inbound { callsOffered callsHandled callsAbandoned handleRate serviceLevel20 averageWaitTime averageTalkTime maxWaitTime } overall { totalCalls occupancyRate }
  }
}`;
const DEBUG = { 'x-gateway-debug': '1' };
const UPSTREAM_LATENCY_MS = 100;

async function main(): Promise<void> {
  const redis = await startRedisServer();
  const emulator = await startEmulator();
  // One client address sends everything here: rate limiting off, as in bench/performance.ts.
  const cached = await startGatewayProcess(gatewayEnvFor(emulator.url, { REDIS_URL: redis.url, RATE_LIMIT_PER_SECOND: '0' }));
  const uncached = await startGatewayProcess(gatewayEnvFor(emulator.url, { CACHE_ENABLED: 'false', RATE_LIMIT_PER_SECOND: '0' }));
  const client = new Redis(redis.url);
  const hour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  const day = hour - 2 * DAY_MS;

  async function scenario(name: string, run: () => Promise<any[]>) {
    await emulatorControl(emulator.url, 'reset');
    const answers = await run();
    const stats = await emulatorControl(emulator.url, 'stats');
    const traces = answers.map((a) => a.extensions?.gateway).filter(Boolean);
    const failed = answers.filter((a) => a.errors).length;
    return {
      scenario: name,
      operations: answers.length,
      failedOperations: failed,
      upstreamCalls: stats.callsReceived,
      upstreamCallsPerOperation: stats.callsReceived / answers.length,
      redisRoundTripsPerOperation: traces.reduce((n, t) => n + t.sharedReads + t.sharedWrites + t.leaseRoundTrips, 0) / traces.length,
    };
  }

  const range25 = { id: 'ccc-test', s: day - 25 * DAY_MS, e: day };
  const results = [];
  results.push(await scenario('cold 25-day HOURLY, closed', async () => [await postGraphQL(cached.url, DASHBOARD, range25, DEBUG)]));
  results.push(await scenario('same range again (warm)', async () => [await postGraphQL(cached.url, DASHBOARD, range25, DEBUG)]));
  const aliases = Array.from({ length: 20 }, (_, i) => {
    const s = day - (40 - 2 * i) * DAY_MS + (i % 5) * HOUR_MS;
    return `a${i}: intervalInstanceReport(instanceId: "ccc-demo-${(i % 3) + 1}", interval: HOURLY, startTime: ${s}, endTime: ${s + (3 + (i % 7)) * DAY_MS}) { statsTime }`;
  });
  results.push(await scenario('20 aliases, 3 instances, overlapping (cold)', async () => [await postGraphQL(cached.url, `{ ${aliases.join('\n')} }`, undefined, DEBUG)]));
  await emulatorControl(emulator.url, 'options', { latencyMs: 100 });
  const stampedeRange = { id: 'ccc-demo-4', s: day - 25 * DAY_MS, e: day };
  results.push(
    await scenario('500 concurrent identical cold operations', () =>
      Promise.all(Array.from({ length: 500 }, () => postGraphQL(cached.url, DASHBOARD, stampedeRange, DEBUG))),
    ),
  );
  await emulatorControl(emulator.url, 'options', { latencyMs: 0 });
  const untilNow = { id: 'ccc-demo-5', s: hour - 7 * DAY_MS, e: Date.now() };
  await postGraphQL(cached.url, DASHBOARD, untilNow);
  results.push(await scenario('7 days ending now, warm (open hour within TTL)', async () => [await postGraphQL(cached.url, DASHBOARD, untilNow, DEBUG)]));

  // Bytes per cached hourly report: MEMORY USAGE of every key of one instance's 25 days.
  const keys = await client.keys('ccc:*{ccc-test}*');
  const sizes = (await Promise.all(keys.map((k) => client.memory('USAGE', k)))).map(Number).sort((a, b) => a - b);
  const bytes = { keys: keys.length, medianBytes: sizes[Math.floor(sizes.length / 2)], maxBytes: sizes.at(-1), meanBytes: Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length) };

  // Warm throughput: 7-day dashboard (168 buckets, 10 fields), closed range. Upstream answers in
  // UPSTREAM_LATENCY_MS (the real service takes hundreds of ms; the emulator would otherwise
  // answer from its own in-memory simulation as fast as a cache).
  const week = { id: 'ccc-test', s: day - 7 * DAY_MS, e: day };
  await postGraphQL(cached.url, DASHBOARD, week);
  await emulatorControl(emulator.url, 'options', { latencyMs: UPSTREAM_LATENCY_MS });
  const body = JSON.stringify({ query: DASHBOARD, variables: week });
  const withCache = await load(cached.url, body, 10, 5);
  const withoutCache = await load(uncached.url, body, 10, 5);

  console.log(
    JSON.stringify(
      {
        machine: { cpus: (await import('node:os')).cpus().length, node: process.version, serverCpu: process.env.BENCH_SERVER_CPU ?? '0' },
        upstreamAndRedis: results,
        bytesPerCachedHourlyReport: bytes,
        warmDashboard7DayHourly: { note: 'closed range: with caching on, answers come from the response cache', upstreamLatencyMs: UPSTREAM_LATENCY_MS, cachingOn: withCache, cachingOff: withoutCache, ratio: +(withCache.requestsPerSecond / withoutCache.requestsPerSecond).toFixed(1) },
      },
      null,
      2,
    ),
  );
  client.disconnect();
  await Promise.all([cached.stop(), uncached.stop(), emulator.stop()]);
  if (!redis.external) await redis.stop();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
