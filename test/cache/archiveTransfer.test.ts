/**
 * `archive:export` and `archive:import`, as processes, against two real, throwaway redis-servers:
 * export -> import into an empty server -> export again gives the same bytes, and the buckets read
 * back through the store are the same numbers (Object.is).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { BadBucketLine, bucketToLine, lineToBucket } from '../../src/cache/archiveTransfer/bucketLines';
import { encodeBucket } from '../../src/cache/bucketCodec';
import { legacyBucketKey } from '../../src/cache/bucketKeys';
import { RedisBucketStore } from '../../src/cache/RedisBucketStore';
import { createRedisConnection } from '../../src/cache/redisConnection';
import { PROJECT_ROOT } from '../../src/config/paths';
import type { BucketRef, BucketWrite } from '../../src/reports/BucketStore';
import type { BucketSeries } from '../../src/reports/buckets';
import { METRIC_GROUPS, METRICS, type ReportBucket } from '../../src/reports/metrics';
import { normalizeBucket } from '../../src/upstream/normalizeReport';
import { startRedisServer, type TestRedisServer } from '../helpers/redisServer';
import { SEED_JSON_TEXT } from '../helpers/seed';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2025, 5, 1);
const SLOTS = METRIC_GROUPS.flatMap((group) => METRICS[group].map((metric) => ({ group, metric })));
const silent = { warn: () => undefined, info: () => undefined };
const hourly: BucketSeries = { instanceId: 'ccc-export', interval: 'HOURLY', zone: 'UTC' };
const daily: BucketSeries = { instanceId: 'ccc-export', interval: 'DAILY', zone: 'Asia/Shanghai' };
const other: BucketSeries = { instanceId: 'ccc-other', interval: 'HOURLY', zone: 'UTC' };

const seed = normalizeBucket(JSON.parse(SEED_JSON_TEXT).Data[0]);

/** The seed bucket at another time, with some metrics changed so buckets differ. */
function bucketAt(statsTime: number, i: number): ReportBucket | null {
  if (i % 9 === 4) return null; // no traffic
  const bucket: ReportBucket = { statsTime, inbound: { ...seed.inbound }, outbound: { ...seed.outbound }, overall: { ...seed.overall } };
  bucket.inbound.callsOffered = 7 + i;
  bucket.inbound.totalTalkTime = 447 * (i + 1);
  bucket.inbound.averageTalkTime = (447 * (i + 1)) / 7;
  bucket.inbound.serviceLevel20 = i % 4 === 0 ? 0.1 + i / 1000 : 1;
  if (i % 5 === 2) bucket.outbound.answerRate = null;
  return bucket;
}

function differences(actual: ReportBucket | null | undefined, expected: ReportBucket | null): string[] {
  if (expected === null || actual === null || actual === undefined) return actual === expected ? [] : ['bucket'];
  return SLOTS.filter(({ group, metric }) => !Object.is(actual[group][metric.name], expected[group][metric.name])).map(({ group, metric }) => `${group}.${metric.name}`);
}

const exec = promisify(execFile);
function runTool(tool: 'archiveExport' | 'archiveImport', args: string[], redisUrl: string) {
  return exec(process.execPath, ['-r', join(PROJECT_ROOT, 'test/helpers/runTs.js'), join(PROJECT_ROOT, `src/cli/${tool}.ts`), ...args], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, REDIS_URL: redisUrl, LOG_LEVEL: 'silent' },
  });
}

describe('NDJSON bucket lines', () => {
  it('use the API field names and read back exactly, -0, NaN and infinities included', () => {
    const odd = bucketAt(T0, 0)!;
    odd.inbound.callsAbandoned = -0;
    odd.inbound.handleRate = Number.NaN;
    odd.overall.totalLoggedInTime = Number.POSITIVE_INFINITY;
    odd.overall.averageBreakTime = 1000 / 3;
    odd.outbound.maxTalkTime = 2 ** 53;
    const line = bucketToLine({ series: hourly, statsTime: T0, data: odd });
    expect(line.startsWith(`{"InstanceId":"ccc-export","Interval":"HOURLY","TimeZone":"UTC","StatsTime":${T0},"Inbound":{"AbandonedRate":`)).toBe(true);
    expect(line).toContain('"CallsAbandoned":-0,');
    expect(line).toContain('"HandleRate":"NaN"');
    expect(Object.keys(JSON.parse(line).Overall)).toEqual(METRICS.overall.map((m) => m.upstreamName));
    const back = lineToBucket(line);
    expect(back.series).toEqual(hourly);
    expect(differences(back.data, odd)).toEqual([]);
    expect(bucketToLine(back)).toBe(line);
    expect(lineToBucket(bucketToLine({ series: daily, statsTime: T0, data: null }))).toEqual({ series: daily, statsTime: T0, data: null });
  });

  it.each([
    ['not JSON', '{"InstanceId":', /not JSON/],
    ['an unknown metric', bucketToLine({ series: hourly, statsTime: T0, data: bucketAt(T0, 0) }).replace('"CallsOffered"', '"CallsOfferd"'), /unknown metric Inbound\.CallsOfferd/],
    ['a metric as text', bucketToLine({ series: hourly, statsTime: T0, data: bucketAt(T0, 0) }).replace('"CallsOffered":7', '"CallsOffered":"7"'), /Inbound\.CallsOffered is "7"/],
    ['a bad interval', '{"InstanceId":"a","Interval":"WEEKLY","TimeZone":"UTC","StatsTime":0,"NoTraffic":true}', /Interval "WEEKLY"/],
    ['a bad zone', '{"InstanceId":"a","Interval":"DAILY","TimeZone":"Mars/Olympus","StatsTime":0,"NoTraffic":true}', /TimeZone/],
    ['a missing group', '{"InstanceId":"a","Interval":"DAILY","TimeZone":"UTC","StatsTime":0,"Inbound":{}}', /Outbound is missing/],
  ])('refuse %s, saying what is wrong', (_, line, message) => {
    expect(() => lineToBucket(line)).toThrow(BadBucketLine);
    expect(() => lineToBucket(line)).toThrow(message);
  });
});

describe('archive:export and archive:import', () => {
  let source: TestRedisServer;
  let target: TestRedisServer;
  let sourceRedis: Redis;
  let targetRedis: Redis;
  let dir: string;
  const written: { ref: BucketRef; data: ReportBucket | null }[] = [];

  beforeAll(async () => {
    [source, target] = await Promise.all([startRedisServer(), startRedisServer()]);
    sourceRedis = createRedisConnection({ url: source.url, commandTimeoutMs: 5_000 }) as Redis;
    targetRedis = createRedisConnection({ url: target.url, commandTimeoutMs: 5_000 }) as Redis;
    await Promise.all([sourceRedis, targetRedis].map((r) => new Promise((resolve) => r.once('ready', resolve))));
    dir = await mkdtemp(join(os.tmpdir(), 'archive-transfer-'));

    const store = new RedisBucketStore({ redis: sourceRedis, logger: silent, keyPrefix: 'ccc:' });
    const writes: BucketWrite[] = [];
    for (let h = 0; h < 72; h++) writes.push({ series: hourly, statsTime: T0 + h * HOUR, value: { final: true, data: bucketAt(T0 + h * HOUR, h) } });
    for (let d = 0; d < 10; d++) writes.push({ series: daily, statsTime: T0 - 8 * HOUR + d * DAY, value: { final: true, data: bucketAt(T0 - 8 * HOUR + d * DAY, d + 100) } });
    // Not exported: an open snapshot, another instance.
    writes.push({ series: hourly, statsTime: T0 + 72 * HOUR, value: { final: false, fetchedAt: T0, data: bucketAt(T0, 1) }, ttlMs: 600_000 });
    writes.push({ series: other, statsTime: T0, value: { final: true, data: bucketAt(T0, 2) } });
    await store.setMany(writes);
    for (const w of writes.slice(0, 82)) written.push({ ref: w, data: w.value.data });
    // A bucket still under its version-1 key (not migrated yet) is history too.
    const legacy = { series: hourly, statsTime: T0 - HOUR };
    await sourceRedis.set(legacyBucketKey('ccc:', legacy.series, legacy.statsTime), `F${encodeBucket(bucketAt(legacy.statsTime, 3))}`);
    written.push({ ref: legacy, data: bucketAt(legacy.statsTime, 3) });
  });

  afterAll(async () => {
    sourceRedis?.disconnect();
    targetRedis?.disconnect();
    await Promise.all([source?.stop(), target?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('round-trips byte-exact: export, import into an empty redis-server, export again', async () => {
    const first = join(dir, 'first.ndjson');
    const second = join(dir, 'second.ndjson');
    const exported = await runTool('archiveExport', ['--instance', 'ccc-export', '--out', first], source.url);
    expect(JSON.parse(exported.stderr)).toMatchObject({ event: 'done', buckets: 83, undecodableKeys: [] });
    const lines = (await readFile(first, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(83); // 72 hours + 1 legacy hour + 10 days; no open snapshot, no other instance
    // Ordered: DAILY before HOURLY, then by StatsTime.
    expect(lines.map((l) => JSON.parse(l).Interval)).toEqual([...Array(10).fill('DAILY'), ...Array(73).fill('HOURLY')]);
    expect(JSON.parse(lines[10]).StatsTime).toBe(T0 - HOUR);

    expect(await targetRedis.dbsize()).toBe(0);
    const imported = await runTool('archiveImport', ['--in', first], target.url);
    expect(JSON.parse(imported.stderr)).toMatchObject({ event: 'done', buckets: 83 });
    await runTool('archiveExport', ['--instance', 'ccc-export', '--out', second], target.url);
    expect(await readFile(second)).toEqual(await readFile(first));

    // The same numbers through the gateway's own store, every metric Object.is.
    const store = new RedisBucketStore({ redis: targetRedis, logger: silent, keyPrefix: 'ccc:', readLegacyKeys: false });
    const read = await store.getMany(written.map((w) => w.ref));
    read.forEach((stored, i) => {
      expect(stored?.final).toBe(true);
      expect(differences(stored?.data, written[i].data)).toEqual([]);
    });
  });

  it('exports a range [from, to) of one interval, with ISO-8601 or epoch-ms bounds', async () => {
    const out = join(dir, 'range.ndjson');
    await runTool('archiveExport', ['--instance', 'ccc-export', '--interval', 'HOURLY', '--from', '2025-06-01T10:00:00Z', '--to', String(T0 + 20 * HOUR), '--out', out], source.url);
    const times = (await readFile(out, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l).StatsTime);
    expect(times).toEqual(Array.from({ length: 10 }, (_, h) => T0 + (10 + h) * HOUR));
  });

  it('refuses a bad line with exit code 2 and its line number, and bad options before connecting', async () => {
    const bad = join(dir, 'bad.ndjson');
    await writeFile(bad, `${bucketToLine({ series: hourly, statsTime: T0, data: null })}\n{"InstanceId":"ccc-export"}\n`);
    await expect(runTool('archiveImport', ['--in', bad], target.url)).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('line 2: Interval') });
    await expect(runTool('archiveExport', ['--from', '2025-06-01'], source.url)).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--instance ID is required') });
    await expect(runTool('archiveExport', ['--instance', 'ccc-export', '--from', '2025-06-01'], source.url)).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('ISO-8601 with an offset'),
    });
  });
});
