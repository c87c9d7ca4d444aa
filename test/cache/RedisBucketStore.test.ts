/**
 * RedisBucketStore against a real, throwaway redis-server (never the shared one on 6379).
 */
import Redis, { type Cluster } from 'ioredis';
import { bucketKey, legacyBucketKey, RedisBucketStore, type CacheLogger } from '../../src/cache/RedisBucketStore';
import { encodeBucket } from '../../src/cache/bucketCodec';
import { createRedisConnection } from '../../src/cache/redisConnection';
import type { BucketRef, BucketWrite } from '../../src/reports/BucketStore';
import type { BucketSeries } from '../../src/reports/buckets';
import { METRIC_GROUPS, METRICS, type ReportBucket } from '../../src/reports/metrics';
import { createLogger } from '../../src/server/logger';
import { startRedisServer, type TestRedisServer } from '../helpers/redisServer';

const COMMAND_TIMEOUT_MS = 200;
/** Scheduling slack on a loaded CI machine, on top of the command timeout. */
const MARGIN_MS = 150;
const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 2, 3, 0);
/** Outages need a server this file owns; with REDIS_URL (someone else's server) they are skipped. */
const itOwnServer = process.env.REDIS_URL ? it.skip : it;

const hourly = (instanceId: string): BucketSeries => ({ instanceId, interval: 'HOURLY', zone: 'UTC' });
const daily = (instanceId: string): BucketSeries => ({ instanceId, interval: 'DAILY', zone: 'Asia/Shanghai' });

/** Deterministic pseudo-random integers (mulberry32), so a failure reproduces. */
function randomInts(seed: number): (min: number, max: number) => number {
  let state = seed >>> 0;
  return (min, max) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return min + Math.floor(unit * (max - min + 1));
  };
}

/**
 * A busy hour: all 82 metrics non-zero. Counts in the tens, totals in thousands of seconds,
 * maxima in hundreds, averages exactly total / count (count-less averages over a hidden count),
 * rates as fractions of their count (scores up to 5 per survey).
 */
function busyHour(statsTime: number, seed: number): ReportBucket {
  const next = randomInts(seed);
  const bucket: ReportBucket = { statsTime, inbound: {}, outbound: {}, overall: {} };
  for (const group of METRIC_GROUPS) {
    const byUpstream = new Map(METRICS[group].map((m) => [m.upstreamName, m.name]));
    const values = bucket[group];
    for (const metric of METRICS[group]) {
      if (metric.kind === 'count') values[metric.name] = next(10, 99);
      if (metric.kind === 'total') values[metric.name] = next(1_000, 9_999);
      if (metric.kind === 'max') values[metric.name] = next(100, 999);
    }
    for (const metric of METRICS[group]) {
      const numerator = values[byUpstream.get(metric.numerator ?? '') ?? ''] as number;
      const denominator = values[byUpstream.get(metric.denominator ?? '') ?? ''] as number;
      if (metric.kind === 'average') values[metric.name] = numerator / (metric.denominator ? denominator : next(10, 60));
      if (metric.kind === 'ratio') values[metric.name] = next(1, metric.unit === 'score' ? 5 * denominator : denominator) / denominator;
    }
  }
  return bucket;
}

function recordingLogger(): CacheLogger & { warn: jest.Mock; info: jest.Mock } {
  return { warn: jest.fn(), info: jest.fn() };
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Calls per command since the server started, from INFO commandstats. */
async function commandCalls(admin: Redis): Promise<Map<string, number>> {
  const info = await admin.info('commandstats');
  return new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1], Number(m[2])]));
}

describe('RedisBucketStore', () => {
  let server: TestRedisServer;
  let redis: Redis;
  /** A plain client for inspecting the server, outside the store's accounting. */
  let admin: Redis;
  let logger: ReturnType<typeof recordingLogger>;
  let store: RedisBucketStore;
  // A private server can take the real prefix (realistic key length for MEMORY USAGE); a shared one
  // gets a unique prefix so that this run neither sees nor deletes anyone else's keys.
  const keyPrefix = process.env.REDIS_URL ? `test-${process.pid}-${Date.now()}:ccc:` : 'ccc:';

  beforeAll(async () => {
    server = await startRedisServer();
    redis = createRedisConnection({ url: server.url, commandTimeoutMs: COMMAND_TIMEOUT_MS, maxReconnectDelayMs: 100 }) as Redis;
    admin = new Redis(server.url);
    admin.on('error', () => undefined);
    await waitFor(() => redis.status === 'ready', 5_000, 'the store connection');
  });

  beforeEach(() => {
    logger = recordingLogger();
    store = new RedisBucketStore({ redis, logger, keyPrefix });
  });

  afterAll(async () => {
    if (admin?.status === 'ready') {
      // SCAN, not KEYS: on a shared REDIS_URL server, KEYS would block everyone else.
      let cursor = '0';
      do {
        const [next, keys] = await admin.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
        if (keys.length > 0) await admin.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
    redis?.disconnect();
    admin?.disconnect();
    if (server && !server.external) await server.stop();
  });

  it('lays keys out as <prefix>b:{instance}:<H|D>:<zone>:<statsTime>, without the encoding version', () => {
    expect(bucketKey('ccc:', hourly('ccc-test'), 1620291600000)).toBe('ccc:b:{ccc-test}:H:UTC:1620291600000');
    expect(bucketKey('ccc:', daily('ccc-test'), 1620230400000)).toBe('ccc:b:{ccc-test}:D:Asia/Shanghai:1620230400000');
    // Braces and colons in an id cannot move the hash tag or make two series share a key.
    expect(bucketKey('ccc:', hourly('a}b:c'), 0)).toBe('ccc:b:{a%7Db%3Ac}:H:UTC:0');
    // Where version 1 kept them: what a miss also reads until `npm run migrate` has moved them.
    expect(legacyBucketKey('ccc:', hourly('a}b:c'), 0)).toBe('ccc:v1:{a%7Db%3Ac}:H:UTC:0');
  });

  it('reads back what it wrote: final and open, with data and without traffic, in ref order', async () => {
    const busy = busyHour(T0, 1);
    const writes: BucketWrite[] = [
      { series: hourly('ccc-a'), statsTime: T0, value: { data: busy, final: true } },
      { series: hourly('ccc-a'), statsTime: T0 + HOUR, value: { data: null, final: true } },
      { series: hourly('ccc-b'), statsTime: T0, value: { data: busyHour(T0, 2), final: false, fetchedAt: 1_700_000_000_123 }, ttlMs: 60_000 },
      { series: daily('ccc-a'), statsTime: T0, value: { data: busyHour(T0, 3), final: true } },
    ];
    await store.setMany(writes);

    const refs: BucketRef[] = [
      { series: daily('ccc-a'), statsTime: T0 },
      { series: hourly('ccc-b'), statsTime: T0 },
      { series: hourly('ccc-a'), statsTime: T0 + 2 * HOUR }, // never written
      { series: hourly('ccc-a'), statsTime: T0 + HOUR },
      { series: hourly('ccc-a'), statsTime: T0 },
      { series: { ...hourly('ccc-a'), zone: 'Asia/Shanghai' }, statsTime: T0 }, // other zone, other series
    ];
    const answers = await store.getMany(refs);
    expect(answers).toEqual([writes[3].value, writes[2].value, undefined, writes[1].value, writes[0].value, undefined]);
    expect(store.counters).toEqual({ reads: 6, hits: 4, misses: 2, writes: 4, errors: 0, writesRejectedOutOfMemory: 0 });
    expect(store.healthy).toBe(true);
    expect(await store.getMany([])).toEqual([]);
  });

  it('stores final buckets without expiry and open ones with their TTL', async () => {
    const series = hourly('ccc-ttl');
    await store.setMany([
      { series, statsTime: T0, value: { data: busyHour(T0, 4), final: true } },
      { series, statsTime: T0 + HOUR, value: { data: busyHour(T0 + HOUR, 5), final: false, fetchedAt: 1_700_000_000_123 }, ttlMs: 30_000 },
      { series, statsTime: T0 + 2 * HOUR, value: { data: null, final: false, fetchedAt: 1_700_000_000_123 } }, // open without TTL: not stored
    ]);
    expect(await admin.pttl(store.keyOf(series, T0))).toBe(-1);
    const ttl = await admin.pttl(store.keyOf(series, T0 + HOUR));
    expect(ttl).toBeGreaterThan(25_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
    expect(await admin.exists(store.keyOf(series, T0 + 2 * HOUR))).toBe(0);

    // The bucket closes: its final value replaces the snapshot and drops the expiry.
    await store.setMany([{ series, statsTime: T0 + HOUR, value: { data: null, final: true } }]);
    expect(await admin.pttl(store.keyOf(series, T0 + HOUR))).toBe(-1);
    expect(await store.getMany([{ series, statsTime: T0 + HOUR }])).toEqual([{ data: null, final: true }]);
  });

  it('lets open snapshots expire', async () => {
    const series = hourly('ccc-expiry');
    await store.setMany([{ series, statsTime: T0, value: { data: null, final: false, fetchedAt: 1_700_000_000_123 }, ttlMs: 30 }]);
    expect(await store.getMany([{ series, statsTime: T0 }])).toEqual([{ data: null, final: false, fetchedAt: 1_700_000_000_123 }]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await store.getMany([{ series, statsTime: T0 }])).toEqual([undefined]);
  });

  itOwnServer('reads buckets of several instances in one round trip: one pipeline, one MGET per instance', async () => {
    const instances = ['ccc-r1', 'ccc-r2', 'ccc-r3'];
    const refs = instances.flatMap((id) => [0, 1, 2, 3].map((h) => ({ series: hourly(id), statsTime: T0 + h * HOUR })));
    await store.setMany(refs.map((ref) => ({ ...ref, value: { data: busyHour(ref.statsTime, 6), final: true } })));

    const pipeline = jest.spyOn(redis, 'pipeline');
    const before = await commandCalls(admin);
    const answers = await store.getMany(refs);
    const after = await commandCalls(admin);
    const pipelines = pipeline.mock.calls.length;
    pipeline.mockRestore();

    expect(answers.every((answer) => answer?.final === true)).toBe(true);
    expect(pipelines).toBe(1);
    const delta = [...after].map(([name, calls]) => [name, calls - (before.get(name) ?? 0)] as const).filter(([name, n]) => n > 0 && name !== 'info');
    expect(delta).toEqual([['mget', instances.length]]);
  });

  itOwnServer('splits a long read into MGETs of 1,000 keys, still in one pipeline', async () => {
    const refs = Array.from({ length: 2_500 }, (_, h) => ({ series: hourly('ccc-long'), statsTime: T0 + h * HOUR }));
    await store.setMany(refs.slice(0, 10).map((ref) => ({ ...ref, value: { data: null, final: true } })));
    // Misses here: without the look at legacy keys (its own test below), one read is one pipeline.
    store = new RedisBucketStore({ redis, logger, keyPrefix, readLegacyKeys: false });
    const pipeline = jest.spyOn(redis, 'pipeline');
    const before = await commandCalls(admin);
    const answers = await store.getMany(refs);
    const after = await commandCalls(admin);
    const pipelines = pipeline.mock.calls.length;
    pipeline.mockRestore();

    expect(pipelines).toBe(1);
    expect((after.get('mget') ?? 0) - (before.get('mget') ?? 0)).toBe(3);
    expect(answers.filter((answer) => answer !== undefined)).toHaveLength(10);
    expect(answers.slice(0, 10).every((answer) => answer?.data === null)).toBe(true);
  });

  itOwnServer('reads a bucket still under its version-1 key on a miss, and only on a miss (warm reads: one round trip)', async () => {
    const series = hourly('ccc-legacy');
    const refs = [0, 1, 2].map((h) => ({ series, statsTime: T0 + h * HOUR }));
    // Hour 0 where a gateway before this layout wrote it, hour 1 where this one writes, hour 2 nowhere.
    const old = busyHour(refs[0].statsTime, 11);
    await admin.set(legacyBucketKey(keyPrefix, series, refs[0].statsTime), `F${encodeBucket(old)}`);
    await store.setMany([{ ...refs[1], value: { data: busyHour(refs[1].statsTime, 12), final: true } }]);

    const pipeline = jest.spyOn(redis, 'pipeline');
    const answers = await store.getMany(refs);
    const coldPipelines = pipeline.mock.calls.length;
    pipeline.mockClear();
    const warm = await store.getMany([refs[1]]);
    const warmPipelines = pipeline.mock.calls.length;
    pipeline.mockRestore();

    expect(answers[0]).toEqual({ final: true, data: old });
    expect(answers[1]?.final).toBe(true);
    expect(answers[2]).toBeUndefined();
    expect(coldPipelines).toBe(2); // the read, then the legacy keys of the two misses
    expect(warm[0]?.final).toBe(true);
    expect(warmPipelines).toBe(1);
  });

  it('writes all buckets of a batch in one pipeline', async () => {
    const pipeline = jest.spyOn(redis, 'pipeline');
    await store.setMany(
      ['ccc-w1', 'ccc-w2'].map((id) => ({ series: hourly(id), statsTime: T0, value: { data: null, final: true } })),
    );
    const pipelines = pipeline.mock.calls.length;
    pipeline.mockRestore();
    expect(pipelines).toBe(1);
  });

  it('keeps a busy hourly bucket within 400 bytes of Redis memory (MEMORY USAGE, key and value)', async () => {
    const series = hourly('ccc-test');
    const writes: BucketWrite[] = Array.from({ length: 24 }, (_, h) => ({
      series,
      statsTime: T0 + h * HOUR,
      value: { data: busyHour(T0 + h * HOUR, 100 + h), final: true },
    }));
    await store.setMany(writes);
    const usage = await Promise.all(writes.map((w) => admin.call('MEMORY', 'USAGE', store.keyOf(series, w.statsTime)) as Promise<number>));
    expect(Math.max(...usage)).toBeLessThanOrEqual(400);
    // Every metric survived exactly.
    expect(await store.getMany(writes)).toEqual(writes.map((w) => w.value));
  });

  it('answers a miss for an undecodable value, without declaring an outage', async () => {
    const series = hourly('ccc-corrupt');
    await admin.set(store.keyOf(series, T0), 'Fgarbage');
    await admin.set(store.keyOf(series, T0 + HOUR), 'X0');
    expect(await store.getMany([{ series, statsTime: T0 }, { series, statsTime: T0 + HOUR }])).toEqual([undefined, undefined]);
    expect(store.counters).toMatchObject({ reads: 2, hits: 0, misses: 2, errors: 2 });
    expect(store.healthy).toBe(true);
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });

  it('accepts a pino logger', () => {
    // Compile-time check as much as a runtime one: pino's Logger satisfies CacheLogger.
    const pinoLogger = createLogger('silent');
    expect(() => new RedisBucketStore({ redis, logger: pinoLogger })).not.toThrow();
  });

  itOwnServer('answers misses within the timeout while Redis hangs, then recovers by itself', async () => {
    const series = hourly('ccc-pause');
    await store.setMany([{ series, statsTime: T0, value: { data: null, final: true } }]);

    // CLIENT PAUSE blocks every client's commands: a server that accepts but never answers.
    await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
    const started = Date.now();
    const answers = await store.getMany([{ series, statsTime: T0 }]);
    expect(Date.now() - started).toBeLessThan(COMMAND_TIMEOUT_MS + MARGIN_MS);
    expect(answers).toEqual([undefined]);
    const writeStarted = Date.now();
    await store.setMany([{ series, statsTime: T0 + HOUR, value: { data: null, final: true } }]);
    expect(Date.now() - writeStarted).toBeLessThan(COMMAND_TIMEOUT_MS + MARGIN_MS);
    expect(store.healthy).toBe(false);
    expect(logger.warn).toHaveBeenCalledTimes(1);

    await waitFor(async () => (await store.getMany([{ series, statsTime: T0 }]))[0] !== undefined, 5_000, 'the pause to end');
    expect(store.healthy).toBe(true);
    expect(logger.info).toHaveBeenCalledTimes(1);
    expect(logger.info.mock.calls[0][1]).toMatch(/recovered/);
  });

  itOwnServer('survives Redis going away: misses at once, writes resolve, one log per outage, back after restart', async () => {
    const series = hourly('ccc-outage');
    const ref = { series, statsTime: T0 };
    await store.setMany([{ ...ref, value: { data: busyHour(T0, 7), final: true } }]);

    await server.stop();
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      expect(await store.getMany([ref, { series, statsTime: T0 + HOUR }])).toEqual([undefined, undefined]);
      await store.setMany([{ ...ref, value: { data: null, final: true } }]);
      expect(Date.now() - started).toBeLessThan(COMMAND_TIMEOUT_MS + MARGIN_MS);
    }
    expect(store.healthy).toBe(false);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0][1]).toMatch(/unavailable/);
    expect(store.counters.errors).toBe(6);
    expect(logger.info).not.toHaveBeenCalled();

    // Same store, same connection: it reconnects on its own. The restarted server is empty.
    await server.restart();
    await waitFor(() => redis.status === 'ready', 5_000, 'the reconnect');
    const value = { data: busyHour(T0, 8), final: true };
    await store.setMany([{ ...ref, value }]);
    expect(await store.getMany([ref])).toEqual([value]);
    expect(store.healthy).toBe(true);
    expect(logger.info).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });
});

/** Cluster code paths (per-instance commands, routing by hash tag) on a one-node cluster. */
(process.env.REDIS_URL ? describe.skip : describe)('RedisBucketStore on Redis Cluster', () => {
  let server: TestRedisServer;
  let cluster: Cluster;
  let logger: ReturnType<typeof recordingLogger>;
  let store: RedisBucketStore;

  beforeAll(async () => {
    server = await startRedisServer({ cluster: true });
    cluster = createRedisConnection({
      clusterNodes: [{ host: '127.0.0.1', port: server.port }],
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      maxReconnectDelayMs: 100,
    }) as Cluster;
    await waitFor(() => cluster.status === 'ready', 5_000, 'the cluster connection');
  });

  beforeEach(() => {
    logger = recordingLogger();
    store = new RedisBucketStore({ redis: cluster, logger });
  });

  afterAll(async () => {
    cluster?.disconnect();
    if (server) await server.stop();
  });

  it('reads and writes buckets of several instances', async () => {
    const writes: BucketWrite[] = ['ccc-c1', 'ccc-c2', 'ccc-c3'].flatMap((id, n) => [
      { series: hourly(id), statsTime: T0, value: { data: busyHour(T0, n), final: true } },
      { series: daily(id), statsTime: T0, value: { data: null, final: false, fetchedAt: 1_700_000_000_123 }, ttlMs: 60_000 },
    ]);
    await store.setMany(writes);
    const answers = await store.getMany([...writes, { series: hourly('ccc-c1'), statsTime: T0 + HOUR }]);
    expect(answers).toEqual([...writes.map((w) => w.value), undefined]);
    expect(store.counters).toEqual({ reads: 7, hits: 6, misses: 1, writes: 6, errors: 0, writesRejectedOutOfMemory: 0 });
    expect(await cluster.pttl(store.keyOf(hourly('ccc-c1'), T0))).toBe(-1);
  });

  it('answers misses at once while the cluster is down, and recovers after it is back', async () => {
    const ref = { series: hourly('ccc-c-outage'), statsTime: T0 };
    await server.stop();
    let started = Date.now();
    expect(await store.getMany([ref])).toEqual([undefined]);
    expect(Date.now() - started).toBeLessThan(COMMAND_TIMEOUT_MS + MARGIN_MS);
    started = Date.now();
    await store.setMany([{ ...ref, value: { data: null, final: true } }]);
    expect(Date.now() - started).toBeLessThan(COMMAND_TIMEOUT_MS + MARGIN_MS);
    expect(store.healthy).toBe(false);
    expect(logger.warn).toHaveBeenCalledTimes(1);

    await server.restart();
    await waitFor(
      async () => {
        await store.setMany([{ ...ref, value: { data: null, final: true } }]);
        return (await store.getMany([ref]))[0] !== undefined;
      },
      10_000,
      'the cluster client to reconnect',
    );
    expect(store.healthy).toBe(true);
    expect(logger.info).toHaveBeenCalledTimes(1);
  });
});
