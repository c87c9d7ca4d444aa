/** Token and key helpers for the auth tests. */
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { GatewayError } from '../../src/reports/errors';

export const SECRET = 'test-shared-secret-0123456789-abcdef';
export const SECRET_BYTES = new TextEncoder().encode(SECRET);
export const NOW_S = () => Math.floor(Date.now() / 1000);

export interface SignOptions {
  alg?: string;
  kid?: string;
  /** Seconds from now; `null`: no `exp` claim. Default one hour. */
  expiresIn?: number | null;
  /** Seconds from now. */
  notBefore?: number;
}

/** A signed token; by default HS256 with SECRET, `sub: svc-reporting`, expiring in an hour. */
export async function sign(
  claims: JWTPayload,
  key: Uint8Array | CryptoKey = SECRET_BYTES,
  { alg = 'HS256', kid, expiresIn = 3600, notBefore }: SignOptions = {},
): Promise<string> {
  const jwt = new SignJWT({ sub: 'svc-reporting', ...claims }).setProtectedHeader({ alg, typ: 'JWT', ...(kid ? { kid } : {}) }).setIssuedAt();
  if (expiresIn !== null) jwt.setExpirationTime(NOW_S() + expiresIn);
  if (notBefore !== undefined) jwt.setNotBefore(NOW_S() + notBefore);
  return jwt.sign(key);
}

export const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** `alg: none`, made by hand as an attacker would: no signature at all. */
export function unsignedToken(claims: JWTPayload): string {
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'svc-reporting', exp: NOW_S() + 3600, ...claims })}.`;
}

export interface KeyPair {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function keyPair(alg: string, kid: string): Promise<KeyPair> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  // Copy into a plain object.
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } as JWK;
  return { alg, kid, privateKey, publicJwk };
}

/** The rejection of a promise, asserted to be a GatewayError. */
export async function gatewayError(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof GatewayError)) throw new Error(`expected a GatewayError, got ${error === undefined ? 'success' : String(error)}`);
  return error;
}
