/**
 * Roll-up rules on hand-computed examples: one block per rule, then the edge cases (no traffic,
 * metrics upstream did not report) and the documentation's rule table.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  combineBuckets,
  combineInbound,
  combineOutbound,
  combineOverall,
  recoverCount,
  zeroMetrics,
} from '../../src/reports/combine';
import { COMBINE_RULES, CombineRule } from '../../src/reports/combineRules';
import { METRIC_GROUPS, METRICS, MetricGroup, MetricValues, ReportBucket } from '../../src/reports/metrics';
import { normalizeBucket } from '../../src/upstream/normalizeReport';
import { SEED_JSON_TEXT } from '../helpers/seed';

/** A full bucket as upstream sends one for a quiet hour (every metric 0), with some values set. */
function bucket(values: Partial<Record<MetricGroup, MetricValues>> = {}): ReportBucket {
  const quiet = (group: MetricGroup): MetricValues => Object.fromEntries(METRICS[group].map((metric) => [metric.name, 0]));
  return {
    statsTime: 0,
    inbound: { ...quiet('inbound'), ...values.inbound },
    outbound: { ...quiet('outbound'), ...values.outbound },
    overall: { ...quiet('overall'), ...values.overall },
  };
}

function ruleOf(group: MetricGroup, metric: string): CombineRule {
  const rule = COMBINE_RULES[group].find((candidate) => candidate.metric === metric);
  if (!rule) throw new Error(`no rule for ${group}.${metric}`);
  return rule;
}

describe('rules come from the catalog', () => {
  it.each(METRIC_GROUPS)('%s: one rule per metric, in catalog order, chosen by kind', (group) => {
    expect(COMBINE_RULES[group].map((rule) => rule.metric)).toEqual(METRICS[group].map((metric) => metric.name));
    const expectedRule = { count: 'sum', total: 'sum', max: 'max', ratio: 'weightedRatio' } as const;
    for (const metric of METRICS[group]) {
      const rule = ruleOf(group, metric.name).rule;
      if (metric.kind === 'average') {
        expect(rule).toBe(metric.denominator === null ? 'totalOverRecoveredCount' : 'totalOverCount');
      } else {
        expect(rule).toBe(expectedRule[metric.kind]);
      }
    }
  });

  it('recovers counts for exactly the three overall averages upstream reports without one', () => {
    const recovered = METRIC_GROUPS.flatMap((group) =>
      COMBINE_RULES[group].filter((rule) => rule.rule === 'totalOverRecoveredCount').map((rule) => `${group}.${rule.metric}`),
    );
    expect(recovered.sort()).toEqual(['overall.averageBreakTime', 'overall.averageHoldTime', 'overall.averageReadyTime']);
  });

  it('rounds recovered numerators of fractions of whole quantities, and not of scores', () => {
    const whole = METRIC_GROUPS.flatMap((group) =>
      COMBINE_RULES[group]
        .filter((rule) => rule.rule === 'weightedRatio')
        .map((rule) => `${group}.${rule.metric}:${rule.rule === 'weightedRatio' && rule.wholeNumerator}`),
    );
    expect(whole.sort()).toEqual([
      'inbound.abandonedRate:true',
      'inbound.handleRate:true',
      'inbound.satisfactionIndex:false',
      'inbound.serviceLevel20:true',
      'outbound.answerRate:true',
      'outbound.satisfactionIndex:false',
      'overall.occupancyRate:true',
      'overall.satisfactionIndex:false',
    ]);
  });
});

describe('counts and totals add, maxima take the maximum', () => {
  it('adds counts and totals of every part', () => {
    const combined = combineInbound([
      { callsOffered: 7, totalTalkTime: 447 },
      { callsOffered: 3, totalTalkTime: 120 },
      { callsOffered: 0, totalTalkTime: 0 },
    ]);
    expect(combined.callsOffered).toBe(10);
    expect(combined.totalTalkTime).toBe(567);
  });

  it('takes the largest maximum, not their sum or average', () => {
    expect(combineOutbound([{ maxTalkTime: 219 }, { maxTalkTime: 301 }, { maxTalkTime: 12 }]).maxTalkTime).toBe(301);
  });
});

describe('averages with a reported count: combined total / combined count', () => {
  it('weights each part by its count, never averaging the averages', () => {
    // 4 calls of 25 s on average, then 7 calls of 85 s in all (reported rounded up as 13):
    // (100 + 85) / (4 + 7), not (25 + 13) / 2 = 19.
    const combined = combineInbound([
      { totalWorkTime: 100, callsHandled: 4, averageWorkTime: 25 },
      { totalWorkTime: 85, callsHandled: 7, averageWorkTime: 13 },
    ]);
    expect(combined.averageWorkTime).toBe(185 / 11);
  });

  it('ignores the reported (rounded) average: the seed hour alone combines to its exact averages', () => {
    const seedHour = normalizeBucket(JSON.parse(SEED_JSON_TEXT).Data[0]);
    expect(seedHour.inbound.averageWorkTime).toBe(13);
    const combined = combineBuckets([seedHour]);
    expect(combined.inbound.averageWorkTime).toBe(85 / 7);
    expect(combined.inbound.averageTalkTime).toBe(447 / 7);
    // The same hour twice (two instances alike) has the same averages, not drifted ones.
    expect(combineBuckets([seedHour, seedHour]).inbound.averageWorkTime).toBe(85 / 7);
  });

  it('uses each average its own denominator (outbound talk per answered call, dialing per dialed call)', () => {
    const combined = combineOutbound([
      { totalTalkTime: 300, callsAnswered: 2, totalDialingTime: 50, callsDialed: 5 },
      { totalTalkTime: 100, callsAnswered: 2, totalDialingTime: 10, callsDialed: 1 },
    ]);
    expect(combined.averageTalkTime).toBe(100);
    expect(combined.averageDialingTime).toBe(10);
  });

  it('lets a part with count 0 add nothing, whatever average it reports', () => {
    const combined = combineInbound([
      { totalHoldTime: 0, callsHold: 0, averageHoldTime: null },
      { totalHoldTime: 90, callsHold: 2, averageHoldTime: 45 },
    ]);
    expect(combined.averageHoldTime).toBe(45);
  });
});

describe('averages without a reported count: counts recovered as total / average', () => {
  it('recovers whole counts from exact averages', () => {
    // 2 breaks of 300 s, then 1 of 500 s: 1100 s over 3 breaks.
    const combined = combineOverall([
      { totalBreakTime: 600, averageBreakTime: 300 },
      { totalBreakTime: 500, averageBreakTime: 500 },
    ]);
    expect(combined.averageBreakTime).toBe(1100 / 3);
  });

  it('recovers the count exactly from an average rounded up, when the count is small against it', () => {
    // Seed-like: 85 s over 7 periods is reported as 13; 85 / 13 = 6.54 rounds back to 7.
    expect(recoverCount(85, 13)).toBe(7);
    const combined = combineOverall([
      { totalReadyTime: 85, averageReadyTime: 13 },
      { totalReadyTime: 100, averageReadyTime: 25 },
    ]);
    expect(combined.averageReadyTime).toBe(185 / 11);
  });

  it('can miss the count when it is large against the rounded average, within the documented bound', () => {
    // 20 holds of 5.25 s on average (105 s), reported rounded up as 6: 105 / 6 = 17.5 -> 18, not 20.
    // Bound: |recovered - true| <= floor(delta * count / average + 1/2) = floor(20 / 6 + 1/2) = 3.
    const recovered = recoverCount(105, 6)!;
    expect(recovered).toBe(18);
    expect(Math.abs(recovered - 20)).toBeLessThanOrEqual(Math.floor(20 / 6 + 0.5));
    // Averages rounded up make the recovered count too small, never too large.
    expect(recovered).toBeLessThanOrEqual(20);
  });

  it('counts a part with total 0 as no events, whatever its average', () => {
    expect(recoverCount(0, 0)).toBe(0);
    expect(recoverCount(0, null)).toBe(0);
    expect(recoverCount(0, 42)).toBe(0);
    const combined = combineOverall([
      { totalHoldTime: 0, averageHoldTime: 0 },
      { totalHoldTime: 0, averageHoldTime: null },
      { totalHoldTime: 120, averageHoldTime: 40 },
    ]);
    expect(combined.averageHoldTime).toBe(40);
  });

  it('gives up (null) when a positive total comes with no usable average', () => {
    expect(recoverCount(120, 0)).toBeNull();
    expect(recoverCount(120, null)).toBeNull();
    expect(recoverCount(120, -3)).toBeNull();
    expect(recoverCount(null, 40)).toBeNull();
    expect(combineOverall([{ totalHoldTime: 120, averageHoldTime: 0 }, { totalHoldTime: 90, averageHoldTime: 45 }]).averageHoldTime).toBeNull();
    expect(combineOverall([{ totalHoldTime: 120, averageHoldTime: null }, { totalHoldTime: 90, averageHoldTime: 45 }]).averageHoldTime).toBeNull();
  });

  it('counts at least one event behind a positive total', () => {
    // An average reported far above its total (inconsistent, or rounded oddly) still means >= 1 event.
    expect(recoverCount(10, 40)).toBe(1);
  });
});

describe('ratios: recovered numerators over combined weights', () => {
  it('weights rates by their denominator and rounds numerators that count calls', () => {
    // 2 of 3 queued calls handled, then 1 of 1: 3 of 4. Reported rounded to 0.67, 2.01 rounds back to 2.
    const combined = combineInbound([
      { handleRate: 0.67, callsQueued: 3 },
      { handleRate: 1, callsQueued: 1 },
    ]);
    expect(combined.handleRate).toBe(3 / 4);
  });

  it('weights AbandonedRate, ServiceLevel20 by calls queued and AnswerRate by calls dialed', () => {
    const inbound = combineInbound([
      { abandonedRate: 0.1, serviceLevel20: 0.8, callsQueued: 10 },
      { abandonedRate: 0.5, serviceLevel20: 0.5, callsQueued: 2 },
    ]);
    expect(inbound.abandonedRate).toBe(2 / 12);
    expect(inbound.serviceLevel20).toBe(9 / 12);
    expect(combineOutbound([{ answerRate: 0.5, callsDialed: 4 }, { answerRate: 0, callsDialed: 6 }]).answerRate).toBe(2 / 10);
  });

  it('weights SatisfactionIndex by surveys responded, without rounding the score sum', () => {
    const combined = combineOutbound([
      { satisfactionIndex: 4.5, satisfactionSurveysResponded: 2 },
      { satisfactionIndex: 3.25, satisfactionSurveysResponded: 4 },
    ]);
    expect(combined.satisfactionIndex).toBe((9 + 13) / 6);
  });

  it('weights OccupancyRate by logged-in time', () => {
    const combined = combineOverall([
      { occupancyRate: 0.5, totalLoggedInTime: 3600 },
      { occupancyRate: 0.8, totalLoggedInTime: 1800 },
    ]);
    expect(combined.occupancyRate).toBe((1800 + 1440) / 5400);
  });

  it('lets a part without a population add nothing, even when its rate is missing', () => {
    const combined = combineInbound([
      { handleRate: null, callsQueued: 0 },
      { handleRate: 0, callsQueued: 0 },
      { handleRate: 0.5, callsQueued: 4 },
    ]);
    expect(combined.handleRate).toBe(0.5);
  });
});

describe('no traffic', () => {
  function expectNoTraffic(combined: ReturnType<typeof combineBuckets>): void {
    for (const group of METRIC_GROUPS) {
      for (const rule of COMBINE_RULES[group]) {
        const value = combined[group][rule.metric];
        if (rule.rule === 'sum' || rule.rule === 'max') expect(value).toBe(0);
        else expect(value).toBeNull();
      }
    }
  }

  it('zeroMetrics has 0 counts, totals and maxima and null averages and ratios for every metric', () => {
    const zero = zeroMetrics();
    for (const group of METRIC_GROUPS) expect(Object.keys(zero[group])).toEqual(METRICS[group].map((m) => m.name));
    expectNoTraffic(zero);
  });

  it('combining nothing, or only empty buckets, gives zeroMetrics', () => {
    expect(combineBuckets([])).toEqual(zeroMetrics());
    expect(combineBuckets([null, null, null])).toEqual(zeroMetrics());
  });

  it('combining buckets whose populations are all empty gives null averages and ratios, never 0 or NaN', () => {
    // Upstream (and the simulator) report 0 for the average of no calls; combined it is undefined.
    expectNoTraffic(combineBuckets([bucket(), null, bucket()]));
  });

  it('empty buckets do not dilute rates or averages', () => {
    const busy = bucket({ inbound: { handleRate: 0.75, callsQueued: 4, callsHandled: 3, totalTalkTime: 300, averageTalkTime: 100 } });
    expect(combineBuckets([null, busy, null, null])).toEqual(combineBuckets([busy]));
    expect(combineBuckets([busy, null]).inbound.handleRate).toBe(0.75);
    expect(combineBuckets([busy, null]).inbound.averageTalkTime).toBe(100);
  });
});

describe('metrics upstream did not report', () => {
  it('make the combined value null when any non-empty part lacks them', () => {
    const reported = bucket({ inbound: { callsOffered: 5, maxTalkTime: 80, totalTalkTime: 200, callsHandled: 2 } });
    const lacking = bucket({ inbound: { callsOffered: null, maxTalkTime: null, totalTalkTime: null, callsHandled: 1 } });
    const combined = combineBuckets([reported, lacking]).inbound;
    expect(combined.callsOffered).toBeNull();
    expect(combined.maxTalkTime).toBeNull();
    expect(combined.averageTalkTime).toBeNull();
    // Metrics both parts reported still combine.
    expect(combined.callsHandled).toBe(3);
  });

  it('null a ratio whose rate is missing where there was a population', () => {
    expect(combineInbound([{ handleRate: null, callsQueued: 3 }, { handleRate: 1, callsQueued: 1 }]).handleRate).toBeNull();
    expect(combineInbound([{ handleRate: 1, callsQueued: null }, { handleRate: 1, callsQueued: 1 }]).handleRate).toBeNull();
  });

  it('treat a missing key or a non-finite value as not reported, so NaN never propagates', () => {
    expect(combineInbound([{}, { callsOffered: 2 }]).callsOffered).toBeNull();
    expect(combineInbound([{ callsOffered: Number.NaN }]).callsOffered).toBeNull();
    expect(combineInbound([{ totalTalkTime: 10, callsHandled: Number.POSITIVE_INFINITY }]).averageTalkTime).toBeNull();
  });

  it('do not matter in empty (null) buckets', () => {
    expect(combineBuckets([null, bucket({ inbound: { callsOffered: 4 } })]).inbound.callsOffered).toBe(4);
  });
});

describe('combineBuckets', () => {
  it('is the three group combinations of the non-empty buckets', () => {
    const a = bucket({ inbound: { callsOffered: 2 }, outbound: { callsDialed: 3 }, overall: { totalCalls: 4 } });
    const b = bucket({ inbound: { callsOffered: 5 }, outbound: { callsDialed: 1 }, overall: { totalCalls: 6 } });
    const combined = combineBuckets([a, null, b]);
    expect(combined).toEqual({
      inbound: combineInbound([a.inbound, b.inbound]),
      outbound: combineOutbound([a.outbound, b.outbound]),
      overall: combineOverall([a.overall, b.overall]),
    });
    expect(Object.keys(combined)).toEqual(['inbound', 'outbound', 'overall']);
  });

  it('does not modify its input', () => {
    const a = bucket({ inbound: { callsOffered: 2, handleRate: 0.5, callsQueued: 2 } });
    const frozen = Object.freeze({ ...a, inbound: Object.freeze({ ...a.inbound }) });
    const before = JSON.stringify(frozen);
    combineBuckets([frozen, a]);
    expect(JSON.stringify(frozen)).toBe(before);
  });
});

describe('docs/rollups.md', () => {
  const RULE_LABEL: Record<CombineRule['rule'], string> = {
    sum: 'sum',
    max: 'max',
    totalOverCount: 'total / count',
    totalOverRecoveredCount: 'total / recovered count',
    weightedRatio: 'weighted ratio',
  };

  /** The operands the "combined as" column must name for a rule. */
  function operands(rule: CombineRule): string[] {
    switch (rule.rule) {
      case 'sum':
      case 'max':
        return [];
      case 'totalOverCount':
        return [rule.total, rule.count];
      case 'totalOverRecoveredCount':
        return [rule.total, rule.metric];
      case 'weightedRatio':
        return [rule.metric, rule.weight, ...(rule.wholeNumerator ? ['round('] : [])];
    }
  }

  it('tables every metric with the rule it is combined by', () => {
    const text = readFileSync(join(__dirname, '..', '..', 'docs', 'rollups.md'), 'utf8');
    const rows = new Map<string, { rule: string; combinedAs: string }>();
    for (const line of text.split('\n')) {
      const cells = line.split('|').map((cell) => cell.trim());
      if (cells.length !== 6 || !(METRIC_GROUPS as readonly string[]).includes(cells[1])) continue;
      rows.set(`${cells[1]}.${cells[2].replace(/`/g, '')}`, { rule: cells[3], combinedAs: cells[4].replace(/`/g, '') });
    }
    const expected = METRIC_GROUPS.flatMap((group) => COMBINE_RULES[group].map((rule) => `${group}.${rule.metric}`));
    expect([...rows.keys()].sort()).toEqual(expected.sort());
    for (const group of METRIC_GROUPS) {
      for (const rule of COMBINE_RULES[group]) {
        const row = rows.get(`${group}.${rule.metric}`)!;
        expect(`${group}.${rule.metric}: ${row.rule}`).toBe(`${group}.${rule.metric}: ${RULE_LABEL[rule.rule]}`);
        for (const operand of operands(rule)) expect(row.combinedAs).toContain(operand);
      }
    }
  });
});
