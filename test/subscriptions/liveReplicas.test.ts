/**
 * Two gateway replicas on one real redis-server (the test's own), subscribers on both: one
 * replica polls the series (the Redis lease), the other receives its snapshots through Redis
 * pub/sub, and upstream (each replica's embedded emulator, counted together) sees exactly one call
 * per refresh of the open bucket, whatever the number of subscribers. When the polling replica
 * goes away, the other takes the series over.
 */
import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import type { Gateway } from '../../src/server/createGateway';
import { startTestGateway } from '../helpers/gateway';
import { startRedisCluster } from '../helpers/redisCluster';
import { startRedisServer, type TestRedisServer } from '../helpers/redisServer';
import { startSubscribers, type TestSubscriber } from '../helpers/subscribers';

const START = DateTime.fromISO('2026-11-26T10:20:00', { zone: 'Asia/Shanghai' }).toMillis();
const LIVE = `subscription($id: ID!) { intervalReportUpdates(instanceId: $id) { id statsTime closed overall { totalCalls } } }`;
const POLL_MS = 100;

async function pollsOf(gateway: Gateway): Promise<number> {
  const metric = await gateway.metrics.registry.getSingleMetric('ccc_gateway_live_polls_total')!.get();
  return metric.values.reduce((n, v) => n + v.value, 0);
}

describe('live reports across two replicas sharing Redis', () => {
  let redis: TestRedisServer;
  const clock = { now: START };
  const gateways: Gateway[] = [];
  const subscribers: TestSubscriber[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    if (!redis.external) await redis.stop();
  });
  afterEach(async () => {
    await Promise.all(subscribers.splice(0).map((s) => s.dispose()));
    await Promise.all(gateways.splice(0).map((g) => g.close()));
  });

  it('polls upstream once per refresh for subscribers on both replicas, and fails over', async () => {
    const prefix = `test:${randomUUID()}:`;
    for (let i = 0; i < 2; i++) {
      gateways.push(await startTestGateway({ REDIS_URL: redis.url }, { now: () => clock.now, redisKeyPrefix: prefix, livePollIntervalMs: POLL_MS }));
    }
    const [a, b] = gateways;
    const upstreamCalls = () => a.emulator!.stats.callsReceived + b.emulator!.stats.callsReceived;
    subscribers.push(...(await startSubscribers([a.url, b.url], 8, LIVE, { id: 'ccc-test' })));
    const first = subscribers[0].events[0].result.data.intervalReportUpdates;
    for (const s of subscribers) expect(s.events[0].result.data.intervalReportUpdates).toEqual(first);

    // Exactly one replica polls the series.
    const settle = () => new Promise((resolve) => setTimeout(resolve, 5 * POLL_MS));
    await settle();
    expect([a.live.hub.stats.polling, b.live.hub.stats.polling].sort()).toEqual([0, 1]);
    const poller = a.live.hub.stats.polling === 1 ? a : b;
    const other = poller === a ? b : a;
    expect(await pollsOf(other)).toBe(0);
    const callsBefore = upstreamCalls();

    // Three refreshes of the open hour: each one upstream call in all, pushed to all 8 subscribers.
    let last = first;
    for (let refresh = 1; refresh <= 3; refresh++) {
      clock.now += 5 * 60_000;
      const updates = await Promise.all(subscribers.map((s) => s.waitFor(() => true, { from: refresh })));
      for (const u of updates) {
        expect(u.result.data.intervalReportUpdates).toEqual(updates[0].result.data.intervalReportUpdates);
      }
      const bucket = updates[0].result.data.intervalReportUpdates;
      expect(bucket).toMatchObject({ id: first.id, closed: false });
      expect(bucket.overall.totalCalls).toBeGreaterThan(last.overall.totalCalls);
      last = bucket;
      await settle(); // several more polls of both replicas' ticks: still no further call
      expect(upstreamCalls()).toBe(callsBefore + refresh);
    }
    expect(await pollsOf(other)).toBe(0);
    expect(await pollsOf(poller)).toBeGreaterThan(3);

    // The polling replica goes away: its subscribers are closed (1001), the other replica takes
    // the series over and its subscribers keep getting updates.
    const stayed = subscribers.filter((s) => s.closes.length === 0 && (poller === a ? subscribers.indexOf(s) % 2 === 1 : subscribers.indexOf(s) % 2 === 0));
    const left = subscribers.filter((s) => !stayed.includes(s));
    await poller.close();
    for (const s of left) expect((await s.closed()).code).toBe(1001);
    clock.now += 5 * 60_000;
    for (const s of stayed) {
      const update = await s.waitFor(() => true, { from: 4 });
      expect(update.result.data.intervalReportUpdates.overall.totalCalls).toBeGreaterThan(last.overall.totalCalls);
    }
    expect(other.live.hub.stats.polling).toBe(1);
  }, 60_000);

  it('keeps updating every replica\'s subscribers while Redis is down (each polls for its own)', async () => {
    const own = await startRedisServer();
    try {
      const prefix = `test:${randomUUID()}:`;
      for (let i = 0; i < 2; i++) {
        gateways.push(await startTestGateway({ REDIS_URL: own.url }, { now: () => clock.now, redisKeyPrefix: prefix, livePollIntervalMs: POLL_MS }));
      }
      const [a, b] = gateways;
      subscribers.push(...(await startSubscribers([a.url, b.url], 4, LIVE, { id: 'ccc-demo-4' })));
      await own.stop();
      clock.now += 5 * 60_000;
      const updates = await Promise.all(subscribers.map((s) => s.waitFor(() => true, { from: 1 })));
      expect(new Set(updates.map((u) => JSON.stringify(u.result.data)))).toHaveProperty('size', 1);
      expect(a.live.hub.stats.polling + b.live.hub.stats.polling).toBe(2);
    } finally {
      await Promise.all(subscribers.splice(0).map((s) => s.dispose()));
      await Promise.all(gateways.splice(0).map((g) => g.close()));
      await own.stop();
    }
  });

  it('works the same on a three-master Redis Cluster (classic pub/sub reaches every node\'s subscribers)', async () => {
    const cluster = await startRedisCluster({ masters: 3 });
    try {
      const prefix = `test:${randomUUID()}:`;
      for (let i = 0; i < 2; i++) {
        gateways.push(
          await startTestGateway({ REDIS_CLUSTER_NODES: cluster.clusterNodes }, { now: () => clock.now, redisKeyPrefix: prefix, livePollIntervalMs: POLL_MS }),
        );
      }
      const [a, b] = gateways;
      const upstreamCalls = () => a.emulator!.stats.callsReceived + b.emulator!.stats.callsReceived;
      subscribers.push(...(await startSubscribers([a.url, b.url], 4, LIVE, { id: 'ccc-demo-3' })));
      await new Promise((resolve) => setTimeout(resolve, 5 * POLL_MS));
      expect(a.live.hub.stats.polling + b.live.hub.stats.polling).toBe(1);
      const before = upstreamCalls();
      clock.now += 5 * 60_000;
      await Promise.all(subscribers.map((s) => s.waitFor(() => true, { from: 1 })));
      await new Promise((resolve) => setTimeout(resolve, 5 * POLL_MS));
      expect(upstreamCalls()).toBe(before + 1);
    } finally {
      await Promise.all(subscribers.splice(0).map((s) => s.dispose()));
      await Promise.all(gateways.splice(0).map((g) => g.close()));
      await cluster.stop();
    }
  }, 60_000);
});
