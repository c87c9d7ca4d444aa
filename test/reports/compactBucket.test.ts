import fc from 'fast-check';
import { bucketId } from '../../src/reports/buckets';
import { CompactBucket, METRIC_COUNT, toPlainBucket } from '../../src/reports/compactBucket';
import { combineBuckets } from '../../src/reports/combine';
import { METRIC_GROUPS, METRICS, type MetricValues, type ReportBucket } from '../../src/reports/metrics';
import { MemoryBucketStore, storedBucketId } from '../../src/cache/MemoryBucketStore';

const STATS_TIME = Date.UTC(2026, 10, 26, 3);

/** A bucket whose metric `i` (catalog order over all groups) is `valueOf(i)`. */
function bucketOf(valueOf: (i: number) => number | null, statsTime = STATS_TIME): ReportBucket {
  let i = 0;
  const group = (name: (typeof METRIC_GROUPS)[number]): MetricValues => Object.fromEntries(METRICS[name].map((m) => [m.name, valueOf(i++)]));
  return { statsTime, inbound: group('inbound'), outbound: group('outbound'), overall: group('overall') };
}

/** Every metric of `actual` is `Object.is` the same as in `expected` (-0, NaN and null told apart). */
function expectSameValues(actual: ReportBucket, expected: ReportBucket): void {
  expect(Object.is(actual.statsTime, expected.statsTime)).toBe(true);
  for (const group of METRIC_GROUPS) {
    const a = actual[group];
    for (const { name } of METRICS[group]) {
      const same = Object.is(a[name], expected[group][name]);
      if (!same) throw new Error(`${group}.${name}: ${String(a[name])} (${Object.is(a[name], -0) ? '-0' : typeof a[name]}) instead of ${String(expected[group][name])}`);
    }
  }
}

const SPECIAL = [null, 0, -0, 1, -1, 0.1, 1 / 3, 2 ** 53 - 1, -(2 ** 53) + 1, 2 ** 53, 1e300, 5e-324, -5e-324, Number.MAX_VALUE, Infinity, -Infinity, NaN];

describe('CompactBucket', () => {
  it('covers the whole catalog', () => {
    expect(METRIC_COUNT).toBe(METRICS.inbound.length + METRICS.outbound.length + METRICS.overall.length);
    expect(METRIC_COUNT).toBe(82);
  });

  it('reads back every metric bit-identically: null, -0, 0, large integers, fractions, infinities, NaN', () => {
    // Each special value at every position, so each metric's getter meets each of them.
    for (let shift = 0; shift < SPECIAL.length; shift++) {
      const plain = bucketOf((i) => SPECIAL[(i + shift) % SPECIAL.length]);
      expectSameValues(CompactBucket.from(plain), plain);
    }
  });

  it('reads back any doubles and nulls (property)', () => {
    const value = fc.oneof(fc.constant(null), fc.double(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(-0, NaN));
    fc.assert(
      fc.property(fc.array(value, { minLength: METRIC_COUNT, maxLength: METRIC_COUNT }), fc.integer({ min: 0, max: 2 ** 45 }), (values, statsTime) => {
        const plain = bucketOf((i) => values[i], statsTime);
        expectSameValues(CompactBucket.from(plain), plain);
      }),
      { numRuns: 300 },
    );
  });

  it('tells a NaN from null wherever in the bucket it is', () => {
    for (let at = 0; at < METRIC_COUNT; at++) {
      const plain = bucketOf((i) => (i === at ? NaN : i % 2 === 0 ? null : i));
      expectSameValues(CompactBucket.from(plain), plain);
    }
  });

  it('stores a metric missing from the object as null, as the Redis codec does', () => {
    const plain = bucketOf((i) => i);
    delete plain.inbound.callsOffered;
    const compact = CompactBucket.from(plain);
    expect(compact.inbound.callsOffered).toBeNull();
    expect(compact.inbound.callsHandled).toBe(plain.inbound.callsHandled);
  });

  it('serves the metric names a caller reads, and only those', () => {
    const compact = CompactBucket.from(bucketOf((i) => i * 10));
    expect(compact.inbound.callsOffered).toBe(10 * METRICS.inbound.findIndex((m) => m.name === 'callsOffered'));
    const overallOffset = METRICS.inbound.length + METRICS.outbound.length;
    expect(compact.overall.averageTalkTime).toBe(10 * (overallOffset + METRICS.overall.findIndex((m) => m.name === 'averageTalkTime')));
    expect(compact.inbound['noSuchMetric']).toBeUndefined();
    expect('callsOffered' in compact.inbound).toBe(true);
    expect('callsDialed' in compact.inbound).toBe(false);
    // for..in sees the metrics (and nothing else but toJSON, which is not enumerable)
    const seen: string[] = [];
    for (const name in compact.outbound) seen.push(name);
    expect(seen).toEqual(METRICS.outbound.map((m) => m.name));
    expect(Object.keys(compact.outbound)).toEqual([]);
  });

  it('is read-only: writing a metric throws instead of being silently lost', () => {
    const compact = CompactBucket.from(bucketOf((i) => i));
    expect(() => {
      compact.inbound.callsOffered = 1;
    }).toThrow(TypeError);
    expect(() => {
      (compact as { statsTime: number }).statsTime = 1;
    }).toThrow(TypeError);
  });

  it('gives the plain form to JSON and to toPlainBucket, equal to the original', () => {
    const plain = bucketOf((i) => (i % 7 === 0 ? null : i % 3 === 0 ? i / 7 : i));
    const compact = CompactBucket.from(plain);
    expect(JSON.stringify(compact)).toBe(JSON.stringify(plain));
    expect(JSON.stringify(compact.inbound)).toBe(JSON.stringify(plain.inbound));
    expect(toPlainBucket(compact)).toEqual(plain);
  });

  it('is not copied again when already compact', () => {
    const compact = CompactBucket.from(bucketOf((i) => i));
    expect(CompactBucket.from(compact)).toBe(compact);
  });

  it('combines exactly as the plain buckets do', () => {
    const parts = [0, 1, 2, 3].map((k) => bucketOf((i) => (k === 2 && i === 5 ? null : (i * 13 + k * 7) % 31), STATS_TIME + k * 3_600_000));
    const combined = combineBuckets(parts);
    const fromCompact = combineBuckets(parts.map((p) => CompactBucket.from(p)));
    expectSameValues({ statsTime: 0, ...fromCompact }, { statsTime: 0, ...combined });
    // Part cached (compact), part just fetched (plain), and a genuine NaN (not reported, to a roll-up).
    const mixed = combineBuckets(parts.map((p, k) => (k % 2 === 0 ? CompactBucket.from(p) : p)));
    expectSameValues({ statsTime: 0, ...mixed }, { statsTime: 0, ...combined });
    const withNaN = bucketOf((i) => (i === 3 ? NaN : (i * 5) % 17));
    expectSameValues({ statsTime: 0, ...combineBuckets([CompactBucket.from(withNaN), CompactBucket.from(parts[0])]) }, { statsTime: 0, ...combineBuckets([withNaN, parts[0]]) });
  });
});

describe('MemoryBucketStore keeps compact buckets', () => {
  const series = { instanceId: 'ccc-test', interval: 'HOURLY' as const, zone: 'UTC' };

  it('stores under the same key bucketId builds', () => {
    for (const statsTime of [0, STATS_TIME, 2 ** 45 + 1]) expect(storedBucketId(series, statsTime)).toBe(bucketId(series, statsTime));
  });

  it('returns what was written, bit for bit, with its finality and fetch time', () => {
    const memory = new MemoryBucketStore(10);
    const plain = bucketOf((i) => SPECIAL[i % SPECIAL.length]);
    memory.set({ series, statsTime: STATS_TIME, value: { data: plain, final: false, fetchedAt: 1234 }, ttlMs: 60_000 });
    memory.set({ series, statsTime: STATS_TIME + 3_600_000, value: { data: null, final: true } });
    const open = memory.getById(bucketId(series, STATS_TIME))!;
    expect(open.data).toBeInstanceOf(CompactBucket);
    expectSameValues(open.data!, plain);
    expect(open.final).toBe(false);
    expect(open.fetchedAt).toBe(1234);
    const quiet = memory.get({ series, statsTime: STATS_TIME + 3_600_000 })!;
    expect(quiet.data).toBeNull();
    expect(quiet.final).toBe(true);
  });
});
