/**
 * Signs an RPC call with ACS3-HMAC-SHA256 the way `@alicloud/openapi-core` does, for callers that
 * speak raw HTTP to the emulator (load generators, and tests that must send what the SDK never
 * would: a stale date, a replayed nonce, parameters in a form body).
 */
import { randomBytes } from 'node:crypto';
import { ACS3_ALGORITHM, canonicalRequest, sha256Hex, sign, stringToSign } from './acs3Signature';

export interface RpcCallToSign {
  /** `http://127.0.0.1:PORT` */
  baseUrl: string;
  accessKeyId: string;
  accessKeySecret: string;
  action: string;
  version: string;
  /** Parameters sent in the URL query. */
  query?: Record<string, string>;
  /** Parameters sent as an x-www-form-urlencoded body. */
  form?: Record<string, string>;
  method?: string;
  /** Signing time, epoch ms (default now). */
  date?: number;
  /** Default: 32 random hex characters. */
  nonce?: string;
}

export interface SignedHttpRequest {
  url: string;
  method: string;
  /** Every header to send (including `host`, which HTTP clients set from the URL anyway). */
  headers: Record<string, string>;
  body: string | undefined;
}

/** ISO 8601 UTC without milliseconds, as the V3 `x-acs-date` header wants it. */
export function acsDate(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function signRpcCall(call: RpcCallToSign): SignedHttpRequest {
  const url = new URL(call.baseUrl);
  const query = new Map(Object.entries(call.query ?? {}));
  const body = call.form ? new URLSearchParams(call.form).toString() : undefined;
  const method = call.method ?? 'POST';
  const headers: Record<string, string> = {
    host: url.host,
    'x-acs-action': call.action,
    'x-acs-version': call.version,
    'x-acs-date': acsDate(call.date ?? Date.now()),
    'x-acs-signature-nonce': call.nonce ?? randomBytes(16).toString('hex'),
    'x-acs-content-sha256': sha256Hex(body ?? ''),
  };
  if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';

  const signedHeaders = Object.keys(headers).sort();
  const canonical = canonicalRequest({ method, path: '/', query, headers }, signedHeaders, headers['x-acs-content-sha256']);
  const signature = sign(call.accessKeySecret, stringToSign(canonical));
  headers.authorization = `${ACS3_ALGORITHM} Credential=${call.accessKeyId},SignedHeaders=${signedHeaders.join(';')},Signature=${signature}`;

  const search = new URLSearchParams(call.query ?? {}).toString();
  return { url: `${url.origin}/${search ? `?${search}` : ''}`, method, headers, body };
}
