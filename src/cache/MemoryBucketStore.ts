/**
 * The in-process tier: decoded buckets in an LRU.
 *
 * Alone it is the whole cache of `npm start` (no Redis configured): final buckets stay until
 * evicted by size, open snapshots expire after their TTL, exactly the Redis semantics. In front
 * of Redis it saves the round trip and the decoding on every warm read. It is synchronous on
 * purpose: the pipeline relies on "write here, then drop the in-flight entry" happening in one
 * tick, so a concurrent reader always sees one or the other (see ReportPipeline).
 */
import { LRUCache } from 'lru-cache';
import type { BucketRef, BucketWrite } from '../reports/BucketStore';
import { bucketId, type StoredBucket } from '../reports/buckets';

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
    const key = bucketId(write.series, write.statsTime);
    if (write.value.final) this.lru.set(key, write.value);
    else this.lru.set(key, write.value, { ttl: write.ttlMs });
  }

  get size(): number {
    return this.lru.size;
  }

  clear(): void {
    this.lru.clear();
  }
}
