/**
 * `npm run archive:import`: NDJSON lines of `archive:export` (or of a warehouse, in the same
 * shape) stored as final buckets, exactly as the gateway stores a closed bucket (current encoding,
 * no expiry). A bucket already stored is overwritten: a closed bucket never changes, so the file
 * holds the same numbers. Streamed: lines are written in pipelines of one instance (one slot) as
 * they come, so a file of any size fits in memory. A bad line stops the import, naming its line
 * number; what was written before it stays, and importing the fixed file again is harmless (the
 * same keys, the same values).
 */
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { BUCKET_CODEC, type BucketCodec } from '../bucketCodec';
import { bucketKey } from '../bucketKeys';
import { encodeStoredValue } from '../storedValue';
import { BadBucketLine, lineToBucket, type BucketLine } from './bucketLines';

export interface ImportOptions {
  redis: Redis | Cluster;
  keyPrefix?: string;
  codec?: BucketCodec;
  lines: AsyncIterable<string> | Iterable<string>;
}

export interface ImportSummary {
  buckets: number;
}

/** Writes per pipeline: one instance's keys (one slot), in chunks. */
const WRITES_PER_PIPELINE = 1_000;

export async function importBuckets(options: ImportOptions): Promise<ImportSummary> {
  const keyPrefix = options.keyPrefix ?? 'ccc:';
  const codec = options.codec ?? BUCKET_CODEC;
  const pending = new Map<string, BucketLine[]>();
  let buckets = 0;
  const flush = async (lines: BucketLine[]) => {
    const pipeline = options.redis.pipeline(
      lines.map(({ series, statsTime, data }) => ['set', bucketKey(keyPrefix, series, statsTime), encodeStoredValue({ final: true, data }, codec)]),
    );
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
    buckets += lines.length;
  };
  let number = 0;
  for await (const text of options.lines) {
    number++;
    if (text.trim() === '') continue;
    let line: BucketLine;
    try {
      line = lineToBucket(text);
    } catch (error) {
      if (error instanceof BadBucketLine) throw new BadBucketLine(`line ${number}: ${error.message}`);
      throw error;
    }
    const lines = pending.get(line.series.instanceId) ?? [];
    lines.push(line);
    pending.set(line.series.instanceId, lines);
    if (lines.length >= WRITES_PER_PIPELINE) {
      pending.delete(line.series.instanceId);
      await flush(lines);
    }
  }
  for (const lines of pending.values()) await flush(lines);
  return { buckets };
}
