/**
 * Turns an upstream `ListIntervalInstanceReport` body into domain buckets, after validating the
 * whole answer against the query it answers.
 *
 * A closed bucket is stored once and never fetched again (after 180 days upstream cannot correct
 * it), so an answer is either trusted as a whole or rejected as a whole: nothing from a rejected
 * answer reaches a cache tier or a caller. Rejected (`MalformedUpstreamAnswer`, an
 * `UPSTREAM_ERROR` carrying upstream's RequestId):
 *  - `Data` missing, `null` or not an array (an empty array is a legitimate "no traffic");
 *  - a bucket that is not an object, without an integer `StatsTime`, or without its `Inbound`,
 *    `Outbound` or `Overall` object;
 *  - two buckets with the same `StatsTime`, or a bucket outside the requested range;
 *  - a `Long` metric that is not a non-negative safe integer, a `Float` metric (averages, rates,
 *    scores) that is not a finite number >= 0;
 *  - a call rate above 1 that the bucket's own counts contradict (HandleRate 95, a percentage,
 *    where CallsHandled / CallsQueued = 0.95): `contradictedRateAboveOne` in
 *    `src/reports/rollupAnomalies.ts` says which and why.
 * Tolerated, as upstream really sends them: numbers as JSON strings (the API document's own JSON
 * example sends every value as a string), fields renamed between API document versions
 * (`CallsAbandonedInRinging` -> `CallsAbandonedInRing`, `AbandonedRate` -> `AbandonRate`), and a
 * single absent metric (it is `null`). Semantic oddities that a well-formed answer may still carry
 * (handled > offered, rounded averages, a rate above 1 that agrees with its counts) are not judged
 * here: see `src/reports/rollupAnomalies.ts`. A rate above 1 in particular is not malformed by
 * itself: the SDK notes that rates "may exceed 100%" because events fall into different intervals,
 * and the simulator produces it too (an open hour's talk runs past `now`, its agents' logged-in
 * time does not), so rejecting it would make such a bucket unreadable for good.
 *
 * Whatever goes wrong in here, including a bug on an exotic body, surfaces as a
 * `MalformedUpstreamAnswer` (a GatewayError), never as a transport error that would be retried.
 */
import { GatewayError } from '../reports/errors';
import { DAY_MS, HOUR_MS } from '../reports/intervals';
import {
  METRIC_GROUPS,
  METRICS,
  UPSTREAM_GROUP_NAME,
  type MetricDefinition,
  type MetricGroup,
  type MetricValues,
  type ReportBucket,
} from '../reports/metrics';
import { contradictedRateAboveOne } from '../reports/rollupAnomalies';
import type { ReportQuery } from '../reports/ReportSource';

/** Longest excerpt of an offending part kept for the operator's log. */
export const MAX_OFFENDING_EXCERPT = 500;

/**
 * An answer the gateway does not trust. The caller sees `problem` (where, and what is wrong) and
 * upstream's RequestId; the offending value itself (`offending`, truncated) is for the operator's
 * log only, outside `details`, so it never reaches a caller.
 */
export class MalformedUpstreamAnswer extends GatewayError {
  constructor(
    /** Where and what, without the value: `Data[3].Inbound.CallsHandled is not a non-negative integer`. */
    readonly problem: string,
    /** The offending part of the body, JSON, at most MAX_OFFENDING_EXCERPT characters. */
    readonly offending: string,
    upstreamRequestId?: string,
  ) {
    super(
      'UPSTREAM_ERROR',
      `The call center service sent a malformed answer (${problem}). Nothing from it was stored and the next request asks again; ` +
        `if this persists, give the upstreamRequestId to Alibaba Cloud support.`,
      upstreamRequestId ? { upstreamRequestId } : {},
    );
    this.name = 'MalformedUpstreamAnswer';
  }
}

/** JSON of `value`, cut to `max` characters; never throws (cycles, BigInt, getters). */
export function excerpt(value: unknown, max = MAX_OFFENDING_EXCERPT): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    try {
      text = String(value);
    } catch {
      text = '[unprintable]';
    }
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A decimal number as upstream writes it in a JSON string ("7", "0.25", "1e3", "-5"). */
const NUMERIC_STRING = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** Thrown inside; given the RequestId and rethrown as MalformedUpstreamAnswer at the top. */
class Problem {
  constructor(
    readonly problem: string,
    readonly offending: unknown,
  ) {}
}

type Reading = number | null | 'not a number' | 'not a finite number';

/** `null` when absent, a finite number (-0 becomes 0), or why it is neither. Paths are built only on failure. */
function readNumber(value: unknown): Reading {
  if (value === null || value === undefined || value === '') return null;
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && NUMERIC_STRING.test(value.trim())) n = Number(value);
  else return 'not a number';
  return Number.isFinite(n) ? n + 0 : 'not a finite number';
}

function toNumber(value: unknown, where: string): number | null {
  const n = readNumber(value);
  if (typeof n === 'string') throw new Problem(`${where} is ${n}`, { [where]: value });
  return n;
}

/** Why a metric's number is not acceptable for its type, or undefined. */
function metricFault(metric: MetricDefinition, value: number): string | undefined {
  if (metric.type === 'Long') return Number.isSafeInteger(value) && value >= 0 ? undefined : 'not a non-negative integer';
  return value < 0 ? 'negative' : undefined;
}

function normalizeGroup(raw: unknown, group: MetricGroup, where: string): MetricValues {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    const groupWhere = `${where}.${UPSTREAM_GROUP_NAME[group]}`;
    const what = raw === undefined ? 'missing' : raw === null ? 'null' : 'not an object';
    throw new Problem(`${groupWhere} is ${what}`, { [groupWhere]: raw ?? null });
  }
  const source = raw as Record<string, unknown>;
  const values: MetricValues = {};
  for (const metric of METRICS[group]) {
    let value = source[metric.upstreamName];
    let name = metric.upstreamName;
    if (value === undefined && metric.aliases) {
      for (const alias of metric.aliases) {
        if (source[alias] !== undefined) {
          value = source[alias];
          name = alias;
        }
      }
    }
    const n = readNumber(value);
    const fault = typeof n === 'string' ? n : n === null ? undefined : metricFault(metric, n);
    if (fault !== undefined) {
      const metricWhere = `${where}.${UPSTREAM_GROUP_NAME[group]}.${name}`;
      throw new Problem(`${metricWhere} is ${fault}`, { [metricWhere]: value });
    }
    values[metric.name] = n as number | null;
  }
  return values;
}

function readBucket(raw: unknown, index: number): ReportBucket {
  const where = `Data[${index}]`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Problem(`${where} is not an object`, raw);
  const item = raw as Record<string, unknown>;
  const statsTime = toNumber(item.StatsTime, `${where}.StatsTime`);
  if (statsTime === null || !Number.isSafeInteger(statsTime)) {
    throw new Problem(`${where}.StatsTime is missing or not an integer`, { StatsTime: item.StatsTime ?? null });
  }
  const groups = {} as Record<MetricGroup, MetricValues>;
  for (const group of METRIC_GROUPS) groups[group] = normalizeGroup(item[UPSTREAM_GROUP_NAME[group]], group, where);
  const bucket = { statsTime, ...groups };
  const contradicted = contradictedRateAboveOne(bucket);
  if (contradicted) {
    const definition = METRICS[contradicted.group].find((m) => m.name === contradicted.metric)!;
    const rateWhere = `${where}.${UPSTREAM_GROUP_NAME[contradicted.group]}.${definition.upstreamName}`;
    throw new Problem(`${rateWhere} is above 1 and contradicted by the bucket's own counts (a percentage instead of a fraction?)`, contradicted.detail);
  }
  return bucket;
}

/**
 * One bucket, without the answer-level checks (range, duplicates). For fixtures and tests; the
 * client goes through `normalizeReportBody`.
 */
export function normalizeBucket(raw: unknown, index = 0): ReportBucket {
  try {
    return readBucket(raw, index);
  } catch (error) {
    throw asMalformed(error, undefined);
  }
}

/**
 * Where a bucket of this answer may start. Upstream floors StartTime to the hour and rounds
 * EndTime up to the hour; a Daily bucket is stamped with its day's start, which may lie before
 * StartTime (the day the range starts in), but a day lasts at most 25 hours (DST).
 */
function bucketWindow(query: Pick<ReportQuery, 'interval' | 'startTime' | 'endTime'>): { earliest: number; before: number } {
  const floorHour = (t: number) => t - (((t % HOUR_MS) + HOUR_MS) % HOUR_MS);
  const rangeStart = floorHour(query.startTime);
  // endTime is the last millisecond included; upstream's exclusive end is it rounded up to the hour.
  const before = floorHour(query.endTime) + HOUR_MS;
  const longestBucket = query.interval === 'DAILY' ? DAY_MS + HOUR_MS : HOUR_MS;
  return { earliest: rangeStart - longestBucket + 1, before };
}

function iso(t: number): string {
  const date = new Date(t);
  return Number.isNaN(date.getTime()) ? String(t) : date.toISOString();
}

function readBody(body: unknown, query: Pick<ReportQuery, 'interval' | 'startTime' | 'endTime'>): ReportBucket[] {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Problem('the body is not a JSON object', body);
  const b = body as Record<string, unknown>;
  const status = b.HttpStatusCode === undefined ? 200 : toNumber(b.HttpStatusCode, 'HttpStatusCode');
  if (b.Code !== 'OK' || status !== 200) {
    throw new Problem(`Code ${excerpt(b.Code, 40)} / HttpStatusCode ${status} in a success response`, { Code: b.Code, HttpStatusCode: b.HttpStatusCode });
  }
  const data = b.Data;
  if (data === undefined || data === null) throw new Problem(`Data is ${data === undefined ? 'missing' : 'null'}`, { Data: data ?? null });
  if (!Array.isArray(data)) throw new Problem('Data is not an array', { Data: data });

  const { earliest, before } = bucketWindow(query);
  const seen = new Map<number, number>();
  const buckets = data.map((item, i) => {
    const bucket = readBucket(item, i);
    const first = seen.get(bucket.statsTime);
    if (first !== undefined) {
      throw new Problem(`Data[${first}] and Data[${i}] have the same StatsTime ${iso(bucket.statsTime)}`, { StatsTime: bucket.statsTime });
    }
    seen.set(bucket.statsTime, i);
    if (bucket.statsTime < earliest || bucket.statsTime >= before) {
      throw new Problem(
        `Data[${i}].StatsTime ${iso(bucket.statsTime)} is outside the requested ${query.interval.toLowerCase()} range ` +
          `${iso(query.startTime)} to ${iso(query.endTime)}`,
        { StatsTime: item && typeof item === 'object' ? (item as Record<string, unknown>).StatsTime : item },
      );
    }
    return bucket;
  });
  return buckets.sort((x, y) => x.statsTime - y.statsTime);
}

function requestIdOf(body: unknown): string | undefined {
  try {
    const id = (body as Record<string, unknown> | null)?.RequestId;
    return typeof id === 'string' && id.length > 0 ? id.slice(0, 128) : undefined;
  } catch {
    return undefined;
  }
}

function asMalformed(error: unknown, requestId: string | undefined): MalformedUpstreamAnswer {
  if (error instanceof MalformedUpstreamAnswer) return error;
  if (error instanceof Problem) return new MalformedUpstreamAnswer(error.problem, excerpt(error.offending), requestId);
  // A bug, or a body no check foresaw: still the answer's fault, never a retried transport error.
  const name = error instanceof Error ? error.name : typeof error;
  return new MalformedUpstreamAnswer(`the answer could not be read (${name})`, excerpt(error instanceof Error ? error.message : error), requestId);
}

/**
 * Validates the whole answer to `query` and returns its buckets ascending by statsTime, or throws
 * a `MalformedUpstreamAnswer` (and nothing else).
 */
export function normalizeReportBody(
  body: unknown,
  query: Pick<ReportQuery, 'interval' | 'startTime' | 'endTime'>,
): { buckets: ReportBucket[]; requestId?: string } {
  const requestId = requestIdOf(body);
  try {
    return { buckets: readBody(body, query), requestId };
  } catch (error) {
    throw asMalformed(error, requestId);
  }
}
