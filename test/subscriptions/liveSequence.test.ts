/**
 * Live report subscriptions end to end, one gateway (no Redis) with the built-in emulator, both
 * on a test clock: the real graphql-ws client receives the current bucket, the bucket again when
 * its numbers change, its `closed: true` version once it settles, then the next bucket; ids are
 * the ids queries give; a query for the open bucket shares the poll's snapshot.
 */
import { DateTime } from 'luxon';
import { HOUR_MS } from '../../src/reports/intervals';
import type { Gateway } from '../../src/server/createGateway';
import { graphql, startTestGateway } from '../helpers/gateway';
import { subscribe, type TestSubscriber } from '../helpers/subscribers';

const ZONE = 'Asia/Shanghai';
const START = DateTime.fromISO('2026-11-26T11:30:00', { zone: ZONE }).toMillis();
const HOUR_11 = DateTime.fromISO('2026-11-26T11:00:00', { zone: ZONE }).toMillis();

const LIVE = `subscription($id: ID!, $interval: ReportInterval) {
  intervalReportUpdates(instanceId: $id, interval: $interval) { id instanceId interval statsTime endTime closed inbound { id callsOffered callsHandled } overall { totalCalls } }
}`;
const HOURLY = `query($id: ID!, $s: Timestamp) {
  intervalInstanceReport(instanceId: $id, interval: HOURLY, startTime: $s) { id statsTime closed inbound { id callsOffered callsHandled } overall { totalCalls } }
}`;

describe('live report subscriptions: the sequence', () => {
  const clock = { now: START };
  let gateway: Gateway;
  const subscribers: TestSubscriber[] = [];
  const calls = () => gateway.emulator!.stats.callsReceived;

  beforeEach(async () => {
    clock.now = START;
    // Polls every 100 ms of real time; freshness (CACHE_OPEN_TTL_MS, 30 s) is judged on the test
    // clock, so between clock moves every poll is a cache hit and nothing changes.
    gateway = await startTestGateway({ CACHE_SETTLE_DELAY_MS: '0' }, { now: () => clock.now, livePollIntervalMs: 100 });
  });
  afterEach(async () => {
    await Promise.all(subscribers.splice(0).map((s) => s.dispose()));
    await gateway.close();
  });

  it('pushes the current bucket, its changes, closed: true when it settles, then the next bucket', async () => {
    const live = subscribe(gateway.url, LIVE, { id: 'ccc-test' });
    subscribers.push(live);
    const first = await live.waitFor(() => true);
    expect(first.result.errors).toBeUndefined();
    const bucket = first.result.data.intervalReportUpdates;
    expect(bucket).toMatchObject({ instanceId: 'ccc-test', interval: 'HOURLY', statsTime: HOUR_11, endTime: HOUR_11 + HOUR_MS, closed: false });

    // Same id as a query's bucket; that query shares the snapshot (no upstream call).
    const before = calls();
    const query = await graphql(gateway, HOURLY, { id: 'ccc-test', s: HOUR_11 });
    expect(query.errors).toBeUndefined();
    expect(query.data.intervalInstanceReport).toEqual([{ id: bucket.id, statsTime: HOUR_11, closed: false, inbound: bucket.inbound, overall: bucket.overall }]);
    expect(calls()).toBe(before);

    // Nothing changes while the clock stands still: several polls, no push, no upstream call.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(live.events).toHaveLength(1);
    expect(calls()).toBe(before);

    // Five minutes later the numbers have grown: the same bucket again, same id.
    clock.now = START + 5 * 60_000;
    const grown = await live.waitFor(() => true, { from: 1 });
    const update = grown.result.data.intervalReportUpdates;
    expect(update).toMatchObject({ id: bucket.id, statsTime: HOUR_11, closed: false });
    expect(update.overall.totalCalls).toBeGreaterThan(bucket.overall.totalCalls);
    // One upstream call refreshed it, for the poll; the query for the open hour shares it.
    expect(calls()).toBe(before + 1);
    const again = await graphql(gateway, HOURLY, { id: 'ccc-test', s: HOUR_11 });
    expect(again.data.intervalInstanceReport[0].overall).toEqual(update.overall);
    expect(calls()).toBe(before + 1);

    // Past noon (settle delay 0 here): 11:00 once more as closed, then the 12:00 bucket.
    clock.now = HOUR_11 + HOUR_MS + 60_000;
    const noon = await live.waitFor((e) => e.result.data?.intervalReportUpdates.statsTime === HOUR_11 + HOUR_MS, { from: 2 });
    const tail = live.events.slice(2).map((e) => e.result.data.intervalReportUpdates);
    expect(tail.map((b) => [b.statsTime, b.closed])).toEqual([
      [HOUR_11, true],
      [HOUR_11 + HOUR_MS, false],
    ]);
    expect(tail[0].id).toBe(bucket.id);
    expect(noon.result.data.intervalReportUpdates.id).not.toBe(bucket.id);
    const closedQuery = await graphql(gateway, HOURLY, { id: 'ccc-test', s: HOUR_11 });
    expect(closedQuery.data.intervalInstanceReport[0]).toMatchObject({ id: bucket.id, closed: true, overall: tail[0].overall });
  });

  it('follows DAILY buckets and combined instances with the ids queries give', async () => {
    const daily = subscribe(gateway.url, LIVE, { id: 'ccc-demo-1', interval: 'DAILY' });
    const combined = subscribe(
      gateway.url,
      `subscription { combinedIntervalReportUpdates(instanceIds: ["ccc-demo-2", "ccc-demo-1"]) { id instanceIds statsTime closed overall { totalCalls } } }`,
    );
    subscribers.push(daily, combined);
    const day = (await daily.waitFor(() => true)).result.data.intervalReportUpdates;
    const today = DateTime.fromMillis(START, { zone: ZONE }).startOf('day').toMillis();
    expect(day).toMatchObject({ interval: 'DAILY', statsTime: today, closed: false });
    const both = (await combined.waitFor(() => true)).result.data.combinedIntervalReportUpdates;
    expect(both).toMatchObject({ instanceIds: ['ccc-demo-2', 'ccc-demo-1'], statsTime: HOUR_11, closed: false });
    const query = await graphql(gateway, `query { combinedIntervalReport(instanceIds: ["ccc-demo-1", "ccc-demo-2"], interval: HOURLY, startTime: ${HOUR_11}) { id overall { totalCalls } } }`);
    expect(query.data.combinedIntervalReport).toEqual([{ id: both.id, overall: both.overall }]);
  });

  it('lets a browser page connect from its own origin or CORS_ORIGINS, not from another site', async () => {
    const host = new URL(gateway.url).host;
    const own = subscribe(gateway.url, LIVE, { id: 'ccc-test' }, { wsOptions: { headers: { origin: `http://${host}` } } });
    const devServer = subscribe(gateway.url, LIVE, { id: 'ccc-test' }, { wsOptions: { headers: { origin: 'http://localhost:5173' } } });
    const otherSite = subscribe(gateway.url, LIVE, { id: 'ccc-test' }, { wsOptions: { headers: { origin: 'https://evil.example' } } });
    subscribers.push(own, devServer, otherSite);
    await Promise.all([own.waitFor(() => true), devServer.waitFor(() => true)]);
    await otherSite.ended();
    expect(otherSite.events).toHaveLength(0);
    expect(otherSite.error).toBeDefined(); // the handshake was refused (HTTP 401)
    expect(gateway.live.hub.stats.subscribers).toBe(2);
  });

  it('refuses TOTAL and a malformed id with BAD_USER_INPUT, and queries over WebSocket with BAD_REQUEST', async () => {
    const total = subscribe(gateway.url, LIVE, { id: 'ccc-test', interval: 'TOTAL' });
    const malformed = subscribe(gateway.url, LIVE, { id: 'no such id!' });
    const query = subscribe(gateway.url, `query { callCenterInstance(id: "ccc-test") { id } }`);
    subscribers.push(total, malformed, query);
    for (const s of [total, malformed]) {
      const event = await s.waitFor(() => true);
      expect(event.result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      await s.ended();
      expect(s.completed).toBe(true);
    }
    await query.ended();
    expect((query.error as { extensions?: { code?: string } }[])[0].extensions?.code).toBe('BAD_REQUEST');
  });
});
