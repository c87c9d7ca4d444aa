/**
 * The archive inside a real gateway, against a real redis-server and the built-in emulator
 * (fixed clock): a full backfill costs exactly the planned calls and stores every closed bucket;
 * a restart resumes at the watermark with no refetch; new buckets are archived once they settle;
 * an upstream error leaves missing buckets that a later pass fills; the GraphQL field and the
 * metrics show it.
 */
import { startTestGateway, graphql } from '../helpers/gateway';
import { startRedisServer, type TestRedisServer } from '../helpers/redisServer';
import type { Gateway } from '../../src/server/createGateway';
import { archiveWindow } from '../../src/reports/archive/archiveWindow';
import { archivedSeries } from '../../src/reports/archive/ArchiveProgress';
import { bucketStartsInRange, HOUR_MS } from '../../src/reports/intervals';
import type { BucketSeries } from '../../src/reports/buckets';
import type { ReportRequest } from '../../src/emulator/reportRequest';
import { SECRET, sign } from '../auth/tokens';

// 13:30 in Asia/Shanghai: no DAILY bucket closes in the two hours the test moves the clock on.
const T0 = Date.UTC(2026, 10, 30, 5, 30);
const SETTLE_MS = 10 * 60_000;

let redis: TestRedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

let prefixCounter = 0;
function archiveEnv(instances = 'ccc-test') {
  return {
    REDIS_URL: redis.url,
    ARCHIVE_INSTANCES: instances,
    // Pacing is tested on its own (callPacer.test.ts); here it would only slow the test down.
    ARCHIVE_MAX_CALLS_PER_MINUTE: '6000000',
    ARCHIVE_PASS_INTERVAL_MS: '50',
    ARCHIVE_LOCK_TTL_MS: '2000',
  };
}

function reportCalls(gateway: Gateway) {
  return gateway.emulator!.stats.log.filter((c) => c.action === 'ListIntervalInstanceReport');
}

function closedStarts(series: BucketSeries, now: number): number[] {
  const window = archiveWindow(series, now, SETTLE_MS);
  return bucketStartsInRange(window.from, window.to, series.interval, series.zone);
}

async function storedFinal(gateway: Gateway, series: BucketSeries, starts: number[]): Promise<number> {
  const values = await gateway.redisStore!.getMany(starts.map((statsTime) => ({ series, statsTime })));
  return values.filter((v) => v?.final === true).length;
}

const ARCHIVE_QUERY = '{ callCenterInstance(id: "ccc-test") { archive { earliest latest missingBuckets } } }';

describe('archive backfill (real Redis, emulator)', () => {
  const gateways: Gateway[] = [];
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((g) => g.close()));
  });

  it('backfills 180 days with exactly the planned calls, resumes without refetching, then follows new buckets', async () => {
    let now = T0;
    const prefix = `archive-backfill-${prefixCounter++}:`;
    const first = await startTestGateway(archiveEnv(), { now: () => now, redisKeyPrefix: prefix });
    gateways.push(first);
    const pass = await first.archive!.service.nextPass();

    const [hourly, daily] = archivedSeries('ccc-test', 'Asia/Shanghai');
    const hours = closedStarts(hourly, now);
    const days = closedStarts(daily, now);
    expect(hours.length).toBe(180 * 24 - 1); // the oldest hour is within the planner's retention margin
    const calls = reportCalls(first);
    expect(calls.filter((c) => c.interval === 'Hourly')).toHaveLength(18);
    expect(calls.filter((c) => c.interval === 'Daily')).toHaveLength(1);
    expect(calls.every((c) => c.code === 'OK')).toBe(true);
    expect(pass).toMatchObject({ upstreamCalls: 19, failedCalls: 0, bucketsArchived: hours.length + days.length });
    // Oldest first.
    const hourlyStarts = calls.filter((c) => c.interval === 'Hourly').map((c) => Number(c.startTime));
    expect(hourlyStarts).toEqual([...hourlyStarts].sort((a, b) => a - b));
    expect(hourlyStarts[0]).toBe(hours[0]);

    // Every closed bucket is stored, as final, where the cache reads it.
    expect(await storedFinal(first, hourly, hours)).toBe(hours.length);
    expect(await storedFinal(first, daily, days)).toBe(days.length);

    const answer = await graphql(first, ARCHIVE_QUERY);
    expect(answer.errors).toBeUndefined();
    expect(answer.data.callCenterInstance.archive).toEqual({
      earliest: Math.min(hours[0], days[0]),
      latest: hours[hours.length - 1] + HOUR_MS,
      missingBuckets: 0,
    });
    // With closed report buckets beside it, the answer is still not final: the status changes.
    const mixed = await fetch(first.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ callCenterInstance(id: "ccc-test") { archive { latest } intervalReports(interval: HOURLY, startTime: ${hours[0]}, endTime: ${hours[10]}) { statsTime } } }` }),
    });
    expect((await mixed.json()).errors).toBeUndefined();
    expect(mixed.headers.get('cache-control')).not.toContain('immutable');
    expect(mixed.headers.get('cache-control')).toMatch(/no-store|no-cache|max-age=0/);
    const metrics = await (await fetch(first.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toContain(`ccc_gateway_archive_buckets_total{interval="HOURLY"} ${hours.length}`);
    expect(metrics).toContain(`ccc_gateway_archive_buckets_total{interval="DAILY"} ${days.length}`);
    expect(metrics).toContain('ccc_gateway_archive_upstream_calls_total{interval="HOURLY",outcome="ok"} 18');
    expect(metrics).toContain('ccc_gateway_archive_lock_held 1');
    expect(metrics).toMatch(/ccc_gateway_archive_watermark_age_seconds\{instance_id="ccc-test",interval="HOURLY"\} (\d+)/);
    const age = Number(/ccc_gateway_archive_watermark_age_seconds\{instance_id="ccc-test",interval="HOURLY"\} ([\d.]+)/.exec(metrics)![1]);
    expect(age).toBe((now - (hours[hours.length - 1] + HOUR_MS)) / 1000);

    // A later pass with nothing new makes no call.
    await first.archive!.service.nextPass();
    expect(reportCalls(first)).toHaveLength(19);
    await first.close();
    gateways.splice(0);

    // Restart: a new process resumes from the watermark and refetches nothing.
    const second = await startTestGateway(archiveEnv(), { now: () => now, redisKeyPrefix: prefix });
    gateways.push(second);
    const resumed = await second.archive!.service.nextPass();
    expect(resumed).toMatchObject({ upstreamCalls: 0, failedCalls: 0 });
    expect(reportCalls(second)).toHaveLength(0);

    // Two hours later: the two hours that closed and settled since, in one call, and nothing else.
    now += 2 * HOUR_MS;
    await second.archive!.service.nextPass();
    const followed = reportCalls(second);
    expect(followed).toHaveLength(1);
    expect(followed[0]).toMatchObject({ interval: 'Hourly', startTime: String(hours[hours.length - 1] + HOUR_MS) });
    const newHours = closedStarts(hourly, now);
    expect(await storedFinal(second, hourly, newHours)).toBe(newHours.length);
  });

  it('lists buckets of a failed call as missing, serves the rest, and a later pass fills them', async () => {
    const now = T0;
    const prefix = `archive-errors-${prefixCounter++}:`;
    const [hourly] = archivedSeries('ccc-test', 'Asia/Shanghai');
    const hours = closedStarts(hourly, now);
    const brokenStart = hours[2 * 240]; // the third hourly call
    let broken = true;
    const transformAnswer = (body: unknown, request: ReportRequest) =>
      broken && request.interval === 'Hourly' && request.startTime === brokenStart ? { ...(body as object), Data: 'not a list' } : body;
    const gateway = await startTestGateway(archiveEnv(), { now: () => now, redisKeyPrefix: prefix, emulator: { transformAnswer } });
    gateways.push(gateway);
    const pass = await gateway.archive!.service.nextPass();
    expect(pass).toMatchObject({ upstreamCalls: 19, failedCalls: 1 });

    const status = (await graphql(gateway, ARCHIVE_QUERY)).data.callCenterInstance.archive;
    expect(status.missingBuckets).toBe(240);
    // The watermark went on past the failed call: the span is whole, with a hole listed.
    expect(status.latest).toBe(hours[hours.length - 1] + HOUR_MS);
    expect(await storedFinal(gateway, hourly, hours)).toBe(hours.length - 240);
    const metrics = await (await fetch(gateway.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toContain('ccc_gateway_archive_errors_total{kind="upstream"} 1');
    expect(metrics).toContain('ccc_gateway_archive_missing_buckets{instance_id="ccc-test",interval="HOURLY"} 240');

    // While upstream still fails, the hole stays listed (retried, never skipped).
    const before = reportCalls(gateway).length;
    await gateway.archive!.service.nextPass();
    expect(reportCalls(gateway).length).toBe(before + 1);
    expect((await graphql(gateway, ARCHIVE_QUERY)).data.callCenterInstance.archive.missingBuckets).toBe(240);

    broken = false;
    await gateway.archive!.service.nextPass();
    const retry = reportCalls(gateway).slice(before + 1);
    expect(retry).toHaveLength(1);
    expect(retry[0]).toMatchObject({ interval: 'Hourly', startTime: String(brokenStart), code: 'OK' });
    expect((await graphql(gateway, ARCHIVE_QUERY)).data.callCenterInstance.archive.missingBuckets).toBe(0);
    expect(await storedFinal(gateway, hourly, hours)).toBe(hours.length);
  });

  it('refuses the archive status of an instance the token may not read', async () => {
    const gateway = await startTestGateway({ ...archiveEnv(), AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET }, { now: () => T0, redisKeyPrefix: `archive-auth-${prefixCounter++}:` });
    gateways.push(gateway);
    await gateway.archive!.service.nextPass();
    const other = `Bearer ${await sign({ ccc_instances: ['ccc-demo-1'] })}`;
    const refused = await graphql(gateway, ARCHIVE_QUERY, undefined, { authorization: other });
    expect(refused.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(refused.errors?.[0].path).toEqual(['callCenterInstance', 'archive']);
    const allowed = `Bearer ${await sign({ ccc_instances: ['ccc-test'] })}`;
    const answer = await graphql(gateway, ARCHIVE_QUERY, undefined, { authorization: allowed });
    expect(answer.data.callCenterInstance.archive.missingBuckets).toBe(0);
  });

  it('answers null for an instance the archive never reached', async () => {
    const gateway = await startTestGateway(archiveEnv(), { now: () => T0, redisKeyPrefix: `archive-null-${prefixCounter++}:` });
    gateways.push(gateway);
    await gateway.archive!.service.nextPass();
    const answer = await graphql(gateway, '{ callCenterInstance(id: "ccc-demo-1") { archive { earliest } } }');
    expect(answer.errors).toBeUndefined();
    expect(answer.data.callCenterInstance.archive).toBeNull();
  });
});
