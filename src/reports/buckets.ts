/**
 * The vocabulary of the report pipeline: which series a bucket belongs to, and what the gateway
 * knows about one bucket.
 */
import type { ReportBucket } from './metrics';

import type { UpstreamInterval } from './planner';

/** The bucket sizes upstream knows (HOURLY, DAILY). Everything coarser is combined from these. */
export type { UpstreamInterval };

/**
 * One upstream time series: an instance's buckets of one size. `zone` is where upstream's
 * boundaries fall: UTC hours for HOURLY, the instance's midnight for DAILY. It is part of the
 * identity so a changed zone configuration never reads buckets cut on the old boundaries.
 */
export interface BucketSeries {
  instanceId: string;
  interval: UpstreamInterval;
  zone: string;
}

/** What the cache holds for one bucket. */
export interface StoredBucket {
  /** `null`: upstream reported no traffic in this bucket. */
  data: ReportBucket | null;
  /**
   * True when the bucket was already closed and settled when it was fetched: its data is final
   * and kept forever. False: a snapshot of an open bucket, kept briefly and refetched.
   */
  final: boolean;
  /**
   * When an open snapshot was fetched (epoch ms, the pipeline's clock). Freshness is judged on
   * this, not on the store's expiry, so an injected clock governs it and every tier agrees;
   * store TTLs only collect garbage.
   */
  fetchedAt?: number;
}

/** One bucket as the pipeline hands it to the GraphQL layer. */
export interface BucketSlot {
  statsTime: number;
  /** bucket end + settle delay <= now */
  closed: boolean;
  /** `null`: no traffic in this bucket. */
  data: ReportBucket | null;
}

export function seriesId(series: BucketSeries): string {
  return `${series.instanceId}|${series.interval}|${series.zone}`;
}

export function bucketId(series: BucketSeries, statsTime: number): string {
  return `${seriesId(series)}|${statsTime}`;
}
