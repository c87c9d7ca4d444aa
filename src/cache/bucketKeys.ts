/**
 * Where a bucket lives in Redis: `<prefix>b:{<instanceId>}:<H|D>:<zone>:<statsTime>`.
 *
 * `{instanceId}` is the cluster hash tag (every key of an instance in one slot, so one MGET reads
 * any number of its buckets, also on Redis Cluster). The key carries no encoding version: the
 * value names its own (`bucketCodec.ts`). Keys written before carried it, `<prefix>v1:{...}`, the
 * legacy layout `npm run migrate` moves to this one.
 */
import type { BucketSeries } from '../reports/buckets';
import type { UpstreamInterval } from '../reports/planner';

/** What follows the prefix in a bucket key. */
export const BUCKET_KEY_SPACE = 'b:';
/** What followed the prefix in a bucket key when the key carried encoding version 1. */
export const LEGACY_V1_KEY_SPACE = 'v1:';

export function bucketKey(keyPrefix: string, series: BucketSeries, statsTime: number): string {
  return `${keyPrefix}${BUCKET_KEY_SPACE}${seriesPart(series)}:${statsTime}`;
}

/** The key the bucket had when keys carried encoding version 1. */
export function legacyBucketKey(keyPrefix: string, series: BucketSeries, statsTime: number): string {
  return `${keyPrefix}${LEGACY_V1_KEY_SPACE}${seriesPart(series)}:${statsTime}`;
}

/** A bucket key read back: its series and start, or undefined when the text is no bucket key of that space. */
export function parseBucketKey(key: string, keyPrefix: string, space = BUCKET_KEY_SPACE): { series: BucketSeries; statsTime: number } | undefined {
  const head = keyPrefix + space;
  if (!key.startsWith(head)) return undefined;
  const match = /^\{([^{}]*)\}:([HD]):([^:]*):(\d+)$/.exec(key.slice(head.length));
  if (!match) return undefined;
  const statsTime = Number(match[4]);
  if (!Number.isSafeInteger(statsTime)) return undefined;
  const interval: UpstreamInterval = match[2] === 'H' ? 'HOURLY' : 'DAILY';
  return { series: { instanceId: unescapeKeyPart(match[1]), interval, zone: unescapeKeyPart(match[3]) }, statsTime };
}

/** The SCAN pattern of every bucket key of an instance (or of all instances). */
export function bucketKeyPattern(keyPrefix: string, instanceId?: string, space = BUCKET_KEY_SPACE): string {
  const tag = instanceId === undefined ? '{*}' : `{${globEscape(keyPart(instanceId))}}`;
  return `${globEscape(keyPrefix + space)}${tag}:*`;
}

function seriesPart(series: BucketSeries): string {
  const interval = series.interval === 'HOURLY' ? 'H' : 'D';
  return `{${keyPart(series.instanceId)}}:${interval}:${keyPart(series.zone)}`;
}

/**
 * Escapes the characters that structure the key: `{` `}` would move the hash tag, `:` would make
 * two different series produce the same key. Real instance ids and IANA zones contain none of
 * them, so their keys stay readable.
 */
export function keyPart(text: string): string {
  return text.replace(/[%:{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function unescapeKeyPart(text: string): string {
  return text.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Escapes Redis glob characters (`*?[]\`). */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
