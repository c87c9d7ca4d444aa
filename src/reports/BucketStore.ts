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
