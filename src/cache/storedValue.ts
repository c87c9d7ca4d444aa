/**
 * One bucket's Redis value: a flag character (`F` final, `O` open snapshot), for an open snapshot
 * the base-36 time it was fetched and `.`, then the encoded bucket (`bucketCodec.ts`, which names
 * its own version). Final buckets are stored without expiry, open snapshots with `PX`.
 */
import type { StoredBucket } from '../reports/buckets';
import { BUCKET_CODEC, BucketDecodeError, type BucketCodec } from './bucketCodec';

export const FINAL_FLAG = 'F';
export const OPEN_FLAG = 'O';
/** Ends the base-36 fetch time of an open snapshot (never a character of a base-36 number). */
const FETCHED_AT_END = '.';

export function encodeStoredValue(value: StoredBucket, codec: BucketCodec = BUCKET_CODEC): string {
  // Open snapshots carry when they were fetched: freshness is judged on the pipeline's clock
  // (every replica agrees), the PX expiry only collects them.
  return value.final
    ? FINAL_FLAG + codec.encode(value.data)
    : `${OPEN_FLAG}${(value.fetchedAt ?? 0).toString(36)}${FETCHED_AT_END}${codec.encode(value.data)}`;
}

/** Throws BucketDecodeError for anything that is not a stored bucket this codec reads. */
export function decodeStoredValue(text: string, statsTime: number, codec: BucketCodec = BUCKET_CODEC): StoredBucket {
  const flag = text.charAt(0);
  if (flag === FINAL_FLAG) return { final: true, data: codec.decode(text.slice(1), statsTime) };
  if (flag !== OPEN_FLAG) throw new BucketDecodeError(`unknown flag ${JSON.stringify(flag)}`);
  const end = text.indexOf(FETCHED_AT_END);
  const fetchedAt = parseInt(text.slice(1, end), 36);
  if (end < 0 || !Number.isSafeInteger(fetchedAt)) throw new BucketDecodeError('open bucket without its fetch time');
  return { final: false, fetchedAt, data: codec.decode(text.slice(end + 1), statsTime) };
}

/** The encoded bucket of a stored value (what follows the flag and the fetch time). */
export function encodedBucketOf(text: string): string {
  return text.charAt(0) === OPEN_FLAG ? text.slice(text.indexOf(FETCHED_AT_END) + 1) : text.slice(1);
}
