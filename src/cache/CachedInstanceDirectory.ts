/**
 * One `ListInstances` listing per process, served for a short TTL (INSTANCE_DIRECTORY_TTL_MS).
 *
 * Names and statuses change rarely and every operation that shows them would otherwise page
 * through the whole account: one listing (ceil(instances / 100) upstream calls) is shared by all
 * operations until it expires. Single-flight: callers arriving while a listing is read join it.
 * A failed listing is never kept: its callers get the error and the next caller reads again.
 *
 * In process only, not in Redis: each replica reads the list at most once per TTL (plus the miss
 * refreshes below), a few calls a minute however many replicas, and a listing is small; sharing
 * it would add a Redis round trip to save one upstream call per minute.
 */
import type { InstanceDirectory, InstanceInfo } from '../reports/InstanceDirectory';
import type { InstanceListing, InstanceListingSource } from '../reports/InstanceCatalog';

export interface CachedInstanceDirectoryOptions {
  ttlMs: number;
  /** Wall clock in ms (the TTL is real time, whatever clock the reports use). */
  clock?: () => number;
}

export class CachedInstanceDirectory implements InstanceDirectory, InstanceListingSource {
  private cached: InstanceListing | undefined;
  private inFlight: Promise<InstanceListing> | undefined;
  /** Listings read from the source (each is one or more upstream calls): for tests and metrics. */
  listingsRead = 0;

  constructor(
    private readonly source: InstanceDirectory,
    private readonly options: CachedInstanceDirectoryOptions,
  ) {}

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }

  /**
   * The cached listing while it is fresh and younger than `maxAgeMs` (default: the TTL), else a
   * new one (joined when one is being read already).
   */
  listing(options: { maxAgeMs?: number } = {}): Promise<InstanceListing> {
    const now = this.now();
    const cached = this.cached;
    const maxAge = Math.min(options.maxAgeMs ?? Infinity, this.options.ttlMs);
    if (cached && now - cached.fetchedAt < maxAge) return Promise.resolve(cached);
    return (this.inFlight ??= this.read().finally(() => {
      this.inFlight = undefined;
    }));
  }

  async listInstances(): Promise<InstanceInfo[]> {
    return [...(await this.listing()).instances];
  }

  /** Forgets the cached listing (the next caller reads upstream). */
  clear(): void {
    this.cached = undefined;
  }

  private async read(): Promise<InstanceListing> {
    const fetchedAt = this.now();
    this.listingsRead++;
    const instances = Object.freeze(await this.source.listInstances());
    const listing: InstanceListing = {
      instances,
      byId: new Map(instances.map((instance) => [instance.id, instance])),
      fetchedAt,
      expiresAt: fetchedAt + this.options.ttlMs,
    };
    this.cached = listing;
    return listing;
  }
}
