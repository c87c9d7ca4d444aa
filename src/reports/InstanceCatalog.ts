/**
 * Per-operation view of the account's instances (`ListInstances`), for `CallCenterInstance.name`,
 * `status`, ... and `Query.callCenterInstances`.
 *
 * Every lookup of one operation goes through one DataLoader over one listing: however many
 * instances, aliases or `_entities` representations an operation names, it reads the listing once
 * (and the listing itself is shared by operations for a short TTL, see CachedInstanceDirectory),
 * and all its fields see the same listing.
 *
 * Answers, per instance:
 *  - FORBIDDEN when the caller may not read it: checked first, the same answer whether it exists
 *    or not, before the listing is read;
 *  - its InstanceInfo when the listing holds it;
 *  - NOT_FOUND when it does not (as its reports would answer, upstream's `NotExists.InstanceId`),
 *    after reading the listing again if the one at hand is older than MISS_REFRESH_MS: an instance
 *    created a moment ago is found without waiting out the TTL, and ids that do not exist cost at
 *    most one listing per MISS_REFRESH_MS.
 */
import DataLoader from 'dataloader';
import { forbiddenInstance, GatewayError } from './errors';
import type { InstanceInfo, InstanceStatus } from './InstanceDirectory';

/** One listing of the account's instances, as read at `fetchedAt` (wall clock, ms). */
export interface InstanceListing {
  instances: readonly InstanceInfo[];
  byId: ReadonlyMap<string, InstanceInfo>;
  fetchedAt: number;
  /** When it stops being served (wall clock, ms). */
  expiresAt: number;
}

export interface InstanceListingSource {
  /** A listing at most `maxAgeMs` old (default: whatever the source's TTL allows). */
  listing(options?: { maxAgeMs?: number }): Promise<InstanceListing>;
}

/** A listing older than this is read again when it lacks an instance asked for. */
export const MISS_REFRESH_MS = 5_000;

export function instanceNotFound(instanceId: string): GatewayError {
  return new GatewayError(
    'NOT_FOUND',
    `The call center instance ${instanceId} is not in the account's instance list (ListInstances); check the id`,
    { instanceId },
  );
}

export interface InstanceCatalogOptions {
  canRead(instanceId: string): boolean;
  /** Wall clock, ms (for the miss refresh). */
  clock?: () => number;
  /** Hears of every listing the operation served from (the answer may change when it expires). */
  onListingServed?(listing: InstanceListing): void;
}

export class InstanceCatalog {
  private listingPromise: Promise<InstanceListing> | undefined;
  private readonly loader: DataLoader<string, InstanceInfo>;

  constructor(
    private readonly source: InstanceListingSource,
    private readonly options: InstanceCatalogOptions,
  ) {
    this.loader = new DataLoader((ids) => this.lookUp(ids), { cache: true });
  }

  /** The instance as listed; FORBIDDEN or NOT_FOUND as above. */
  info(instanceId: string): Promise<InstanceInfo> {
    if (!this.options.canRead(instanceId)) return Promise.reject(forbiddenInstance(instanceId));
    return this.loader.load(instanceId);
  }

  /** The instances the caller may read, in upstream's order, optionally only those in `statuses`. */
  async readable(statuses?: readonly InstanceStatus[] | null): Promise<InstanceInfo[]> {
    const listing = await this.listing();
    const wanted = statuses && statuses.length > 0 ? new Set(statuses) : undefined;
    const instances = listing.instances.filter((i) => this.options.canRead(i.id) && (!wanted || wanted.has(i.status)));
    // Their fields are then served from the loader without another lookup.
    for (const instance of instances) this.loader.prime(instance.id, instance);
    return instances;
  }

  private listing(): Promise<InstanceListing> {
    if (!this.listingPromise) {
      const promise = this.served(this.source.listing());
      // A failure is kept for this operation only (the shared listing never keeps one): one
      // operation makes one attempt, retries included, so a failing upstream costs it one
      // deadline, not one per field (nor one for the cost check and one for execution).
      promise.catch(() => undefined);
      this.listingPromise = promise;
    }
    return this.listingPromise;
  }

  private served(listing: Promise<InstanceListing>): Promise<InstanceListing> {
    return listing.then((served) => {
      this.options.onListingServed?.(served);
      return served;
    });
  }

  private async lookUp(ids: readonly string[]): Promise<(InstanceInfo | Error)[]> {
    let listing = await this.listing();
    const now = (this.options.clock ?? Date.now)();
    if (ids.some((id) => !listing.byId.has(id)) && now - listing.fetchedAt >= MISS_REFRESH_MS) {
      // The younger listing serves the rest of the operation; if it cannot be read, the older one
      // still answers (the ids it lacks are NOT_FOUND, as they were a moment ago).
      const refreshed = this.served(this.source.listing({ maxAgeMs: MISS_REFRESH_MS }));
      const older = listing;
      listing = await refreshed.catch(() => older);
      if (listing !== older) this.listingPromise = refreshed;
    }
    return ids.map((id) => listing.byId.get(id) ?? instanceNotFound(id));
  }
}
