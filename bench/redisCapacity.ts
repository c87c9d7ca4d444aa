/**
 * How much Redis memory (and AOF disk) the archive of closed buckets needs: measured bytes per
 * HOURLY and DAILY bucket on a real redis-server, per instance per year, and the `maxmemory` to
 * set for 10, 100 and 1,000 instances. Prints JSON.
 *
 * What is stored: one simulated year of several instances (the emulator's deterministic traffic,
 * business hours in Asia/Shanghai, quiet nights stored as the one-character no-traffic marker),
 * written through the gateway's own `RedisBucketStore` (key layout, encoding, no expiry), so the
 * figures are what the gateway stores. Measured two ways:
 *  - `used_memory` delta / buckets: everything Redis spends, the keyspace's hash table included;
 *  - `MEMORY USAGE` per key (median), for comparison with earlier figures.
 * Then, with the AOF on (as docker-compose runs it), the AOF directory's size after a rewrite.
 *
 * `maxmemory` to set = data x HEADROOM, rounded up: the headroom covers open snapshots (one per
 * instance and series, expiring), leases, APQ entries and rate-limit keys, allocator fragmentation
 * and the growth of the keyspace's hash table, which doubles in steps.
 *
 *   npm run bench:capacity            # BENCH_INSTANCES=4 BENCH_YEAR=2025 by default
 * It starts its own throwaway redis-server, never the shared one on 6379.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import Redis from 'ioredis';
import { RedisBucketStore } from '../src/cache/RedisBucketStore';
import { createRedisConnection } from '../src/cache/redisConnection';
import { metricsForPeriod } from '../src/emulator/simulator';
import type { BucketWrite } from '../src/reports/BucketStore';
import type { BucketSeries } from '../src/reports/buckets';
import { bucketStartsInRange, nextBucketStart } from '../src/reports/intervals';
import { startRedisServer } from '../test/helpers/redisServer';

const HOUR = 3_600_000;
const ZONE = 'Asia/Shanghai';
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 4);
const YEAR = Number(process.env.BENCH_YEAR ?? 2025);
const HEADROOM = 1.3;
const SCALES = [10, 100, 1_000];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await dirBytes(path) : (await stat(path)).size;
  }
  return total;
}

function mib(bytes: number): number {
  return Math.round((bytes / 2 ** 20) * 10) / 10;
}

/** A `maxmemory` an operator can type: GiB rounded up to a tenth, or MiB rounded up to 64. */
function maxmemorySetting(bytes: number): string {
  const withHeadroom = bytes * HEADROOM;
  if (withHeadroom >= 2 ** 30) return `${Math.ceil((withHeadroom / 2 ** 30) * 10) / 10}gb`;
  return `${Math.max(64, Math.ceil(withHeadroom / 2 ** 20 / 64) * 64)}mb`;
}

async function main(): Promise<void> {
  const server = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction', '--appendonly', 'yes', '--appendfsync', 'everysec'] });
  const redis = createRedisConnection({ url: server.url, commandTimeoutMs: 30_000 }) as Redis;
  await new Promise((resolve) => redis.once('ready', resolve));
  const store = new RedisBucketStore({ redis, logger: { warn: () => undefined, info: () => undefined }, keyPrefix: 'ccc:', timeoutMs: 30_000 });
  const from = Date.UTC(YEAR, 0, 1) - 8 * HOUR; // the year in Asia/Shanghai
  const to = Date.UTC(YEAR + 1, 0, 1) - 8 * HOUR;

  const measure = async (interval: 'HOURLY' | 'DAILY') => {
    const before = await usedMemory(redis);
    const sampleKeys: string[] = [];
    let buckets = 0;
    let withoutTraffic = 0;
    for (let i = 1; i <= INSTANCES; i++) {
      // Real-looking ids of ordinary length (the key holds it twice: hash tag only once, but the
      // id's length adds to every key).
      const series: BucketSeries = { instanceId: `ccc-sim-capacity-${i}`, interval, zone: interval === 'HOURLY' ? 'UTC' : ZONE };
      const starts = bucketStartsInRange(from, to, interval, series.zone);
      const writes: BucketWrite[] = starts.map((statsTime) => {
        const data = metricsForPeriod(series.instanceId, statsTime, nextBucketStart(statsTime, interval, series.zone), { timeZone: ZONE, averageRounding: 'ceil' });
        if (data === null) withoutTraffic++;
        return { series, statsTime, value: { final: true, data } };
      });
      for (let k = 0; k < writes.length; k += 1_000) await store.setMany(writes.slice(k, k + 1_000));
      buckets += writes.length;
      sampleKeys.push(...starts.filter((_, k) => k % 7 === 0).map((t) => store.keyOf(series, t)));
    }
    const delta = (await usedMemory(redis)) - before;
    const usage = await Promise.all(sampleKeys.map((key) => redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0') as Promise<number>));
    return {
      buckets,
      bucketsPerInstancePerYear: buckets / INSTANCES,
      shareWithoutTraffic: Math.round((withoutTraffic / buckets) * 1000) / 1000,
      bytesPerBucketUsedMemory: Math.round(delta / buckets),
      bytesPerBucketMemoryUsageMedian: median(usage),
    };
  };

  const hourly = await measure('HOURLY');
  const daily = await measure('DAILY');
  const keys = await redis.dbsize();
  if (keys !== hourly.buckets + daily.buckets) throw new Error(`expected ${hourly.buckets + daily.buckets} keys, found ${keys}`);

  // The AOF after a rewrite (RDB preamble + nothing since): the disk the data takes.
  await redis.call('BGREWRITEAOF');
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const info = await redis.info('persistence');
    if (/aof_rewrite_in_progress:0/.test(info) && /aof_rewrite_scheduled:0/.test(info)) break;
  }
  const dir = ((await redis.config('GET', 'dir')) as string[])[1];
  const appendDir = ((await redis.config('GET', 'appenddirname')) as string[])[1];
  const aofBytes = await dirBytes(join(dir, appendDir));

  const perInstancePerYear = hourly.bytesPerBucketUsedMemory * hourly.bucketsPerInstancePerYear + daily.bytesPerBucketUsedMemory * daily.bucketsPerInstancePerYear;
  const aofPerInstancePerYear = aofBytes / INSTANCES;
  const version = /redis_version:(\S+)/.exec(await redis.info('server'))![1];

  console.log(
    JSON.stringify(
      {
        redisVersion: version,
        instancesSimulated: INSTANCES,
        year: YEAR,
        hourly,
        daily,
        perInstancePerYear: {
          memoryBytes: Math.round(perInstancePerYear),
          memoryMiB: mib(perInstancePerYear),
          aofBytesAfterRewrite: Math.round(aofPerInstancePerYear),
        },
        headroom: HEADROOM,
        capacity: SCALES.map((instances) => ({
          instances,
          memoryMiBPerYear: mib(perInstancePerYear * instances),
          aofMiBPerYear: mib(aofPerInstancePerYear * instances),
          maxmemoryOneYear: maxmemorySetting(perInstancePerYear * instances),
          maxmemoryThreeYears: maxmemorySetting(3 * perInstancePerYear * instances),
        })),
      },
      null,
      2,
    ),
  );
  redis.disconnect();
  await server.stop();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
