import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { BucketDecodeError, CODEC_VERSION, decodeBucket, EMPTY_BUCKET, encodeBucket } from '../../src/cache/bucketCodec';
import { METRIC_GROUPS, METRICS, type MetricDefinition, type MetricGroup, type ReportBucket } from '../../src/reports/metrics';
import { normalizeBucket } from '../../src/upstream/normalizeReport';
import { SEED_JSON_TEXT } from '../helpers/seed';

const STATS_TIME = Date.UTC(2025, 2, 3, 10);

const SLOTS = METRIC_GROUPS.flatMap((group) => METRICS[group].map((metric) => ({ group, metric })));

/** Every catalog metric of both buckets is the same number (Object.is: -0 and NaN included). */
function sameMetrics(a: ReportBucket, b: ReportBucket): boolean {
  return SLOTS.every(({ group, metric }) => Object.is(a[group][metric.name], b[group][metric.name]));
}

function roundTrip(bucket: ReportBucket | null): ReportBucket | null {
  return decodeBucket(encodeBucket(bucket), bucket?.statsTime ?? STATS_TIME);
}

/** A bucket with every metric 0, to edit. */
function zeroBucket(): ReportBucket {
  const bucket: ReportBucket = { statsTime: STATS_TIME, inbound: {}, outbound: {}, overall: {} };
  for (const { group, metric } of SLOTS) bucket[group][metric.name] = 0;
  return bucket;
}

const lookup = (group: MetricGroup, upstreamName: string | null | undefined): MetricDefinition | undefined =>
  METRICS[group].find((m) => m.upstreamName === upstreamName);

/**
 * How a generated bucket fills one metric. Averages and ratios are usually made of the bucket's
 * own integers, as upstream computes them, sometimes rounded or arbitrary.
 */
type Plan =
  | { kind: 'literal'; value: number | null }
  | { kind: 'exact' }
  | { kind: 'ceil' }
  | { kind: 'fraction'; integer: number };

const anyDouble = fc.double(); // includes -0, NaN, +-Infinity
const longValue = fc.oneof(
  fc.constant(null),
  fc.nat({ max: 100 }),
  fc.nat({ max: 100_000 }),
  fc.maxSafeNat(),
  fc.integer({ min: -1_000, max: -1 }),
  anyDouble,
);
const derivedPlan = (metric: MetricDefinition): fc.Arbitrary<Plan> => {
  const options: fc.Arbitrary<Plan>[] = [
    fc.constant<Plan>({ kind: 'exact' }),
    fc.constant<Plan>({ kind: 'ceil' }),
    fc.nat({ max: 5_000 }).map((integer): Plan => ({ kind: 'fraction', integer })),
    fc.oneof(fc.constant(null), anyDouble, fc.nat({ max: 10 })).map((value): Plan => ({ kind: 'literal', value })),
  ];
  return metric.kind === 'average' || metric.kind === 'ratio' ? fc.oneof(...options) : longValue.map((value) => ({ kind: 'literal', value }));
};

const bucketArbitrary: fc.Arbitrary<ReportBucket> = fc.tuple(...SLOTS.map(({ metric }) => derivedPlan(metric))).map((plans) => {
  const bucket: ReportBucket = { statsTime: STATS_TIME, inbound: {}, outbound: {}, overall: {} };
  // Plain values first: averages and ratios are computed from them.
  plans.forEach((plan, i) => {
    if (plan.kind === 'literal') bucket[SLOTS[i].group][SLOTS[i].metric.name] = plan.value;
  });
  plans.forEach((plan, i) => {
    if (plan.kind === 'literal') return;
    const { group, metric } = SLOTS[i];
    const numerator = bucket[group][lookup(group, metric.numerator)?.name ?? ''] ?? null;
    const denominator = bucket[group][lookup(group, metric.denominator)?.name ?? ''] ?? null;
    let value: number | null;
    if (plan.kind === 'fraction') {
      // A ratio: integer / its count. An average without reported count: total / integer.
      value = metric.kind === 'ratio' ? (denominator === null ? null : plan.integer / denominator) : numerator === null ? null : numerator / plan.integer;
    } else {
      const quotient = numerator === null || denominator === null ? null : numerator / denominator;
      value = plan.kind === 'ceil' && quotient !== null ? Math.ceil(quotient) : quotient;
    }
    bucket[group][metric.name] = value;
  });
  return bucket;
});

describe('bucketCodec', () => {
  it('round-trips any bucket exactly: every number bit-identical, nulls kept', () => {
    fc.assert(
      fc.property(bucketArbitrary, (bucket) => {
        const decoded = roundTrip(bucket);
        return decoded !== null && decoded.statsTime === STATS_TIME && sameMetrics(decoded, bucket);
      }),
      { numRuns: 2_000 },
    );
  });

  it('round-trips the API document example (averages rounded up by upstream)', () => {
    const seedBucket = normalizeBucket(JSON.parse(SEED_JSON_TEXT).Data[0]);
    const decoded = roundTrip(seedBucket);
    expect(decoded).toEqual(seedBucket);
    // Almost all zeros and small integers: one character each.
    expect(encodeBucket(seedBucket).length).toBeLessThan(120);
  });

  it('encodes "no traffic" as a one-character marker distinct from any bucket', () => {
    expect(encodeBucket(null)).toBe(EMPTY_BUCKET);
    expect(EMPTY_BUCKET).toHaveLength(1);
    expect(decodeBucket(EMPTY_BUCKET, STATS_TIME)).toBeNull();

    // A bucket in which upstream reported nothing at all is still a bucket.
    const allNull: ReportBucket = { statsTime: STATS_TIME, inbound: {}, outbound: {}, overall: {} };
    for (const { group, metric } of SLOTS) allNull[group][metric.name] = null;
    expect(encodeBucket(allNull)).not.toBe(EMPTY_BUCKET);
    expect(roundTrip(allNull)).toEqual(allNull);
  });

  it('starts every bucket with the format version and does not store statsTime', () => {
    const bucket = zeroBucket();
    const text = encodeBucket(bucket);
    expect(text.charAt(0)).toBe(CODEC_VERSION);
    expect(text).toBe(encodeBucket({ ...bucket, statsTime: 0 }));
    expect(decodeBucket(text, 12345)?.statsTime).toBe(12345);
  });

  it('keeps -0, NaN, infinities, negative numbers and big safe integers', () => {
    const bucket = zeroBucket();
    bucket.inbound.callsOffered = -0;
    bucket.inbound.callsQueued = Number.NaN;
    bucket.inbound.totalTalkTime = Number.POSITIVE_INFINITY;
    bucket.outbound.callsDialed = -42;
    bucket.overall.totalLoggedInTime = Number.MAX_SAFE_INTEGER;
    bucket.overall.totalCalls = 2 ** 53 - 27; // the top of the safe range, 12 characters
    bucket.overall.maxTalkTime = 2 ** 53; // not a safe integer: a literal
    bucket.inbound.abandonedRate = 1e-7;
    const decoded = roundTrip(bucket)!;
    expect(sameMetrics(decoded, bucket)).toBe(true);
    expect(Object.is(decoded.inbound.callsOffered, -0)).toBe(true);
  });

  it('stores an exactly derivable average as one character and recomputes it', () => {
    const bucket = zeroBucket();
    bucket.inbound.totalTalkTime = 4470;
    bucket.inbound.callsHandled = 7;
    bucket.inbound.averageTalkTime = 4470 / 7; // 638.5714285714286
    const text = encodeBucket(bucket);
    expect(text).not.toContain('638');
    // Against all zeros: 4470 takes 3 characters instead of 1, the average still 1 (`=`).
    expect(text.length).toBe(encodeBucket(zeroBucket()).length + 2);
    expect(roundTrip(bucket)!.inbound.averageTalkTime).toBe(4470 / 7);
  });

  it('stores a rate as its integer numerator over the catalog denominator', () => {
    const bucket = zeroBucket();
    bucket.inbound.callsQueued = 41;
    bucket.inbound.handleRate = 37 / 41;
    bucket.overall.totalBreakTime = 1000;
    bucket.overall.averageBreakTime = 1000 / 3; // upstream reports no break count: 3 is hidden
    const text = encodeBucket(bucket);
    expect(text).not.toMatch(/0\.9024|333\.33/);
    const decoded = roundTrip(bucket)!;
    expect(decoded.inbound.handleRate).toBe(37 / 41);
    expect(decoded.overall.averageBreakTime).toBe(1000 / 3);
  });

  it('falls back to a literal when recomputation would not be bit-identical', () => {
    const bucket = zeroBucket();
    bucket.inbound.totalTalkTime = 447;
    bucket.inbound.callsHandled = 7;
    bucket.inbound.averageTalkTime = 63.85714285714286; // one ulp above 447 / 7 (63.857142857142854)
    bucket.inbound.callsQueued = 3;
    bucket.inbound.handleRate = 0.3333; // rounded by someone: no integer numerator gives it
    expect(bucket.inbound.averageTalkTime).not.toBe(447 / 7);
    const decoded = roundTrip(bucket)!;
    expect(decoded.inbound.averageTalkTime).toBe(63.85714285714286);
    expect(decoded.inbound.handleRate).toBe(0.3333);
  });

  it.each([
    ['an empty string', ''],
    ['another format version', '2AAA'],
    ['too few values', `${CODEC_VERSION}AAA`],
    ['too many values', `${CODEC_VERSION}${'A'.repeat(SLOTS.length + 1)}`],
    ['an integer without its final digit', `${CODEC_VERSION}${'A'.repeat(SLOTS.length - 1)}12`],
    ['an unterminated literal', `${CODEC_VERSION}${'A'.repeat(SLOTS.length - 1)}'0.5`],
    ['a literal JS would misread', `${CODEC_VERSION}${'A'.repeat(SLOTS.length - 1)}'0x10'`],
    ['an average over a null count', `${CODEC_VERSION}=${'_'.repeat(SLOTS.length - 1)}`],
  ])('rejects %s', (_, text) => {
    expect(() => decodeBucket(text, STATS_TIME)).toThrow(BucketDecodeError);
  });

  it('encodes the catalog order it was written for (changing it needs a new encoding version)', () => {
    // Values are stored by position. If this fails, the catalog changed: freeze the new order as a
    // new layout and version in src/cache/bucketCodec.ts, version 1 staying readable (see
    // test/cache/encodingVersions.test.ts), then update the version and hash here.
    const layout = SLOTS.map(({ group, metric }) => `${group}.${metric.upstreamName}:${metric.kind}`).join(',');
    expect(SLOTS).toHaveLength(82);
    expect({ version: CODEC_VERSION, layout: createHash('sha256').update(layout).digest('hex').slice(0, 16) }).toEqual({
      version: '1',
      layout: '45e395e48686e030',
    });
  });
});
