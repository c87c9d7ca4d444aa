/**
 * The archive's lock and progress in Redis (ports in `src/reports/archive/ArchiveProgress.ts`).
 *
 * Keys (prefix `ccc:` by default):
 *  - `<prefix>archive:{lock}:holder`: the lock, its value the holder's fencing token, `PX` the
 *    lock's TTL (renewed by the holder every third of it); `<prefix>archive:{lock}:token`: the
 *    token counter (INCR, raised to the server clock in microseconds: every acquisition gets a token greater than all before it, even after a lost AOF tail). Both in
 *    one slot, so taking the lock is one atomic script, also on Redis Cluster.
 *  - per instance, in the instance's hash tag `{<instanceId>}` (the slot of its bucket keys, so a
 *    fenced bucket write is one script on one node):
 *    `<prefix>archive:{id}:fence` the highest token seen, `<prefix>archive:{id}:progress` a hash
 *    (`H:UTC:earliest`, `H:UTC:watermark`, `D:<zone>:...`), and
 *    `<prefix>archive:{id}:missing:<H|D>:<zone>` a sorted set of missing bucket starts.
 *
 * Every write is a Lua script that first compares its token with the instance's fence: older
 * than the highest seen is refused (`FencedOutError`), newer raises it. Unlike the cache's writes
 * (best effort: an outage costs upstream calls), archive writes reject on any failure, so the
 * archive never counts a bucket as stored, or moves a watermark past it, unless Redis took it.
 */
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import type { BucketRef, BucketStore, BucketWrite } from '../reports/BucketStore';
import type { BucketSeries } from '../reports/buckets';
import { FencedOutError, type ArchiveLock, type ArchiveProgressStore, type ProgressChange, type SeriesProgress } from '../reports/archive/ArchiveProgress';
import { keyPart } from './bucketKeys';
import type { RedisBucketStore } from './RedisBucketStore';
import { encodeStoredValue } from './storedValue';

const DEFAULT_KEY_PREFIX = 'ccc:';

/** Refuses (returns 0) a token older than the instance's fence, raises the fence to a newer one. */
const FENCE_CHECK = `
local seen = tonumber(redis.call('GET', KEYS[1]) or '0')
local token = tonumber(ARGV[1])
if token < seen then return 0 end
if token > seen then redis.call('SET', KEYS[1], ARGV[1]) end
`;

/**
 * The token is the counter's next value, but never less than the server's clock in microseconds.
 * Why the clock: a Redis that loses its last second of AOF (a machine crash) can lose the
 * counter's last INCR while an instance's fence (another key, maybe on another node) kept that
 * token; a bare INCR would then reissue it, and two holders would share a token. The clock has
 * moved on since, so the next token is still greater than any issued before. Microseconds since
 * 1970 (~1.8e15) are safe integers; `%.0f` writes them without Lua's exponent notation.
 */
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
local time = redis.call('TIME')
local clock = tonumber(time[1]) * 1000000 + tonumber(time[2])
if token < clock then
  token = clock
  redis.call('SET', KEYS[2], string.format('%.0f', token))
end
redis.call('SET', KEYS[1], string.format('%.0f', token), 'PX', ARGV[1])
return token
`;
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;
const FENCE = `${FENCE_CHECK}
return 1
`;
/** KEYS: fence, progress hash, missing set. ARGV: token, field prefix, earliest, watermark, count of adds, adds..., removes... */
const RECORD = `${FENCE_CHECK}
if ARGV[3] ~= '' and redis.call('HEXISTS', KEYS[2], ARGV[2] .. 'earliest') == 0 then
  redis.call('HSET', KEYS[2], ARGV[2] .. 'earliest', ARGV[3])
end
if ARGV[4] ~= '' then
  local old = tonumber(redis.call('HGET', KEYS[2], ARGV[2] .. 'watermark') or '-1')
  if tonumber(ARGV[4]) > old then redis.call('HSET', KEYS[2], ARGV[2] .. 'watermark', ARGV[4]) end
end
local adds = tonumber(ARGV[5])
for i = 6, 5 + adds do redis.call('ZADD', KEYS[3], ARGV[i], ARGV[i]) end
for i = 6 + adds, #ARGV do redis.call('ZREM', KEYS[3], ARGV[i]) end
return 1
`;
/** KEYS: fence, bucket keys... ARGV: token, then per key its value and its PX ttl (0: none). */
const WRITE_BUCKETS = `${FENCE_CHECK}
for i = 2, #KEYS do
  local ttl = tonumber(ARGV[2 * i - 1])
  if ttl > 0 then redis.call('SET', KEYS[i], ARGV[2 * i - 2], 'PX', ttl)
  else redis.call('SET', KEYS[i], ARGV[2 * i - 2]) end
end
return 1
`;

export interface RedisArchiveStateOptions {
  redis: Redis | Cluster;
  /** The cache's store: bucket keys and reads come from it, so archive and cache are one. */
  buckets: RedisBucketStore;
  keyPrefix?: string;
}

/** Lock and progress in one object: one Redis, one key prefix. */
export class RedisArchiveState implements ArchiveLock, ArchiveProgressStore {
  private readonly redis: Redis | Cluster;
  private readonly buckets: RedisBucketStore;
  private readonly prefix: string;

  constructor(options: RedisArchiveStateOptions) {
    this.redis = options.redis;
    this.buckets = options.buckets;
    this.prefix = `${options.keyPrefix ?? DEFAULT_KEY_PREFIX}archive:`;
  }

  private get lockKeys(): [string, string] {
    return [`${this.prefix}{lock}:holder`, `${this.prefix}{lock}:token`];
  }

  private instanceKey(instanceId: string, what: string): string {
    return `${this.prefix}{${keyPart(instanceId)}}:${what}`;
  }

  private seriesField(series: BucketSeries): string {
    return `${series.interval === 'HOURLY' ? 'H' : 'D'}:${keyPart(series.zone)}`;
  }

  async acquire(ttlMs: number): Promise<number | undefined> {
    const token = await this.redis.eval(ACQUIRE, 2, ...this.lockKeys, Math.ceil(ttlMs));
    return token === null ? undefined : Number(token);
  }

  async renew(token: number, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.lockKeys[0], String(token), Math.ceil(ttlMs))) === 1;
  }

  async release(token: number): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.lockKeys[0], String(token));
  }

  /** The token of the current holder, if any (tests, the cluster drill). */
  async holder(): Promise<number | undefined> {
    const value = await this.redis.get(this.lockKeys[0]);
    return value === null ? undefined : Number(value);
  }

  async fence(token: number, instanceId: string): Promise<void> {
    const ok = await this.redis.eval(FENCE, 1, this.instanceKey(instanceId, 'fence'), String(token));
    if (ok !== 1) throw new FencedOutError(token, instanceId);
  }

  async read(series: BucketSeries): Promise<SeriesProgress> {
    const field = this.seriesField(series);
    const [fields, missing] = await Promise.all([
      this.redis.hmget(this.instanceKey(series.instanceId, 'progress'), `${field}:earliest`, `${field}:watermark`),
      this.redis.zrange(this.instanceKey(series.instanceId, `missing:${field}`), 0, -1),
    ]);
    const [earliest, watermark] = fields.map((v) => (v === null ? undefined : Number(v)));
    return { earliest, watermark, missing: missing.map(Number) };
  }

  async record(token: number, series: BucketSeries, change: ProgressChange): Promise<void> {
    const field = this.seriesField(series);
    const adds = change.addMissing ?? [];
    const ok = await this.redis.eval(
      RECORD,
      3,
      this.instanceKey(series.instanceId, 'fence'),
      this.instanceKey(series.instanceId, 'progress'),
      this.instanceKey(series.instanceId, `missing:${field}`),
      String(token),
      `${field}:`,
      change.earliest === undefined ? '' : String(change.earliest),
      change.watermark === undefined ? '' : String(change.watermark),
      String(adds.length),
      ...adds.map(String),
      ...(change.removeMissing ?? []).map(String),
    );
    if (ok !== 1) throw new FencedOutError(token, series.instanceId);
  }

  bucketStore(token: number): BucketStore {
    return {
      getMany: (refs: readonly BucketRef[]) => this.buckets.getMany(refs),
      setMany: (writes: readonly BucketWrite[]) => this.writeBuckets(token, writes),
    };
  }

  /** One fenced script per instance (its keys share a slot). */
  private async writeBuckets(token: number, writes: readonly BucketWrite[]): Promise<void> {
    const byInstance = new Map<string, BucketWrite[]>();
    for (const write of writes) {
      // An open snapshot without a TTL is not stored (as in the cache: nothing would replace it).
      if (!write.value.final && !(write.ttlMs !== undefined && write.ttlMs > 0)) continue;
      const group = byInstance.get(write.series.instanceId) ?? [];
      group.push(write);
      byInstance.set(write.series.instanceId, group);
    }
    await Promise.all(
      [...byInstance].map(async ([instanceId, group]) => {
        const keys = group.map((w) => this.buckets.keyOf(w.series, w.statsTime));
        const args = group.flatMap((w) => [encodeStoredValue(w.value), w.value.final ? '0' : String(Math.ceil(w.ttlMs!))]);
        const ok = await this.redis.eval(WRITE_BUCKETS, keys.length + 1, this.instanceKey(instanceId, 'fence'), ...keys, String(token), ...args);
        if (ok !== 1) throw new FencedOutError(token, instanceId);
      }),
    );
  }
}
