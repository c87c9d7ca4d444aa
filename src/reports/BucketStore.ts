import type { BucketSeries, StoredBucket } from './buckets';

export interface BucketRef {
  series: BucketSeries;
  statsTime: number;
}

export interface BucketWrite extends BucketRef {
  value: StoredBucket;
  /** Expiry for open (non-final) buckets; final buckets are stored without expiry. */
  ttlMs?: number;
}

/**
 * Where fetched buckets are kept. Implementations: the in-process LRU, Redis, and the two tiered.
 * `getMany` answers every ref in one round trip; a store that fails answers misses (undefined)
 * rather than failing the operation: a cache outage must cost upstream calls, not answers.
 */
export interface BucketStore {
  getMany(refs: readonly BucketRef[]): Promise<(StoredBucket | undefined)[]>;
  setMany(writes: readonly BucketWrite[]): Promise<void>;
}

/** One upstream call, as a lease identifies it across replicas. */
export interface UpstreamLease {
  instanceId: string;
  interval: string;
  zone: string;
  startTime: number;
  endTime: number;
}

/** A shared store that can also coordinate replicas (Redis): at most one fetches a given call. */
export interface LeasingBucketStore extends BucketStore {
  acquireLease(lease: UpstreamLease, ttlMs: number): Promise<boolean>;
  releaseLease(lease: UpstreamLease): Promise<void>;
}

export function canLease(store: BucketStore | undefined): store is LeasingBucketStore {
  return typeof (store as Partial<LeasingBucketStore> | undefined)?.acquireLease === 'function';
}
