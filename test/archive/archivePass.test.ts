/**
 * The pass's bookkeeping at the edges of upstream's retention, with the in-process adapters and a
 * fetcher that stores what it is asked for: history upstream dropped while the archive was off,
 * or that leaves retention during a long pass, is listed missing, never passed over.
 */
import { MemoryArchiveState } from '../../src/cache/MemoryArchiveState';
import { MemoryBucketStore } from '../../src/cache/MemoryBucketStore';
import { runArchivePass, type ArchiveFetcher } from '../../src/reports/archive/archivePass';
import { archivedSeries } from '../../src/reports/archive/ArchiveProgress';
import { archiveWindow } from '../../src/reports/archive/archiveWindow';
import { CallPacer } from '../../src/reports/archive/callPacer';
import { DAY_MS, HOUR_MS } from '../../src/reports/intervals';
import type { UpstreamCall } from '../../src/reports/planner';
import type { BucketSeries } from '../../src/reports/buckets';

const T0 = Date.UTC(2026, 10, 30, 5, 30);
const SETTLE_MS = 10 * 60_000;
const [HOURLY] = archivedSeries('ccc-test', 'Asia/Shanghai');

function setup() {
  const memory = new MemoryBucketStore(100_000);
  const state = new MemoryArchiveState(memory);
  const calls: { series: BucketSeries; call: UpstreamCall }[] = [];
  const fetcher: ArchiveFetcher = {
    async fetch(series, call) {
      calls.push({ series, call });
      for (const statsTime of call.bucketStarts) memory.set({ series, statsTime, value: { final: true, data: null } });
      return { upstreamCalls: 1 };
    },
  };
  return { memory, state, calls, fetcher, pacer: new CallPacer({ perMinute: 1e9 }) };
}

describe('archive pass bookkeeping', () => {
  it('lists as missing what upstream dropped while the archive was off, unless the cache holds it', async () => {
    const { memory, state, calls, fetcher, pacer } = setup();
    const token = (await state.acquire(1_000))!;
    const oldWatermark = T0 - 200 * DAY_MS - (T0 % HOUR_MS);
    await state.record(token, HOURLY, { earliest: oldWatermark - 10 * DAY_MS, watermark: oldWatermark });
    const window = archiveWindow(HOURLY, T0, SETTLE_MS);
    const lapsedHours = (window.from - oldWatermark) / HOUR_MS;
    // A live operation had stored one of those hours while upstream still had it.
    memory.set({ series: HOURLY, statsTime: oldWatermark + HOUR_MS, value: { final: true, data: null } });

    await runArchivePass({ token, instances: [{ id: 'ccc-test', zone: 'Asia/Shanghai' }], progress: state, fetcher, pacer, now: () => T0, settleDelayMs: SETTLE_MS });
    const progress = await state.read(HOURLY);
    expect(progress.missing).toHaveLength(lapsedHours - 1);
    expect(progress.missing[0]).toBe(oldWatermark);
    expect(progress.watermark).toBe(window.to);
    // Nothing beyond retention was asked for: the first call starts at the window.
    expect(calls.filter((c) => c.series.interval === 'HOURLY')[0].call.startTime).toBe(window.from);
  });

  it('lists buckets that leave retention during a long pass instead of passing over them', async () => {
    const { state, calls, fetcher, pacer } = setup();
    const token = (await state.acquire(1_000))!;
    let now = T0;
    const window = archiveWindow(HOURLY, T0, SETTLE_MS);
    // The window is computed at T0; by the time the first span is planned, 3 hours have passed.
    const clock = () => {
      const t = now;
      now = T0 + 3 * HOUR_MS;
      return t;
    };
    await runArchivePass({ token, instances: [{ id: 'ccc-test', zone: 'Asia/Shanghai' }], progress: state, fetcher, pacer, now: clock, settleDelayMs: SETTLE_MS });
    const progress = await state.read(HOURLY);
    expect(progress.missing).toEqual([window.from, window.from + HOUR_MS, window.from + 2 * HOUR_MS]);
    expect(calls.filter((c) => c.series.interval === 'HOURLY')[0].call.startTime).toBe(window.from + 3 * HOUR_MS);
    // The listed ones are counted, and no later pass can (or tries to) fetch them.
    const before = calls.length;
    await runArchivePass({ token, instances: [{ id: 'ccc-test', zone: 'Asia/Shanghai' }], progress: state, fetcher, pacer, now: () => T0 + 3 * HOUR_MS, settleDelayMs: SETTLE_MS });
    expect((await state.read(HOURLY)).missing).toHaveLength(3);
    expect(calls.slice(before).filter((c) => c.series.interval === 'HOURLY').every((c) => c.call.startTime >= window.from + 3 * HOUR_MS)).toBe(true);
  });
});
