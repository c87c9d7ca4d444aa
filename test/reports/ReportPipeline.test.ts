import { MemoryBucketStore } from '../../src/cache/MemoryBucketStore';
import { GatewayError } from '../../src/reports/errors';
import { DAY_MS, HOUR_MS } from '../../src/reports/intervals';
import { PipelineTrace, ReportPipeline, type BucketRangeKey } from '../../src/reports/ReportPipeline';
import { fakeBucket, FakeReportSource } from '../helpers/fakeReportSource';

const NOW = Date.UTC(2026, 10, 26, 3, 30); // 11:30 in Shanghai
const SETTLE = 10 * 60_000;
const TTL = 30_000;

function setup() {
  const clock = { now: NOW };
  const source = new FakeReportSource();
  const memory = new MemoryBucketStore(100_000);
  const pipeline = new ReportPipeline({
    source,
    memory,
    now: () => clock.now,
    settleDelayMs: SETTLE,
    openTtlMs: TTL,
    upstreamConcurrency: 4,
  });
  return { clock, source, memory, pipeline };
}

const hourly = (instanceId: string, start: number, end: number): BucketRangeKey => ({
  instanceId,
  interval: 'HOURLY',
  zone: 'UTC',
  start,
  end,
});

async function load(pipeline: ReportPipeline, key: BucketRangeKey) {
  const [result] = await pipeline.loadRanges([key]);
  if (result instanceof Error) throw result;
  return result;
}

describe('ReportPipeline', () => {
  const dayStart = Date.UTC(2026, 10, 26);

  it('fetches a closed 25-day hourly range in 3 calls, then serves it from cache with 0', async () => {
    const { source, pipeline } = setup();
    const key = hourly('ccc-test', dayStart - 26 * DAY_MS, dayStart - DAY_MS);
    const slots = await load(pipeline, key);
    expect(source.calls).toHaveLength(3);
    expect(slots).toHaveLength(600);
    expect(slots.every((s) => s.closed)).toBe(true);
    // Data is exactly what upstream answered, and quiet hours are present as data: null.
    for (const slot of slots) {
      expect(slot.data).toEqual(source.hasTraffic(slot.statsTime) ? fakeBucket(slot.statsTime, 'ccc-test') : null);
    }
    await load(pipeline, key);
    expect(source.calls).toHaveLength(3);
  });

  it('batches overlapping ranges of several instances into the fewest calls', async () => {
    const { source, pipeline } = setup();
    const trace = new PipelineTrace();
    const loader = pipeline.createLoader(trace);
    const instances = ['ccc-a', 'ccc-b', 'ccc-c'];
    const keys: BucketRangeKey[] = [];
    for (let i = 0; i < 20; i++) {
      const start = dayStart - (30 - i) * DAY_MS + (i % 3) * HOUR_MS;
      keys.push(hourly(instances[i % 3], start, start + (2 + (i % 4)) * DAY_MS));
    }
    const results = await Promise.all(keys.map((k) => loader.load(k)));
    expect(trace.batches).toBe(1);
    // Independent count: union of hours per instance, consecutive runs, 240 hours per call.
    let expected = 0;
    for (const id of instances) {
      const hours = new Set<number>();
      for (const k of keys.filter((k) => k.instanceId === id)) {
        for (let t = Math.floor(k.start / HOUR_MS) * HOUR_MS; t < k.end; t += HOUR_MS) hours.add(t);
      }
      const sorted = [...hours].sort((a, b) => a - b);
      let run = 1;
      for (let i = 1; i <= sorted.length; i++) {
        if (i < sorted.length && sorted[i] === sorted[i - 1] + HOUR_MS) run++;
        else {
          expected += Math.ceil(run / 240);
          run = 1;
        }
      }
    }
    expect(source.calls).toHaveLength(expected);
    results.forEach((slots, i) => expect(slots[0].statsTime).toBe(Math.floor(keys[i].start / HOUR_MS) * HOUR_MS));
  });

  it('shares in-flight upstream calls across 500 concurrent operations', async () => {
    const { source, pipeline } = setup();
    source.latencyMs = 50;
    const key = hourly('ccc-test', dayStart - 25 * DAY_MS, dayStart);
    const results = await Promise.all(Array.from({ length: 500 }, () => pipeline.createLoader().load(key)));
    expect(source.calls).toHaveLength(3);
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
  });

  it('refetches only the open bucket, at most once per TTL, and stores it as final once settled', async () => {
    const { clock, source, pipeline, memory } = setup();
    const key = hourly('ccc-test', NOW - 5 * HOUR_MS, NOW);
    const first = await load(pipeline, key);
    expect(source.calls).toHaveLength(1);
    expect(first.map((s) => s.closed)).toEqual([true, true, true, true, true, false]);

    clock.now += 10_000; // within TTL
    await load(pipeline, key);
    expect(source.calls).toHaveLength(1);

    clock.now += TTL; // TTL passed: only the open hour again (in the background, see the stale-while-revalidate tests)
    await load(pipeline, key);
    expect(source.calls).toHaveLength(2);
    expect(source.calls[1]).toMatchObject({ startTime: Date.UTC(2026, 10, 26, 3), endTime: Date.UTC(2026, 10, 26, 4) - 1 });
    await pipeline.refreshesSettled();

    // After the hour ends plus the settle delay, it is fetched once more and kept for good.
    clock.now = Date.UTC(2026, 10, 26, 4) + SETTLE;
    const settled = await load(pipeline, hourly('ccc-test', NOW - 5 * HOUR_MS, NOW));
    expect(source.calls).toHaveLength(3);
    expect(settled.every((s) => s.closed)).toBe(true);
    expect(memory.get({ series: key, statsTime: Date.UTC(2026, 10, 26, 3) })?.final).toBe(true);
    clock.now += DAY_MS;
    await load(pipeline, hourly('ccc-test', NOW - 5 * HOUR_MS, NOW));
    expect(source.calls).toHaveLength(3);
  });

  it('never stores a bucket that closed while its call was travelling as final', async () => {
    const { clock, source, pipeline, memory } = setup();
    const hour = Date.UTC(2026, 10, 26, 2);
    clock.now = hour + HOUR_MS + SETTLE - 1; // 1 ms before settling
    source.listIntervalInstanceReport = (orig => async (q) => {
      clock.now += 5; // settles while the answer travels
      return orig(q);
    })(source.listIntervalInstanceReport.bind(source));
    const [slot] = await load(pipeline, hourly('ccc-test', hour, hour + HOUR_MS));
    expect(slot.closed).toBe(false);
    expect(memory.get({ series: hourly('ccc-test', 0, 0), statsTime: hour })?.final).toBe(false);
  });

  it('reports a joined snapshot as open when its call was sent before the bucket closed', async () => {
    const { clock, source, pipeline } = setup();
    const hour = Date.UTC(2026, 10, 26, 2);
    const settled = hour + HOUR_MS + SETTLE;
    clock.now = settled - 100; // request A: the hour is still open when its call is sent
    source.latencyMs = 50;
    const key = hourly('ccc-test', hour, hour + HOUR_MS);
    const a = pipeline.loadRanges([key]);
    await new Promise((r) => setTimeout(r, 10));
    clock.now = settled + 100; // request B: the hour has closed by the clock, joins A's call
    const b = pipeline.loadRanges([key]);
    const [[slotA], [slotB]] = (await Promise.all([a, b])).map(([r]) => r as { closed: boolean }[]);
    expect(source.calls).toHaveLength(1);
    expect(slotA.closed).toBe(false);
    expect(slotB.closed).toBe(false); // the data may miss late events: not final
  });

  it('refuses an upstream answer whose buckets are off the requested grid, and stores nothing', async () => {
    const { source, pipeline, memory } = setup();
    const orig = source.listIntervalInstanceReport.bind(source);
    // Upstream cutting days at UTC midnight while the gateway expects Shanghai midnights.
    source.listIntervalInstanceReport = async (q) => {
      const answer = await orig(q);
      return { buckets: answer.buckets.map((b) => ({ ...b, statsTime: b.statsTime + 8 * HOUR_MS })) };
    };
    const dailyKey: BucketRangeKey = { instanceId: 'ccc-test', interval: 'DAILY', zone: 'Asia/Shanghai', start: Date.UTC(2026, 10, 19, 16), end: Date.UTC(2026, 10, 22, 16) };
    const [result] = await pipeline.loadRanges([dailyKey]);
    expect(result).toBeInstanceOf(GatewayError);
    expect((result as GatewayError).code).toBe('UPSTREAM_ERROR');
    expect((result as GatewayError).message).toMatch(/not on the bucket grid of Asia\/Shanghai/);
    expect(memory.size).toBe(0);
  });

  it('caches nothing from a failed call and fetches exactly what is still missing next time', async () => {
    const { source, pipeline } = setup();
    const failing = dayStart - 20 * DAY_MS;
    source.failWhen = (q) => (q.startTime === failing ? new GatewayError('UPSTREAM_UNAVAILABLE', 'down') : undefined);
    const keys = [hourly('ccc-test', dayStart - 30 * DAY_MS, failing), hourly('ccc-test', failing, failing + 5 * DAY_MS)];
    const [ok, failed] = await pipeline.loadRanges(keys);
    expect(ok).toHaveLength(240);
    expect(failed).toBeInstanceOf(GatewayError);
    expect((failed as GatewayError).code).toBe('UPSTREAM_UNAVAILABLE');
    const callsBefore = source.calls.length;

    source.failWhen = () => undefined;
    const [again] = await pipeline.loadRanges([hourly('ccc-test', dayStart - 30 * DAY_MS, failing + 5 * DAY_MS)]);
    expect(again).toHaveLength(360);
    expect(source.calls.slice(callsBefore)).toEqual([
      { instanceId: 'ccc-test', interval: 'HOURLY', startTime: failing, endTime: failing + 5 * DAY_MS - 1 },
    ]);
  });

  it('caches closed buckets without traffic and does not fetch them again', async () => {
    const { source, pipeline } = setup();
    source.hasTraffic = () => false;
    const key = hourly('ccc-quiet', dayStart - 2 * DAY_MS, dayStart - DAY_MS);
    expect((await load(pipeline, key)).every((s) => s.data === null)).toBe(true);
    await load(pipeline, key);
    expect(source.calls).toHaveLength(1);
  });

  it('serves a range older than retention from cache, and names the uncovered span otherwise', async () => {
    const { clock, source, pipeline } = setup();
    const hour = Math.floor(NOW / HOUR_MS) * HOUR_MS;
    const old = hourly('ccc-test', hour - 179 * DAY_MS, hour - 178 * DAY_MS);
    await load(pipeline, old);
    expect(source.calls).toHaveLength(1);
    clock.now += 3 * DAY_MS; // now 182 days back: beyond retention but cached
    expect(await load(pipeline, old)).toHaveLength(24);
    expect(source.calls).toHaveLength(1);

    const [result] = await pipeline.loadRanges([hourly('ccc-test', clock.now - 200 * DAY_MS, clock.now - 199 * DAY_MS)]);
    expect(result).toBeInstanceOf(GatewayError);
    expect((result as GatewayError).code).toBe('BAD_USER_INPUT');
    expect((result as GatewayError).message).toMatch(/180-day retention/);
    expect(source.calls).toHaveLength(1);
  });
});
