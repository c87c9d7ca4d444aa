/**
 * Issue 3, end to end: GraphQL -> DataLoader -> Redis (a real redis-server of the test's own) ->
 * the emulator, which counts every upstream call.
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { DateTime } from 'luxon';
import { DAY_MS, HOUR_MS } from '../../src/reports/intervals';
import type { Gateway } from '../../src/server/createGateway';
import { EMULATOR_ACCESS_KEY } from '../../src/server/createGateway';
import { CccClient } from '../../src/upstream/CccClient';
import { graphql, startTestGateway } from '../helpers/gateway';
import { startRedisServer, type TestRedisServer } from '../helpers/redisServer';

const START_NOW = DateTime.fromISO('2026-11-26T11:30:00', { zone: 'Asia/Shanghai' }).toMillis();
const TODAY = DateTime.fromMillis(START_NOW, { zone: 'Asia/Shanghai' }).startOf('day').toMillis();
const SETTLE = 10 * 60_000;
const TTL = 30_000;

const HOURLY = `query($id: ID!, $s: Timestamp, $e: Timestamp) {
  intervalInstanceReport(instanceId: $id, startTime: $s, endTime: $e, interval: HOURLY) { statsTime closed inbound { callsOffered } }
}`;

describe('caching closed intervals in Redis', () => {
  let redis: TestRedisServer;
  let client: Redis;
  let prefix: string;
  const clock = { now: START_NOW };
  const gateways: Gateway[] = [];

  async function gateway(env: Record<string, string> = {}): Promise<Gateway> {
    const g = await startTestGateway(
      { REDIS_URL: redis.url, CACHE_SETTLE_DELAY_MS: String(SETTLE), CACHE_OPEN_TTL_MS: String(TTL), REDIS_COMMAND_TIMEOUT_MS: '300', ...env },
      { now: () => clock.now, redisKeyPrefix: prefix },
    );
    gateways.push(g);
    return g;
  }
  const calls = (g: Gateway) => g.emulator!.stats.callsReceived;

  beforeAll(async () => {
    redis = await startRedisServer();
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    client.disconnect();
    if (!redis.external) await redis.stop();
  });
  beforeEach(() => {
    clock.now = START_NOW;
    prefix = `test:${randomUUID()}:`;
  });
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((g) => g.close()));
  });

  it('fetches a closed 25-day hourly range in 3 calls, then 0; a restarted gateway serves it from Redis', async () => {
    const g = await gateway();
    const variables = { id: 'ccc-test', s: TODAY - 26 * DAY_MS, e: TODAY - DAY_MS };
    const first = await graphql(g, HOURLY, variables);
    expect(first.errors).toBeUndefined();
    expect(calls(g)).toBe(3);
    const again = await graphql(g, HOURLY, variables);
    expect(again).toEqual(first);
    expect(calls(g)).toBe(3);

    // Closed buckets are stored without TTL, quiet hours included (as an explicit empty marker).
    const keys = await client.keys(`${prefix}*`);
    expect(keys).toHaveLength(600);
    const ttls = await Promise.all(keys.slice(0, 50).map((k) => client.pttl(k)));
    expect(ttls.every((t) => t === -1)).toBe(true);
    expect(first.data.intervalInstanceReport.length).toBeLessThan(600);

    await g.close();
    const restarted = await gateway();
    const afterRestart = await graphql(restarted, HOURLY, variables);
    expect(afterRestart).toEqual(first);
    expect(calls(restarted)).toBe(0);
  });

  it('makes the minimal number of calls for 20 aliases over overlapping ranges of 3 instances', async () => {
    const g = await gateway();
    const instances = ['ccc-demo-1', 'ccc-demo-2', 'ccc-demo-3'];
    const ranges = Array.from({ length: 20 }, (_, i) => {
      const start = TODAY - (40 - 2 * i) * DAY_MS + (i % 5) * HOUR_MS;
      return { id: instances[i % 3], start, end: start + (3 + (i % 7)) * DAY_MS };
    });
    const query = `{ ${ranges
      .map((r, i) => `a${i}: intervalInstanceReport(instanceId: "${r.id}", interval: HOURLY, startTime: ${r.start}, endTime: ${r.end}) { statsTime }`)
      .join('\n')} }`;
    const answer = await graphql(g, query);
    expect(answer.errors).toBeUndefined();
    // Independently: union of hours per instance, consecutive runs, at most 240 hours per call.
    let expected = 0;
    for (const id of instances) {
      const hours = new Set<number>();
      for (const r of ranges.filter((r) => r.id === id)) for (let t = r.start; t < r.end; t += HOUR_MS) hours.add(t - (t % HOUR_MS));
      const sorted = [...hours].sort((a, b) => a - b);
      let run = 0;
      sorted.forEach((t, i) => {
        run++;
        if (i === sorted.length - 1 || sorted[i + 1] !== t + HOUR_MS) {
          expected += Math.ceil(run / 240);
          run = 0;
        }
      });
    }
    expect(calls(g)).toBe(expected);
  });

  it('500 concurrent identical cold operations make exactly the planned number of calls', async () => {
    const g = await gateway();
    g.emulator!.options.latencyMs = 100;
    const variables = { id: 'ccc-demo-4', s: TODAY - 25 * DAY_MS, e: TODAY };
    const answers = await Promise.all(Array.from({ length: 500 }, () => graphql(g, HOURLY, variables)));
    expect(answers.every((a) => a.errors === undefined)).toBe(true);
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(calls(g)).toBe(3);
  });

  it('two replicas sharing Redis: a stampede split across them still makes the planned number of calls (lease)', async () => {
    const a = await gateway();
    a.emulator!.options.latencyMs = 100;
    const b = await startTestGateway(
      { REDIS_URL: redis.url, CACHE_SETTLE_DELAY_MS: String(SETTLE), CACHE_OPEN_TTL_MS: String(TTL) },
      {
        now: () => clock.now,
        redisKeyPrefix: prefix,
        source: new CccClient({ endpoint: new URL(a.emulator!.url!).host, protocol: 'http', region: 'cn-shanghai', timeoutMs: 5000, accessKey: EMULATOR_ACCESS_KEY }),
      },
    );
    gateways.push(b);
    const variables = { id: 'ccc-demo-3', s: TODAY - 25 * DAY_MS, e: TODAY };
    // Without the lease each replica would fetch the 3 chunks itself (6 calls; checked by hand
    // with CACHE_LEASE_MS=0).
    const answers = await Promise.all(Array.from({ length: 500 }, (_, i) => graphql(i % 2 ? a : b, HOURLY, variables)));
    expect(answers.every((x) => x.errors === undefined)).toBe(true);
    expect(new Set(answers.map((x) => JSON.stringify(x))).size).toBe(1);
    expect(calls(a)).toBe(3);
  });

  it('refreshes only the open hour, once per TTL, and keeps it for good once settled', async () => {
    const g = await gateway();
    const variables = { id: 'ccc-test', s: START_NOW - 6 * HOUR_MS };
    const first = await graphql(g, HOURLY, variables);
    expect(first.data.intervalInstanceReport.at(-1)).toMatchObject({ closed: false });
    expect(calls(g)).toBe(1);

    clock.now += 10_000;
    await graphql(g, HOURLY, variables);
    expect(calls(g)).toBe(1);

    clock.now += TTL;
    // Due: this request gets the snapshot it has while one refresh runs in the background.
    const served = await graphql(g, HOURLY, variables);
    expect(served.data.intervalInstanceReport.at(-1)).toEqual(first.data.intervalInstanceReport.at(-1));
    await g.pipeline.refreshesSettled();
    expect(calls(g)).toBe(2);
    const refreshed = await graphql(g, HOURLY, variables);
    expect(calls(g)).toBe(2);
    const log = g.emulator!.stats.log.at(-1)!;
    const openHour = START_NOW - (START_NOW % HOUR_MS);
    expect([Number(log.startTime), Number(log.endTime)]).toEqual([openHour, openHour + HOUR_MS - 1]);
    // The open hour grows as time passes.
    expect(refreshed.data.intervalInstanceReport.at(-1).inbound.callsOffered).toBeGreaterThanOrEqual(
      first.data.intervalInstanceReport.at(-1).inbound.callsOffered,
    );
    const openKey = (await client.keys(`${prefix}*:${openHour}`))[0];
    expect(await client.pttl(openKey)).toBeGreaterThan(0);

    clock.now = openHour + HOUR_MS + SETTLE;
    const settled = await graphql(g, HOURLY, { ...variables, e: openHour + HOUR_MS - 1 });
    expect(settled.data.intervalInstanceReport.every((r: any) => r.closed)).toBe(true);
    expect(calls(g)).toBe(3);
    expect(await client.pttl(openKey)).toBe(-1);
    clock.now += DAY_MS;
    await graphql(g, HOURLY, { ...variables, e: openHour + HOUR_MS - 1 });
    expect(calls(g)).toBe(3);
  });

  it('caches nothing from a failed call, and the next request fetches exactly what is missing', async () => {
    const g = await gateway({ UPSTREAM_CONCURRENCY: '1' });
    const emulator = g.emulator!;
    emulator.options.latencyMs = 50;
    const variables = { id: 'ccc-demo-5', s: TODAY - 30 * DAY_MS, e: TODAY - 5 * DAY_MS };
    // Upstream goes down right after the first of the 3 chunks succeeded.
    const watcher = setInterval(() => {
      if (emulator.stats.byCode.OK === 1) emulator.options.failures = { rate: 1, codes: ['ServiceUnavailable'], seed: 1 };
    }, 5);
    const failed = await graphql(g, HOURLY, variables);
    clearInterval(watcher);
    expect(failed.errors?.[0].extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(failed.errors?.[0].path).toEqual(['intervalInstanceReport']);
    expect(emulator.stats.byCode.OK).toBe(1);
    // Only the successful chunk is stored.
    expect(await client.keys(`${prefix}*`)).toHaveLength(240);

    emulator.options.failures = { rate: 0, codes: ['ServiceUnavailable'], seed: 1 };
    const before = emulator.stats.log.length;
    const retried = await graphql(g, HOURLY, variables);
    expect(retried.errors).toBeUndefined();
    const fetched = emulator.stats.log.slice(before).map((c) => [Number(c.startTime), Number(c.endTime) + 1]);
    // Exactly the 360 missing hours, in the fewest calls (240 + 120).
    expect(fetched).toEqual([
      [TODAY - 20 * DAY_MS, TODAY - 10 * DAY_MS],
      [TODAY - 10 * DAY_MS, TODAY - 5 * DAY_MS],
    ]);
    expect(await client.keys(`${prefix}*`)).toHaveLength(600);
  });

  it('keeps serving from upstream while Redis is down, logs it once, and uses Redis again after it returns', async () => {
    if (redis.external) return; // cannot stop a Redis we did not start (REDIS_URL set)
    // No response cache: the loop below repeats one operation to see it reach Redis again.
    const g = await gateway({ RESPONSE_CACHE_MAX_BYTES: "0", GRAPHQL_EXECUTOR: process.env.EXEC_CHECK ?? "planned" });
    const warn = jest.spyOn(g.logger, 'warn');
    await redis.stop();
    for (let i = 0; i < 5; i++) {
      const answer = await graphql(g, HOURLY, { id: 'ccc-test', s: TODAY - (10 + i) * DAY_MS, e: TODAY - (9 + i) * DAY_MS });
      expect(answer.errors).toBeUndefined();
      expect(answer.data.intervalInstanceReport.length).toBeGreaterThan(0);
    }
    expect(warn.mock.calls.filter(([, msg]) => /redis/i.test(String(msg))).length).toBe(1);
    expect(g.redisStore!.healthy).toBe(false);

    await redis.restart();
    client.disconnect();
    client = new Redis(redis.url);
    // The connection comes back by itself (capped backoff); give it a moment.
    for (let i = 0; i < 50 && (await client.keys(`${prefix}*`)).length === 0; i++) {
      await graphql(g, HOURLY, { id: 'ccc-test', s: TODAY - 3 * DAY_MS, e: TODAY - 2 * DAY_MS });
      g.memory.clear();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await client.keys(`${prefix}*`)).length).toBeGreaterThan(0);
    expect(g.redisStore!.healthy).toBe(true);
  });
});
