/**
 * One archive pass: for each instance and each of its upstream series (HOURLY in UTC, DAILY in
 * its zone), fetch every closed bucket upstream still serves that is not stored yet, oldest
 * first, and move the series' watermark past it.
 *
 * Order of work per series:
 *  1. buckets listed as missing (an earlier upstream error) are retried, oldest first; those the
 *     cache holds by now (a live operation fetched them) are crossed off without a call;
 *  2. the buckets after the watermark, in windows of one upstream call's span (240 hours, 180
 *     days): each window is first read from the store (what is stored is never fetched again),
 *     the rest is fetched, then the watermark moves to the window's end in one fenced write,
 *     with the window's failed buckets added to `missing` (never skipped: retried by every pass).
 * A full 180-day backfill of an empty store is therefore 18 HOURLY calls and 1 DAILY call, and a
 * restart resumes at the watermark with no call for anything already stored.
 *
 * Every upstream call waits for the pacer first (ARCHIVE_MAX_CALLS_PER_MINUTE); the fetcher runs
 * it through the pipeline (same validation, same stores, the scheduler's background class).
 */
import type { BucketStore } from '../BucketStore';
import type { BucketSeries } from '../buckets';
import { GatewayError } from '../errors';
import { nextBucketStart } from '../intervals';
import { planUpstreamCalls, type UpstreamCall, type UpstreamLimits } from '../planner';
import { archivedSeries, FencedOutError, type ArchiveProgressStore } from './ArchiveProgress';
import { archiveWindow, seriesWork } from './archiveWindow';
import type { CallPacer } from './callPacer';

/** Fetches one planned call's buckets and stores them (the archive's pipeline). */
export interface ArchiveFetcher {
  /** Resolves with the upstream calls made (0 when another fetch stored them meanwhile); rejects with the call's error. */
  fetch(series: BucketSeries, call: UpstreamCall): Promise<{ upstreamCalls: number }>;
}

export interface ArchivePassEvents {
  onUpstreamCall?(series: BucketSeries, outcome: 'ok' | 'error'): void;
  onBucketsArchived?(series: BucketSeries, count: number): void;
  onError?(series: BucketSeries, error: Error): void;
  onProgress?(series: BucketSeries, watermark: number, missing: number): void;
}

export interface ArchiveInstance {
  id: string;
  /** The zone of its DAILY buckets. */
  zone: string;
}

export interface ArchivePassOptions {
  token: number;
  instances: readonly ArchiveInstance[];
  progress: ArchiveProgressStore;
  fetcher: ArchiveFetcher;
  pacer: CallPacer;
  now: () => number;
  settleDelayMs: number;
  limits?: UpstreamLimits;
  /** Aborts between calls (the lock was lost, the process stops). */
  signal?: AbortSignal;
  events?: ArchivePassEvents;
}

export interface ArchivePassResult {
  /** The instances of this pass. */
  instanceIds: string[];
  upstreamCalls: number;
  failedCalls: number;
  bucketsArchived: number;
  /** Instances whose pass stopped early (upstream does not know the instance), with why. */
  skipped: { instanceId: string; reason: string }[];
}

/** Upstream said the instance does not exist: nothing of it can be fetched, nothing is recorded. */
function isUnknownInstance(error: unknown): boolean {
  return error instanceof GatewayError && error.code === 'NOT_FOUND';
}

export async function runArchivePass(options: ArchivePassOptions): Promise<ArchivePassResult> {
  const result: ArchivePassResult = { instanceIds: options.instances.map((i) => i.id), upstreamCalls: 0, failedCalls: 0, bucketsArchived: 0, skipped: [] };
  const store = options.progress.bucketStore(options.token);
  for (const instance of options.instances) {
    options.signal?.throwIfAborted();
    await options.progress.fence(options.token, instance.id);
    try {
      for (const series of archivedSeries(instance.id, instance.zone)) await archiveSeries(series, store, options, result);
    } catch (error) {
      if (!isUnknownInstance(error)) throw error;
      result.skipped.push({ instanceId: instance.id, reason: (error as Error).message });
    }
  }
  return result;
}

async function archiveSeries(series: BucketSeries, store: BucketStore, options: ArchivePassOptions, result: ArchivePassResult): Promise<void> {
  const { token, progress, events } = options;
  const state = await progress.read(series);
  const window = archiveWindow(series, options.now(), options.settleDelayMs, options.limits);
  const work = seriesWork(series, state, window);
  let missingCount = state.missing.length;

  // Buckets upstream no longer serves, skipped while the archive was off: missing unless stored.
  if (work.lapsed.length > 0) {
    const lapsed = await notStored(store, series, work.lapsed);
    await progress.record(token, series, { watermark: window.from, addMissing: lapsed });
    missingCount += lapsed.length;
  }

  // 1. Retry what is missing.
  if (work.retry.length > 0) {
    const stillMissing = await notStored(store, series, work.retry);
    const unstored = new Set(stillMissing);
    const stored = work.retry.filter((statsTime) => !unstored.has(statsTime));
    if (stored.length > 0) {
      await progress.record(token, series, { removeMissing: stored });
      missingCount -= stored.length;
    }
    // Those that left upstream's retention meanwhile stay listed: missing for good.
    for (const call of plan(series, stillMissing, options).calls) {
      if (await fetchCall(series, call, options, result)) {
        await progress.record(token, series, { removeMissing: call.bucketStarts });
        missingCount -= call.bucketStarts.length;
      }
    }
  }

  // 2. Go past the watermark, one call's span at a time.
  let earliest = state.earliest;
  const spans = plan(series, work.fresh, options);
  if (spans.beyondRetention.length > 0) {
    // The window's oldest buckets left upstream's retention since it was computed.
    const lost = await notStored(store, series, spans.beyondRetention);
    earliest ??= work.fresh[0];
    await progress.record(token, series, { earliest, addMissing: lost });
    missingCount += lost.length;
  }
  for (const span of spans.calls) {
    const missing = await notStored(store, series, span.bucketStarts);
    // Planned again at this moment: a bucket that left upstream's retention since the pass began
    // (a long, paced pass) cannot be fetched any more; it is listed missing, never passed over.
    const { calls, beyondRetention } = plan(series, missing, options);
    const failed: number[] = [...beyondRetention];
    for (const call of calls) {
      if (!(await fetchCall(series, call, options, result))) failed.push(...call.bucketStarts);
    }
    const watermark = span.endTime + 1;
    await progress.record(token, series, { earliest: earliest ?? span.startTime, watermark, addMissing: failed });
    earliest ??= span.startTime;
    missingCount += failed.length;
    events?.onProgress?.(series, watermark, missingCount);
  }
  if (work.fresh.length === 0) events?.onProgress?.(series, state.watermark ?? window.from, missingCount);
}

/** The calls that fetch `starts`, oldest first (the planner's cuts: one call per span limit), and the starts upstream no longer serves. */
function plan(series: BucketSeries, starts: readonly number[], options: ArchivePassOptions): { calls: UpstreamCall[]; beyondRetention: number[] } {
  if (starts.length === 0) return { calls: [], beyondRetention: [] };
  return planUpstreamCalls({ ...series, missing: [...starts], now: options.now(), limits: options.limits });
}

/** The starts among `starts` the store does not hold as final, ascending. */
async function notStored(store: BucketStore, series: BucketSeries, starts: readonly number[]): Promise<number[]> {
  const values = await store.getMany(starts.map((statsTime) => ({ series, statsTime })));
  return starts.filter((_, i) => values[i]?.final !== true);
}

/** One paced call through the fetcher: true when its buckets are stored. */
async function fetchCall(series: BucketSeries, call: UpstreamCall, options: ArchivePassOptions, result: ArchivePassResult): Promise<boolean> {
  await options.pacer.next(options.signal);
  try {
    const { upstreamCalls } = await options.fetcher.fetch(series, call);
    result.upstreamCalls += upstreamCalls;
    result.bucketsArchived += call.bucketStarts.length;
    if (upstreamCalls > 0) options.events?.onUpstreamCall?.(series, 'ok');
    options.events?.onBucketsArchived?.(series, call.bucketStarts.length);
    return true;
  } catch (error) {
    // A newer archiver took over, or upstream does not know the instance: stop, record nothing.
    if (error instanceof FencedOutError || isUnknownInstance(error)) throw error;
    result.upstreamCalls++;
    result.failedCalls++;
    options.events?.onUpstreamCall?.(series, 'error');
    options.events?.onError?.(series, error instanceof Error ? error : new Error(String(error)));
    return false;
  }
}

/** Exclusive end of the bucket starting at `statsTime` (for callers that show spans). */
export function bucketEnd(series: BucketSeries, statsTime: number): number {
  return nextBucketStart(statsTime, series.interval, series.zone);
}
