/**
 * The archive's ports: its lock (exactly one archiver at a time, with a fencing token) and its
 * progress per series (the watermark, and the closed buckets still missing). Adapters: Redis
 * (`src/cache/RedisArchiveState.ts`, shared by replicas) and process memory
 * (`src/cache/MemoryArchiveState.ts`, one process without Redis).
 *
 * Fencing: every archive write (buckets, watermark, missing list) carries the token the writer got
 * with the lock, and the store refuses it once a newer token has been seen for that instance. So
 * an archiver that lost its lock without noticing (paused, partitioned, slow) cannot move a
 * watermark or write a bucket after its successor has started: `FencedOutError`.
 */
import type { BucketStore } from '../BucketStore';
import type { BucketSeries } from '../buckets';

export interface SeriesProgress {
  /** Start of the oldest bucket the archive has gone through; undefined: never archived. */
  earliest?: number;
  /**
   * Exclusive end of the archived span: every closed bucket in [earliest, watermark) is stored,
   * or listed in `missing`. It only moves forward.
   */
  watermark?: number;
  /** Starts of closed buckets in the span that are not stored (an upstream error): retried by every pass, ascending. */
  missing: number[];
}

export interface ProgressChange {
  /** Set when the series has none yet. */
  earliest?: number;
  /** Raised to this (never lowered). */
  watermark?: number;
  addMissing?: readonly number[];
  removeMissing?: readonly number[];
}

export interface ArchiveProgressStore {
  read(series: BucketSeries): Promise<SeriesProgress>;
  /** Fenced by `token`: throws `FencedOutError` when a newer token has been seen for the instance. */
  record(token: number, series: BucketSeries, change: ProgressChange): Promise<void>;
  /**
   * Raises the instance's fence to `token`, so writes with older tokens are refused from now on;
   * throws `FencedOutError` if a newer one was seen already. A new holder fences every instance
   * before anything else.
   */
  fence(token: number, instanceId: string): Promise<void>;
  /**
   * The store the archive's pipeline reads and writes buckets through: reads like the cache,
   * writes fenced by `token` (rejecting with `FencedOutError`) and, unlike the cache's
   * best-effort writes, rejecting on any failure, so a bucket is never counted as archived
   * unless it was stored.
   */
  bucketStore(token: number): BucketStore;
}

export interface ArchiveLock {
  /** Takes the lock if it is free: the new fencing token (greater than every earlier one), or undefined. */
  acquire(ttlMs: number): Promise<number | undefined>;
  /** Extends the hold of `token`; false when it is lost (expired, or another holder has it). */
  renew(token: number, ttlMs: number): Promise<boolean>;
  /** Lets go at once (a clean stop), when still held by `token`. */
  release(token: number): Promise<void>;
}

export class FencedOutError extends Error {
  constructor(
    readonly token: number,
    readonly instanceId: string,
  ) {
    super(`archive write with fencing token ${token} refused for ${instanceId}: a newer archiver holds the lock`);
    this.name = 'FencedOutError';
  }
}

/** The two upstream series of an instance the archive keeps: UTC hours, and days of its zone. */
export function archivedSeries(instanceId: string, instanceZone: string): BucketSeries[] {
  return [
    { instanceId, interval: 'HOURLY', zone: 'UTC' },
    { instanceId, interval: 'DAILY', zone: instanceZone },
  ];
}
