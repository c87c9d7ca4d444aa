/**
 * Issue 11 §1 through GraphQL: every bucket has an `id` unique for what it holds, and an
 * `endTime`, the exclusive end of the period it stands for (a week cut by the range's end or by
 * now keeps its calendar end).
 */
import { DateTime } from 'luxon';
import { HOUR_MS, nextBucketStart } from '../../src/reports/intervals';
import type { Gateway } from '../../src/server/createGateway';
import { graphql, startTestGateway } from '../helpers/gateway';

const ZONE = 'Asia/Shanghai';
const at = (iso: string, zone = ZONE) => DateTime.fromISO(iso, { zone }).toMillis();
// A Thursday; 2026-11-23 is the Monday of its week.
const NOW = at('2026-11-26T11:30:00');

const REPORT = `query($id: ID!, $s: Timestamp, $e: Timestamp, $i: ReportInterval, $z: String, $empty: EmptyIntervals) {
  intervalInstanceReport(instanceId: $id, startTime: $s, endTime: $e, interval: $i, timeZone: $z, emptyIntervals: $empty) {
    id statsTime endTime closed inbound { id callsOffered } outbound { id } overall { id }
  }
}`;

const COMBINED = `query($ids: [ID!]!, $s: Timestamp, $e: Timestamp, $i: ReportInterval) {
  combinedIntervalReport(instanceIds: $ids, startTime: $s, endTime: $e, interval: $i, emptyIntervals: ZERO) {
    id statsTime endTime inbound { callsOffered }
  }
}`;

describe('bucket identity (id, endTime)', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startTestGateway({}, { now: () => NOW });
  });
  afterAll(() => gateway.close());

  async function report(variables: Record<string, unknown>) {
    const answer = await graphql(gateway, REPORT, { id: 'ccc-test', empty: 'ZERO', ...variables });
    expect(answer.errors).toBeUndefined();
    return answer.data.intervalInstanceReport as any[];
  }

  it('names instance, interval, zone and period, ends hourly and daily buckets where the next starts, and ids the metric groups', async () => {
    const start = at('2026-11-20T00:00:00');
    const hours = await report({ s: start, e: start + 24 * HOUR_MS, i: 'HOURLY' });
    expect(hours).toHaveLength(24);
    expect(hours[0].id).toBe(`ccc-test:HOURLY:${ZONE}:${start}:${start + HOUR_MS}`);
    for (const hour of hours) {
      expect(hour.endTime).toBe(hour.statsTime + HOUR_MS);
      expect(hour.inbound.id).toBe(`${hour.id}:inbound`);
      expect(hour.outbound.id).toBe(`${hour.id}:outbound`);
      expect(hour.overall.id).toBe(`${hour.id}:overall`);
    }
    expect(new Set(hours.map((h) => h.id)).size).toBe(24);

    const days = await report({ s: start, e: start + 3 * 24 * HOUR_MS, i: 'DAILY' });
    expect(days.map((d) => [d.statsTime, d.endTime])).toEqual([0, 1, 2].map((n) => [start + n * 24 * HOUR_MS, start + (n + 1) * 24 * HOUR_MS]));
    expect(days[0].id).toBe(`ccc-test:DAILY:${ZONE}:${start}:${start + 24 * HOUR_MS}`);
    // The same day cut in another zone is another bucket.
    const [utcDay] = await report({ s: at('2026-11-20T00:00:00', 'UTC'), e: at('2026-11-20T01:00:00', 'UTC'), i: 'DAILY', z: 'UTC' });
    expect(utcDay.id).toBe(`ccc-test:DAILY:UTC:${at('2026-11-20T00:00:00', 'UTC')}:${at('2026-11-21T00:00:00', 'UTC')}`);
  });

  it('gives a week cut by the range or by now its calendar span, the same id whatever range found it', async () => {
    const monday = at('2026-11-16T00:00:00');
    const nextMonday = at('2026-11-23T00:00:00');
    // Range from Wednesday to Thursday noon: widened to the whole week, never cut.
    const [cut] = await report({ s: at('2026-11-18T00:00:00'), e: at('2026-11-19T12:00:00'), i: 'WEEKLY' });
    expect([cut.statsTime, cut.endTime]).toEqual([monday, nextMonday]);
    const [whole] = await report({ s: monday, e: nextMonday, i: 'WEEKLY' });
    expect(whole).toEqual(cut);
    expect(cut.id).toBe(`ccc-test:WEEKLY:${ZONE}:${monday}:${nextMonday}`);
    // The week in progress holds data up to now, and keeps its calendar end while it grows.
    const [current] = await report({ s: nextMonday, e: NOW, i: 'WEEKLY' });
    expect(current).toMatchObject({ statsTime: nextMonday, endTime: nextBucketStart(nextMonday, 'WEEKLY', ZONE), closed: false });
    expect(current.endTime).toBe(at('2026-11-30T00:00:00'));
    const [month] = await report({ s: at('2026-11-10T00:00:00'), e: at('2026-11-11T00:00:00'), i: 'MONTHLY' });
    expect([month.statsTime, month.endTime]).toEqual([at('2026-11-01T00:00:00'), at('2026-12-01T00:00:00')]);
  });

  it('tells apart TOTALs with one start and different ends, and keeps an open TOTAL\'s end at what was asked', async () => {
    const start = at('2026-11-20T00:00:00');
    const [half] = await report({ s: start, e: start + 12 * HOUR_MS, i: 'TOTAL' });
    const [whole] = await report({ s: start, e: start + 24 * HOUR_MS, i: 'TOTAL' });
    expect([half.statsTime, half.endTime, whole.endTime]).toEqual([start, start + 12 * HOUR_MS, start + 24 * HOUR_MS]);
    expect(half.id).not.toBe(whole.id);
    expect(half.inbound.callsOffered).toBeLessThan(whole.inbound.callsOffered);
    // Ends inside an hour are rounded up, as the TOTAL's data is.
    const [rounded] = await report({ s: start + 1, e: start + 12 * HOUR_MS - 1, i: 'TOTAL' });
    expect(rounded).toEqual(half);
    const [open] = await report({ s: at('2026-11-26T00:00:00'), e: at('2026-11-27T00:00:00'), i: 'TOTAL' });
    expect(open).toMatchObject({ endTime: at('2026-11-27T00:00:00'), closed: false });
    const [untilNow] = await report({ s: at('2026-11-26T00:00:00'), i: 'TOTAL' });
    expect(untilNow.endTime).toBe(at('2026-11-26T12:00:00'));
    expect(untilNow.inbound.callsOffered).toBe(open.inbound.callsOffered);
  });

  it('gives every spelling of a zone the same ids and answers (zone names match case-insensitively)', async () => {
    const s = at('2026-11-20T00:00:00');
    const canonical = await report({ s, e: s + 2 * 86_400_000, i: 'DAILY', z: ZONE });
    expect(canonical[0].id).toBe(`ccc-test:DAILY:${ZONE}:${s}:${s + 86_400_000}`);
    for (const z of ['asia/shanghai', 'ASIA/SHANGHAI', 'aSiA/sHaNgHaI']) {
      expect(await report({ s, e: s + 2 * 86_400_000, i: 'DAILY', z })).toEqual(canonical);
    }
    const utc = await report({ s, e: s + 3 * HOUR_MS, i: 'HOURLY', z: 'utc' });
    expect(utc[0].id).toBe(`ccc-test:HOURLY:UTC:${s}:${s + HOUR_MS}`);
    expect(await report({ s, e: s + 3 * HOUR_MS, i: 'HOURLY', z: 'UTC' })).toEqual(utc);
  });

  it('names an instance set independently of order, and a long one by a bounded hash', async () => {
    const s = at('2026-11-20T00:00:00');
    const e = s + 2 * HOUR_MS;
    const one = await graphql(gateway, COMBINED, { ids: ['ccc-demo-2', 'ccc-test'], s, e, i: 'HOURLY' });
    const other = await graphql(gateway, COMBINED, { ids: ['ccc-test', 'ccc-demo-2'], s, e, i: 'HOURLY' });
    expect(one.errors).toBeUndefined();
    expect(one.data.combinedIntervalReport).toEqual(other.data.combinedIntervalReport);
    expect(one.data.combinedIntervalReport[0].id).toBe(`ccc-demo-2+ccc-test:HOURLY:${ZONE}:${s}:${s + HOUR_MS}`);

    const many = Array.from({ length: 30 }, (_, i) => `ccc-sim-${String(i).padStart(2, '0')}`);
    const long = await graphql(gateway, COMBINED, { ids: many, s, e, i: 'HOURLY' });
    const fewer = await graphql(gateway, COMBINED, { ids: many.slice(1), s, e, i: 'HOURLY' });
    expect(long.errors).toBeUndefined();
    const [longId] = long.data.combinedIntervalReport.map((r: any) => r.id);
    expect(longId).toMatch(new RegExp(`^30-instances#[0-9a-f]{24}:HOURLY:${ZONE}:${s}:${s + HOUR_MS}$`));
    expect(fewer.data.combinedIntervalReport[0].id).toMatch(/^29-instances#/);
    expect(fewer.data.combinedIntervalReport[0].id).not.toBe(longId);
  });

  it('finds the group id through fragments, and answers without it when not selected', async () => {
    const s = at('2026-11-20T00:00:00');
    const answer = await graphql(
      gateway,
      `query($s: Timestamp, $e: Timestamp) {
        a: intervalInstanceReport(instanceId: "ccc-test", startTime: $s, endTime: $e, interval: HOURLY, emptyIntervals: ZERO) { id inbound { ...Ident callsOffered } }
        b: intervalInstanceReport(instanceId: "ccc-test", startTime: $s, endTime: $e, interval: HOURLY, emptyIntervals: ZERO) { inbound { callsOffered } }
      }
      fragment Ident on InboundMetrics { ... on InboundMetrics { id } }`,
      { s, e: s + HOUR_MS },
    );
    expect(answer.errors).toBeUndefined();
    expect(answer.data.a[0].inbound).toEqual({ id: `${answer.data.a[0].id}:inbound`, callsOffered: answer.data.b[0].inbound.callsOffered });
    expect(answer.data.b[0].inbound).toEqual({ callsOffered: expect.any(Number) });
  });
});
