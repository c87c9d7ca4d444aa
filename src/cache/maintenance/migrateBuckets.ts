/**
 * `npm run migrate`: brings every stored bucket to the current key layout and encoding version,
 * in place, while gateways keep running.
 *
 * Never needed for reading: the gateway reads every encoding version it knows from the value
 * itself, and a miss also looks at the version-1 key. Migrating retires those old keys (so the
 * look on misses can be turned off) and rewrites old encodings (so an old decoder could one day
 * go, if ever wanted). Two phases, each a SCAN over every master:
 *  1. `keys`: every `<prefix>v1:{...}` key moves to `<prefix>b:{...}` (same hash tag, same slot,
 *     so one Lua script does it atomically also on a cluster). A bucket already at its new key
 *     (written meanwhile by an upgraded gateway) wins; the old key is deleted either way. Open
 *     snapshots keep their remaining expiry.
 *  2. `values`: every `<prefix>b:{...}` value in an older encoding version is re-encoded in the
 *     current one, compare-and-set, so a concurrent write by a gateway is never overwritten.
 *
 * Idempotent: each step changes a key only if it is still what was read, and a second run finds
 * nothing to do. Resumable: after each batch the SCAN cursor is saved in Redis per master
 * (`<prefix>migrate:<phase>:<host:port>`) with the server's `run_id`: a rerun continues where a
 * killed one stopped, unless that server restarted since (its cursors then mean nothing, the
 * phase starts over on it, which is safe because every step is idempotent). A finished phase
 * deletes its cursors.
 */
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { BUCKET_CODEC, type BucketCodec } from '../bucketCodec';
import { BUCKET_KEY_SPACE, bucketKeyPattern, LEGACY_V1_KEY_SPACE, parseBucketKey, bucketKey } from '../bucketKeys';
import { currentMasters } from '../redisMasters';
import { decodeStoredValue, encodedBucketOf, encodeStoredValue } from '../storedValue';

export type MigrationPhase = 'keys' | 'values';

export interface MigrationProgress {
  phase: MigrationPhase;
  node: string;
  /** The cursor saved after this batch ('0': the node's scan is complete). */
  cursor: string;
  scanned: number;
  moved: number;
  reencoded: number;
}

export interface MigrationOptions {
  redis: Redis | Cluster;
  keyPrefix?: string;
  codec?: BucketCodec;
  /** SCAN COUNT per batch (default 500). */
  batchSize?: number;
  /** Called after each batch, once its cursor is saved. */
  onBatch?: (progress: MigrationProgress) => void;
}

export interface MigrationSummary {
  scanned: number;
  /** Legacy keys moved to the current layout (or dropped because the current key already held the bucket). */
  moved: number;
  /** Values rewritten in the current encoding version. */
  reencoded: number;
  /** Values no registered encoding reads: left untouched, named in `undecodableKeys` (at most 20). */
  undecodable: number;
  undecodableKeys: string[];
  /** Whether some node's scan continued from a cursor a previous run saved. */
  resumed: boolean;
}

const DEFAULT_PREFIX = 'ccc:';
const DEFAULT_BATCH = 500;

/**
 * KEYS[1] legacy key, KEYS[2] new key, ARGV[1] the value read, ARGV[2] the value to write.
 * Moves only if the legacy key still holds what was read; never overwrites the new key.
 */
const MOVE_SCRIPT = `
local value = redis.call('GET', KEYS[1])
if value ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl)
  elseif ttl == -1 then redis.call('SET', KEYS[2], ARGV[2]) end
end
redis.call('DEL', KEYS[1])
return 1`;

/** KEYS[1] key, ARGV[1] the value read, ARGV[2] its re-encoding. Keeps the key's expiry. */
const REENCODE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1`;

export async function migrateBuckets(options: MigrationOptions): Promise<MigrationSummary> {
  const keyPrefix = options.keyPrefix ?? DEFAULT_PREFIX;
  const codec = options.codec ?? BUCKET_CODEC;
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const summary: MigrationSummary = { scanned: 0, moved: 0, reencoded: 0, undecodable: 0, undecodableKeys: [], resumed: false };
  const noteUndecodable = (key: string) => {
    summary.undecodable++;
    if (summary.undecodableKeys.length < 20) summary.undecodableKeys.push(key);
  };

  for (const phase of ['keys', 'values'] as const) {
    const space = phase === 'keys' ? LEGACY_V1_KEY_SPACE : BUCKET_KEY_SPACE;
    const pattern = bucketKeyPattern(keyPrefix, undefined, space);
    for (const node of await currentMasters(options.redis)) {
      const name = `${node.options.host}:${node.options.port}`;
      const cursorKey = `${keyPrefix}migrate:${phase}:${name}`;
      const runId = await serverRunId(node);
      let cursor = '0';
      const saved = await options.redis.get(cursorKey);
      if (saved) {
        const [savedRunId, savedCursor] = saved.split(' ');
        if (savedRunId === runId && savedCursor) {
          cursor = savedCursor;
          summary.resumed = true;
        }
      }
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', batchSize);
        const before = { moved: summary.moved, reencoded: summary.reencoded };
        summary.scanned += keys.length;
        if (keys.length > 0) {
          const values = await getEach(node, keys);
          const steps: Promise<unknown>[] = [];
          keys.forEach((key, k) => {
            const value = values[k];
            if (value === null) return; // gone meanwhile (expired, moved by a concurrent run)
            const parsed = parseBucketKey(key, keyPrefix, space);
            if (!parsed) return; // a foreign key matching the pattern: not ours to touch
            let rewritten: string;
            try {
              rewritten = currentEncoding(value, parsed.statsTime, codec);
            } catch {
              noteUndecodable(key);
              return;
            }
            if (phase === 'keys') {
              const target = bucketKey(keyPrefix, parsed.series, parsed.statsTime);
              steps.push(options.redis.eval(MOVE_SCRIPT, 2, key, target, value, rewritten).then((done) => (summary.moved += Number(done))));
            } else if (rewritten !== value) {
              steps.push(options.redis.eval(REENCODE_SCRIPT, 1, key, value, rewritten).then((done) => (summary.reencoded += Number(done))));
            }
          });
          await Promise.all(steps);
        }
        cursor = next;
        // Saved only once the batch is done: a kill before this line redoes the batch, idempotently.
        if (cursor === '0') await options.redis.del(cursorKey);
        else await options.redis.set(cursorKey, `${runId} ${cursor}`);
        options.onBatch?.({
          phase,
          node: name,
          cursor,
          scanned: keys.length,
          moved: summary.moved - before.moved,
          reencoded: summary.reencoded - before.reencoded,
        });
      } while (cursor !== '0');
    }
  }
  return summary;
}

/** The stored value with its bucket in the current encoding (the same text when it already is). */
function currentEncoding(value: string, statsTime: number, codec: BucketCodec): string {
  const stored = decodeStoredValue(value, statsTime, codec); // throws when no encoding reads it
  const version = codec.versionOf(encodedBucketOf(value));
  if (version === undefined || version === codec.currentVersion) return value;
  return encodeStoredValue(stored, codec);
}


async function serverRunId(node: Redis): Promise<string> {
  const info = await node.info('server');
  return /run_id:(\w+)/.exec(info)?.[1] ?? 'unknown';
}

/**
 * The values of keys one node's SCAN returned, in one round trip. Not one MGET: those keys are of
 * many slots, and a cluster node refuses an MGET across slots (CROSSSLOT) even when it holds all.
 */
async function getEach(node: Redis, keys: readonly string[]): Promise<(string | null)[]> {
  const replies = (await node.pipeline(keys.map((key) => ['get', key])).exec()) ?? [];
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value as string | null;
  });
}
