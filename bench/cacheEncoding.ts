/**
 * What one cached hourly report costs in Redis, and how fast a week of them is read.
 *
 * Prints JSON:
 *  - bytes per cached hourly bucket (`MEMORY USAGE`: key + value + Redis' bookkeeping) for the
 *    compact encoding (`src/cache/bucketCodec.ts`) against plain `JSON.stringify` of the bucket,
 *    over one simulated week (168 hours) of one instance, with exact averages and with the
 *    rounded-up averages the real service reports;
 *  - the alternative layout, one hash per instance and day, per bucket;
 *  - latency of reading the week (168 keys): raw MGET and `RedisBucketStore.getMany` (which
 *    also decodes), median and p95 over 200 runs;
 *  - encode and decode time per bucket.
 *
 * Run from the repository root (the build only covers src/, and no TS runner is installed):
 *   npx tsc -p tsconfig.json --outDir /tmp/benchbuild && NODE_PATH=$PWD/node_modules node /tmp/benchbuild/bench/cacheEncoding.js
 * (NODE_PATH: the compiled files live outside the repository, away from node_modules.)
 * It starts its own throwaway redis-server (or uses REDIS_URL), never the shared one on 6379.
 */
import Redis from 'ioredis';
import { decodeBucket, encodeBucket } from '../src/cache/bucketCodec';
import { RedisBucketStore } from '../src/cache/RedisBucketStore';
import { createRedisConnection } from '../src/cache/redisConnection';
import type { BucketRef } from '../src/reports/BucketStore';
import type { BucketSeries } from '../src/reports/buckets';
import type { ReportBucket } from '../src/reports/metrics';
import { metricsForPeriod, type AverageRounding } from '../src/emulator/simulator';
import { startRedisServer } from '../test/helpers/redisServer';

const HOUR = 3_600_000;
const WEEK_HOURS = 168;
const LATENCY_RUNS = 200;
/** A Monday, 00:00 UTC. */
const WEEK_START = Date.UTC(2025, 2, 3);
const INSTANCE = 'ccc-bench';

function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function round(value: number, digits = 3): number {
  return Number(value.toFixed(digits));
}

/** SAMPLES 0: every field of a hash, not an estimate from 5 of them. */
async function memoryUsage(redis: Redis, key: string): Promise<number> {
  return (await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) as number;
}

async function timeRuns(runs: number, operation: () => Promise<unknown>): Promise<{ medianMs: number; p95Ms: number }> {
  for (let i = 0; i < 20; i++) await operation(); // warm-up: connection, JIT
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    await operation();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return { medianMs: round(median(times)), p95Ms: round(quantile(times, 0.95)) };
}

function simulatedWeek(averageRounding: AverageRounding): (ReportBucket | null)[] {
  return Array.from({ length: WEEK_HOURS }, (_, h) =>
    metricsForPeriod(INSTANCE, WEEK_START + h * HOUR, WEEK_START + (h + 1) * HOUR, { averageRounding }),
  );
}

async function measureWeek(redis: Redis, store: RedisBucketStore, week: (ReportBucket | null)[], label: string) {
  const series: BucketSeries = { instanceId: `${INSTANCE}-${label}`, interval: 'HOURLY', zone: 'UTC' };
  const statsTimes = week.map((_, h) => WEEK_START + h * HOUR);
  await store.setMany(week.map((data, h) => ({ series, statsTime: statsTimes[h], value: { data, final: true } })));

  // The same buckets as plain JSON under the same key layout (prefix "json:" instead of "ccc:").
  const jsonKeys = statsTimes.map((t) => store.keyOf(series, t).replace(/^ccc:/, 'json:'));
  await redis.mset(...jsonKeys.flatMap((key, h) => [key, JSON.stringify({ data: week[h], final: true })]));

  // The alternative layout: one hash per instance and day, one field per hour.
  const hashKeyOf = (t: number) => `hash:v1:{${series.instanceId}}:H:UTC:${Math.floor(t / (24 * HOUR))}`;
  for (let h = 0; h < WEEK_HOURS; h++) {
    await redis.hset(hashKeyOf(statsTimes[h]), String(statsTimes[h]), `F${encodeBucket(week[h])}`);
  }

  const compact = await Promise.all(statsTimes.map((t) => memoryUsage(redis, store.keyOf(series, t))));
  const json = await Promise.all(jsonKeys.map((key) => memoryUsage(redis, key)));
  const hashDays = [...new Set(statsTimes.map(hashKeyOf))];
  const hashBytes = await Promise.all(hashDays.map((key) => memoryUsage(redis, key)));
  const withTraffic = week.map((data, h) => h).filter((h) => week[h] !== null);
  const pick = (values: number[]) => withTraffic.map((h) => values[h]);
  const valueLengths = withTraffic.map((h) => encodeBucket(week[h]).length + 1);

  return {
    hours: WEEK_HOURS,
    hoursWithTraffic: withTraffic.length,
    compact: {
      medianBytesWithTraffic: median(pick(compact)),
      maxBytesWithTraffic: Math.max(...pick(compact)),
      medianBytesAllHours: median(compact),
      bytesWithoutTraffic: compact[week.indexOf(null)],
      medianValueLength: median(valueLengths),
      maxValueLength: Math.max(...valueLengths),
    },
    json: {
      medianBytesWithTraffic: median(pick(json)),
      medianBytesAllHours: median(json),
      medianValueLength: median(withTraffic.map((h) => JSON.stringify({ data: week[h], final: true }).length)),
    },
    compactVsJson: round(median(pick(json)) / median(pick(compact)), 1),
    hashPerDayAlternative: {
      bytesPerBucket: round(hashBytes.reduce((a, b) => a + b, 0) / WEEK_HOURS, 1),
      stringKeysBytesPerBucket: round(compact.reduce((a, b) => a + b, 0) / WEEK_HOURS, 1),
    },
  };
}

async function main(): Promise<void> {
  const server = await startRedisServer();
  const redis = createRedisConnection({ url: server.url, commandTimeoutMs: 2_000 }) as Redis;
  const admin = new Redis(server.url);
  try {
    await admin.ping();
    while (redis.status !== 'ready') await new Promise((resolve) => setTimeout(resolve, 10));
    const store = new RedisBucketStore({ redis, logger: { warn: console.warn, info: console.info } });

    const exact = simulatedWeek('none');
    const ceil = simulatedWeek('ceil');
    const encoding = {
      exactAverages: await measureWeek(admin, store, exact, 'exact'),
      roundedUpAverages: await measureWeek(admin, store, ceil, 'ceil'),
    };

    const series: BucketSeries = { instanceId: `${INSTANCE}-exact`, interval: 'HOURLY', zone: 'UTC' };
    const refs: BucketRef[] = exact.map((_, h) => ({ series, statsTime: WEEK_START + h * HOUR }));
    const keys = refs.map((ref) => store.keyOf(ref.series, ref.statsTime));
    const latency = {
      keys: keys.length,
      runs: LATENCY_RUNS,
      rawMget: await timeRuns(LATENCY_RUNS, () => redis.mget(keys)),
      storeGetMany: await timeRuns(LATENCY_RUNS, () => store.getMany(refs)),
    };

    const busy = exact.filter((b): b is ReportBucket => b !== null);
    const texts = busy.map((b) => encodeBucket(b));
    const codec = {
      encodeMicrosPerBucket: round((await timeRuns(50, async () => busy.forEach((b) => encodeBucket(b)))).medianMs * 1000 / busy.length, 2),
      decodeMicrosPerBucket: round((await timeRuns(50, async () => texts.forEach((t) => decodeBucket(t, 0)))).medianMs * 1000 / busy.length, 2),
    };

    const redisVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1];
    console.log(JSON.stringify({ redisVersion, encoding, latency, codec, storeCounters: store.counters }, null, 2));
  } finally {
    redis.disconnect();
    admin.disconnect();
    if (!server.external) await server.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
