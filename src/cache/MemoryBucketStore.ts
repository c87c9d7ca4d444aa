/**
 * The in-process tier: decoded buckets in an LRU.
 *
 * Alone it is the whole cache of `npm start` (no Redis configured): final buckets stay until
 * evicted by size, open snapshots expire after their TTL, exactly the Redis semantics. In front
 * of Redis it saves the round trip and the decoding on every warm read. It is synchronous on
 * purpose: the pipeline relies on "write here, then drop the in-flight entry" happening in one
 * tick, so a concurrent reader always sees one or the other (see ReportPipeline).
 *
 * Size: buckets are kept compact (`CompactBucket`: one array of doubles instead of three
 * objects keyed by metric name) under flat string keys, about 0.9 KB of heap per entry in all
 * (bench/bucketMemory.ts), so `CACHE_MEMORY_MAX_BUCKETS` (the LRU's bound, a count) of 50,000
 * is about 45 MB.
 */
import { LRUCache } from 'lru-cache';
import type { BucketRef, BucketWrite } from '../reports/BucketStore';
import { bucketId, seriesId, type BucketSeries, type StoredBucket } from '../reports/buckets';
import { CompactBucket } from '../reports/compactBucket';

/**
 * `bucketId` as one flat string, for the keys the LRU keeps. A template literal builds a tree of
 * string pieces (V8 cons strings), which a Map flattens on lookup but keeps alongside the flat
 * copy: about 100 bytes more per kept key. `Array#join` writes one sequential string.
 */
export function storedBucketId(series: BucketSeries, statsTime: number): string {
  return [seriesId(series), statsTime].join('|');
}

export class MemoryBucketStore {
  private readonly lru: LRUCache<string, StoredBucket>;

  constructor(maxBuckets: number) {
    this.lru = new LRUCache<string, StoredBucket>({ max: maxBuckets });
  }

  get(ref: BucketRef): StoredBucket | undefined {
    return this.lru.get(bucketId(ref.series, ref.statsTime));
  }

  /** The same, by an id already built with `bucketId` (saves building it again on hot paths). */
  getById(id: string): StoredBucket | undefined {
    return this.lru.get(id);
  }

  set(write: BucketWrite): void {
    const key = storedBucketId(write.series, write.statsTime);
    const { data, final, fetchedAt } = write.value;
    // A copy: the caller's value (an upstream answer, a Redis decode) is short-lived and may be
    // shared with requests in flight; what stays in the LRU is the compact form.
    const value: StoredBucket = { data: data === null ? null : CompactBucket.from(data), final, fetchedAt };
    if (final) this.lru.set(key, value);
    else this.lru.set(key, value, { ttl: write.ttlMs });
  }

  get size(): number {
    return this.lru.size;
  }

  clear(): void {
    this.lru.clear();
  }
}
