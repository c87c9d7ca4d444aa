/**
 * How each metric of the catalog rolls up, read off the catalog once.
 *
 * The catalog (`metrics.ts`) says what a metric *is* (a count, a maximum, total over count, ...);
 * this module turns that into what combining needs: the GraphQL names of the values a metric is
 * combined from, and whether a ratio's recovered numerator must be a whole number. No metric is
 * named here: a metric added to the catalog gets its rule from its kind, and a catalog entry whose
 * numerator or denominator does not exist fails at load instead of combining to garbage.
 */
import { METRIC_GROUPS, METRICS, MetricDefinition, MetricGroup } from './metrics';

export type CombineRule =
  /** Counts and totals: the combined value is the sum of the parts. */
  | { readonly metric: string; readonly rule: 'sum' }
  /** Maxima: the largest of the parts. */
  | { readonly metric: string; readonly rule: 'max' }
  /** Averages with a reported denominator: combined total / combined count. */
  | { readonly metric: string; readonly rule: 'totalOverCount'; readonly total: string; readonly count: string }
  /**
   * Averages upstream reports without their count: each part's count is recovered as
   * total / average, then combined total / combined recovered count.
   */
  | { readonly metric: string; readonly rule: 'totalOverRecoveredCount'; readonly total: string }
  /**
   * Ratios: each part's numerator is recovered as ratio x weight; combined sum of numerators /
   * sum of weights. `wholeNumerator`: the numerator is a whole number (see `isWholeNumerator`),
   * so the recovered one is rounded to the nearest integer.
   */
  | { readonly metric: string; readonly rule: 'weightedRatio'; readonly weight: string; readonly wholeNumerator: boolean };

export type CombineRuleName = CombineRule['rule'];

/**
 * A fraction whose denominator is a Long (calls, or whole seconds) counts a part of that same
 * integer quantity: handled / queued calls, answered / dialed calls, busy seconds / logged-in
 * seconds. Its numerator is therefore an integer, and rounding ratio x denominator to the nearest
 * integer undoes both floating-point error and any rounding of the reported rate (as long as that
 * rounding moved the numerator by less than 1/2). A score (SatisfactionIndex) is left as is: the
 * catalog does not promise that survey scores are whole numbers.
 */
function isWholeNumerator(ratio: MetricDefinition, weight: MetricDefinition): boolean {
  return ratio.unit === 'fraction' && weight.type === 'Long';
}

function ruleOf(group: MetricGroup, metric: MetricDefinition, byUpstreamName: ReadonlyMap<string, MetricDefinition>): CombineRule {
  const reference = (upstreamName: string | null | undefined, role: string, kinds: readonly string[]): MetricDefinition => {
    const target = upstreamName ? byUpstreamName.get(upstreamName) : undefined;
    if (!target || !kinds.includes(target.kind)) {
      throw new Error(`catalog: ${group}.${metric.upstreamName} has ${role} ${String(upstreamName)}, which is not a ${kinds.join('/')} of ${group}`);
    }
    return target;
  };
  switch (metric.kind) {
    case 'count':
    case 'total':
      return { metric: metric.name, rule: 'sum' };
    case 'max':
      return { metric: metric.name, rule: 'max' };
    case 'average': {
      const total = reference(metric.numerator, 'numerator', ['total']).name;
      if (metric.denominator === null) return { metric: metric.name, rule: 'totalOverRecoveredCount', total };
      const count = reference(metric.denominator, 'denominator', ['count']).name;
      return { metric: metric.name, rule: 'totalOverCount', total, count };
    }
    case 'ratio': {
      const weight = reference(metric.denominator, 'denominator', ['count', 'total']);
      return { metric: metric.name, rule: 'weightedRatio', weight: weight.name, wholeNumerator: isWholeNumerator(metric, weight) };
    }
  }
}

function rulesOf(group: MetricGroup): readonly CombineRule[] {
  const byUpstreamName = new Map(METRICS[group].map((metric) => [metric.upstreamName, metric]));
  return METRICS[group].map((metric) => ruleOf(group, metric, byUpstreamName));
}

/** Every metric's roll-up rule, per group, in catalog order. */
export const COMBINE_RULES: Readonly<Record<MetricGroup, readonly CombineRule[]>> = Object.fromEntries(
  METRIC_GROUPS.map((group) => [group, rulesOf(group)]),
) as Record<MetricGroup, readonly CombineRule[]>;
