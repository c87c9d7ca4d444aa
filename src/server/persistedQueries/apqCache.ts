/**
 * Where automatic persisted queries (APQ) are registered: Apollo Server's `persistedQueries.cache`.
 *
 * With Redis configured, registrations live in Redis, so a hash a client registered on one replica
 * is found by every other replica (a load balancer sends the hash-only retry anywhere). Without
 * Redis, an in-process LRU: each replica learns each hash once, which costs a client one
 * PERSISTED_QUERY_NOT_FOUND round trip per replica, nothing more.
 *
 * Over the gateway's own ioredis connection (single node or Cluster, with its fail-fast settings:
 * no offline queue, command timeout), not a Keyv adapter: `@keyv/redis` brings a second Redis
 * client (node-redis) with its own connections, reconnect policy and Cluster configuration.
 * APQ needs GET and SET with an expiry; one key per hash, so Cluster routing is trivial.
 *
 * Redis is a shared memory here, never a dependency: a failing command is a miss (the client then
 * sends the full query, which runs) or a registration kept only in this process. The in-process
 * LRU sits in front of Redis, so while Redis is down a replica still serves the hashes it has seen.
 * An outage is logged once, and its end once.
 *
 * Entries expire: a registration is a few hundred bytes that any client can create, so Redis must
 * not keep them forever (PERSISTED_QUERIES_TTL_S bounds the TTL Apollo asks for, and applies when
 * it asks for none).
 */
import { InMemoryLRUCache, type KeyValueCache, type KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import type { Cluster, Redis } from 'ioredis';

/** Memory of the in-process tier: about 10,000 typical operations. */
export const APQ_MEMORY_MAX_BYTES = 8 * 1024 * 1024;

export interface ApqCacheOptions {
  /** The gateway's connection; undefined: in-process only. */
  redis?: Redis | Cluster;
  /** Prepended to Apollo's own `apq:<sha256>` key, e.g. `ccc:` -> `ccc:apq:<sha256>`. */
  keyPrefix: string;
  /** Longest life of a registration (PERSISTED_QUERIES_TTL_S). */
  maxTtlSeconds: number;
  logger: { warn(details: object, message: string): void; info(details: object, message: string): void };
}

/** The APQ cache for Apollo Server: in-process LRU, in front of Redis when there is one. */
export function createApqCache(options: ApqCacheOptions): KeyValueCache<string> {
  const memory = new InMemoryLRUCache<string>({ maxSize: APQ_MEMORY_MAX_BYTES });
  return options.redis ? new RedisApqCache(memory, options.redis, options) : new BoundedTtlCache(memory, options.maxTtlSeconds);
}

/** TTL in seconds: what Apollo asks for, at most the configured bound. */
function boundedTtl(requested: KeyValueCacheSetOptions | undefined, maxTtlSeconds: number): number {
  const ttl = requested?.ttl;
  return typeof ttl === 'number' && ttl > 0 ? Math.min(ttl, maxTtlSeconds) : maxTtlSeconds;
}

class BoundedTtlCache implements KeyValueCache<string> {
  constructor(
    private readonly memory: KeyValueCache<string>,
    private readonly maxTtlSeconds: number,
  ) {}

  get(key: string) {
    return this.memory.get(key);
  }

  set(key: string, value: string, options?: KeyValueCacheSetOptions) {
    return this.memory.set(key, value, { ttl: boundedTtl(options, this.maxTtlSeconds) });
  }

  delete(key: string) {
    return this.memory.delete(key);
  }
}

class RedisApqCache implements KeyValueCache<string> {
  private failing = false;
  private readonly local: BoundedTtlCache;

  constructor(
    memory: KeyValueCache<string>,
    private readonly redis: Redis | Cluster,
    private readonly options: ApqCacheOptions,
  ) {
    this.local = new BoundedTtlCache(memory, options.maxTtlSeconds);
  }

  async get(key: string): Promise<string | undefined> {
    const local = await this.local.get(key);
    if (local !== undefined) return local;
    let shared: string | null;
    try {
      shared = await this.redis.get(this.options.keyPrefix + key);
    } catch (error) {
      this.failed(error);
      return undefined;
    }
    this.succeeded();
    if (shared === null) return undefined;
    // Known here from now on, for at most the bound (the Redis entry's remaining TTL is not read:
    // a hash's text never changes, so a longer local life only saves round trips).
    await this.local.set(key, shared);
    return shared;
  }

  async set(key: string, value: string, options?: KeyValueCacheSetOptions): Promise<void> {
    await this.local.set(key, value, options);
    try {
      await this.redis.set(this.options.keyPrefix + key, value, 'EX', boundedTtl(options, this.options.maxTtlSeconds));
      this.succeeded();
    } catch (error) {
      this.failed(error);
    }
  }

  async delete(key: string): Promise<boolean | void> {
    await this.local.delete(key);
    try {
      await this.redis.del(this.options.keyPrefix + key);
      this.succeeded();
    } catch (error) {
      this.failed(error);
    }
  }

  private failed(error: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.options.logger.warn(
      { err: error },
      'Persisted queries: Redis unavailable, registrations are kept in this process only until it recovers (logged once per outage)',
    );
  }

  private succeeded(): void {
    if (!this.failing) return;
    this.failing = false;
    this.options.logger.info({}, 'Persisted queries: Redis available again');
  }
}
