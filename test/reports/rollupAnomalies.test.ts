/**
 * The roll-up assumption checks on hand-made buckets: the API document's example (averages
 * rounded up) breaks none; each rule fires on exactly the oddity it names, and not on the
 * roundings the roll-ups tolerate (exact, ceil, round).
 */
import { ANOMALY_RULES, contradictedRateAboveOne, findRollupAnomalies } from '../../src/reports/rollupAnomalies';
import type { ReportBucket } from '../../src/reports/metrics';
import { normalizeBucket } from '../../src/upstream/normalizeReport';
import { SEED_JSON_TEXT } from '../helpers/seed';

const seedBucket = (): ReportBucket => normalizeBucket(JSON.parse(SEED_JSON_TEXT).Data[0]);
const rulesOf = (bucket: ReportBucket) => findRollupAnomalies([bucket]).map((f) => `${f.rule} ${f.metric}`);

describe('findRollupAnomalies', () => {
  it("finds nothing in the API document's example (85 / 7 reported as 13: ceil)", () => {
    expect(findRollupAnomalies([seedBucket()])).toEqual([]);
  });

  it('flags handled > offered', () => {
    const bucket = seedBucket();
    bucket.inbound.callsOffered = 6;
    const findings = findRollupAnomalies([bucket]);
    expect(findings).toEqual([
      { rule: 'handled_exceeds_offered', statsTime: bucket.statsTime, metric: 'inbound.callsHandled', detail: 'callsHandled 7 > callsOffered 6' },
    ]);
  });

  it.each([
    ['exact', 85 / 7],
    ['ceil', 13],
    ['round', 12],
  ])('accepts an average that is the %s of total / count', (_how, average) => {
    const bucket = seedBucket();
    bucket.inbound.averageWorkTime = average;
    expect(rulesOf(bucket)).toEqual([]);
  });

  it.each([
    ['too high', 20],
    ['between its ceil and its round', 12.5],
    ['rounded to two decimals', 12.14],
  ])('flags an average %s', (_how, average) => {
    const bucket = seedBucket();
    bucket.inbound.averageWorkTime = average;
    expect(rulesOf(bucket)).toEqual(['average_inconsistent inbound.averageWorkTime']);
    expect(findRollupAnomalies([bucket])[0].detail).toBe(`averageWorkTime ${average} vs totalWorkTime 85 / callsHandled 7 = 12.14`);
  });

  it('flags a positive total over a count of 0, not a zero total over it', () => {
    const bucket = seedBucket();
    bucket.outbound.totalTalkTime = 30; // callsAnswered is 0
    bucket.outbound.averageTalkTime = 0;
    expect(rulesOf(bucket)).toEqual(['average_inconsistent outbound.averageTalkTime']);
  });

  describe('averages upstream reports without a count', () => {
    const overall = (totalHoldTime: number, averageHoldTime: number) => {
      const bucket = seedBucket();
      Object.assign(bucket.overall, { totalHoldTime, averageHoldTime });
      return rulesOf(bucket);
    };

    it.each([
      [105, 6, 'ceil: 20 holds of 5.25 s (docs/rollups.md)'],
      [104, 6, 'ceil with 18 to 20 holds, or round with 17'],
      [105, 5, 'round'],
      [100, 12.5, 'exact'],
      [3, 1, 'ceil with any count of at least 3'],
    ])('accepts total %d with average %d (%s)', (total, average) => {
      expect(overall(total, average)).toEqual([]);
    });

    it('flags an average no whole count gives', () => {
      expect(overall(10, 7)).toEqual(['average_inconsistent overall.averageHoldTime']);
    });

    it('flags a zero average over a positive total as unrecoverable', () => {
      expect(overall(40, 0)).toEqual(['average_count_unrecoverable overall.averageHoldTime']);
    });
  });

  describe('rates with a reported numerator', () => {
    it('accepts a rate rounded to two decimals that still gives the numerator back', () => {
      const bucket = seedBucket();
      Object.assign(bucket.inbound, { callsQueued: 3, callsHandled: 2, handleRate: 0.67 });
      expect(rulesOf(bucket).filter((r) => r.startsWith('rate_inconsistent'))).toEqual([]);
      bucket.inbound.handleRate = 0.34;
      expect(rulesOf(bucket)).toContain('rate_inconsistent inbound.handleRate');
    });

    it.each([
      ['inbound', { callsQueued: 7, handleRate: 0.5 }, 'rate_inconsistent inbound.handleRate'],
      ['inbound', { callsAbandonedInQueue: 1, callsAbandonedInRinging: 1, abandonedRate: 0 }, 'rate_inconsistent inbound.abandonedRate'],
      ['outbound', { callsDialed: 10, callsAnswered: 4, answerRate: 0.5 }, 'rate_inconsistent outbound.answerRate'],
      ['overall', { totalLoggedInTime: 1000, totalTalkTime: 447, occupancyRate: 0.1 }, 'rate_inconsistent overall.occupancyRate'],
    ] as const)('flags %s %p', (group, values, expected) => {
      const bucket = seedBucket();
      Object.assign(bucket[group], values);
      expect(rulesOf(bucket)).toContain(expected);
    });

    it('ignores the rate of an empty population and rates with a metric missing', () => {
      const bucket = seedBucket();
      Object.assign(bucket.outbound, { callsDialed: 0, answerRate: 0.9 });
      Object.assign(bucket.inbound, { callsHandled: null, handleRate: 0.1 });
      expect(rulesOf(bucket).filter((r) => r.startsWith('rate_inconsistent'))).toEqual([]);
    });
  });

  it('flags a rate above 1, not a score above 1', () => {
    const bucket = seedBucket();
    Object.assign(bucket.overall, { occupancyRate: 1.05, totalLoggedInTime: 100, totalTalkTime: 105, totalCalls: 7, averageTalkTime: 15 });
    bucket.outbound.satisfactionIndex = 4.5;
    expect(rulesOf(bucket)).toEqual(['rate_above_one overall.occupancyRate']);
  });

  it('lists every rule it can produce', () => {
    expect([...ANOMALY_RULES].sort()).toEqual(['average_count_unrecoverable', 'average_inconsistent', 'handled_exceeds_offered', 'rate_above_one', 'rate_inconsistent']);
  });
});

describe('contradictedRateAboveOne (grounds to reject an answer)', () => {
  const withValues = (values: Partial<Record<'inbound' | 'outbound' | 'overall', Record<string, number | null>>>) => {
    const bucket = seedBucket();
    for (const [group, v] of Object.entries(values)) Object.assign(bucket[group as 'inbound'], v);
    return bucket;
  };

  it("finds nothing in the API document's example", () => {
    expect(contradictedRateAboveOne(seedBucket())).toBeUndefined();
  });

  it.each([
    ['a HandleRate percentage', { inbound: { callsQueued: 20, callsHandled: 19, handleRate: 95 } }, 'inbound', 'handleRate 95 x callsQueued 20 = 1900, but callsHandled = 19 (19 / 20 = 0.95)'],
    ['an AbandonedRate percentage', { inbound: { callsQueued: 10, callsAbandonedInQueue: 2, callsAbandonedInRinging: 1, abandonedRate: 30 } }, 'inbound', 'abandonedRate 30 x callsQueued 10 = 300, but callsAbandonedInQueue + callsAbandonedInRinging = 3 (3 / 10 = 0.3)'],
    ['an AnswerRate percentage', { outbound: { callsDialed: 10, callsAnswered: 4, answerRate: 40 } }, 'outbound', 'answerRate 40 x callsDialed 10 = 400, but callsAnswered = 4 (4 / 10 = 0.4)'],
    ['a HandleRate above 1 where the counts say at most 1', { inbound: { callsQueued: 7, callsHandled: 7, handleRate: 1.2 } }, 'inbound', 'handleRate 1.2 x callsQueued 7 = 8.4, but callsHandled = 7 (7 / 7 = 1)'],
  ] as const)('finds %s', (_name, values, group, detail) => {
    expect(contradictedRateAboveOne(withValues(values))).toEqual({ group, metric: detail.split(' ')[0], detail });
  });

  it.each([
    ['a rate above 1 its counts give (21 handled of 20 queued)', { inbound: { callsQueued: 20, callsHandled: 21, handleRate: 1.05 } }],
    ['a rate above 1 rounded to two decimals over a large population (2,101 of 2,000)', { inbound: { callsQueued: 2000, callsHandled: 2101, handleRate: 1.05 } }],
    ['a contradicted rate not above 1 (counted, not rejected)', { inbound: { callsQueued: 7, callsHandled: 7, handleRate: 0.5 } }],
    ['a rate above 1 of an empty population', { outbound: { callsDialed: 0, callsAnswered: 0, answerRate: 95 } }],
    ['a rate above 1 whose numerator is missing', { inbound: { callsHandled: null, handleRate: 95 } }],
    ['an OccupancyRate above 1 (its numerator is the gateway\'s reading, over seconds)', { overall: { totalLoggedInTime: 1000, occupancyRate: 95 } }],
    ['a ServiceLevel20 above 1 (no numerator reported)', { inbound: { serviceLevel20: 95 } }],
  ] as const)('accepts %s', (_name, values) => {
    expect(contradictedRateAboveOne(withValues(values))).toBeUndefined();
  });

  it('the large-population rounding is still counted as rate_inconsistent and rate_above_one', () => {
    const rules = rulesOf(withValues({ inbound: { callsQueued: 2000, callsHandled: 2101, handleRate: 1.05, callsOffered: 2200 } }));
    expect(rules.filter((r) => r.startsWith('rate_')).sort()).toEqual([
      'rate_above_one inbound.handleRate',
      'rate_inconsistent inbound.handleRate',
    ]);
  });
});
