import fc from 'fast-check';
import { DateTime } from 'luxon';
import { DAY_MS, HOUR_MS, bucketStart, bucketStartsInRange, nextBucketStart } from '../../src/reports/intervals';
import { DEFAULT_UPSTREAM_LIMITS, Plan, PlanInput, UpstreamLimits, planUpstreamCalls } from '../../src/reports/planner';

const INSTANCE = 'ccc-test-instance';
const SHANGHAI = 'Asia/Shanghai';
const NEW_YORK = 'America/New_York';
const HOURS_PER_HOURLY_CALL = 240; // 10 days

const HOUR_0 = Date.parse('2026-06-15T08:00:00Z');
const NOW = HOUR_0 + 5 * 60_000;
const { retentionMs: RETENTION_MS, retentionMarginMs: MARGIN_MS } = DEFAULT_UPSTREAM_LIMITS;
const OLDEST_SERVABLE = NOW - RETENTION_MS + MARGIN_MS;

/** `count` consecutive hourly buckets, the last one ending at `end`. */
const hoursEndingAt = (end: number, count: number): number[] =>
  Array.from({ length: count }, (_, i) => end - (count - i) * HOUR_MS);

const plan = (overrides: Partial<PlanInput>): Plan =>
  planUpstreamCalls({ instanceId: INSTANCE, interval: 'HOURLY', zone: SHANGHAI, missing: [], now: NOW, ...overrides });

const bucketCounts = (p: Plan): number[] => p.calls.map((c) => c.bucketStarts.length);

describe('planUpstreamCalls: examples', () => {
  it('fetches 25 days of closed hourly buckets in 3 calls of 240, 240 and 120 buckets', () => {
    const missing = hoursEndingAt(HOUR_0, 25 * 24);
    const p = plan({ missing });
    expect(bucketCounts(p)).toEqual([240, 240, 120]);
    expect(p.beyondRetention).toEqual([]);
    const [first] = p.calls;
    expect(first).toEqual({
      instanceId: INSTANCE,
      interval: 'HOURLY',
      startTime: missing[0],
      endTime: missing[0] + 240 * HOUR_MS - 1,
      bucketStarts: missing.slice(0, 240),
    });
    expect(p.calls[2].endTime).toBe(HOUR_0 - 1);
  });

  it('fetches the full 180-day retention of hourly buckets in 18 calls', () => {
    // All 4,320 hours are servable only until `margin` before the newest one ends.
    const missing = hoursEndingAt(HOUR_0, 180 * 24);
    const p = plan({ missing, now: HOUR_0 - MARGIN_MS });
    expect(p.calls).toHaveLength(18);
    expect(p.calls.every((c) => c.bucketStarts.length === 240)).toBe(true);
    expect(p.beyondRetention).toEqual([]);
  });

  it('fetches the closed hourly buckets still in retention in 18 calls', () => {
    // Closed by NOW and at or after the cut-off: 4,319 hours, the oldest of the 4,320 is too old.
    const missing = hoursEndingAt(HOUR_0, 180 * 24);
    const p = plan({ missing });
    expect(p.beyondRetention).toEqual([missing[0]]);
    expect(bucketCounts(p)).toEqual([...Array<number>(17).fill(240), 239]);
  });

  it('covers the same day as the API docs example for Asia/Shanghai', () => {
    // The docs send 1620230400000 .. 1620316799000 (end - 1 s); we send end - 1 ms, which upstream
    // rounds up to the same hour, 1620316800000.
    const day = 1620230400000; // 2021-05-06 00:00 +08:00
    const p = plan({ interval: 'DAILY', missing: [day], now: Date.parse('2021-05-10T00:00:00Z') });
    expect(p.calls).toEqual([
      { instanceId: INSTANCE, interval: 'DAILY', startTime: 1620230400000, endTime: 1620316799999, bucketStarts: [day] },
    ]);
  });

  it('keeps 200 days of daily buckets within the 180-day span and retention', () => {
    const lastDay = bucketStart(NOW, 'DAILY', SHANGHAI) - DAY_MS;
    const missing = Array.from({ length: 200 }, (_, i) => lastDay - i * DAY_MS);
    const p = plan({ interval: 'DAILY', missing });
    expect(p.beyondRetention).toEqual(missing.filter((b) => b < OLDEST_SERVABLE).sort((a, b) => a - b));
    expect(p.beyondRetention.length).toBeGreaterThanOrEqual(19);
    for (const call of p.calls) {
      expect(call.endTime - call.startTime).toBeLessThanOrEqual(180 * DAY_MS);
      expect(call.startTime).toBeGreaterThanOrEqual(OLDEST_SERVABLE);
    }
    expect(p.calls.flatMap((c) => c.bucketStarts)).toHaveLength(200 - p.beyondRetention.length);
  });

  it('splits 200 daily buckets into 180 + 20 when retention allows them all', () => {
    const limits: UpstreamLimits = { ...DEFAULT_UPSTREAM_LIMITS, retentionMs: 400 * DAY_MS };
    const firstDay = bucketStart(NOW - 250 * DAY_MS, 'DAILY', SHANGHAI);
    const missing = Array.from({ length: 200 }, (_, i) => firstDay + i * DAY_MS);
    const p = plan({ interval: 'DAILY', missing, limits });
    expect(bucketCounts(p)).toEqual([180, 20]);
    expect(p.calls[0].endTime - p.calls[0].startTime).toBe(180 * DAY_MS - 1);
  });

  it('does not bridge gaps: cached buckets in between are not refetched', () => {
    const hours = hoursEndingAt(HOUR_0, 10);
    const missing = [...hours.slice(0, 3), ...hours.slice(5, 6), ...hours.slice(7)];
    const p = plan({ missing });
    expect(p.calls.map((c) => c.bucketStarts)).toEqual([hours.slice(0, 3), hours.slice(5, 6), hours.slice(7)]);
  });

  it('ignores duplicates and order', () => {
    const hours = hoursEndingAt(HOUR_0, 5);
    const p = plan({ missing: [hours[3], hours[0], hours[4], hours[0], hours[2], hours[1], hours[3]] });
    expect(p.calls).toHaveLength(1);
    expect(p.calls[0].bucketStarts).toEqual(hours);
  });

  it('never requests buckets beyond retention', () => {
    const firstServableHour = Math.ceil(OLDEST_SERVABLE / HOUR_MS) * HOUR_MS;
    const missing = hoursEndingAt(firstServableHour + 2 * HOUR_MS, 5); // 3 too old, 2 servable
    const p = plan({ missing });
    expect(p.beyondRetention).toEqual(missing.slice(0, 3));
    expect(p.calls.map((c) => c.bucketStarts)).toEqual([missing.slice(3)]);
  });

  it('treats the retention margin as part of the cut-off', () => {
    // A bucket starting exactly at now - retention would be rejected if the call arrived 1 ms later.
    const p = plan({ missing: [HOUR_0 - 180 * DAY_MS], now: HOUR_0 });
    expect(p.calls).toEqual([]);
    expect(p.beyondRetention).toEqual([HOUR_0 - 180 * DAY_MS]);
  });

  it('returns an empty plan for nothing missing', () => {
    expect(plan({ missing: [] })).toEqual({ calls: [], beyondRetention: [] });
  });

  it('plans Kolkata hourly buckets on its half-hour grid', () => {
    const zone = 'Asia/Kolkata';
    const last = bucketStart(NOW, 'HOURLY', zone) - HOUR_MS;
    const missing = Array.from({ length: 250 }, (_, i) => last - i * HOUR_MS);
    const p = plan({ zone, missing });
    expect(bucketCounts(p)).toEqual([240, 10]);
    expect(p.calls[0].startTime % HOUR_MS).toBe(HOUR_MS / 2);
  });

  it('rejects values that are not bucket starts', () => {
    expect(() => plan({ missing: [HOUR_0 + 1] })).toThrow(RangeError);
    expect(() => plan({ interval: 'DAILY', missing: [HOUR_0] })).toThrow(RangeError);
    expect(() => plan({ missing: [Number.NaN] })).toThrow(RangeError);
    expect(() => plan({ zone: 'Mars/Olympus', missing: [HOUR_0] })).toThrow(RangeError);
  });

  // How fast is measured by `npm run bench` (a timed assertion fails on a loaded machine); here:
  // 4,320 hourly buckets are planned, each exactly once.
  it('plans 4,320 hourly buckets, each exactly once', () => {
    const missing = hoursEndingAt(HOUR_0, 180 * 24).reverse();
    const result = plan({ zone: NEW_YORK, missing });
    const planned = [...result.calls.flatMap((call) => call.bucketStarts), ...result.beyondRetention];
    expect(planned.sort((a, b) => a - b)).toEqual([...missing].sort((a, b) => a - b));
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

/** Runs of bucket indexes (possibly overlapping, so with duplicates), shuffled. */
const shuffledIndexRuns = (maxIndex: number, maxRunLength: number) =>
  fc
    .array(fc.record({ first: fc.integer({ min: 0, max: maxIndex }), length: fc.integer({ min: 1, max: maxRunLength }) }), {
      maxLength: 8,
    })
    .map((runs) => runs.flatMap(({ first, length }) => Array.from({ length }, (_, i) => Math.min(first + i, maxIndex))))
    .chain((indexes) => fc.shuffledSubarray(indexes, { minLength: indexes.length, maxLength: indexes.length }));

function oldestServableFor(now: number, limits: UpstreamLimits): number {
  return now - limits.retentionMs + limits.retentionMarginMs;
}

type BucketEndOracle = (bucketStartMs: number) => number;

/** Properties (a), (b), (c) and greedy maximality, which hold for any interval and zone. */
function checkPlanInvariants(input: PlanInput, p: Plan, bucketEnd: BucketEndOracle): void {
  const limits = input.limits ?? DEFAULT_UPSTREAM_LIMITS;
  const oldestServable = oldestServableFor(input.now, limits);
  const maxSpan = limits.maxSpanMs[input.interval];
  const missing = new Set(input.missing);
  const servable = [...missing].filter((b) => b >= oldestServable).sort((a, b) => a - b);
  const tooOld = [...missing].filter((b) => b < oldestServable).sort((a, b) => a - b);

  // (a) every servable missing bucket is in exactly one call, and the too-old ones are reported.
  const requested = p.calls.flatMap((c) => c.bucketStarts);
  expect([...requested].sort((a, b) => a - b)).toEqual(servable);
  expect(new Set(requested).size).toBe(requested.length);
  expect(p.beyondRetention).toEqual(tooOld);

  // Collected and asserted once: per-bucket expect() calls make thousands of runs crawl.
  const violations: string[] = [];
  for (const call of p.calls) {
    const where = `call ${new Date(call.startTime).toISOString()}`;
    if (call.instanceId !== input.instanceId || call.interval !== input.interval) violations.push(`${where}: wrong instance or interval`);
    // (b) a call only covers missing buckets, consecutive, and exactly its [startTime, endTime].
    if (!call.bucketStarts.every((b) => missing.has(b))) violations.push(`${where}: covers a bucket not missing`);
    if (call.startTime !== call.bucketStarts[0]) violations.push(`${where}: startTime is not its first bucket`);
    for (let i = 1; i < call.bucketStarts.length; i++) {
      if (call.bucketStarts[i] !== bucketEnd(call.bucketStarts[i - 1])) violations.push(`${where}: buckets not consecutive at ${i}`);
    }
    if (call.endTime !== bucketEnd(call.bucketStarts[call.bucketStarts.length - 1]) - 1) violations.push(`${where}: endTime is not last end - 1`);
    // (c) span and retention limits.
    if (call.endTime - call.startTime > maxSpan) violations.push(`${where}: span ${call.endTime - call.startTime} > ${maxSpan}`);
    if (call.startTime < input.now - limits.retentionMs) violations.push(`${where}: beyond retention`);
  }

  // Greedy maximality: a call directly followed by the rest of its run could not take one more bucket.
  for (let i = 1; i < p.calls.length; i++) {
    const prev = p.calls[i - 1];
    const next = p.calls[i];
    if (next.startTime === prev.endTime + 1 && bucketEnd(next.startTime) - 1 - prev.startTime <= maxSpan) {
      violations.push(`call ${new Date(prev.startTime).toISOString()} could have taken the next bucket`);
    }
  }
  expect(violations).toEqual([]);
}

/** (d) computed independently: ceil(runLength / 240) summed over runs of consecutive hours. */
function expectedHourlyCallCount(servableHours: number[]): number {
  const sorted = [...new Set(servableHours)].sort((a, b) => a - b);
  let calls = 0;
  let runLength = 0;
  sorted.forEach((hour, i) => {
    runLength = i > 0 && hour - sorted[i - 1] === HOUR_MS ? runLength + 1 : 1;
    if (runLength % HOURS_PER_HOURLY_CALL === 1) calls++; // a new run, or a run overflowing into a new call
  });
  return calls;
}

describe('planUpstreamCalls: properties', () => {
  const nowArb = fc.integer({ min: Date.parse('2024-01-01T00:00:00Z'), max: Date.parse('2028-01-01T00:00:00Z') });

  it('HOURLY in whole-hour zones: (a) exact cover, (b) only missing, (c) limits, (d) optimal call count', () => {
    fc.assert(
      fc.property(
        nowArb,
        fc.constantFrom('UTC', SHANGHAI, NEW_YORK, 'Europe/London'),
        shuffledIndexRuns(4400, 800), // 4,320 hours is the retention: some runs cross it
        (now, zone, indexes) => {
          const latestHour = Math.floor(now / HOUR_MS) * HOUR_MS;
          const missing = indexes.map((i) => latestHour - i * HOUR_MS);
          const input: PlanInput = { instanceId: INSTANCE, interval: 'HOURLY', zone, missing, now };
          const p = planUpstreamCalls(input);
          // Whole-hour zones: an hourly bucket is a UTC hour, an oracle independent of the code under test.
          checkPlanInvariants(input, p, (b) => b + HOUR_MS);
          const servable = missing.filter((b) => b >= oldestServableFor(now, DEFAULT_UPSTREAM_LIMITS));
          expect(p.calls).toHaveLength(expectedHourlyCallCount(servable));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('HOURLY in half-hour zones keeps the invariants', () => {
    fc.assert(
      fc.property(nowArb, fc.constantFrom('Asia/Kolkata', 'Australia/Adelaide'), shuffledIndexRuns(4400, 500), (now, zone, indexes) => {
        // Adelaide has DST, so step through the zone's buckets rather than assuming a fixed grid.
        const hours = bucketStartsInRange(now - 4401 * HOUR_MS, now, 'HOURLY', zone).reverse();
        const missing = indexes.map((i) => hours[i]);
        const input: PlanInput = { instanceId: INSTANCE, interval: 'HOURLY', zone, missing, now };
        checkPlanInvariants(input, planUpstreamCalls(input), (b) => nextBucketStart(b, 'HOURLY', zone));
      }),
      { numRuns: 30 },
    );
  });

  it('(e) DAILY in America/New_York across DST keeps the invariants and splits 25-hour days correctly', () => {
    // Local midnights from luxon, an oracle independent of the code under test.
    const days = Array.from({ length: 502 }, (_, i) => DateTime.fromISO('2025-06-01T00:00', { zone: NEW_YORK }).plus({ days: i }).toMillis());
    const dayEnd = new Map(days.slice(0, -1).map((d, i) => [d, days[i + 1]]));
    fc.assert(
      fc.property(
        shuffledIndexRuns(500, 400),
        fc.integer({ min: 0, max: 200 }),
        fc.boolean(),
        (indexes, nowDayIndex, longRetention) => {
          const missing = indexes.map((i) => days[i]);
          const now = days[300 + nowDayIndex] + 7 * HOUR_MS;
          // A long retention lets runs exceed 180 days, exercising the span split across DST.
          const limits: UpstreamLimits = longRetention ? { ...DEFAULT_UPSTREAM_LIMITS, retentionMs: 600 * DAY_MS } : DEFAULT_UPSTREAM_LIMITS;
          const input: PlanInput = { instanceId: INSTANCE, interval: 'DAILY', zone: NEW_YORK, missing, now, limits };
          checkPlanInvariants(input, planUpstreamCalls(input), (b) => dayEnd.get(b) ?? Number.NaN);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('DAILY: 180 New York days fit one call unless they include the 25-hour fall-back day', () => {
    const limits: UpstreamLimits = { ...DEFAULT_UPSTREAM_LIMITS, retentionMs: 1000 * DAY_MS };
    const now = Date.parse('2027-06-01T00:00:00Z');
    const days = (fromIso: string, count: number) =>
      Array.from({ length: count }, (_, i) => DateTime.fromISO(fromIso, { zone: NEW_YORK }).plus({ days: i }).toMillis());
    const input = (missing: number[]): PlanInput => ({ instanceId: INSTANCE, interval: 'DAILY', zone: NEW_YORK, missing, now, limits });

    // Jan..Jun 2026 contains only the 23-hour spring-forward day: 180 days are 180 d - 1 h.
    expect(bucketCounts(planUpstreamCalls(input(days('2026-01-01T00:00', 180))))).toEqual([180]);
    // Jul..Dec 2026 contains only the 25-hour fall-back day: 180 days are 180 d + 1 h, too long.
    expect(bucketCounts(planUpstreamCalls(input(days('2026-07-01T00:00', 180))))).toEqual([179, 1]);
  });
});
