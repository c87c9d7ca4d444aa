/**
 * The shared cache tier: buckets in Redis, one string key per bucket.
 *
 * Key: `<prefix>b:{<instanceId>}:<H|D>:<zone>:<statsTime>`, e.g.
 * `ccc:b:{ccc-test}:H:UTC:1620291600000`.
 *  - `{instanceId}` is the cluster hash tag: all keys of an instance live in one slot, so one
 *    MGET can read any number of an instance's buckets, also on Redis Cluster.
 *  - No encoding version in the key: the value names its own (`bucketCodec.ts`), so a new
 *    encoding reads every older one from the same key, in the same single MGET. Keys written
 *    before this layout carried the version (`<prefix>v1:{...}`, see `legacyBucketKey`); a miss
 *    looks there too (one more round trip, on misses only, which go upstream anyway) until
 *    `npm run migrate` has moved them, so no stored history is ever invisible.
 *  - The zone is part of the series identity (see `BucketSeries`).
 * Value: see `storedValue.ts` (a flag, `F` final or `O` open snapshot, then the encoded bucket).
 * Final buckets are stored without expiry, open snapshots with `PX ttlMs`. A final bucket never
 * changes and is never fetched again, and after upstream's 180-day retention this cache holds the
 * only copy. So Redis must run with `maxmemory-policy noeviction` (or `volatile-*`, which only
 * evicts the open snapshots), never `allkeys-*`, which would silently drop history: the gateway
 * checks the policy on every (re)connect (server/evictionPolicyMonitor). Size `maxmemory` for the
 * data. When a `noeviction` Redis is full, it refuses writes ("OOM command not allowed"): that is
 * not an outage, reads still work, so the store keeps serving, counts the refused buckets
 * (`writesRejectedOutOfMemory`), reports `full`, and logs once per episode (an episode ends with
 * the next accepted write).
 *
 * Why string keys rather than one hash per instance and day: measured on Redis 7.0 over a
 * simulated week (`bench/cacheEncoding.ts`), a day hash costs ~162 bytes per bucket against ~196
 * for string keys (-17 %; its values exceed 64 bytes, so it is a hashtable, not a listpack). But a
 * hash field cannot expire on its own before Redis 7.4 (HPEXPIRE), and open snapshots must
 * expire: they would need a second storage path. String keys already stay far below the budget
 * of 400 bytes per hourly bucket (280 for a busy hour), and an MGET of one hash-tagged instance
 * is one command just as an HMGET is. Simplicity won over 17 %.
 *
 * Resilience: the interface's contract is that a cache outage costs upstream calls, never
 * answers. Every operation is raced against a deadline and never rejects: `getMany` answers
 * misses, `setMany` resolves. An outage is logged once when the first operation fails, and once
 * more when an operation succeeds again.
 */
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import type { BucketRef, BucketStore, BucketWrite } from '../reports/BucketStore';
import type { BucketSeries, StoredBucket } from '../reports/buckets';
import type { UpstreamLease } from '../reports/BucketStore';
import { BUCKET_CODEC, type BucketCodec } from './bucketCodec';
import { bucketKey, keyPart, legacyBucketKey } from './bucketKeys';
import { decodeStoredValue, encodeStoredValue } from './storedValue';

export { bucketKey, legacyBucketKey };

/** What the store logs through; a pino logger fits. */
export interface CacheLogger {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

export interface RedisBucketStoreOptions {
  redis: Redis | Cluster;
  logger: CacheLogger;
  /** Prefix of every key (default `ccc:`); tests use a unique one per run. */
  keyPrefix?: string;
  /**
   * Longest an operation may wait for Redis before it answers misses (reads) or gives up
   * (writes). Default: the client's `commandTimeout`, else 500 ms.
   */
  timeoutMs?: number;
  /** The bucket encoding: writes its current version, reads every version it knows. Default: the gateway's. */
  codec?: BucketCodec;
  /**
   * Whether a miss also looks at the bucket's key from before keys lost their version
   * (`<prefix>v1:...`), one more round trip on misses only. Default true; turn it off once
   * `npm run migrate` has moved every old key.
   */
  readLegacyKeys?: boolean;
}

/** Running totals, for metrics. Reads, hits, misses and writes count buckets. */
export interface RedisBucketStoreCounters {
  /** Buckets asked for. */
  reads: number;
  /** Buckets found and decoded. */
  hits: number;
  /** Buckets answered as missing: absent, undecodable, or Redis failed. */
  misses: number;
  /** Buckets sent to Redis, written or not (a failed setMany also counts one in `errors`). */
  writes: number;
  /** Failed or timed-out operations (getMany/setMany calls), and undecodable values. Not OOM refusals. */
  errors: number;
  /** Buckets Redis refused to store because it was full (OOM under `noeviction`). */
  writesRejectedOutOfMemory: number;
}

const DEFAULT_KEY_PREFIX = 'ccc:';
const DEFAULT_TIMEOUT_MS = 500;
/**
 * Keys per MGET. Redis runs one command at a time, so one MGET of 50,000 keys would stall every
 * other client; chunks in the same pipeline keep the single round trip and let others in between.
 */
const MAX_KEYS_PER_MGET = 1_000;

export class RedisBucketStore implements BucketStore {
  private readonly redis: Redis | Cluster;
  private readonly logger: CacheLogger;
  private readonly keyPrefix: string;
  private readonly timeoutMs: number;
  private readonly totals: RedisBucketStoreCounters = { reads: 0, hits: 0, misses: 0, writes: 0, errors: 0, writesRejectedOutOfMemory: 0 };
  private isHealthy = true;
  private isFull = false;
  private fullSince = 0;
  private rejectedWhileFull = 0;
  private outageStartedAt = 0;
  private failuresInOutage = 0;
  private corruptValueLogged = false;
  private readonly codec: BucketCodec;
  private readonly readLegacyKeys: boolean;

  constructor(options: RedisBucketStoreOptions) {
    this.redis = options.redis;
    this.codec = options.codec ?? BUCKET_CODEC;
    this.readLegacyKeys = options.readLegacyKeys ?? true;
    this.logger = options.logger;
    this.keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.timeoutMs = options.timeoutMs ?? configuredCommandTimeout(options.redis) ?? DEFAULT_TIMEOUT_MS;
  }

  /** False from the first failed operation until one succeeds again. */
  get healthy(): boolean {
    return this.isHealthy;
  }

  /** True from a write Redis refused for lack of memory until a write is accepted again. */
  get full(): boolean {
    return this.isFull;
  }

  get counters(): Readonly<RedisBucketStoreCounters> {
    return { ...this.totals };
  }

  keyOf(series: BucketSeries, statsTime: number): string {
    return bucketKey(this.keyPrefix, series, statsTime);
  }

  async getMany(refs: readonly BucketRef[]): Promise<(StoredBucket | undefined)[]> {
    const answers: (StoredBucket | undefined)[] = new Array(refs.length).fill(undefined);
    if (refs.length === 0) return answers;
    this.totals.reads += refs.length;

    const absent = await this.read(refs, answers, (ref) => this.keyOf(ref.series, ref.statsTime));
    // Keys from before the version left the key: only for buckets not found, and only when Redis
    // answered (a failed read is an outage, not a miss worth a second try).
    if (this.readLegacyKeys && absent.length > 0) {
      const legacyAnswers: (StoredBucket | undefined)[] = new Array(absent.length).fill(undefined);
      await this.read(
        absent.map((position) => refs[position]),
        legacyAnswers,
        (ref) => legacyBucketKey(this.keyPrefix, ref.series, ref.statsTime),
      );
      absent.forEach((position, k) => {
        answers[position] = legacyAnswers[k];
      });
    }

    const hits = answers.filter((answer) => answer !== undefined).length;
    this.totals.hits += hits;
    this.totals.misses += refs.length - hits;
    return answers;
  }

  /**
   * One round trip of MGETs for `refs`, decoded into `answers`. Answers the positions Redis
   * answered as absent (not those of a failed read).
   */
  private async read(refs: readonly BucketRef[], answers: (StoredBucket | undefined)[], keyOf: (ref: BucketRef) => string): Promise<number[]> {
    const batches = mgetBatches(refs, keyOf);
    const results = await this.runPerInstance(batches.map((batch) => [['mget', ...batch.keys]]));
    const absent: number[] = [];
    batches.forEach((batch, b) => {
      const result = results[b];
      if (!result.ok) return; // misses
      const values = result.replies[0] as (string | null)[];
      batch.positions.forEach((position, k) => {
        const value = values[k];
        if (value !== null) answers[position] = this.decodeStored(value, refs[position], batch.keys[k]);
        else absent.push(position);
      });
    });
    this.recordOutcome(results, 'getMany');
    return absent;
  }

  async setMany(writes: readonly BucketWrite[]): Promise<void> {
    const byInstance = new Map<string, Command[]>();
    for (const write of writes) {
      const key = this.keyOf(write.series, write.statsTime);
      const value = encodeStoredValue(write.value, this.codec);
      let command: Command;
      if (write.value.final) command = ['set', key, value];
      else if (write.ttlMs !== undefined && write.ttlMs > 0) command = ['set', key, value, 'PX', Math.ceil(write.ttlMs)];
      // An open snapshot without a TTL is not stored: nothing would replace it while its bucket
      // is open, so readers would get stale numbers until the bucket closes.
      else continue;
      const commands = byInstance.get(write.series.instanceId) ?? [];
      commands.push(command);
      byInstance.set(write.series.instanceId, commands);
    }
    if (byInstance.size === 0) return;
    const groups = [...byInstance.values()];
    this.totals.writes += groups.reduce((n, commands) => n + commands.length, 0);
    const results = await this.runPerInstance(groups);
    // An OOM refusal is an answer: Redis is up and reads work, so it is no outage.
    let rejected = 0;
    let oomError: unknown;
    const outcomes = results.map((result, g): GroupResult => {
      if (result.ok || !isOutOfMemory(result.error)) return result;
      rejected += result.failedCommands ?? groups[g].length;
      oomError = result.error;
      return { ok: true, replies: [] };
    });
    this.recordOutcome(outcomes, 'setMany');
    if (rejected > 0) this.rejectedForMemory(rejected, oomError);
    else if (results.some((result) => result.ok)) this.acceptedWrites();
  }

  private rejectedForMemory(buckets: number, error: unknown): void {
    this.totals.writesRejectedOutOfMemory += buckets;
    if (this.isFull) {
      this.rejectedWhileFull += buckets;
      return;
    }
    this.isFull = true;
    this.fullSince = Date.now();
    this.rejectedWhileFull = buckets;
    this.logger.warn(
      { err: error },
      'Redis is full (used memory > maxmemory, noeviction): new buckets are not cached in Redis, ' +
        'answers are still served from memory and upstream. Raise maxmemory (logged once until a write succeeds)',
    );
  }

  private acceptedWrites(): void {
    if (!this.isFull) return;
    this.isFull = false;
    this.logger.info({ fullMs: Date.now() - this.fullSince, rejectedBuckets: this.rejectedWhileFull }, 'Redis accepts cache writes again');
  }

  private decodeStored(value: string, ref: BucketRef, key: string): StoredBucket | undefined {
    try {
      return decodeStoredValue(value, ref.statsTime, this.codec);
    } catch (error) {
      // Not an outage: a bug or a foreign writer. A miss refetches and overwrites the value.
      this.totals.errors++;
      if (!this.corruptValueLogged) {
        this.corruptValueLogged = true;
        this.logger.warn({ err: error, key }, 'Undecodable bucket in the Redis cache, treated as a miss (logged once)');
      }
      return undefined;
    }
  }

  /**
   * Sends groups of commands, the keys of each group sharing one hash tag (one instance), in one
   * round trip, and answers each group's replies or its error. Never rejects, never waits past
   * the deadline: a group that has not answered by then counts as failed.
   *
   * Standalone: all groups in one pipeline, one write to the socket. Cluster: ioredis rejects a
   * pipeline whose keys live on different nodes, so each group is its own pipeline (one slot),
   * all sent at once: each goes to the node of its hash tag, and the slowest node sets the
   * latency, still one round trip. A failing node then only costs the instances it holds.
   */
  private async runPerInstance(groups: readonly Command[][]): Promise<GroupResult[]> {
    const deadline = new Deadline(this.timeoutMs);
    try {
      if (this.redis.isCluster) {
        return await Promise.all(groups.map((commands) => deadline.race(this.exec(commands)).then(toGroupResult, failure)));
      }
      const all = await deadline.race(this.exec(groups.flat())).catch(failure);
      if (!Array.isArray(all)) return groups.map(() => all);
      let offset = 0;
      return groups.map((commands) => toGroupResult(all.slice(offset, (offset += commands.length))));
    } finally {
      deadline.clear();
    }
  }

  /**
   * A short lease on one upstream call, shared by every replica: `SET NX PX`. Only the holder
   * calls upstream; the others wait for its buckets to appear. Fails open: if Redis cannot
   * answer, the caller fetches itself (an outage must cost upstream calls, not answers).
   */
  async acquireLease(lease: UpstreamLease, ttlMs: number): Promise<boolean> {
    const key = this.leaseKey(lease);
    const [result] = await this.runPerInstance([[['set', key, '1', 'PX', ttlMs, 'NX']]]);
    return !result.ok || result.replies[0] === 'OK';
  }

  async releaseLease(lease: UpstreamLease): Promise<void> {
    await this.runPerInstance([[['del', this.leaseKey(lease)]]]);
  }

  private leaseKey(lease: UpstreamLease): string {
    return `${this.keyPrefix}lease:v1:{${keyPart(lease.instanceId)}}:${lease.interval}:${keyPart(lease.zone)}:${lease.startTime}:${lease.endTime}`;
  }

  /** One pipeline; ioredis answers `[error, reply]` per command. */
  private async exec(commands: Command[]): Promise<[Error | null, unknown][]> {
    return (await this.redis.pipeline(commands).exec()) ?? [];
  }

  private recordOutcome(results: readonly GroupResult[], operation: 'getMany' | 'setMany'): void {
    const failed = results.find((result): result is Failure => !result.ok);
    if (failed) this.failed(failed.error, operation);
    else this.succeeded();
  }

  private succeeded(): void {
    if (this.isHealthy) return;
    this.isHealthy = true;
    this.logger.info(
      { downMs: Date.now() - this.outageStartedAt, failedOperations: this.failuresInOutage },
      'Redis cache recovered',
    );
  }

  private failed(error: unknown, operation: 'getMany' | 'setMany'): void {
    this.totals.errors++;
    if (!this.isHealthy) {
      this.failuresInOutage++;
      return;
    }
    this.isHealthy = false;
    this.outageStartedAt = Date.now();
    this.failuresInOutage = 1;
    this.logger.warn(
      { err: error, operation },
      'Redis cache unavailable: answering from upstream until it recovers (logged once per outage)',
    );
  }
}

type Command = (string | number)[];

interface Failure {
  ok: false;
  error: unknown;
  /** Commands of the group that failed, when Redis answered each (undefined: the whole group failed). */
  failedCommands?: number;
}

/** The replies of one group of commands, or why the group failed. */
type GroupResult = { ok: true; replies: unknown[] } | Failure;

function toGroupResult(results: [Error | null, unknown][]): GroupResult {
  const failed = results.filter(([e]) => e);
  return failed.length > 0 ? { ok: false, error: failed[0][0], failedCommands: failed.length } : { ok: true, replies: results.map(([, reply]) => reply) };
}

/** Redis's refusal of a write under `noeviction` when used memory exceeds `maxmemory`. */
function isOutOfMemory(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('OOM ');
}

function failure(error: unknown): Failure {
  return { ok: false, error };
}

/** One timer for all the commands of an operation. */
class Deadline {
  private timer: NodeJS.Timeout | undefined;
  private readonly expired: Promise<never>;

  constructor(ms: number) {
    this.expired = new Promise<never>((_, reject) => {
      this.timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
    });
    this.expired.catch(() => undefined);
  }

  race<T>(operation: Promise<T>): Promise<T> {
    // The loser of the race must not become an unhandled rejection.
    operation.catch(() => undefined);
    return Promise.race([operation, this.expired]);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

interface MgetBatch {
  keys: string[];
  /** Position in the refs of each key. */
  positions: number[];
}

/** Refs grouped by instance (one hash tag, one slot), in chunks of at most MAX_KEYS_PER_MGET. */
function mgetBatches(refs: readonly BucketRef[], keyOf: (ref: BucketRef) => string): MgetBatch[] {
  const byInstance = new Map<string, MgetBatch[]>();
  refs.forEach((ref, position) => {
    const batches = byInstance.get(ref.series.instanceId) ?? [];
    let batch = batches[batches.length - 1];
    if (!batch || batch.keys.length >= MAX_KEYS_PER_MGET) {
      batch = { keys: [], positions: [] };
      batches.push(batch);
      byInstance.set(ref.series.instanceId, batches);
    }
    batch.keys.push(keyOf(ref));
    batch.positions.push(position);
  });
  return [...byInstance.values()].flat();
}

function configuredCommandTimeout(redis: Redis | Cluster): number | undefined {
  const timeout = redis.isCluster
    ? (redis as Cluster).options.redisOptions?.commandTimeout
    : (redis as Redis).options.commandTimeout;
  return typeof timeout === 'number' ? timeout : undefined;
}
