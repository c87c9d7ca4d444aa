/**
 * `npm run archive:export`: the closed buckets of one instance stored in Redis, as NDJSON lines
 * (`bucketLines.ts`), in a stable order (interval, zone, StatsTime), so two exports of the same
 * data are the same bytes.
 *
 * What is exported is what is stored, found by SCAN over the instance's keys (all its keys share
 * one hash tag: one slot, on one master of a cluster), in every zone it was stored in, from the
 * current key layout and from version-1 keys not migrated yet. Open snapshots are not history and
 * are left out.
 */
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import type { UpstreamInterval } from '../../reports/planner';
import { BUCKET_CODEC, type BucketCodec } from '../bucketCodec';
import { BUCKET_KEY_SPACE, bucketKeyPattern, LEGACY_V1_KEY_SPACE, parseBucketKey } from '../bucketKeys';
import { currentMasters } from '../redisMasters';
import { decodeStoredValue } from '../storedValue';
import { bucketToLine, type BucketLine } from './bucketLines';

export interface ExportOptions {
  redis: Redis | Cluster;
  keyPrefix?: string;
  codec?: BucketCodec;
  instanceId: string;
  /** Buckets whose StatsTime is in [from, to) (epoch ms); default: all. */
  from?: number;
  to?: number;
  interval?: UpstreamInterval;
  /** Receives each line (without its newline), in order. */
  write: (line: string) => void | Promise<void>;
}

export interface ExportSummary {
  buckets: number;
  /** Undecodable values: skipped, named (at most 20). */
  undecodableKeys: string[];
}

const SCAN_COUNT = 1_000;

export async function exportBuckets(options: ExportOptions): Promise<ExportSummary> {
  const keyPrefix = options.keyPrefix ?? 'ccc:';
  const codec = options.codec ?? BUCKET_CODEC;
  const from = options.from ?? 0;
  const to = options.to ?? Number.MAX_SAFE_INTEGER;
  const found = new Map<string, BucketLine>();
  const undecodableKeys: string[] = [];

  // Legacy keys first: a bucket also under the current layout is taken from there.
  for (const space of [LEGACY_V1_KEY_SPACE, BUCKET_KEY_SPACE]) {
    const pattern = bucketKeyPattern(keyPrefix, options.instanceId, space);
    for (const node of await currentMasters(options.redis)) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
        cursor = next;
        const wanted = keys
          .map((key) => ({ key, parsed: parseBucketKey(key, keyPrefix, space) }))
          .filter(({ parsed }) => parsed && parsed.series.instanceId === options.instanceId && parsed.statsTime >= from && parsed.statsTime < to)
          .filter(({ parsed }) => !options.interval || parsed!.series.interval === options.interval);
        if (wanted.length === 0) continue;
        // One instance: one slot, so one MGET also on a cluster node.
        const values = await node.mget(...wanted.map((w) => w.key));
        wanted.forEach(({ key, parsed }, i) => {
          const value = values[i];
          if (value === null) return;
          let stored;
          try {
            stored = decodeStoredValue(value, parsed!.statsTime, codec);
          } catch {
            if (undecodableKeys.length < 20) undecodableKeys.push(key);
            return;
          }
          if (!stored.final) return;
          const id = `${parsed!.series.interval}|${parsed!.series.zone}|${parsed!.statsTime}`;
          found.set(id, { series: parsed!.series, statsTime: parsed!.statsTime, data: stored.data });
        });
      } while (cursor !== '0');
    }
  }

  const lines = [...found.values()].sort(
    (a, b) => compare(a.series.interval, b.series.interval) || compare(a.series.zone, b.series.zone) || a.statsTime - b.statsTime,
  );
  for (const line of lines) await options.write(bucketToLine(line));
  return { buckets: lines.length, undecodableKeys };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

