/**
 * Turns raw activity (through its tally) into the 82 report metrics of the catalog.
 *
 * The catalog in `src/reports/metrics.ts` drives the output: this module only says what each
 * count, total and maximum is in terms of the tally, what the numerator of each ratio is, and
 * which hidden counts divide the three overall averages upstream reports without a denominator.
 * Averages and ratios are then derived generically from the catalog's numerator/denominator, so
 * "each average = its total over its count" holds by construction. A catalog metric that this
 * module cannot produce throws at first use instead of silently reporting nothing.
 */
import { METRIC_GROUPS, METRICS, MetricGroup, MetricValues, ReportBucket } from '../../reports/metrics';
import { HourActivity } from './activity';
import { isEmptyTally, Tally, tallyActivity } from './tally';

/**
 * How averages are reported. The real service reports rounded averages (the seed's example
 * shows TotalWorkTime 85 over 7 calls as AverageWorkTime 13, which is ceil, not round); the
 * default keeps exact fractions.
 */
export type AverageRounding = 'none' | 'ceil' | 'round';

export interface MetricsOptions {
  averageRounding?: AverageRounding;
}

/** The three metric groups of one bucket, without its time. */
export type BucketMetrics = Omit<ReportBucket, 'statsTime'>;

/** Counts, totals and maxima of each group, keyed by upstream name. */
function baseValues(t: Readonly<Tally>): Record<MetricGroup, Record<string, number>> {
  return {
    inbound: {
      CallsOffered: t.inOffered,
      CallsQueued: t.inQueued,
      CallsRinged: t.inRinged,
      CallsHandled: t.inHandled,
      CallsAbandoned: t.inAbandonedInIvr + t.inAbandonedInQueue + t.inAbandonedInRinging,
      CallsAbandonedInIVR: t.inAbandonedInIvr,
      CallsAbandonedInQueue: t.inAbandonedInQueue,
      CallsAbandonedInRinging: t.inAbandonedInRinging,
      CallsConsulted: t.inConsulted,
      CallsTransferred: t.inTransferred,
      CallsHold: t.inHeld,
      SatisfactionSurveysOffered: t.inSurveysOffered,
      SatisfactionSurveysResponded: t.inSurveysResponded,
      TotalAbandonTime: t.inAbandonedInIvrSeconds + t.inAbandonedInQueueSeconds + t.inAbandonedInRingingSeconds,
      TotalAbandonedInIVRTime: t.inAbandonedInIvrSeconds,
      TotalAbandonedInQueueTime: t.inAbandonedInQueueSeconds,
      TotalAbandonedInRingTime: t.inAbandonedInRingingSeconds,
      TotalHoldTime: t.inHoldSeconds,
      TotalRingTime: t.inRingSeconds,
      TotalTalkTime: t.inTalkSeconds,
      TotalWaitTime: t.inWaitSeconds,
      TotalWorkTime: t.inWorkSeconds,
      MaxAbandonTime: Math.max(t.inAbandonedInIvrMax, t.inAbandonedInQueueMax, t.inAbandonedInRingingMax),
      MaxAbandonedInIVRTime: t.inAbandonedInIvrMax,
      MaxAbandonedInQueueTime: t.inAbandonedInQueueMax,
      MaxAbandonedInRingTime: t.inAbandonedInRingingMax,
      MaxHoldTime: t.inHoldMax,
      MaxRingTime: t.inRingMax,
      MaxTalkTime: t.inTalkMax,
      MaxWaitTime: t.inWaitMax,
      MaxWorkTime: t.inWorkMax,
    },
    outbound: {
      CallsDialed: t.outDialed,
      CallsDialedSuccess: t.outDialedSuccess,
      CallsAnswered: t.outAnswered,
      SatisfactionSurveysOffered: t.outSurveysOffered,
      SatisfactionSurveysResponded: t.outSurveysResponded,
      TotalDialingTime: t.outDialingSeconds,
      TotalHoldTime: t.outHoldSeconds,
      TotalTalkTime: t.outTalkSeconds,
      TotalWorkTime: t.outWorkSeconds,
      MaxDialingTime: t.outDialingMax,
      MaxTalkTime: t.outTalkMax,
      MaxWorkTime: t.outWorkMax,
    },
    overall: {
      TotalCalls: t.inHandled + t.outAnswered,
      SatisfactionSurveysOffered: t.inSurveysOffered + t.outSurveysOffered,
      SatisfactionSurveysResponded: t.inSurveysResponded + t.outSurveysResponded,
      TotalTalkTime: t.inTalkSeconds + t.outTalkSeconds,
      TotalHoldTime: t.inHoldSeconds + t.outHoldSeconds,
      TotalWorkTime: t.inWorkSeconds + t.outWorkSeconds,
      TotalReadyTime: t.readySeconds,
      TotalBreakTime: t.breakSeconds,
      TotalLoggedInTime: t.loggedInSeconds,
      MaxTalkTime: Math.max(t.inTalkMax, t.outTalkMax),
      MaxHoldTime: Math.max(t.inHoldMax, t.outHoldMax),
      MaxWorkTime: Math.max(t.inWorkMax, t.outWorkMax),
      MaxReadyTime: t.readyMax,
      MaxBreakTime: t.breakMax,
    },
  };
}

/** Numerators of the ratios (the catalog names only their denominators). */
function ratioNumerators(t: Readonly<Tally>): Record<MetricGroup, Record<string, number>> {
  return {
    inbound: {
      AbandonedRate: t.inAbandonedInQueue + t.inAbandonedInRinging,
      HandleRate: t.inHandled,
      ServiceLevel20: t.inAnsweredWithin20s,
      SatisfactionIndex: t.inScoreSum,
    },
    outbound: {
      AnswerRate: t.outAnswered,
      SatisfactionIndex: t.outScoreSum,
    },
    overall: {
      OccupancyRate: t.inTalkSeconds + t.inHoldSeconds + t.inWorkSeconds + t.outTalkSeconds + t.outHoldSeconds + t.outWorkSeconds,
      SatisfactionIndex: t.inScoreSum + t.outScoreSum,
    },
  };
}

/** Denominators of the averages upstream reports without one (catalog `denominator: null`). */
function hiddenDenominators(t: Readonly<Tally>): Record<MetricGroup, Record<string, number>> {
  return {
    inbound: {},
    outbound: {},
    overall: {
      AverageBreakTime: t.breakPeriods,
      AverageReadyTime: t.readyPeriods,
      AverageHoldTime: t.inHeld + t.outHeld,
    },
  };
}

function required(values: Record<string, number>, name: string, group: MetricGroup): number {
  const value = values[name];
  if (value === undefined) throw new Error(`simulator cannot compute ${group}.${name}: add it to computeMetrics`);
  return value;
}

/** 0 when the count is 0, as upstream shows 0 for averages and rates of empty populations. */
function divide(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

function roundAverage(value: number, rounding: AverageRounding): number {
  if (rounding === 'ceil') return Math.ceil(value);
  if (rounding === 'round') return Math.round(value);
  return value;
}

/** All 82 metrics of a tally, or null when it holds no traffic (upstream omits the bucket). */
export function metricsFromTally(t: Readonly<Tally>, options: MetricsOptions = {}): BucketMetrics | null {
  if (isEmptyTally(t)) return null;
  const rounding = options.averageRounding ?? 'none';
  const base = baseValues(t);
  const numerators = ratioNumerators(t);
  const hidden = hiddenDenominators(t);
  const result = {} as Record<MetricGroup, MetricValues>;
  for (const group of METRIC_GROUPS) {
    const values: MetricValues = {};
    for (const metric of METRICS[group]) {
      switch (metric.kind) {
        case 'count':
        case 'total':
        case 'max':
          values[metric.name] = required(base[group], metric.upstreamName, group);
          break;
        case 'average': {
          const total = required(base[group], metric.numerator ?? '', group);
          const count = metric.denominator
            ? required(base[group], metric.denominator, group)
            : required(hidden[group], metric.upstreamName, group);
          values[metric.name] = roundAverage(divide(total, count), rounding);
          break;
        }
        case 'ratio': {
          const numerator = required(numerators[group], metric.upstreamName, group);
          const denominator = required(base[group], metric.denominator ?? '', group);
          values[metric.name] = divide(numerator, denominator);
          break;
        }
      }
    }
    result[group] = values;
  }
  return result;
}

/**
 * Metrics of any set of hours, computed from their raw events; null when there is no traffic.
 * Pass activity already cut at `now` (see `activityBefore`) for a partly elapsed hour.
 */
export function computeMetrics(activity: readonly HourActivity[], options: MetricsOptions = {}): BucketMetrics | null {
  return metricsFromTally(tallyActivity(activity), options);
}
