/**
 * Plans the fewest CCC `ListIntervalInstanceReport` calls that fetch a set of missing buckets.
 *
 * Upstream rules this encodes:
 *  - one call = (InstanceId, Interval Hourly|Daily, StartTime, EndTime) in epoch ms;
 *  - EndTime - StartTime may be at most 10 days for Hourly and 180 days for Daily;
 *  - StartTime must not be older than the 180-day retention.
 * Upstream floors StartTime and rounds EndTime up to the hour. We send EndTime as the last
 * millisecond of the last bucket (exclusive end - 1): it rounds up to exactly the bucket end, and
 * EndTime - StartTime stays just under a whole number of days, so exactly 240 hourly buckets fit
 * in one call. (The API docs' example, 1620230400000 .. 1620316799000, uses end - 1 s instead;
 * both round to the same hour.)
 *
 * Only runs of consecutive missing buckets are merged: bridging a gap would refetch buckets that
 * are already cached. Within a run, cutting greedily at the span limit is optimal, because every
 * piece but the last is as long as the limit allows.
 */
import { DAY_MS, HOUR_MS, bucketStart, isWholeHourOffsetZone, nextBucketStart } from './intervals';

export type UpstreamInterval = 'HOURLY' | 'DAILY';

export interface UpstreamCall {
  instanceId: string;
  interval: UpstreamInterval;
  /** Start of the first bucket. */
  startTime: number;
  /** Inclusive last millisecond: exclusive end of the last bucket - 1. */
  endTime: number;
  /** The buckets this call answers, ascending and consecutive. */
  bucketStarts: number[];
}

export interface UpstreamLimits {
  /** How far back upstream keeps data (180 days). */
  retentionMs: number;
  /** Safety so a call planned now is not rejected as too old when it arrives a moment later. */
  retentionMarginMs: number;
  /** Largest allowed EndTime - StartTime per upstream interval. */
  maxSpanMs: { HOURLY: number; DAILY: number };
}

export const DEFAULT_UPSTREAM_LIMITS: UpstreamLimits = Object.freeze({
  retentionMs: 180 * DAY_MS,
  retentionMarginMs: 60_000,
  maxSpanMs: Object.freeze({ HOURLY: 10 * DAY_MS, DAILY: 180 * DAY_MS }),
});

export interface PlanInput {
  instanceId: string;
  interval: UpstreamInterval;
  /** IANA zone the buckets are defined in. */
  zone: string;
  /** Starts of the buckets that are needed and not cached; may be unsorted and contain duplicates. */
  missing: number[];
  now: number;
  limits?: UpstreamLimits;
}

export interface Plan {
  calls: UpstreamCall[];
  /** Missing buckets upstream can no longer serve (start < now - retention + margin); never requested. */
  beyondRetention: number[];
}

export function planUpstreamCalls(input: PlanInput): Plan {
  const { instanceId, interval, zone, now, limits = DEFAULT_UPSTREAM_LIMITS } = input;
  if (!Number.isFinite(now)) throw new RangeError(`now must be a finite epoch-ms number, got ${now}`);

  const starts = [...new Set(input.missing)].sort((a, b) => a - b);
  if (starts.length === 0) return { calls: [], beyondRetention: [] };
  const buckets = withEnds(starts, interval, zone);

  const oldestServable = now - limits.retentionMs + limits.retentionMarginMs;
  const firstServable = firstIndexStartingAtOrAfter(buckets, oldestServable);
  const beyondRetention = starts.slice(0, firstServable);

  const maxSpanMs = limits.maxSpanMs[interval];
  const calls: UpstreamCall[] = [];
  for (const run of consecutiveRuns(buckets.slice(firstServable))) {
    for (const piece of splitAtSpanLimit(run, maxSpanMs, interval)) {
      calls.push({
        instanceId,
        interval,
        startTime: piece[0].start,
        endTime: piece[piece.length - 1].end - 1,
        bucketStarts: piece.map((b) => b.start),
      });
    }
  }
  return { calls, beyondRetention };
}

/** A bucket as [start, end) epoch ms; the end is looked up once since zone lookups are the costly part. */
interface Bucket {
  start: number;
  end: number;
}

/**
 * Pairs each (sorted, distinct) bucket start with its end, rejecting values that are not bucket
 * starts: those would make us request, and later cache, the wrong window.
 */
function withEnds(sortedStarts: number[], interval: UpstreamInterval, zone: string): Bucket[] {
  for (const b of sortedStarts) {
    if (!Number.isFinite(b)) throw new RangeError(`missing bucket start must be finite, got ${b}`);
  }
  const first = sortedStarts[0];
  const last = sortedStarts[sortedStarts.length - 1];

  // In whole-hour-offset zones an hourly bucket is exactly a UTC hour: plain arithmetic spares
  // thousands of zone lookups for long hourly ranges.
  const hourlyOnUtcHours = interval === 'HOURLY' && isWholeHourOffsetZone(zone, first, last + HOUR_MS);
  const isBucketStart = (b: number): boolean =>
    hourlyOnUtcHours ? b % HOUR_MS === 0 : bucketStart(b, interval, zone) === b;
  const endOf = (b: number): number => (hourlyOnUtcHours ? b + HOUR_MS : nextBucketStart(b, interval, zone));

  const buckets: Bucket[] = [];
  for (const start of sortedStarts) {
    // A value equal to the previous bucket's end is a bucket start by construction; only the
    // first bucket of each run needs the (zone-lookup) check.
    const continuesRun = buckets.length > 0 && buckets[buckets.length - 1].end === start;
    if (!continuesRun && !isBucketStart(start)) {
      throw new RangeError(`${new Date(start).toISOString()} is not the start of a ${interval} bucket in ${zone}`);
    }
    buckets.push({ start, end: endOf(start) });
  }
  return buckets;
}

/** Index of the first bucket starting at or after `instant` in an ascending array (binary search). */
function firstIndexStartingAtOrAfter(sorted: Bucket[], instant: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid].start < instant) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Splits ascending buckets into runs where each bucket begins exactly where the previous one ends. */
function consecutiveRuns(sorted: Bucket[]): Bucket[][] {
  const runs: Bucket[][] = [];
  let run: Bucket[] = [];
  for (const b of sorted) {
    if (run.length > 0 && run[run.length - 1].end !== b.start) {
      runs.push(run);
      run = [];
    }
    run.push(b);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * Cuts a run into the fewest pieces whose span (last bucket's end - 1 - first bucket's start) is
 * within `maxSpanMs`, taking as many buckets as fit into each piece in turn.
 */
function splitAtSpanLimit(run: Bucket[], maxSpanMs: number, interval: UpstreamInterval): Bucket[][] {
  const pieces: Bucket[][] = [];
  let piece: Bucket[] = [];
  for (const b of run) {
    if (b.end - 1 - b.start > maxSpanMs) {
      // Impossible with the real limits (a bucket is far shorter than 10 days); guards custom limits.
      throw new RangeError(`the ${interval} bucket at ${new Date(b.start).toISOString()} alone exceeds the ${maxSpanMs} ms span limit`);
    }
    if (piece.length > 0 && b.end - 1 - piece[0].start > maxSpanMs) {
      pieces.push(piece);
      piece = [];
    }
    piece.push(b);
  }
  if (piece.length > 0) pieces.push(piece);
  return pieces;
}
