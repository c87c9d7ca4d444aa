/**
 * The archive's cost to live operations, measured (issue 13, section 2): the latency of a live
 * cold operation (30 days of HOURLY buckets of a fresh instance: 3 upstream calls) alone, and
 * while the archive backfills other instances, at the default pace (30 calls a minute) and
 * unpaced (back to back: the worst case the scheduler's background class has to absorb). Also the
 * time and calls of one instance's full backfill at the emulator's latency. Prints JSON.
 *
 *   npm run bench:archive
 *   ARCHIVE_BENCH_SAMPLES=20 ARCHIVE_BENCH_UPSTREAM_LATENCY_MS=100 npm run bench:archive
 *
 * Processes (bench/harness): the gateway pinned to BENCH_SERVER_CPU, the emulator to
 * BENCH_UPSTREAM_CPU with a fixed latency per answer, a throwaway redis-server.
 */
import os from 'node:os';
import { DAY_MS, HOUR_MS } from '../src/reports/intervals';
import { startRedisServer } from '../test/helpers/redisServer';
import { emulatorControl, gatewayEnvFor, postGraphQL, startEmulator, startGatewayProcess, type Started } from './harness';
import Redis from 'ioredis';
import { UpstreamScheduler } from '../src/reports/UpstreamScheduler';

/**
 * The scheduler's share alone, without the emulator's CPU: an upstream of pure timers (a fixed
 * latency, no work), 4 slots, a live operation of 18 calls (180 days of HOURLY) while an unpaced
 * archive keeps one call going after another, with the archive in the background class (as
 * built) and, for comparison, as an ordinary caller.
 */
async function schedulerOnly(latencyMs: number, samples: number) {
  const upstream = () => new Promise<void>((resolve) => setTimeout(resolve, latencyMs));
  const scenario = async (archive: 'none' | 'background' | 'ordinary caller') => {
    const scheduler = new UpstreamScheduler({ maxConcurrency: CONCURRENCY });
    if (archive === 'background') scheduler.runInBackground('archive');
    let stop = archive === 'none';
    const archiveLoop = (async () => {
      while (!stop) await scheduler.schedule('archive', upstream).result;
    })();
    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) {
      await new Promise((resolve) => setTimeout(resolve, latencyMs / 3)); // land at varied moments of the archive's call
      const t0 = performance.now();
      await Promise.all(Array.from({ length: 18 }, () => scheduler.schedule('live', upstream).result));
      latencies.push(performance.now() - t0);
    }
    stop = true;
    await archiveLoop;
    return summary(latencies);
  };
  const alone = await scenario('none');
  const background = await scenario('background');
  const ordinary = await scenario('ordinary caller');
  return {
    liveOperation: '18 upstream calls at once, 4 slots, upstream of pure timers',
    upstreamLatencyMs: latencyMs,
    alone,
    archiveInBackgroundClass: { ...background, medianRatio: +(background.medianMs / alone.medianMs).toFixed(2) },
    archiveAsOrdinaryCaller: { ...ordinary, medianRatio: +(ordinary.medianMs / alone.medianMs).toFixed(2) },
  };
}

const SAMPLES = Number(process.env.ARCHIVE_BENCH_SAMPLES ?? 15);
const LATENCY_MS = Number(process.env.ARCHIVE_BENCH_UPSTREAM_LATENCY_MS ?? 100);
const ARCHIVED_INSTANCES = Number(process.env.ARCHIVE_BENCH_INSTANCES ?? 10);
const CONCURRENCY = 4;

function summary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => +sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(1);
  return { samples: sorted.length, medianMs: at(0.5), p90Ms: at(0.9), maxMs: +sorted[sorted.length - 1].toFixed(1) };
}

async function metric(gateway: Started, name: string): Promise<number> {
  const text = await (await fetch(gateway.url.replace('/graphql', '/metrics'))).text();
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

async function main(): Promise<void> {
  const redisServer = await startRedisServer();
  const redis = new Redis(redisServer.url);
  const emulator = await startEmulator({ EMULATOR_LATENCY_MS: String(LATENCY_MS) });
  const baseEnv = (extra: Record<string, string>) =>
    gatewayEnvFor(emulator.url, { REDIS_URL: redisServer.url, UPSTREAM_CONCURRENCY: String(CONCURRENCY), RATE_LIMIT_PER_SECOND: '0', RESPONSE_CACHE_MAX_BYTES: '0',
      // A loaded machine (shared cores) answers Redis slower than the 500 ms default; a timed-out
      // archive write fails the pass, which would then wait for the next pass interval.
      REDIS_COMMAND_TIMEOUT_MS: '3000', ...extra });
  const start = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 31 * DAY_MS;
  const end = start + 30 * DAY_MS;
  let run = 0;
  const liveOnce = async (gateway: Started): Promise<number> => {
    const id = `ccc-sim-live-${process.pid}-${run++}`;
    const t0 = performance.now();
    const answer = await postGraphQL(gateway.url, `{ r: intervalInstanceReport(instanceId: "${id}", interval: HOURLY, startTime: ${start}, endTime: ${end}) { statsTime } }`);
    const ms = performance.now() - t0;
    if (answer.errors) throw new Error(JSON.stringify(answer.errors));
    return ms;
  };
  const liveSamples = async (gateway: Started, whileTrue: () => Promise<boolean> = async () => true): Promise<{ latencies: number[]; duringArchive: boolean }> => {
    const latencies: number[] = [];
    let duringArchive = true;
    for (let i = 0; i < SAMPLES; i++) {
      latencies.push(await liveOnce(gateway));
      await new Promise((resolve) => setTimeout(resolve, 300));
      if (!(await whileTrue())) duringArchive = false;
    }
    return { latencies, duringArchive };
  };

  // 1. One instance's backfill, unpaced, at the emulator's latency.
  await redis.flushall();
  await emulatorControl(emulator.url, 'reset');
  let t0 = performance.now();
  const one = await startGatewayProcess(baseEnv({ ARCHIVE_INSTANCES: 'ccc-sim-backfill', ARCHIVE_MAX_CALLS_PER_MINUTE: '1000000', ARCHIVE_PASS_INTERVAL_MS: '600000' }));
  const startedMs = performance.now() - t0;
  t0 = performance.now();
  while ((await metric(one, 'ccc_gateway_archive_buckets_total')) < 180 * 24 - 1 + 179) await new Promise((resolve) => setTimeout(resolve, 20));
  const backfillMs = performance.now() - t0;
  const backfillCalls = (await emulatorControl(emulator.url, 'stats')).log.filter((c: { action: string }) => c.action === 'ListIntervalInstanceReport').length;
  const bytes = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  await one.stop();

  // 2. Live cold operations alone.
  await redis.flushall();
  const alone = await startGatewayProcess(baseEnv({}));
  await liveOnce(alone); // warm-up (connections, JIT)
  const aloneResult = await liveSamples(alone);
  await alone.stop();

  // 3. and 4. The same while the archive backfills ARCHIVED_INSTANCES other instances.
  const archivedList = Array.from({ length: ARCHIVED_INSTANCES }, (_, i) => `ccc-sim-archive-${i}`).join(',');
  const during = async (perMinute: string) => {
    await redis.flushall();
    const gateway = await startGatewayProcess(baseEnv({ ARCHIVE_INSTANCES: archivedList, ARCHIVE_MAX_CALLS_PER_MINUTE: perMinute, ARCHIVE_PASS_INTERVAL_MS: '1000' }));
    await liveOnce(gateway);
    const callsBefore = await metric(gateway, 'ccc_gateway_archive_upstream_calls_total');
    const planned = 19 * ARCHIVED_INSTANCES;
    const result = await liveSamples(gateway, async () => (await metric(gateway, 'ccc_gateway_archive_upstream_calls_total')) < planned);
    const archiveCalls = (await metric(gateway, 'ccc_gateway_archive_upstream_calls_total')) - callsBefore;
    await gateway.stop();
    return { ...summary(result.latencies), archiveCallsDuringSamples: archiveCalls, archiveStillRunningAtEnd: result.duringArchive };
  };
  const paced = await during('30');
  const unpaced = await during('1000000');

  const base = summary(aloneResult.latencies);
  const scheduler = await schedulerOnly(LATENCY_MS, 30);
  console.log(
    JSON.stringify(
      {
        bench: 'archive',
        upstreamLatencyMs: LATENCY_MS,
        upstreamConcurrency: CONCURRENCY,
        liveOperation: '30 days of HOURLY buckets of a fresh instance (3 upstream calls)',
        backfillOneInstance: { calls: backfillCalls, ms: Math.round(backfillMs), gatewayStartMs: Math.round(startedMs), redisUsedMemoryBytes: bytes, pacedAt30PerMinuteMs: Math.round((backfillCalls - 1) * 2_000) },
        liveAlone: base,
        liveDuringBackfillPaced30PerMinute: { ...paced, medianRatio: +(paced.medianMs / base.medianMs).toFixed(2), p90Ratio: +(paced.p90Ms / base.p90Ms).toFixed(2) },
        liveDuringBackfillUnpaced: { ...unpaced, medianRatio: +(unpaced.medianMs / base.medianMs).toFixed(2), p90Ratio: +(unpaced.p90Ms / base.p90Ms).toFixed(2) },
        archivedInstances: ARCHIVED_INSTANCES,
        schedulerOnly: scheduler,
        loadAverage: os.loadavg().map((l) => +l.toFixed(2)),
        cpus: os.cpus().length,
      },
      null,
      2,
    ),
  );
  redis.disconnect();
  await emulator.stop();
  await redisServer.stop();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
