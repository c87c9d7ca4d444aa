/**
 * Nothing malformed is ever stored or served (issue 10, part 1), end to end: a real gateway, its
 * real signed CccClient, and the built-in emulator answering wrongly through its test-only
 * `transformAnswer` hook, then healing.
 *
 * For each kind of malformed answer: the operation gets `UPSTREAM_ERROR` with upstream's
 * RequestId and a message that says where the problem is without echoing the value; nothing is
 * written to the in-process tier (nor, in the Redis variant, to Redis); the operator gets exactly
 * one log line with the offending part, truncated; and once upstream heals, the next request
 * calls upstream again and serves the right numbers (final, and, with Redis, stored right: a
 * second replica reads them from Redis while its own upstream is broken).
 *
 * Answers that are well formed but break a roll-up assumption are served, counted in
 * `ccc_gateway_upstream_anomalies_total{rule}` and logged once per rule per sampling window.
 */
import Redis from 'ioredis';
import { HOUR_MS } from '../../src/reports/intervals';
import type { Gateway } from '../../src/server/createGateway';
import { createLogger } from '../../src/server/logger';
import type { ReportRequest } from '../../src/emulator/reportRequest';
import { graphql, startTestGateway } from '../helpers/gateway';
import { startRedisServer, type TestRedisServer } from '../helpers/redisServer';
import { DAY_MS, HOURLY_FIELD, NOW, scrape, TODAY } from './support';

/** Yesterday 09:00-13:00 Asia/Shanghai: closed long ago, business hours (traffic), one upstream call. */
const START = TODAY - DAY_MS + 9 * HOUR_MS;
const END = START + 4 * HOUR_MS;
const MALFORMED_LOG = 'malformed upstream answer rejected; nothing from it was stored';

type Body = { RequestId: string; Data?: any } & Record<string, any>;
type Corruption = (body: Body, request: ReportRequest) => void;

const firstBucket = (body: Body) => body.Data[0];
const CASES: [string, Corruption, string][] = [
  ['Data missing', (b) => delete b.Data, 'Data is missing'],
  ['Data null', (b) => (b.Data = null), 'Data is null'],
  ['Data not an array', (b) => (b.Data = { ...b.Data }), 'Data is not an array'],
  ['two buckets with the same StatsTime', (b) => b.Data.push({ ...firstBucket(b) }), 'have the same StatsTime'],
  ['a bucket before the requested range', (b, r) => (firstBucket(b).StatsTime = r.startTime - 2 * DAY_MS), 'is outside the requested hourly range'],
  ['a bucket after the requested range', (b, r) => (firstBucket(b).StatsTime = r.endTime + 1 + HOUR_MS), 'is outside the requested hourly range'],
  ['a negative Long (-5)', (b) => (firstBucket(b).Inbound.CallsHandled = -5), 'Data[0].Inbound.CallsHandled is not a non-negative integer'],
  ['a fractional Long (1.5)', (b) => (firstBucket(b).Inbound.CallsOffered = 1.5), 'Data[0].Inbound.CallsOffered is not a non-negative integer'],
  ['a Long of "1e999"', (b) => (firstBucket(b).Outbound.CallsDialed = '1e999'), 'Data[0].Outbound.CallsDialed is not a finite number'],
  ['a 30-digit Long', (b) => (firstBucket(b).Overall.TotalCalls = '123456789012345678901234567890'), 'Data[0].Overall.TotalCalls is not a non-negative integer'],
  ['a Long of "NaN"', (b) => (firstBucket(b).Inbound.CallsQueued = 'NaN'), 'Data[0].Inbound.CallsQueued is not a number'],
  ['an infinite Float', (b) => (firstBucket(b).Inbound.AverageTalkTime = '1e999'), 'Data[0].Inbound.AverageTalkTime is not a finite number'],
  ['a negative Float', (b) => (firstBucket(b).Overall.AverageWorkTime = -3.5), 'Data[0].Overall.AverageWorkTime is negative'],
  ['a negative rate', (b) => (firstBucket(b).Inbound.ServiceLevel20 = -0.25), 'Data[0].Inbound.ServiceLevel20 is negative'],
  ['a bucket without Inbound', (b) => delete firstBucket(b).Inbound, 'Data[0].Inbound is missing'],
  ['a bucket without Outbound', (b) => delete firstBucket(b).Outbound, 'Data[0].Outbound is missing'],
  ['a bucket without Overall', (b) => delete firstBucket(b).Overall, 'Data[0].Overall is missing'],
  // A percentage sent as a fraction: 95 where CallsHandled / CallsQueued = 0.95. Above 1 alone is
  // tolerated (events in different intervals); above 1 against the bucket's own counts is not.
  [
    'a HandleRate percentage its counts contradict',
    (b) => {
      const hour = b.Data.find((x: any) => Number(x.Inbound.CallsQueued) > 0 && Number(x.Inbound.CallsHandled) > 0);
      hour.Inbound.HandleRate = (100 * Number(hour.Inbound.CallsHandled)) / Number(hour.Inbound.CallsQueued);
    },
    "Inbound.HandleRate is above 1 and contradicted by the bucket's own counts",
  ],
];

const fieldFor = (instanceId: string) => `{ ${HOURLY_FIELD('r', instanceId, START, END)} }`;

interface Harness {
  gateway: Gateway;
  logLines: () => Record<string, any>[];
}

async function startHarness(env: Record<string, string> = {}, redisKeyPrefix?: string): Promise<Harness> {
  const raw: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void raw.push(line) });
  const gateway = await startTestGateway({ CACHE_SETTLE_DELAY_MS: String(10 * 60_000), ...env }, { now: () => NOW, logger, redisKeyPrefix });
  return { gateway, logLines: () => raw.map((line) => JSON.parse(line) as Record<string, any>) };
}

const callsFor = (gateway: Gateway, instanceId: string) => gateway.emulator!.stats.log.filter((c) => c.instanceId === instanceId).length;

/**
 * One case: a corrupted answer, then the healed one. Answers the healed upstream body, and
 * checks everything that does not depend on the cache tier.
 */
async function breakThenHeal(h: Harness, instanceId: string, corruption: Corruption, problem: string, checkNothingStored: () => Promise<void>) {
  const { gateway } = h;
  const emulator = gateway.emulator!;
  const writesBefore = (await scrape(gateway)).sum('ccc_gateway_cache_writes_total');
  const memoryBefore = gateway.memory.size;

  let sent: Body | undefined;
  emulator.options.transformAnswer = (body, request) => {
    if (request.instanceId !== instanceId) return body;
    const broken = structuredClone(body) as Body;
    corruption(broken, request);
    sent = broken;
    return broken;
  };
  const bad = await graphql(gateway, fieldFor(instanceId));
  expect(sent).toBeDefined();
  expect(bad.data?.r ?? null).toBeNull();
  expect(bad.errors).toHaveLength(1);
  const [error] = bad.errors!;
  expect(error.extensions).toMatchObject({ code: 'UPSTREAM_ERROR', upstreamRequestId: sent!.RequestId });
  expect(error.message).toContain(problem);
  expect(error.message).not.toMatch(/1e999|123456789012345678901234567890|NaN/);
  expect(callsFor(gateway, instanceId)).toBe(1);

  // Nothing stored anywhere.
  expect(gateway.memory.size).toBe(memoryBefore);
  expect((await scrape(gateway)).sum('ccc_gateway_cache_writes_total')).toBe(writesBefore);
  await checkNothingStored();

  // Logged once for the operator, with the offending part, truncated.
  const logged = h.logLines().filter((l) => l.msg === MALFORMED_LOG && l.instanceId === instanceId);
  expect(logged).toHaveLength(1);
  expect(logged[0]).toMatchObject({ upstreamRequestId: sent!.RequestId, interval: 'HOURLY', problem: expect.stringContaining(problem) });
  expect(typeof logged[0].offending).toBe('string');
  expect(logged[0].offending.length).toBeLessThanOrEqual(500);

  // Upstream heals: the next request calls it again and serves its numbers, final.
  let healed: Body | undefined;
  emulator.options.transformAnswer = (body, request) => {
    if (request.instanceId === instanceId) healed = body as Body;
    return body;
  };
  const good = await graphql(gateway, fieldFor(instanceId));
  expect(good.errors).toBeUndefined();
  expect(callsFor(gateway, instanceId)).toBe(2);
  const expected = healed!.Data.map((b: any) => ({ statsTime: b.StatsTime, closed: true, inbound: { callsOffered: b.Inbound.CallsOffered, callsHandled: b.Inbound.CallsHandled } }));
  expect(expected.length).toBeGreaterThan(0);
  expect(expected.some((b: any) => b.inbound.callsOffered > 0)).toBe(true);
  expect(good.data.r).toEqual(expected);
  expect(h.logLines().filter((l) => l.msg === MALFORMED_LOG && l.instanceId === instanceId)).toHaveLength(1);
  emulator.options.transformAnswer = undefined;
  return healed!;
}

describe('malformed upstream answers, in-process tier', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.gateway.close());

  it.each(CASES.map(([name, corruption, problem], i) => [name, corruption, problem, i] as const))(
    'rejects %s, stores nothing, logs it once, and serves the right numbers once upstream heals',
    async (_name, corruption, problem, i) => {
      await breakThenHeal(h, `ccc-sim-malformed-${i}`, corruption, problem, async () => {});
    },
  );
});

describe('malformed upstream answers, with Redis', () => {
  let redisServer: TestRedisServer;
  let redis: Redis;
  let h: Harness;
  const prefix = `malformed-${process.pid}:`;

  beforeAll(async () => {
    redisServer = await startRedisServer();
    redis = new Redis(redisServer.url);
    h = await startHarness({ REDIS_URL: redisServer.url }, prefix);
  });
  afterAll(async () => {
    await h?.gateway.close();
    redis?.disconnect();
    await redisServer?.stop();
  });

  const bucketKeys = async (instanceId: string) => (await redis.keys(`${prefix}*`)).filter((k) => k.includes(`{${instanceId}}`) && !k.includes('lease'));

  /** Representative cases: a bad value, a bad answer structure, a bad bucket structure. */
  const REPRESENTATIVE = [6, 3, 16];
  it.each(REPRESENTATIVE.map((i) => [CASES[i][0], i] as const))('rejects %s without writing Redis, then stores the right numbers there', async (_name, i) => {
    const [, corruption, problem] = CASES[i];
    const instanceId = `ccc-sim-malformed-redis-${i}`;
    await breakThenHeal(h, instanceId, corruption, problem, async () => {
      expect(await bucketKeys(instanceId)).toEqual([]);
    });
    expect((await bucketKeys(instanceId)).length).toBe(4);

    // What Redis holds is right: a second replica whose upstream is broken for good serves it.
    const reference = await graphql(h.gateway, fieldFor(instanceId));
    const replica = await startHarness({ REDIS_URL: redisServer.url }, prefix);
    try {
      replica.gateway.emulator!.options.transformAnswer = (body) => ({ ...(body as Body), Data: null });
      const fromRedis = await graphql(replica.gateway, fieldFor(instanceId));
      expect(fromRedis.errors).toBeUndefined();
      expect(fromRedis.data.r).toEqual(reference.data.r);
      expect(replica.gateway.emulator!.stats.callsReceived).toBe(0);
    } finally {
      await replica.gateway.close();
    }
  });
});

describe('anomalous but well-formed upstream answers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.gateway.close());

  const ANOMALY_LOG = /^upstream answer breaks a roll-up assumption/;

  it('serves them, counts every finding by rule, and logs a sample', async () => {
    const { gateway } = h;
    const before = (await scrape(gateway)).by('ccc_gateway_upstream_anomalies_total', 'rule');
    expect(before).toEqual({ handled_exceeds_offered: 0, average_inconsistent: 0, average_count_unrecoverable: 0, rate_inconsistent: 0, rate_above_one: 0 });

    // The busiest hour of each answer reports one call offered fewer than handled.
    const served: Record<string, { statsTime: number; offered: number }> = {};
    gateway.emulator!.options.transformAnswer = (body, request) => {
      const copy = structuredClone(body) as Body;
      const busiest = copy.Data.reduce((a: any, b: any) => (b.Inbound.CallsHandled > a.Inbound.CallsHandled ? b : a));
      busiest.Inbound.CallsOffered = busiest.Inbound.CallsHandled - 1;
      served[request.instanceId] = { statsTime: busiest.StatsTime, offered: busiest.Inbound.CallsOffered };
      return copy;
    };
    for (const instanceId of ['ccc-sim-anomaly-1', 'ccc-sim-anomaly-2']) {
      const answer = await graphql(gateway, fieldFor(instanceId));
      expect(answer.errors).toBeUndefined();
      const hour = answer.data.r.find((b: any) => b.statsTime === served[instanceId].statsTime);
      expect(hour.inbound.callsOffered).toBe(served[instanceId].offered);
      expect(hour.inbound.callsHandled).toBeGreaterThan(hour.inbound.callsOffered);
    }

    // An average that is neither exact, ceil nor round of total / count.
    gateway.emulator!.options.transformAnswer = (body) => {
      const copy = structuredClone(body) as Body;
      const hour = copy.Data.find((b: any) => b.Inbound.CallsHandled > 0);
      hour.Inbound.AverageTalkTime = Math.ceil(hour.Inbound.TotalTalkTime / hour.Inbound.CallsHandled) + 5;
      return copy;
    };
    expect((await graphql(gateway, fieldFor('ccc-sim-anomaly-3'))).errors).toBeUndefined();

    // A rate above 1 (the SDK: rates "may exceed 100%"): served as reported, not rejected.
    gateway.emulator!.options.transformAnswer = (body) => {
      const copy = structuredClone(body) as Body;
      copy.Data[0].Overall.OccupancyRate = 1.25;
      return copy;
    };
    const rate = await graphql(gateway, `{ r: intervalInstanceReport(instanceId: "ccc-sim-anomaly-4", interval: HOURLY, startTime: ${START}, endTime: ${END}) { overall { occupancyRate } } }`);
    expect(rate.errors).toBeUndefined();
    expect(rate.data.r[0].overall.occupancyRate).toBe(1.25);
    gateway.emulator!.options.transformAnswer = undefined;

    const after = (await scrape(gateway)).by('ccc_gateway_upstream_anomalies_total', 'rule');
    expect(after).toEqual({ handled_exceeds_offered: 2, average_inconsistent: 1, average_count_unrecoverable: 0, rate_inconsistent: 1, rate_above_one: 1 });
    const sampled = h.logLines().filter((l) => ANOMALY_LOG.test(l.msg));
    expect(sampled.map((l) => [l.rule, l.instanceId, l.metric])).toEqual([
      ['handled_exceeds_offered', 'ccc-sim-anomaly-1', 'inbound.callsHandled'],
      ['average_inconsistent', 'ccc-sim-anomaly-3', 'inbound.averageTalkTime'],
      ['rate_above_one', 'ccc-sim-anomaly-4', 'overall.occupancyRate'],
      ['rate_inconsistent', 'ccc-sim-anomaly-4', 'overall.occupancyRate'],
    ]);
    expect(sampled[0].upstreamRequestId).toEqual(expect.any(String));
  });
});
