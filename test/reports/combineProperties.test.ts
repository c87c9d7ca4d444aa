/**
 * Roll-ups against the simulator's oracle: split a random range of hours into random contiguous
 * pieces, let the simulator report each piece as upstream would (exact averages, or averages
 * rounded to whole seconds), combine the pieces, and compare with the metrics the simulator
 * computes for the whole range directly from the raw calls.
 *
 * Counts, totals and maxima must be equal; averages over reported counts and ratios equal up to
 * floating point whatever upstream's rounding; the three averages whose count is recovered
 * (total / average) are exact for exact averages and within the bound of docs/rollups.md for
 * rounded ones. That bound is checked against the true hidden counts, which the simulator's
 * tally knows although upstream does not report them.
 */
import fc from 'fast-check';
import { combineBuckets, recoverCount, CombinedMetrics } from '../../src/reports/combine';
import { COMBINE_RULES } from '../../src/reports/combineRules';
import { METRIC_GROUPS, ReportBucket } from '../../src/reports/metrics';
import {
  AverageRounding,
  ceilToHour,
  DEFAULT_TIME_ZONE,
  HOUR_MS,
  metricsForPeriod,
  periodTally,
  Tally,
} from '../../src/emulator/simulator';

/** A fixed clock, mid-hour, so that ranges ending now include a partly elapsed hour. */
const NOW = Date.UTC(2025, 5, 18, 9, 30);
const LAST_HOUR_END = ceilToHour(NOW);
const DAYS_BACK = 60;
const MAX_HOURS = 200;
const RELATIVE_TOLERANCE = 1e-9;

/**
 * The counts behind the overall averages upstream reports without one (the simulator's hidden
 * denominators). Checked against the catalog below so that a new such average is not missed.
 */
const HIDDEN_COUNT: Readonly<Record<string, (tally: Tally) => number>> = {
  averageBreakTime: (tally) => tally.breakPeriods,
  averageReadyTime: (tally) => tally.readyPeriods,
  averageHoldTime: (tally) => tally.inHeld + tally.outHeld,
};

/** How far a reported average may be from the exact one: |reported - exact| <= delta. */
const ROUNDING_DELTA: Readonly<Record<AverageRounding, number>> = { none: 0, ceil: 1, round: 0.5 };

interface Scenario {
  instanceId: string;
  from: number;
  to: number;
  /** Contiguous pieces covering [from, to), in order. */
  pieces: { from: number; to: number }[];
}

const scenarios: fc.Arbitrary<Scenario> = fc
  .integer({ min: 1, max: MAX_HOURS })
  .chain((hours) =>
    fc.record({
      instanceId: fc.integer({ min: 0, max: 30 }).map((n) => `ccc-sim-${n}`),
      hours: fc.constant(hours),
      hoursBeforeNow: fc.integer({ min: 0, max: DAYS_BACK * 24 - hours }),
      cuts:
        hours === 1
          ? fc.constant<number[]>([])
          : fc.oneof(
              // A few pieces of random lengths (as when hours, days and partial days mix)...
              fc.uniqueArray(fc.integer({ min: 1, max: hours - 1 }), { maxLength: Math.min(hours - 1, 24) }),
              // ...or every hour its own piece (the Hourly buckets of a longer period).
              fc.constant(Array.from({ length: hours - 1 }, (_, i) => i + 1)),
            ),
    }),
  )
  .map(({ instanceId, hours, hoursBeforeNow, cuts }) => {
    const to = LAST_HOUR_END - hoursBeforeNow * HOUR_MS;
    const from = to - hours * HOUR_MS;
    const bounds = [0, ...[...cuts].sort((a, b) => a - b), hours];
    const pieces = bounds.slice(1).map((end, i) => ({ from: from + bounds[i] * HOUR_MS, to: from + end * HOUR_MS }));
    return { instanceId, from, to, pieces };
  });

function expectRelativelyClose(actual: number | null, expected: number, what: string): void {
  const error = actual === null ? Number.POSITIVE_INFINITY : Math.abs(actual - expected);
  if (!(error <= RELATIVE_TOLERANCE * Math.abs(expected))) {
    throw new Error(`${what}: combined ${actual}, expected ${expected} (relative error ${error / Math.abs(expected)})`);
  }
}

/**
 * The recovered-count averages with rounded input: checks the per-part and combined bounds of
 * docs/rollups.md against the true counts of each piece.
 */
function expectWithinRecoveredCountBound(
  metric: string,
  totalName: string,
  scenario: Scenario,
  parts: readonly (ReportBucket | null)[],
  combinedValue: number | null,
  rounding: AverageRounding,
): void {
  const delta = ROUNDING_DELTA[rounding];
  let total = 0;
  let trueCount = 0;
  let recoveredCount = 0;
  let countBound = 0;
  let smallestAverage = Number.POSITIVE_INFINITY;
  parts.forEach((part, i) => {
    if (!part) return;
    const piece = scenario.pieces[i];
    const count = HIDDEN_COUNT[metric](periodTally(scenario.instanceId, piece.from, piece.to, DEFAULT_TIME_ZONE, NOW));
    const partTotal = part.overall[totalName] as number;
    const average = part.overall[metric] as number;
    const recovered = recoverCount(partTotal, average) as number;
    if (partTotal > 0) {
      // (1) per part: |recovered - true| <= floor(delta * count / average + 1/2); exact below 1/2.
      const bound = Math.floor((delta * count) / average + 0.5);
      expect(Math.abs(recovered - count)).toBeLessThanOrEqual(bound);
      // (2) averages rounded up can only make the recovered count too small.
      if (rounding === 'ceil') expect(recovered).toBeLessThanOrEqual(count);
      countBound += bound;
      smallestAverage = Math.min(smallestAverage, average);
    } else {
      expect(recovered).toBe(0);
    }
    total += partTotal;
    trueCount += count;
    recoveredCount += recovered;
  });
  if (trueCount === 0) {
    expect(combinedValue).toBeNull();
    return;
  }
  const exact = total / trueCount;
  const combined = combinedValue as number;
  expect(combined).toBe(total / recoveredCount);
  // (3) combined: between total / (count + bound) and total / (count - bound).
  expect(combined).toBeGreaterThanOrEqual((total / (trueCount + countBound)) * (1 - RELATIVE_TOLERANCE));
  if (countBound < trueCount) expect(combined).toBeLessThanOrEqual((total / (trueCount - countBound)) * (1 + RELATIVE_TOLERANCE));
  // (4) in reported terms only: relative error <= eps / (1 - eps), eps = 2 delta / smallest average.
  const eps = (2 * delta) / smallestAverage;
  if (eps < 1) expect(Math.abs(combined / exact - 1)).toBeLessThanOrEqual(eps / (1 - eps) + RELATIVE_TOLERANCE);
  if (rounding === 'ceil') expect(combined).toBeGreaterThanOrEqual(exact * (1 - RELATIVE_TOLERANCE));
}

function expectCombinedMatchesWhole(
  scenario: Scenario,
  parts: readonly (ReportBucket | null)[],
  combined: CombinedMetrics,
  whole: ReportBucket,
  rounding: AverageRounding,
): void {
  for (const group of METRIC_GROUPS) {
    const direct = whole[group] as Record<string, number>;
    for (const rule of COMBINE_RULES[group]) {
      const value = combined[group][rule.metric];
      const what = `${group}.${rule.metric}`;
      switch (rule.rule) {
        case 'sum':
        case 'max':
          expect({ what, value }).toEqual({ what, value: direct[rule.metric] });
          break;
        case 'totalOverCount':
          // The simulator (like upstream) reports 0 for the average of nothing; combined it is null.
          if (direct[rule.count] === 0) expect({ what, value }).toEqual({ what, value: null });
          else expectRelativelyClose(value, direct[rule.metric], what);
          break;
        case 'weightedRatio':
          if (direct[rule.weight] === 0) expect({ what, value }).toEqual({ what, value: null });
          else expectRelativelyClose(value, direct[rule.metric], what);
          break;
        case 'totalOverRecoveredCount':
          if (rounding === 'none') {
            if (direct[rule.total] === 0) expect({ what, value }).toEqual({ what, value: null });
            else expectRelativelyClose(value, direct[rule.metric], what);
          } else {
            expectWithinRecoveredCountBound(rule.metric, rule.total, scenario, parts, value, rounding);
          }
          break;
      }
    }
  }
}

/** Combined metrics as a bucket again, to combine combinations. */
function asBucket(metrics: CombinedMetrics): ReportBucket {
  return { statsTime: 0, ...metrics };
}

function expectSameMetrics(actual: CombinedMetrics, expected: CombinedMetrics): void {
  for (const group of METRIC_GROUPS) {
    for (const rule of COMBINE_RULES[group]) {
      const what = `${group}.${rule.metric}`;
      const value = actual[group][rule.metric];
      const reference = expected[group][rule.metric];
      if (reference === null || reference === 0) expect({ what, value }).toEqual({ what, value: reference });
      else expectRelativelyClose(value, reference, what);
    }
  }
}

/**
 * One seed for every rounding mode: the same scenarios run under each, so the simulator's hour
 * cache serves the later modes and the suite stays fast. It still changes from run to run
 * (fast-check prints it on failure; set FC_SEED to replay).
 */
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 2 ** 31);
/** Scenarios per property: about 5 s for the whole file on an idle machine. */
const RUNS = 60;

describe('hidden counts known to this test', () => {
  it('are exactly the catalog averages that upstream reports without a count', () => {
    const recovered = COMBINE_RULES.overall.filter((rule) => rule.rule === 'totalOverRecoveredCount').map((rule) => rule.metric);
    expect(recovered.sort()).toEqual(Object.keys(HIDDEN_COUNT).sort());
    for (const group of ['inbound', 'outbound'] as const) {
      expect(COMBINE_RULES[group].some((rule) => rule.rule === 'totalOverRecoveredCount')).toBe(false);
    }
  });
});

describe.each<AverageRounding>(['none', 'ceil', 'round'])('pieces reported with averages rounded: %s', (rounding) => {
  it('combine to the whole range computed from raw calls', () => {
    fc.assert(
      fc.property(scenarios, (scenario) => {
        const parts = scenario.pieces.map((piece) =>
          metricsForPeriod(scenario.instanceId, piece.from, piece.to, { now: NOW, averageRounding: rounding }),
        );
        const whole = metricsForPeriod(scenario.instanceId, scenario.from, scenario.to, { now: NOW });
        const combined = combineBuckets(parts);
        if (whole === null) {
          expect(parts.every((part) => part === null)).toBe(true);
          expect(combined).toEqual(combineBuckets([]));
          return;
        }
        expectCombinedMatchesWhole(scenario, parts, combined, whole, rounding);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('combine the same whether combined at once or in two steps', () => {
    // Recovered counts and numerators of a combination are its combined sums again, so rolling
    // up hours into days and days into weeks adds no error beyond that of the hours.
    fc.assert(
      fc.property(scenarios, fc.nat(), (scenario, split) => {
        const parts = scenario.pieces.map((piece) =>
          metricsForPeriod(scenario.instanceId, piece.from, piece.to, { now: NOW, averageRounding: rounding }),
        );
        const at = split % (parts.length + 1);
        const inTwoSteps = combineBuckets([asBucket(combineBuckets(parts.slice(0, at))), asBucket(combineBuckets(parts.slice(at)))]);
        expectSameMetrics(inTwoSteps, combineBuckets(parts));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
