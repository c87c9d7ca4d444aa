/**
 * The identity of a report bucket as clients see it (`IntervalReport.id`, `CombinedIntervalReport.id`).
 *
 * What a bucket holds is fixed by whose calls it counts (one instance, or a set of instances),
 * how it is cut (interval and the zone its boundaries fall in) and the period it stands for
 * [start, end). Normalized client caches (Apollo Client, urql Graphcache) merge objects with
 * equal ids, so two buckets may share an id only if they hold the same numbers: the end is part
 * of it because two TOTAL buckets with the same start and different ends differ.
 *
 * Format `<instances>:<INTERVAL>:<zone>:<start ms>:<end ms>`, e.g.
 * `ccc-test:HOURLY:Asia/Shanghai:1764518400000:1764522000000`. Instance ids cannot contain `:`,
 * `+` or `#`, and zone names contain no `:`, so the parts cannot run into each other.
 */
import { createHash } from 'node:crypto';

/**
 * Longest instance set spelled out (ids joined by `+`); longer sets (up to 100 ids of 64
 * characters) are named by their size and a SHA-256 prefix, which keeps every id short.
 */
export const MAX_SPELLED_OUT_INSTANCE_SET = 100;

/** 96 bits of SHA-256: no two instance sets a deployment sees will share it by chance. */
const HASH_HEX_DIGITS = 24;

/** The instances of a bucket as one id part: independent of order and of repeats. */
export function instanceSetKey(instanceIds: readonly string[]): string {
  if (instanceIds.length === 1) return instanceIds[0];
  const sorted = [...new Set(instanceIds)].sort();
  const joined = sorted.join('+');
  if (joined.length <= MAX_SPELLED_OUT_INSTANCE_SET) return joined;
  // `#` never occurs in an instance id, so a hashed set cannot equal a spelled-out one.
  return `${sorted.length}-instances#${createHash('sha256').update(joined).digest('hex').slice(0, HASH_HEX_DIGITS)}`;
}

/**
 * Everything of the identity but the period: the same for every bucket of one report field, so
 * it is built once per field and each bucket's id is one concatenation, made only if selected.
 */
export function bucketSeriesKey(instanceIds: readonly string[], interval: string, zone: string): string {
  return `${instanceSetKey(instanceIds)}:${interval}:${zone}`;
}

export function bucketKey(seriesKey: string, start: number, end: number): string {
  return `${seriesKey}:${start}:${end}`;
}
