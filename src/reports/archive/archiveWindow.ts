/**
 * Which closed buckets of a series the archive can fetch now: from the oldest bucket upstream
 * still serves (retention, with the planner's margin) up to the newest closed and settled one.
 */
import type { BucketSeries } from '../buckets';
import { bucketStart, bucketStartsInRange, nextBucketStart } from '../intervals';
import { DEFAULT_UPSTREAM_LIMITS, type UpstreamLimits } from '../planner';
import type { SeriesProgress } from './ArchiveProgress';

export interface ArchiveWindow {
  /** Start of the oldest bucket upstream still serves. */
  from: number;
  /** Buckets starting before this are closed and settled. */
  to: number;
}

export function archiveWindow(series: BucketSeries, now: number, settleDelayMs: number, limits: UpstreamLimits = DEFAULT_UPSTREAM_LIMITS): ArchiveWindow {
  const oldestServable = now - limits.retentionMs + limits.retentionMarginMs;
  const first = bucketStart(oldestServable, series.interval, series.zone);
  const from = first === oldestServable ? first : nextBucketStart(first, series.interval, series.zone);
  const to = bucketStart(now - settleDelayMs, series.interval, series.zone);
  return { from, to: Math.max(from, to) };
}

export interface SeriesWork {
  /** Missing buckets upstream still serves: retried first, oldest first. */
  retry: number[];
  /** Buckets between the watermark and the window's end, never gone through yet, ascending. */
  fresh: number[];
  /**
   * Buckets between an old watermark and the window's start: the archive was off for longer
   * than upstream keeps data. They are missing for good unless the cache holds them.
   */
  lapsed: number[];
}

/** What a pass has to do for one series, given its progress. */
export function seriesWork(series: BucketSeries, progress: SeriesProgress, window: ArchiveWindow): SeriesWork {
  const retry = progress.missing.filter((statsTime) => statsTime >= window.from && statsTime < window.to);
  const start = progress.watermark ?? window.from;
  const lapsed = start < window.from ? bucketStartsInRange(start, window.from, series.interval, series.zone) : [];
  const fresh = bucketStartsInRange(Math.max(start, window.from), window.to, series.interval, series.zone);
  return { retry, fresh, lapsed };
}
