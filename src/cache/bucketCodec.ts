/**
 * The cache's bucket encoding, by version: every version ever written stays readable.
 *
 * An encoded bucket names its version in its first character, so a reader picks the decoder from
 * the value itself: no version in the cache key, no second lookup, no history made unreadable by
 * a format change. Only the current version is written; every registered version is read. A
 * change of the layout or of the metric catalog's order is a new version: a new frozen layout
 * (see `codec/v1Layout.ts`), a new version character, registered here and made current. Old
 * values are then read by their own decoder forever (or rewritten with `npm run migrate`, which is
 * never required for reading).
 *
 * Versions: `1`, the positional encoding over the 82 metrics of the 2020-07-01 catalog
 * (`codec/positionalEncoding.ts` describes it). A bucket without traffic (`null`) is the single
 * character `0` in every version, which no version character will ever be.
 */
import type { ReportBucket } from '../reports/metrics';
import { BucketDecodeError, positionalEncoding, type BucketEncoding } from './codec/positionalEncoding';
import { V1_LAYOUT } from './codec/v1Layout';

export { BucketDecodeError, type BucketEncoding };

/** The whole encoding of a bucket without traffic, in every version. */
export const EMPTY_BUCKET = '0';

/** Encoding version 1, frozen: its layout is a copy of the catalog as it was, never the catalog itself. */
export const ENCODING_V1: BucketEncoding = positionalEncoding('1', V1_LAYOUT);

/** Writes the current version, reads every registered one. */
export interface BucketCodec {
  /** The version new values are written in. */
  readonly currentVersion: string;
  /** Every version this codec reads. */
  readonly readableVersions: readonly string[];
  encode(data: ReportBucket | null): string;
  decode(text: string, statsTime: number): ReportBucket | null;
  /** The version an encoded bucket was written in (`undefined` for the empty marker). */
  versionOf(text: string): string | undefined;
}

export function createBucketCodec(options: { current: BucketEncoding; older?: readonly BucketEncoding[] }): BucketCodec {
  const decoders = new Map<string, BucketEncoding>();
  for (const encoding of [...(options.older ?? []), options.current]) {
    if (encoding.version === EMPTY_BUCKET) throw new Error(`version "${EMPTY_BUCKET}" is the empty-bucket marker`);
    if (decoders.has(encoding.version)) throw new Error(`encoding version ${encoding.version} registered twice`);
    decoders.set(encoding.version, encoding);
  }
  const current = options.current;
  return {
    currentVersion: current.version,
    readableVersions: [...decoders.keys()],
    encode: (data) => (data === null ? EMPTY_BUCKET : current.encode(data)),
    decode(text, statsTime) {
      if (text === EMPTY_BUCKET) return null;
      const decoder = decoders.get(text.charAt(0));
      if (!decoder) throw new BucketDecodeError(`format version ${JSON.stringify(text.charAt(0))}, readable: ${[...decoders.keys()].join(', ')}`);
      return decoder.decode(text, statsTime);
    },
    versionOf: (text) => (text === EMPTY_BUCKET ? undefined : text.charAt(0)),
  };
}

/** What the gateway writes and reads. A new version goes first into `older` of its successor, never out. */
export const BUCKET_CODEC: BucketCodec = createBucketCodec({ current: ENCODING_V1 });

/** The version new values are written in. */
export const CODEC_VERSION = BUCKET_CODEC.currentVersion;

export function encodeBucket(data: ReportBucket | null): string {
  return BUCKET_CODEC.encode(data);
}

export function decodeBucket(text: string, statsTime: number): ReportBucket | null {
  return BUCKET_CODEC.decode(text, statsTime);
}
