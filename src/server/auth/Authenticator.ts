/**
 * Turns an `Authorization` header into a Principal: who calls, and which instances they may read.
 *
 * AUTH_MODE=off answers every request with the all-access anonymous principal. AUTH_MODE=jwt
 * wants `Authorization: Bearer <JWT>` and verifies it with jose. The key source fixes the accepted
 * algorithms: HS256 only with a shared secret, RS256/ES256 only with a JWKS. The token's own
 * `alg` header chooses nothing, so `alg: none` and algorithm confusion (an HS256 token "signed"
 * with a public key taken from the JWKS) are rejected before any key is looked at.
 *
 * Every rejection is UNAUTHENTICATED with a short, fixed reason: never the token, never its
 * claims (the message reaches the caller and the logs; a token in either is a credential leak).
 *
 * Verified tokens are not cached. Measured on Node 20 (a loaded 2-CPU machine, 293-byte token):
 * authenticate() costs ~26 µs with HS256 (~48 µs if jose imported the raw secret on every call,
 * hence the CryptoKey below), ~56 µs with RS256, ~136 µs with ES256; the whole gateway served a
 * small cached query at ~1,800 req/s there, ~550 µs of event-loop time per request. Saving ~5%
 * (HS256) is not worth a cache that must get expiry, key rotation and memory bounds right; an
 * ES256-heavy deployment at CPU saturation is where one would start to pay off.
 */
import { createHash, webcrypto } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { GatewayError } from '../../reports/errors';
import type { AuthConfig, JwtKeySource } from './authConfig';
import { ANONYMOUS, createPrincipal, DEBUG_CLAIM, instancesFromClaim, type Principal } from './principal';

export interface Authenticator {
  /** Resolves the caller; rejects with GatewayError UNAUTHENTICATED, or a plain Error when the keys cannot be had. */
  authenticate(authorizationHeader: string | undefined): Promise<Principal>;
}

export function createAuthenticator(config: AuthConfig): Authenticator {
  if (config.mode === 'off') return { authenticate: async () => ANONYMOUS };

  const { key, algorithms } = verificationKey(config.key);
  const options: JWTVerifyOptions = {
    algorithms,
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: config.clockToleranceSeconds,
    // A token without `exp` would be valid forever: nothing could ever take it back.
    requiredClaims: ['exp'],
  };
  return {
    async authenticate(authorizationHeader) {
      const token = bearerToken(authorizationHeader);
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, await key, options));
      } catch (e) {
        throw verificationFailure(e, config.key);
      }
      // jose checks a future `iat` only together with maxTokenAge: a token "issued" tomorrow is
      // a forged or broken clock, and is refused like a future `nbf`.
      if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + config.clockToleranceSeconds) {
        throw new GatewayError('UNAUTHENTICATED', `invalid bearer token: ${CLAIM_FAULTS.iat}`);
      }
      const hasSubject = typeof payload.sub === 'string' && payload.sub !== '';
      const subject = hasSubject ? (payload.sub as string) : 'unknown';
      // Without `sub`, the token itself is the identity (a digest: the token never leaves here).
      const callerKey = hasSubject ? `sub:${subject}` : `token:${createHash('sha256').update(token).digest('hex').slice(0, 32)}`;
      return createPrincipal(subject, instancesFromClaim(payload[config.instancesClaim]), {
        callerKey,
        debug: payload[DEBUG_CLAIM] === true,
        // `exp` is required above; jose accepts it up to the clock tolerance, and so do subscriptions.
        expiresAt: ((payload.exp as number) + config.clockToleranceSeconds) * 1000,
      });
    },
  };
}

function verificationKey(source: JwtKeySource): { key: Promise<webcrypto.CryptoKey> | JWTVerifyGetKey; algorithms: string[] } {
  switch (source.kind) {
    case 'secret': {
      // Imported once as an HMAC-SHA-256 verify-only key: halves the cost of a verification
      // (jose would import raw bytes on every call), and the key itself refuses other algorithms.
      const key = webcrypto.subtle.importKey('raw', source.secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
      return { key, algorithms: ['HS256'] };
    }
    case 'jwksUrl':
      // jose caches the set (10 minutes) and refetches on an unknown `kid` at most every 30 s, so
      // key rotation works and tokens with made-up `kid`s cannot hammer the identity provider.
      return { key: createRemoteJWKSet(source.url), algorithms: ASYMMETRIC };
    case 'jwksFile':
      return { key: createLocalJWKSet(source.jwks as Parameters<typeof createLocalJWKSet>[0]), algorithms: ASYMMETRIC };
  }
}

const ASYMMETRIC = ['RS256', 'ES256'];

/** RFC 6750 §2.1: `Bearer` (any case), spaces, then a b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

function bearerToken(header: string | undefined): string {
  const match = header === undefined ? null : BEARER.exec(header);
  if (!match) throw new GatewayError('UNAUTHENTICATED', 'a bearer token is required');
  return match[1];
}

/**
 * jose error codes that mean "this token is not acceptable", with the reason the caller sees.
 * Matched by `code`, not by class: stable across jose versions and realms.
 */
const TOKEN_FAULTS: Record<string, string> = {
  ERR_JWT_EXPIRED: 'expired',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'signature',
  ERR_JOSE_ALG_NOT_ALLOWED: 'algorithm not allowed',
  ERR_JWS_INVALID: 'malformed',
  ERR_JWT_INVALID: 'malformed',
  ERR_JOSE_NOT_SUPPORTED: 'unsupported',
  ERR_JWKS_NO_MATCHING_KEY: 'unknown signing key',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'ambiguous signing key',
};

/** Reasons for ERR_JWT_CLAIM_VALIDATION_FAILED, by claim. */
const CLAIM_FAULTS: Record<string, string> = {
  nbf: 'not yet valid',
  iat: 'issued in the future',
  iss: 'issuer',
  aud: 'audience',
};

function verificationFailure(error: unknown, source: JwtKeySource): Error {
  const { code, claim, reason } = (error ?? {}) as { code?: unknown; claim?: unknown; reason?: unknown };
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
    const why = reason === 'missing' ? `${String(claim)} claim missing` : (CLAIM_FAULTS[String(claim)] ?? 'claims');
    return new GatewayError('UNAUTHENTICATED', `invalid bearer token: ${why}`);
  }
  if (typeof code === 'string' && Object.hasOwn(TOKEN_FAULTS, code)) {
    return new GatewayError('UNAUTHENTICATED', `invalid bearer token: ${TOKEN_FAULTS[code]}`);
  }
  // Not the token's fault: the JWKS endpoint is down, slow or serves garbage (or a bug). Telling
  // the caller their token is bad would send them refreshing a good one; this fails as an
  // internal error instead, logged with its cause (which never holds the token).
  const what = source.kind === 'jwksUrl' ? 'the JWKS endpoint failed' : 'unexpected error';
  return new Error(`cannot verify bearer tokens: ${what}`, { cause: error });
}
