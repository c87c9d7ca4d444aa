/**
 * Semantic checks of well-formed buckets against what the roll-ups assume (docs/rollups.md).
 *
 * These are not grounds to reject an answer: the real service may well send them (events that
 * fall into different intervals, a rounding other than the one the API document's example
 * shows), and refusing them would make an hour unreadable forever. They are findings to count
 * (`ccc_gateway_upstream_anomalies_total{rule}`) and sample in the logs, so an operator learns
 * when an assumption behind the exact roll-ups does not hold on real data.
 *
 * Rules:
 *  - `handled_exceeds_offered`: inbound CallsHandled > CallsOffered.
 *  - `average_inconsistent`: an average that is neither total / count exactly, nor its ceil, nor
 *    its round (the API document's example reports 85 / 7 as 13: ceil). The count is the
 *    catalog's denominator; for the three overall averages upstream reports without one, no
 *    whole count at all fits. A positive total over a count of 0 is inconsistent too.
 *  - `average_count_unrecoverable`: one of those three averages is 0 with a positive total, so the
 *    roll-up cannot recover its count and the combined value is null.
 *  - `rate_inconsistent`: a rate whose numerator is reported too (HandleRate, AbandonedRate,
 *    AnswerRate, OccupancyRate) does not give that numerator back as round(rate x denominator),
 *    which is how the roll-up recovers it.
 *  - `rate_above_one`: a rate (unit `fraction`) above 1. The SDK says rates "may exceed 100%"
 *    (events counted in different intervals); a roll-up weights it as reported, so a combined
 *    rate can exceed 1 too. Not malformed, but worth knowing how often real data does it.
 *
 * One combination is grounds to reject: a call rate above 1 that its own counts contradict
 * (`contradictedRateAboveOne`, used by the upstream answer validation; see its comment).
 *
 * Plain functions over `ReportBucket`: no transport, no GraphQL, no Redis.
 */
import { METRIC_GROUPS, METRICS, type MetricGroup, type MetricValues, type ReportBucket } from './metrics';

export const ANOMALY_RULES = ['handled_exceeds_offered', 'average_inconsistent', 'average_count_unrecoverable', 'rate_inconsistent', 'rate_above_one'] as const;
export type AnomalyRule = (typeof ANOMALY_RULES)[number];

export interface AnomalyFinding {
  rule: AnomalyRule;
  statsTime: number;
  /** `inbound.averageWorkTime` */
  metric: string;
  /** The values involved, for the operator: `averageWorkTime 20 vs totalWorkTime 85 / callsHandled 7 = 12.14` */
  detail: string;
}

/**
 * Numerators of the fraction rates, as sums of metrics of the same bucket (GraphQL names). Rates
 * whose numerator upstream does not report (ServiceLevel20) or that are not counts of a whole
 * quantity (SatisfactionIndex) are not checked.
 */
const RATE_NUMERATORS: Readonly<Record<MetricGroup, Readonly<Record<string, readonly string[]>>>> = {
  inbound: {
    handleRate: ['callsHandled'],
    abandonedRate: ['callsAbandonedInQueue', 'callsAbandonedInRinging'],
  },
  outbound: {
    answerRate: ['callsAnswered'],
  },
  overall: {
    occupancyRate: ['totalTalkTime', 'totalHoldTime', 'totalWorkTime'],
  },
};

/** Relative tolerance of "exactly total / count" (floating-point division, nothing more). */
const EXACT = 1e-9;

const nameOf = (upstreamName: string) => upstreamName.charAt(0).toLowerCase() + upstreamName.slice(1);
const round2 = (x: number) => Math.round(x * 100) / 100;

/** True when `average` is total / count exactly, or its ceil, or its round. */
function fitsCount(average: number, total: number, count: number): boolean {
  const exact = total / count;
  return Math.abs(average - exact) <= EXACT * Math.max(1, exact) || average === Math.ceil(exact) || average === Math.round(exact);
}

/**
 * Some whole count c >= 1 with `average` = total / c exactly, ceil'd or rounded. Each rounding
 * admits an interval of counts; its candidate is the integer that lies in it if any does.
 */
function someCountFits(average: number, total: number): boolean {
  const candidates = [Math.round(total / average), Math.ceil(total / average)];
  // round(total / c) = average  <=>  total / (average + 1/2) < c <= total / (average - 1/2)
  if (average > 0.5) candidates.push(Math.floor(total / (average - 0.5)));
  return candidates.some((c) => Number.isSafeInteger(c) && c >= 1 && fitsCount(average, total, c));
}

/** What to check in one group, derived from the catalog once (names are GraphQL names). */
interface GroupPlan {
  metrics: {
    where: string;
    name: string;
    fraction: boolean;
    average?: { total: string; count: string | null };
    rate?: { denominator: string; parts: readonly string[] };
  }[];
}

const PLANS: Readonly<Record<MetricGroup, GroupPlan>> = Object.fromEntries(
  METRIC_GROUPS.map((group) => [
    group,
    {
      metrics: METRICS[group].map((metric) => {
        const parts = metric.kind === 'ratio' ? RATE_NUMERATORS[group][metric.name] : undefined;
        return {
          where: `${group}.${metric.name}`,
          name: metric.name,
          fraction: metric.unit === 'fraction',
          average:
            metric.kind === 'average' && metric.numerator
              ? { total: nameOf(metric.numerator), count: metric.denominator ? nameOf(metric.denominator) : null }
              : undefined,
          rate: parts && metric.denominator ? { denominator: nameOf(metric.denominator), parts } : undefined,
        };
      }),
    },
  ]),
) as Record<MetricGroup, GroupPlan>;

/**
 * A rate's denominator and numerator from the bucket's counts, or undefined when it cannot be
 * judged: a denominator of 0 (an empty population contributes nothing to a roll-up, whatever the
 * rate says) or missing, or a numerator with a count missing.
 */
function rateCounts(
  rate: { denominator: string; parts: readonly string[] },
  value: (name: string) => number | null,
): { numerator: number; denominator: number } | undefined {
  const denominator = value(rate.denominator);
  if (denominator === null || denominator === 0) return undefined;
  let numerator = 0;
  for (const part of rate.parts) {
    const n = value(part);
    if (n === null) return undefined;
    numerator += n;
  }
  return { numerator, denominator };
}

function checkGroup(group: MetricGroup, values: MetricValues, statsTime: number, findings: AnomalyFinding[]): void {
  const value = (name: string) => values[name] ?? null;
  for (const { where, name, fraction, average, rate } of PLANS[group].metrics) {
    const reported = value(name);
    if (reported === null) continue;

    if (fraction && reported > 1) {
      findings.push({ rule: 'rate_above_one', statsTime, metric: where, detail: `${name} ${reported}` });
    }

    if (average) {
      const total = value(average.total);
      if (total === null) continue;
      if (average.count) {
        const count = value(average.count);
        if (count === null) continue;
        const consistent = count === 0 ? total === 0 : fitsCount(reported, total, count);
        if (!consistent) {
          const ratio = count === 0 ? 'undefined' : String(round2(total / count));
          findings.push({ rule: 'average_inconsistent', statsTime, metric: where, detail: `${name} ${reported} vs ${average.total} ${total} / ${average.count} ${count} = ${ratio}` });
        }
      } else if (total > 0) {
        if (reported === 0) {
          findings.push({ rule: 'average_count_unrecoverable', statsTime, metric: where, detail: `${name} 0 with ${average.total} ${total}` });
        } else if (!someCountFits(reported, total)) {
          findings.push({ rule: 'average_inconsistent', statsTime, metric: where, detail: `${name} ${reported}: no whole count divides ${average.total} ${total} into it` });
        }
      }
    }

    const counts = rate && rateCounts(rate, value);
    if (rate && counts) {
      const { numerator, denominator } = counts;
      if (Math.round(reported * denominator) !== numerator) {
        findings.push({
          rule: 'rate_inconsistent',
          statsTime,
          metric: where,
          detail: `${name} ${reported} x ${rate.denominator} ${denominator} = ${round2(reported * denominator)}, but ${rate.parts.join(' + ')} = ${numerator}`,
        });
      }
    }
  }
}

/**
 * How far a rate may lie from numerator / denominator and still be that ratio as upstream rounds
 * it for display: to two decimals (a percentage without decimals), half of 0.01.
 */
const RATE_DISPLAY_ROUNDING = 0.005;

/**
 * Rates whose contradiction with their counts, above 1, makes an answer malformed: the call rates.
 * Not OccupancyRate: its numerator (talk + hold + work seconds) is the gateway's reading (the API
 * document says only "agent utilization, in %"), it is weighted by tens of thousands of seconds, so
 * any rounding of the reported rate moves round(rate x weight) by far more than 1/2, and an open
 * hour's occupancy passes 1 legitimately (talk counted whole, logged-in time only up to now).
 * Not ServiceLevel20 (upstream reports no numerator) nor SatisfactionIndex (a score, not a fraction).
 */
const CONTRADICTION_CHECKED: Readonly<Partial<Record<MetricGroup, readonly string[]>>> = {
  inbound: ['handleRate', 'abandonedRate'],
  outbound: ['answerRate'],
};

export interface ContradictedRate {
  group: MetricGroup;
  /** GraphQL name: `handleRate`. */
  metric: string;
  /** `handleRate 95 x callsQueued 20 = 1900, but callsHandled = 19 (19 / 20 = 0.95)` */
  detail: string;
}

/**
 * The first rate of the bucket that is above 1 and contradicted by the bucket's own counts, if any.
 *
 * Why this and nothing broader. A rate above 1 alone is not malformed: the SDK says rates "may
 * exceed 100%" because events fall into different intervals (21 calls handled this hour of 20
 * queued in it: 1.05), and rejecting it would make that bucket unreadable for good. But such a rate
 * still agrees with its counts. A rate above 1 that they contradict is not a skewed fraction but a
 * wrong number, typically a percentage sent as a fraction (HandleRate 95 where callsHandled /
 * callsQueued = 19 / 20 = 0.95): stored, it would be served forever and a roll-up would recover
 * 1,900 handled calls from 20 queued. So: malformed when the `rate_inconsistent` rule fails
 * (round(rate x denominator) != numerator) AND the rate lies farther from numerator / denominator
 * than rounding it to two decimals could explain. The second condition keeps a right rate that
 * upstream rounded over a large population (1.05 for 2,101 of 2,000 fails the first condition
 * only) accepted; it is still counted (`rate_inconsistent`, `rate_above_one`).
 *
 * Not judged, as in `rate_inconsistent`: a rate whose denominator is 0 (n / 0 is no ratio the rate
 * could contradict, interval skew can put handled calls in an hour without queued ones, and a roll-up
 * weights it by 0, so it never reaches a combined value), and a rate whose numerator is not
 * complete (a count missing): these stay accepted and counted as `rate_above_one`.
 */
export function contradictedRateAboveOne(bucket: ReportBucket): ContradictedRate | undefined {
  for (const group of METRIC_GROUPS) {
    const values = bucket[group];
    const value = (name: string) => values[name] ?? null;
    for (const metric of CONTRADICTION_CHECKED[group] ?? []) {
      const rate = PLANS[group].metrics.find((m) => m.name === metric)?.rate;
      const reported = value(metric);
      if (!rate || reported === null || reported <= 1) continue;
      const counts = rateCounts(rate, value);
      if (!counts) continue;
      const { numerator, denominator } = counts;
      const ratio = numerator / denominator;
      if (Math.round(reported * denominator) !== numerator && Math.abs(reported - ratio) > RATE_DISPLAY_ROUNDING) {
        return {
          group,
          metric,
          detail: `${metric} ${reported} x ${rate.denominator} ${denominator} = ${round2(reported * denominator)}, but ${rate.parts.join(' + ')} = ${numerator} (${numerator} / ${denominator} = ${round2(ratio)})`,
        };
      }
    }
  }
  return undefined;
}

/** Every finding of every bucket, in bucket order. */
export function findRollupAnomalies(buckets: readonly ReportBucket[]): AnomalyFinding[] {
  const findings: AnomalyFinding[] = [];
  for (const bucket of buckets) {
    const handled = bucket.inbound.callsHandled ?? null;
    const offered = bucket.inbound.callsOffered ?? null;
    if (handled !== null && offered !== null && handled > offered) {
      findings.push({ rule: 'handled_exceeds_offered', statsTime: bucket.statsTime, metric: 'inbound.callsHandled', detail: `callsHandled ${handled} > callsOffered ${offered}` });
    }
    for (const group of METRIC_GROUPS) checkGroup(group, bucket[group], bucket.statsTime, findings);
  }
  return findings;
}
