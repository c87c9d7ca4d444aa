/**
 * Authenticates a V3-signed request the way the OpenAPI gateway does, in its order: the
 * Authorization header is present and well formed, the signed date is within 15 minutes, the
 * AccessKey exists, every public header present (`host`, `content-type`, `x-acs-*`) is signed
 * (the V3 spec: "all public request headers except Authorization must be signed"), the payload
 * hash matches the body, the signature matches, and the nonce was not used before.
 */
import { LRUCache } from 'lru-cache';
import {
  ACS3_ALGORITHM,
  canonicalRequest,
  parseAuthorization,
  sha256Hex,
  sign,
  SignableRequest,
  signaturesEqual,
  stringToSign,
} from './acs3Signature';
import { gatewayErrors } from './apiErrors';

/** How far the signed `x-acs-date` may be from the server's clock, either way. */
export const TIMESTAMP_TOLERANCE_MS = 15 * 60_000;

export interface AuthenticationInput extends SignableRequest {
  body: Buffer;
}

/** Nonces seen in the last 15 minutes (bounded: a flood of requests cannot exhaust memory). */
export class NonceRegistry {
  private readonly seen = new LRUCache<string, number>({ max: 200_000 });

  /** Records the nonce; false when it was already used within the tolerance window. */
  claim(nonce: string, now: number): boolean {
    const previous = this.seen.get(nonce);
    if (previous !== undefined && now - previous < TIMESTAMP_TOLERANCE_MS) return false;
    this.seen.set(nonce, now);
    return true;
  }

  clear(): void {
    this.seen.clear();
  }
}

export interface AuthenticationContext {
  secretOf(accessKeyId: string): string | undefined;
  wallClock(): number;
  /** null when nonce reuse is not checked. */
  nonces: NonceRegistry | null;
}

/** Returns the caller's AccessKeyId, or throws the gateway's ApiError. */
export function authenticate(request: AuthenticationInput, context: AuthenticationContext): string {
  const authorization = single(request.headers['authorization']);
  if (!authorization) throw gatewayErrors.missingAuthorization();
  const parsed = parseAuthorization(authorization);
  if (!parsed) throw gatewayErrors.incompleteSignature('The Authorization header is malformed.');
  if (parsed.algorithm !== ACS3_ALGORITHM) {
    throw gatewayErrors.incompleteSignature(`Unsupported signature algorithm ${parsed.algorithm}.`);
  }

  const date = single(request.headers['x-acs-date']);
  const signedAt = date && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(date) ? Date.parse(date) : Number.NaN;
  if (Number.isNaN(signedAt)) throw gatewayErrors.badTimestamp();
  if (Math.abs(context.wallClock() - signedAt) > TIMESTAMP_TOLERANCE_MS) throw gatewayErrors.expiredTimestamp();

  const secret = context.secretOf(parsed.accessKeyId);
  if (secret === undefined) throw gatewayErrors.unknownAccessKey();

  for (const name of Object.keys(request.headers)) {
    if ((name === 'host' || name === 'content-type' || name.startsWith('x-acs-')) && !parsed.signedHeaders.includes(name)) {
      throw gatewayErrors.incompleteSignature(`The header ${name} is not signed.`);
    }
  }

  const payloadHash = single(request.headers['x-acs-content-sha256']);
  if (!payloadHash) throw gatewayErrors.incompleteSignature('The header x-acs-content-sha256 is missing.');
  if (payloadHash.toLowerCase() !== sha256Hex(request.body)) throw gatewayErrors.payloadHashMismatch();

  const toSign = stringToSign(canonicalRequest(request, parsed.signedHeaders, payloadHash));
  if (!signaturesEqual(sign(secret, toSign), parsed.signature)) throw gatewayErrors.signatureMismatch(toSign);

  const nonce = single(request.headers['x-acs-signature-nonce']);
  if (nonce && context.nonces && !context.nonces.claim(nonce, context.wallClock())) throw gatewayErrors.nonceUsed();
  return parsed.accessKeyId;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
