/**
 * The live report hub on its own: scripted polls, an in-process coordination. What a subscriber
 * gets from successive snapshots (only changed buckets, closed ones once, the next bucket), and
 * the bounded queue of a subscriber that does not read.
 */
import { InProcessLiveCoordination } from '../../src/cache/InProcessLiveCoordination';
import { zeroMetrics } from '../../src/reports/combine';
import type { ReportRow } from '../../src/reports/InstanceReports';
import { HOUR_MS } from '../../src/reports/intervals';
import type { LiveSeriesSpec } from '../../src/reports/LiveCoordination';
import { LiveReportHub, type LiveEvent } from '../../src/reports/LiveReportHub';

const T0 = Date.UTC(2026, 10, 26, 3);
const SPEC: LiveSeriesSpec = { key: 'ccc-test:HOURLY:UTC', instanceIds: ['ccc-test'], interval: 'HOURLY', zone: 'UTC' };

function row(statsTime: number, calls: number, closed = false): ReportRow {
  const metrics = zeroMetrics();
  return { ...metrics, overall: { ...metrics.overall, totalCalls: calls }, statsTime, endTime: statsTime + HOUR_MS, interval: 'HOURLY', closed, seriesKey: SPEC.key };
}

/** A hub whose polls answer `next()`'s rows. */
function hub(next: () => ReportRow[], maxQueuedEvents = 8) {
  const froms: number[] = [];
  const h = new LiveReportHub({
    coordination: new InProcessLiveCoordination(),
    now: () => T0 + 30 * 60_000,
    settleDelayMs: 0,
    pollIntervalMs: 10,
    maxQueuedEvents,
    async poll(_spec, from) {
      froms.push(from);
      return next();
    },
  });
  return { h, froms };
}

const take = async (it: AsyncIterator<LiveEvent>, n: number) => {
  const out: [number, number | null | undefined, boolean][] = [];
  for (let i = 0; i < n; i++) {
    const { value } = await it.next();
    out.push([value.row.statsTime, value.row.overall.totalCalls, value.row.closed]);
  }
  return out;
};

describe('LiveReportHub', () => {
  it('delivers the current bucket, then only what changed, closed once, then the next bucket', async () => {
    const polls = [[row(T0, 5)], [row(T0, 5)], [row(T0, 7)], [row(T0, 9, true), row(T0 + HOUR_MS, 1)], [row(T0 + HOUR_MS, 1)]];
    const { h, froms } = hub(() => (polls.length > 1 ? polls.shift()! : polls[0]));
    const it = h.subscribe(SPEC, [row(T0, 5)], () => {});
    expect(await take(it, 4)).toEqual([
      [T0, 5, false],
      [T0, 7, false],
      [T0, 9, true],
      [T0 + HOUR_MS, 1, false],
    ]);
    // After the closed bucket, polls start at the next one.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(froms[0]).toBe(T0);
    expect(froms[froms.length - 1]).toBe(T0 + HOUR_MS);
    await h.stop();
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it('drops a subscriber that leaves more than maxQueuedEvents unread, and only that one', async () => {
    let calls = 0;
    // Every poll has new numbers.
    const { h } = hub(() => [row(T0, ++calls)], 3);
    const drops: string[] = [];
    const stalled = h.subscribe(SPEC, [row(T0, 0)], (reason) => drops.push(reason));
    const reader = h.subscribe(SPEC, [row(T0, 0)], () => drops.push('reader'));
    const read: number[] = [];
    while (drops.length === 0) {
      const { value } = await reader.next();
      read.push(value.row.overall.totalCalls);
    }
    expect(drops).toEqual(['slow-consumer']);
    // What it had queued is gone with it: the stream ends.
    expect(await stalled.next()).toEqual({ value: undefined, done: true });
    expect(h.stats.subscribers).toBe(1);
    await h.stop();
    expect(read.length).toBeGreaterThanOrEqual(3);
  });
});
