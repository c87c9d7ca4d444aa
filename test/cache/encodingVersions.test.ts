/**
 * Encoding versions: a new version of the bucket encoding reads every older one, a catalog change
 * never breaks version 1, and `npm run migrate` moves old keys and rewrites old encodings in place,
 * idempotently, resumable after a SIGKILL. Against a real, throwaway redis-server.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Redis from 'ioredis';
import { BUCKET_CODEC, createBucketCodec, EMPTY_BUCKET, ENCODING_V1, encodeBucket } from '../../src/cache/bucketCodec';
import { bucketKey, legacyBucketKey } from '../../src/cache/bucketKeys';
import { positionalEncoding, type LayoutRow } from '../../src/cache/codec/positionalEncoding';
import { V1_LAYOUT } from '../../src/cache/codec/v1Layout';
import { migrateBuckets } from '../../src/cache/maintenance/migrateBuckets';
import { RedisBucketStore } from '../../src/cache/RedisBucketStore';
import { createRedisConnection } from '../../src/cache/redisConnection';
import { PROJECT_ROOT } from '../../src/config/paths';
import type { BucketRef } from '../../src/reports/BucketStore';
import type { BucketSeries } from '../../src/reports/buckets';
import { METRIC_GROUPS, METRICS, type ReportBucket } from '../../src/reports/metrics';
import { normalizeBucket } from '../../src/upstream/normalizeReport';
import { startRedisServer, type TestRedisServer } from '../helpers/redisServer';
import { SEED_JSON_TEXT } from '../helpers/seed';

const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 0, 1);
const SLOTS = METRIC_GROUPS.flatMap((group) => METRICS[group].map((metric) => ({ group, metric })));
const silent = { warn: () => undefined, info: () => undefined };

/** Every catalog metric of both buckets is the same number (Object.is: -0 and NaN included). */
function differences(actual: ReportBucket | null | undefined, expected: ReportBucket | null): string[] {
  if (expected === null || actual === null || actual === undefined) return actual === expected ? [] : [`bucket ${String(actual)} vs ${String(expected)}`];
  return SLOTS.filter(({ group, metric }) => !Object.is(actual[group][metric.name], expected[group][metric.name])).map(
    ({ group, metric }) => `${group}.${metric.name}: ${actual[group][metric.name]} vs ${expected[group][metric.name]}`,
  );
}

/** Deterministic buckets of every shape the encoding has a case for: integers, derived averages, rates, literals, nulls, no traffic. */
function sampleBucket(statsTime: number, seed: number): ReportBucket | null {
  if (seed % 7 === 3) return null;
  let state = seed * 2654435761;
  const next = (max: number) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % (max + 1);
  };
  const bucket: ReportBucket = { statsTime, inbound: {}, outbound: {}, overall: {} };
  for (const group of METRIC_GROUPS) {
    const byUpstream = new Map(METRICS[group].map((m) => [m.upstreamName, m.name]));
    for (const metric of METRICS[group]) {
      if (metric.kind === 'count') bucket[group][metric.name] = next(60);
      if (metric.kind === 'total' || metric.kind === 'max') bucket[group][metric.name] = next(20_000);
    }
    for (const metric of METRICS[group]) {
      const numerator = bucket[group][byUpstream.get(metric.numerator ?? '') ?? ''] ?? null;
      const denominator = bucket[group][byUpstream.get(metric.denominator ?? '') ?? ''] ?? null;
      if (metric.kind === 'average') {
        const exact = numerator === null ? null : numerator / (denominator ?? 1 + next(30));
        // Sometimes rounded up, as upstream does: a literal in the encoding.
        bucket[group][metric.name] = exact === null || !Number.isFinite(exact) ? null : seed % 3 === 0 ? Math.ceil(exact) : exact;
      }
      if (metric.kind === 'ratio') bucket[group][metric.name] = denominator ? next(denominator) / denominator : seed % 2 ? null : 0;
    }
  }
  if (seed % 5 === 1) bucket.inbound.serviceLevel20 = 0.123456789; // not derivable: a literal
  return bucket;
}

/** Version 2 as a test introduces it: the same metrics in another order (a catalog reordering). */
const V2_LAYOUT: readonly LayoutRow[] = [...V1_LAYOUT].sort((a, b) => a[2].localeCompare(b[2]) || a[1].localeCompare(b[1]) || a[0].localeCompare(b[0]));
const ENCODING_V2 = positionalEncoding('2', V2_LAYOUT);
const UPGRADED = createBucketCodec({ current: ENCODING_V2, older: [ENCODING_V1] });

describe('encoding versions (no Redis)', () => {
  it('version 1 is a frozen copy of the catalog order it was written for', () => {
    // Never changes: values written in version 1 are read by this table forever.
    const layout = V1_LAYOUT.map(([group, upstreamName, kind]) => `${group}.${upstreamName}:${kind}`).join(',');
    expect(V1_LAYOUT).toHaveLength(82);
    expect(createHash('sha256').update(layout).digest('hex').slice(0, 16)).toBe('45e395e48686e030');
    expect(Object.isFrozen(V1_LAYOUT)).toBe(true);
  });

  it('the current version holds exactly the current catalog (a catalog change needs a new version)', () => {
    // If this fails, the catalog changed: freeze a copy of it as a new layout, register it as a
    // new version in src/cache/bucketCodec.ts with the old one among the readable ones.
    const current = BUCKET_CODEC.currentVersion === '1' ? V1_LAYOUT : undefined;
    expect(current).toBeDefined();
    expect(current!.map(([group, upstreamName, kind]) => `${group}.${upstreamName}:${kind}`)).toEqual(
      SLOTS.map(({ group, metric }) => `${group}.${metric.upstreamName}:${metric.kind}`),
    );
  });

  it('a codec with version 2 current writes 2 and reads 1 and 2 exactly', () => {
    for (let seed = 0; seed < 60; seed++) {
      const bucket = sampleBucket(T0, seed);
      const v1 = encodeBucket(bucket);
      const v2 = UPGRADED.encode(bucket);
      if (bucket !== null) {
        expect(v1.charAt(0)).toBe('1');
        expect(v2.charAt(0)).toBe('2');
        expect(v2).not.toBe(v1);
      }
      expect(differences(UPGRADED.decode(v1, T0), bucket)).toEqual([]);
      expect(differences(UPGRADED.decode(v2, T0), bucket)).toEqual([]);
    }
    expect(UPGRADED.readableVersions).toEqual(['1', '2']);
    // The old codec does not read the new version: a downgrade is a miss (refetched), never a wrong number.
    expect(() => BUCKET_CODEC.decode(UPGRADED.encode(sampleBucket(T0, 1)), T0)).toThrow(/format version "2"/);
  });

  it('version 1 still decodes after the catalog changed: reordered, a metric renamed (old name kept as alias), a metric added', () => {
    const seed = normalizeBucket(JSON.parse(SEED_JSON_TEXT).Data[0]);
    const samples = [seed, sampleBucket(T0, 1)!, sampleBucket(T0, 2)!];
    const written = samples.map((bucket) => encodeBucket(bucket)); // by today's version 1
    jest.isolateModules(() => {
      jest.doMock('../../src/reports/metrics', () => {
        const actual = jest.requireActual('../../src/reports/metrics');
        const renamed = (m: any) =>
          m.upstreamName === 'CallsHandled' ? { ...m, upstreamName: 'CallsAnsweredByAgent', name: 'callsAnsweredByAgent', aliases: ['CallsHandled'] } : m;
        const added = { ...actual.METRICS.inbound[0], upstreamName: 'CallsVoicemail', name: 'callsVoicemail', kind: 'count', type: 'Long', aliases: undefined };
        return {
          ...actual,
          METRICS: {
            inbound: [added, ...[...actual.METRICS.inbound].reverse().map(renamed)],
            outbound: [...actual.METRICS.outbound].reverse(),
            overall: actual.METRICS.overall,
          },
        };
      });
      const changed = require('../../src/cache/bucketCodec') as typeof import('../../src/cache/bucketCodec');
      written.forEach((text, i) => {
        const decoded = changed.decodeBucket(text, T0)!;
        const expected = samples[i];
        expect(decoded.inbound.callsAnsweredByAgent).toBe(expected.inbound.callsHandled);
        expect(decoded.inbound.callsVoicemail).toBeNull(); // version 1 never stored it
        const { callsHandled: _handled, ...expectedInbound } = expected.inbound;
        const { callsAnsweredByAgent: _answered, callsVoicemail: _voicemail, ...decodedInbound } = decoded.inbound;
        for (const [name, value] of Object.entries(expectedInbound)) expect(Object.is(decodedInbound[name], value)).toBe(true);
        for (const group of ['outbound', 'overall'] as const) {
          for (const [name, value] of Object.entries(expected[group])) expect(Object.is(decoded[group][name], value)).toBe(true);
        }
      });
    });
  });
});

describe('encoding versions in Redis: upgrade and migrate', () => {
  let server: TestRedisServer;
  let redis: Redis;
  const prefix = 'ccc:';
  const series: BucketSeries[] = [
    { instanceId: 'ccc-old-1', interval: 'HOURLY', zone: 'UTC' },
    { instanceId: 'ccc-old-2', interval: 'DAILY', zone: 'Asia/Shanghai' },
  ];

  beforeAll(async () => {
    server = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction'] });
    redis = createRedisConnection({ url: server.url, commandTimeoutMs: 5_000 }) as Redis;
    await new Promise((resolve) => redis.once('ready', resolve));
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });
  beforeEach(async () => {
    await redis.flushall();
  });

  /** Writes buckets as a gateway of the version-1 era did: version-1 encoding under the version-1 key. */
  async function writeAsVersion1(count: number): Promise<{ refs: BucketRef[]; buckets: (ReportBucket | null)[] }> {
    const refs: BucketRef[] = [];
    const buckets: (ReportBucket | null)[] = [];
    const pipeline = redis.pipeline();
    for (let i = 0; i < count; i++) {
      const s = series[i % series.length];
      const statsTime = T0 + Math.floor(i / series.length) * (s.interval === 'HOURLY' ? HOUR : 24 * HOUR);
      const bucket = sampleBucket(statsTime, i);
      refs.push({ series: s, statsTime });
      buckets.push(bucket);
      // Exactly what the version-1 writer stored: flag F, then the encoding, at `ccc:v1:{...}`.
      pipeline.set(legacyBucketKey(prefix, s, statsTime), `F${bucket === null ? EMPTY_BUCKET : ENCODING_V1.encode(bucket)}`);
    }
    await pipeline.exec();
    return { refs, buckets };
  }

  async function keyCount(pattern: string): Promise<number> {
    return (await redis.keys(pattern)).length;
  }

  it('stores version-1 data, upgrades to version 2, reads it back exactly; migrate rewrites it in place and is idempotent', async () => {
    const { refs, buckets } = await writeAsVersion1(200);
    // An open snapshot of the version-1 era too: it keeps its expiry through the move.
    const openRef = { series: series[0], statsTime: T0 + 1000 * HOUR };
    await redis.set(legacyBucketKey(prefix, openRef.series, openRef.statsTime), `O${(12345).toString(36)}.${encodeBucket(sampleBucket(openRef.statsTime, 4))}`, 'PX', 600_000);

    // The upgrade: a gateway whose current encoding is version 2.
    const upgraded = new RedisBucketStore({ redis, logger: silent, keyPrefix: prefix, codec: UPGRADED });
    const before = await upgraded.getMany(refs);
    before.forEach((stored, i) => {
      expect(stored?.final).toBe(true);
      expect(differences(stored?.data, buckets[i])).toEqual([]);
    });
    // It writes version 2 under the version-less key.
    await upgraded.setMany([{ ...refs[0], value: { final: true, data: buckets[0] } }]);
    expect((await redis.get(bucketKey(prefix, refs[0].series, refs[0].statsTime)))!.charAt(1)).toBe(buckets[0] === null ? '0' : '2');

    const first = await migrateBuckets({ redis, keyPrefix: prefix, codec: UPGRADED, batchSize: 50 });
    expect(first.undecodable).toBe(0);
    expect(first.moved).toBe(201); // every legacy key, the one already rewritten by the gateway included (its old copy dropped)
    expect(await keyCount(`${prefix}v1:*`)).toBe(0);
    expect(await keyCount(`${prefix}b:*`)).toBe(201);
    // Every value now in version 2 (or the no-traffic marker, which has no version).
    for (const key of await redis.keys(`${prefix}b:*`)) expect((await redis.get(key))!).toMatch(/^(F2|F0$|O[0-9a-z]+\.2)/);
    expect(await redis.pttl(bucketKey(prefix, openRef.series, openRef.statsTime))).toBeGreaterThan(500_000);
    expect(await redis.pttl(bucketKey(prefix, refs[1].series, refs[1].statsTime))).toBe(-1);

    // Read back exactly, now without any look at legacy keys.
    const migratedStore = new RedisBucketStore({ redis, logger: silent, keyPrefix: prefix, codec: UPGRADED, readLegacyKeys: false });
    const after = await migratedStore.getMany(refs);
    after.forEach((stored, i) => expect(differences(stored?.data, buckets[i])).toEqual([]));
    const open = (await migratedStore.getMany([openRef]))[0];
    expect(open).toMatchObject({ final: false, fetchedAt: 12345 });

    // Idempotent: a second run finds nothing to do and changes no byte.
    const snapshot = new Map(await Promise.all((await redis.keys(`${prefix}b:*`)).map(async (k) => [k, await redis.get(k)] as const)));
    const second = await migrateBuckets({ redis, keyPrefix: prefix, codec: UPGRADED, batchSize: 50 });
    expect(second).toMatchObject({ moved: 0, reencoded: 0, undecodable: 0, resumed: false });
    for (const [key, value] of snapshot) expect(await redis.get(key)).toBe(value);
    expect(await keyCount(`${prefix}migrate:*`)).toBe(0);
  });

  it('a migration killed with SIGKILL midway continues from its saved cursor when rerun, and loses nothing', async () => {
    const { refs } = await writeAsVersion1(4_000);
    const original = new Map<string, string | null>();
    for (const ref of refs) original.set(bucketKey(prefix, ref.series, ref.statsTime), await redis.get(legacyBucketKey(prefix, ref.series, ref.statsTime)));

    const run = (killAfterBatches?: number) =>
      new Promise<{ lines: any[]; signal: NodeJS.Signals | null; code: number | null }>((resolve, reject) => {
        const child = spawn(process.execPath, ['-r', join(PROJECT_ROOT, 'test/helpers/runTs.js'), join(PROJECT_ROOT, 'src/cli/migrate.ts'), '--batch', '20'], {
          cwd: PROJECT_ROOT,
          env: { PATH: process.env.PATH, REDIS_URL: server.url, LOG_LEVEL: 'silent' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const lines: any[] = [];
        let pending = '';
        let stderr = '';
        child.stderr.on('data', (chunk) => (stderr += chunk));
        child.stdout.on('data', (chunk: Buffer) => {
          pending += chunk.toString();
          let newline: number;
          while ((newline = pending.indexOf('\n')) >= 0) {
            lines.push(JSON.parse(pending.slice(0, newline)));
            pending = pending.slice(newline + 1);
            if (killAfterBatches !== undefined && lines.length === killAfterBatches) child.kill('SIGKILL');
          }
        });
        child.once('error', reject);
        child.once('exit', (code, signal) => (code !== null && code !== 0 ? reject(new Error(`migrate exited ${code}: ${stderr}`)) : resolve({ lines, signal, code })));
      });

    const killed = await run(3);
    expect(killed.signal).toBe('SIGKILL');
    const legacyLeft = await keyCount(`${prefix}v1:*`);
    // Midway: some moved, some not, and the cursor of the last finished batch saved.
    expect(legacyLeft).toBeGreaterThan(0);
    expect(legacyLeft).toBeLessThan(4_000);
    expect(await keyCount(`${prefix}migrate:keys:*`)).toBe(1);

    const rerun = await run();
    const done = rerun.lines.at(-1);
    expect(done).toMatchObject({ event: 'done', resumed: true, undecodable: 0 });
    // It continued: it did not scan all 4,000 keys again (the killed run's batches were not redone).
    const keysScanned = rerun.lines.filter((l) => l.event === 'batch' && l.phase === 'keys').reduce((n, l) => n + l.scanned, 0);
    expect(keysScanned).toBeLessThan(4_000);
    expect(await keyCount(`${prefix}v1:*`)).toBe(0);
    // Nothing lost, not a byte changed (version 1 is current: the values move as they are).
    expect(await keyCount(`${prefix}b:*`)).toBe(4_000);
    for (const [key, value] of original) expect(await redis.get(key)).toBe(value);

    const third = await run();
    expect(third.lines.at(-1)).toMatchObject({ event: 'done', moved: 0, reencoded: 0, resumed: false });
  });
});
