/**
 * The V3 request signature (ACS3-HMAC-SHA256), recomputed on the receiving side.
 *
 *   CanonicalRequest = Method \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n
 *                      SignedHeaders \n HashedRequestPayload
 *   StringToSign     = "ACS3-HMAC-SHA256" \n hex(sha256(CanonicalRequest))
 *   Signature        = hex(hmac-sha256(AccessKeySecret, StringToSign))
 *
 * Encoding follows what `@alicloud/openapi-core` 1.0.8 (`dist/utils.js`, getAuthorization)
 * actually signs, since that is the client this emulator must accept: query keys sorted by code
 * unit and left as they are, values percent-encoded with encodeURIComponent plus `!'()*`;
 * canonical headers lower-cased, values trimmed, `name:value\n` each; the canonical URI with `+`
 * as `%20`, `*` as `%2A` and `%7E` as `~`. The URL query on the wire is decoded first and then
 * re-encoded this way, so differences in how a client escapes its URL do not matter.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const ACS3_ALGORITHM = 'ACS3-HMAC-SHA256';

export interface ParsedAuthorization {
  algorithm: string;
  accessKeyId: string;
  /** Lower-case header names, in the order given. */
  signedHeaders: string[];
  signature: string;
}

/** `ACS3-HMAC-SHA256 Credential=ID,SignedHeaders=a;b,Signature=hex`, or null when malformed. */
export function parseAuthorization(header: string): ParsedAuthorization | null {
  const match = /^(\S+)\s+(.*)$/.exec(header.trim());
  if (!match) return null;
  const fields = new Map<string, string>();
  for (const part of match[2].split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return null;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const accessKeyId = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!accessKeyId || !signedHeaders || !signature) return null;
  return {
    algorithm: match[1],
    accessKeyId,
    signedHeaders: signedHeaders.split(';').map((name) => name.trim().toLowerCase()),
    signature,
  };
}

export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface SignableRequest {
  method: string;
  /** Path as received, without the query. */
  path: string;
  /** Decoded query parameters. */
  query: ReadonlyMap<string, string>;
  /** Lower-case names, as node:http gives them. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

export function canonicalRequest(request: SignableRequest, signedHeaders: readonly string[], payloadHash: string): string {
  const canonicalUri = request.path.replace(/\+/g, '%20').replace(/\*/g, '%2A').replace(/%7E/g, '~');
  const canonicalQuery = [...request.query.keys()]
    .sort()
    .map((key) => `${key}=${percentEncode(request.query.get(key) ?? '')}`)
    .join('&');
  const sortedHeaders = [...signedHeaders].sort();
  const canonicalHeaders = sortedHeaders.map((name) => `${name}:${headerValue(request.headers[name])}\n`).join('');
  return [request.method, canonicalUri, canonicalQuery, canonicalHeaders, sortedHeaders.join(';'), payloadHash].join('\n');
}

function headerValue(value: string | string[] | undefined): string {
  if (value === undefined) return '';
  return Array.isArray(value) ? value.map((v) => v.trim()).sort().join(',') : value.trim();
}

export function stringToSign(canonical: string): string {
  return `${ACS3_ALGORITHM}\n${sha256Hex(canonical)}`;
}

export function sign(secret: string, toSign: string): string {
  return createHmac('sha256', secret).update(toSign).digest('hex');
}

/** Constant-time comparison of two hex signatures. */
export function signaturesEqual(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given.toLowerCase(), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
