/**
 * Exact roll-ups of report buckets: the metrics of a longer period (or of several instances) from
 * the metrics of its parts, without the raw calls.
 *
 * Every metric is a count, a sum, a maximum, or a quotient of two of those, so the parts combine
 * exactly if quotients are rebuilt from their pieces: counts and totals add, maxima take the
 * maximum, an average is the combined total over the combined count, and a ratio is the combined
 * recovered numerator over the combined weight. Never an average of averages: upstream reports
 * rounded averages (TotalWorkTime 85 over 7 calls shows as AverageWorkTime 13), and averaging
 * averages of unequal populations is wrong even without rounding. The rule of each metric comes
 * from the catalog (`combineRules.ts`); `docs/rollups.md` tabulates them with the error bound of
 * the one inexact case (averages whose count upstream does not report).
 *
 * Conventions, chosen so that a roll-up never invents a number:
 *   - a `null` part is a bucket without traffic: it contributes nothing, and in particular does not
 *     dilute rates;
 *   - a combination without traffic has 0 counts, totals and maxima, and `null` averages and ratios
 *     (an average over no calls is undefined, not 0 — and never NaN);
 *   - a metric that a non-empty part lacks (`null`: upstream did not report it) is `null` combined,
 *     because a sum or maximum missing a part is silently wrong. A quotient is the exception where
 *     the part's weight is 0: an empty population contributes 0/0 whatever its average or rate says,
 *     so a part with no queued calls may report HandleRate null (or 0) without nulling the roll-up.
 */
import { CombineRule, COMBINE_RULES } from './combineRules';
import { compactValues, metricPosition } from './compactBucket';
import { METRIC_GROUPS, MetricGroup, MetricValues, ReportBucket } from './metrics';

/** The three metric groups of a combined period; its statsTime is the caller's business. */
export type CombinedMetrics = Omit<ReportBucket, 'statsTime'>;

/** Combines buckets of one instance over time (or of several instances over the same time). */
export function combineBuckets(parts: readonly (ReportBucket | null)[]): CombinedMetrics {
  const inbound: MetricValues[] = [];
  const outbound: MetricValues[] = [];
  const overall: MetricValues[] = [];
  for (const part of parts) {
    if (part === null) continue;
    inbound.push(part.inbound);
    outbound.push(part.outbound);
    overall.push(part.overall);
  }
  return { inbound: combineInbound(inbound), outbound: combineOutbound(outbound), overall: combineOverall(overall) };
}

export function combineInbound(parts: readonly MetricValues[]): MetricValues {
  return combineGroup('inbound', parts);
}

export function combineOutbound(parts: readonly MetricValues[]): MetricValues {
  return combineGroup('outbound', parts);
}

export function combineOverall(parts: readonly MetricValues[]): MetricValues {
  return combineGroup('overall', parts);
}

/**
 * A bucket with no traffic (0 counts, totals and maxima; null averages and ratios), for periods
 * that must be reported although upstream sent nothing. It is the combination of no parts, so it
 * can never disagree with what combining empty buckets gives.
 */
export function zeroMetrics(): CombinedMetrics {
  return combineBuckets([]);
}

/**
 * The number of events behind an average upstream reports without its count: total / average,
 * rounded to the nearest integer because counts are whole. Exact when the average is exact; when
 * upstream rounded it (to whole seconds), exact while the count is small against the average, and
 * otherwise within the bound that `docs/rollups.md` derives. A positive total needs at least one
 * event, hence the floor of 1.
 *
 * Returns 0 for a total of 0 (nothing happened, whatever the average says) and null when the count
 * cannot be recovered: a positive total with a missing, zero or negative average.
 */
export function recoverCount(total: number | null, average: number | null): number | null {
  if (total === null) return null;
  if (total === 0) return 0;
  if (average === null || !(average > 0) || !Number.isFinite(average)) return null;
  return Math.max(1, Math.round(total / average));
}

/** One part's contribution to a quotient: what it adds above and below the line. */
interface QuotientShare {
  readonly numerator: number;
  readonly weight: number;
}

/** An empty population: adds 0/0, whatever its own average or rate says. */
const NO_SHARE: QuotientShare = { numerator: 0, weight: 0 };

/**
 * Parts whose groups are all compact (the warm path: buckets from the in-process tier) are read
 * by position in the arrays behind them (see compactBucket.ts), one array load instead of a
 * getter call; anything else by metric name (getters work too, for parts of both kinds, part
 * cached and part just fetched). Each way has its own loops, so each read site sees one kind of
 * part and V8 keeps it fast.
 */
function combineGroup(group: MetricGroup, parts: readonly MetricValues[]): MetricValues {
  const combined: MetricValues = {};
  const arrays = parts.map(compactValues);
  if (arrays.length > 0 && arrays.every((values) => values !== undefined)) {
    for (const rule of COMBINE_RULES[group]) combined[rule.metric] = combineMetricAt(rule, POSITIONS.get(rule)!, arrays as (readonly number[])[]);
  } else {
    for (const rule of COMBINE_RULES[group]) combined[rule.metric] = combineMetric(rule, parts);
  }
  return combined;
}

function combineMetric(rule: CombineRule, parts: readonly MetricValues[]): number | null {
  // Plain loops, no intermediate arrays: a year of hourly buckets for 50 instances is 370,000
  // parts x 82 metrics.
  switch (rule.rule) {
    case 'sum': {
      let sum = 0;
      for (const part of parts) {
        const value = valueOf(part, rule.metric);
        if (value === null) return null;
        sum += value;
      }
      return sum;
    }
    case 'max': {
      let max = 0;
      for (const part of parts) {
        const value = valueOf(part, rule.metric);
        if (value === null) return null;
        if (value > max) max = value;
      }
      return max;
    }
    case 'totalOverCount':
      return quotientOf(parts, (part) => totalOverCountShare(valueOf(part, rule.total), valueOf(part, rule.count)));
    case 'totalOverRecoveredCount':
      return quotientOf(parts, (part) => recoveredCountShare(valueOf(part, rule.total), valueOf(part, rule.metric)));
    case 'weightedRatio':
      return quotientOf(parts, (part) => ratioShare(valueOf(part, rule.metric), valueOf(part, rule.weight), rule.wholeNumerator));
  }
}

/** A reported value; anything but a finite number (null, a missing key, NaN) counts as not reported. */
function valueOf(part: MetricValues, name: string): number | null {
  const value = part[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Positions in a compact bucket's array of the metrics a rule reads (-1: not read). */
interface RulePositions {
  metric: number;
  total: number;
  count: number;
  weight: number;
}

const POSITIONS = new Map<CombineRule, RulePositions>(
  METRIC_GROUPS.flatMap((group) =>
    COMBINE_RULES[group].map((rule): [CombineRule, RulePositions] => {
      const at = (name: string | undefined) => (name === undefined ? -1 : metricPosition(group, name));
      return [rule, { metric: at(rule.metric), total: at('total' in rule ? rule.total : undefined), count: at('count' in rule ? rule.count : undefined), weight: at('weight' in rule ? rule.weight : undefined) }];
    }),
  ),
);

/** `combineMetric` over compact groups' arrays: the same rules, read by position. */
function combineMetricAt(rule: CombineRule, at: RulePositions, parts: readonly (readonly number[])[]): number | null {
  switch (rule.rule) {
    case 'sum': {
      let sum = 0;
      for (const part of parts) {
        const value = valueAt(part, at.metric);
        if (value === null) return null;
        sum += value;
      }
      return sum;
    }
    case 'max': {
      let max = 0;
      for (const part of parts) {
        const value = valueAt(part, at.metric);
        if (value === null) return null;
        if (value > max) max = value;
      }
      return max;
    }
    case 'totalOverCount':
      return quotientOf(parts, (part) => totalOverCountShare(valueAt(part, at.total), valueAt(part, at.count)));
    case 'totalOverRecoveredCount':
      return quotientOf(parts, (part) => recoveredCountShare(valueAt(part, at.total), valueAt(part, at.metric)));
    case 'weightedRatio':
      return quotientOf(parts, (part) => ratioShare(valueAt(part, at.metric), valueAt(part, at.weight), rule.wholeNumerator));
  }
}

/** `valueOf` by position: null and NaN are both NaN in the array, and neither is reported. */
function valueAt(part: readonly number[], position: number): number | null {
  const value = part[position];
  return Number.isFinite(value) ? value : null;
}

/** Sum of numerators over sum of weights; null when a part lacks its share or nothing was weighed. */
function quotientOf<Part>(parts: readonly Part[], shareOf: (part: Part) => QuotientShare | null): number | null {
  let numerator = 0;
  let weight = 0;
  for (const part of parts) {
    const share = shareOf(part);
    if (share === null) return null;
    numerator += share.numerator;
    weight += share.weight;
  }
  return weight === 0 ? null : numerator / weight;
}

function totalOverCountShare(total: number | null, count: number | null): QuotientShare | null {
  if (count === 0) return NO_SHARE;
  if (count === null || total === null) return null;
  return { numerator: total, weight: count };
}

function recoveredCountShare(total: number | null, average: number | null): QuotientShare | null {
  const count = recoverCount(total, average);
  if (count === 0) return NO_SHARE;
  if (count === null || total === null) return null;
  return { numerator: total, weight: count };
}

function ratioShare(ratio: number | null, weight: number | null, wholeNumerator: boolean): QuotientShare | null {
  if (weight === 0) return NO_SHARE;
  if (weight === null || ratio === null) return null;
  const numerator = ratio * weight;
  return { numerator: wholeNumerator ? Math.round(numerator) : numerator, weight };
}
