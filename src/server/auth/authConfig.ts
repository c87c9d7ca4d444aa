/**
 * Authentication settings from environment variables, validated once at start.
 *
 * Like the rest of the configuration, every problem is reported at once, one line per problem,
 * each naming its variable. The rules lean towards failing the start rather than running more
 * open than the operator meant: production refuses AUTH_MODE=off unless that is said explicitly,
 * a key source set while AUTH_MODE=off is an error (a forgotten AUTH_MODE=jwt would otherwise
 * serve everything to everybody), and exactly one key source decides which algorithms are
 * accepted (see Authenticator).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { envBoolean } from '../../config/envBoolean';

/** Where the keys that verify bearer tokens come from. */
export type JwtKeySource =
  /** HS256 with a shared secret (non-enumerable: spreading this object drops it, see secretSource). */
  | { kind: 'secret'; readonly secret: Uint8Array }
  /** RS256/ES256 with keys fetched (and refreshed) from a JWKS endpoint. */
  | { kind: 'jwksUrl'; url: URL }
  /** RS256/ES256 with keys from a local JWKS file, read once at start. */
  | { kind: 'jwksFile'; path: string; jwks: { keys: Record<string, unknown>[] } };

export type AuthConfig =
  | { mode: 'off' }
  | {
      mode: 'jwt';
      key: JwtKeySource;
      /** Required `iss`, when set. */
      issuer?: string;
      /** Required `aud` (one of the token's audiences), when set. */
      audience?: string;
      /** Top-level claim listing the instances the caller may read. */
      instancesClaim: string;
      /** Leeway for `exp` and `nbf`, in seconds: clocks of issuer and gateway drift apart. */
      clockToleranceSeconds: number;
    };

/** One line per problem in `message`; `problems` to merge them into a larger report. */
export class AuthConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'AuthConfigError';
  }
}

const boolean = envBoolean;

/** A generous ceiling: more than minutes of leeway would quietly extend every token's life. */
const MAX_CLOCK_TOLERANCE_SECONDS = 300;
/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits). */
const MIN_SECRET_BYTES = 32;

const AuthEnvSchema = z.object({
  NODE_ENV: z.string().optional(),
  AUTH_MODE: z.enum(['off', 'jwt']).default('off'),
  AUTH_JWT_SECRET: z
    .string()
    .refine((s) => Buffer.byteLength(s, 'utf8') >= MIN_SECRET_BYTES, {
      // Never the value itself: it is a secret, and this message ends up in start-up logs.
      message: `must be at least ${MIN_SECRET_BYTES} bytes`,
    })
    .optional(),
  AUTH_JWKS_URL: z
    .string()
    .superRefine((value, ctx) => {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be an http(s) URL' });
        return;
      }
      // The key set decides who may call: fetched over plain HTTP, anyone on the path could
      // swap in their own keys. Loopback is exempt for local identity providers and tests.
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
        ctx.addIssue({ code: 'custom', message: 'must be an https URL (http only for localhost)' });
      }
    })
    .optional(),
  AUTH_JWKS_FILE: z.string().optional(),
  AUTH_JWT_ISSUER: z.string().optional(),
  AUTH_JWT_AUDIENCE: z.string().optional(),
  // Any non-blank name: namespaced claims such as `https://example.com/ccc_instances` are common.
  AUTH_INSTANCES_CLAIM: z.string().regex(/^\S+$/, 'must be a claim name without spaces').default('ccc_instances'),
  AUTH_ALLOW_OFF_IN_PRODUCTION: boolean.default(false),
  AUTH_CLOCK_TOLERANCE_S: z.coerce.number().int().min(0).max(MAX_CLOCK_TOLERANCE_SECONDS).default(30),
});

const KEY_SOURCES = ['AUTH_JWT_SECRET', 'AUTH_JWKS_URL', 'AUTH_JWKS_FILE'] as const;

export function parseAuthConfig(env: Record<string, string | undefined>): AuthConfig {
  // Empty strings mean "unset", as in the main configuration (compose files produce them freely).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = AuthEnvSchema.safeParse(cleaned);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  // Cross-variable rules look at what is present, so they are reported even when a value is bad.
  const present = KEY_SOURCES.filter((name) => cleaned[name] !== undefined);
  const mode = parsed.success ? parsed.data.AUTH_MODE : (cleaned.AUTH_MODE ?? 'off');

  if (mode === 'off') {
    const allowOff = parsed.success && parsed.data.AUTH_ALLOW_OFF_IN_PRODUCTION;
    if (cleaned.NODE_ENV === 'production' && !allowOff) {
      problems.push('AUTH_MODE: refusing to start in production with AUTH_MODE=off; set AUTH_MODE=jwt or AUTH_ALLOW_OFF_IN_PRODUCTION=true');
    }
    for (const name of present) problems.push(`${name}: set while AUTH_MODE=off; set AUTH_MODE=jwt to use it, or unset it`);
  } else if (mode === 'jwt') {
    if (present.length === 0) problems.push(`AUTH_MODE: jwt needs one key source: ${KEY_SOURCES.join(', ')}`);
    if (present.length > 1) problems.push(`${present.join(', ')}: set exactly one key source, not ${present.length}`);
  }

  let jwks: { keys: Record<string, unknown>[] } | undefined;
  if (cleaned.AUTH_JWKS_FILE !== undefined) {
    try {
      jwks = readJwksFile(cleaned.AUTH_JWKS_FILE);
    } catch (e) {
      problems.push(`AUTH_JWKS_FILE: ${(e as Error).message}`);
    }
  }

  if (!parsed.success || problems.length) throw new AuthConfigError(problems);
  const data = parsed.data;
  if (data.AUTH_MODE === 'off') return { mode: 'off' };

  let key: JwtKeySource;
  if (data.AUTH_JWT_SECRET !== undefined) key = secretSource(data.AUTH_JWT_SECRET);
  else if (data.AUTH_JWKS_URL !== undefined) key = { kind: 'jwksUrl', url: new URL(data.AUTH_JWKS_URL) };
  else key = { kind: 'jwksFile', path: data.AUTH_JWKS_FILE!, jwks: jwks! };

  return {
    mode: 'jwt',
    key,
    issuer: data.AUTH_JWT_ISSUER,
    audience: data.AUTH_JWT_AUDIENCE,
    instancesClaim: data.AUTH_INSTANCES_CLAIM,
    clockToleranceSeconds: data.AUTH_CLOCK_TOLERANCE_S,
  };
}

/**
 * The secret sits in a non-enumerable property: the configuration object gets logged and
 * serialized (pino, JSON.stringify, util.inspect, jest diffs) and none of them show it then.
 */
function secretSource(secret: string): JwtKeySource {
  const source = { kind: 'secret' } as { kind: 'secret'; secret: Uint8Array };
  Object.defineProperty(source, 'secret', { value: new TextEncoder().encode(secret), enumerable: false });
  return source;
}

/**
 * Read and sanity-check the JWKS at start, so a typo in the path or a broken file fails the start
 * instead of every request. It must hold public keys only: a symmetric (`oct`) key or private key
 * material in a file meant to be distributed is a leak, and is refused rather than used.
 */
function readJwksFile(path: string): { keys: Record<string, unknown>[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${path} is not JSON`);
  }
  const keys = (json as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new Error(`${path} is not a JWKS ({"keys": [...]}, at least one key)`);
  keys.forEach((k: unknown, i) => {
    if (typeof k !== 'object' || k === null || typeof (k as { kty?: unknown }).kty !== 'string') {
      throw new Error(`${path}: key ${i} is not a JWK (no "kty")`);
    }
    const jwk = k as Record<string, unknown>;
    if (jwk.kty !== 'RSA' && jwk.kty !== 'EC') throw new Error(`${path}: key ${i} has kty "${String(jwk.kty)}"; only RSA and EC public keys are accepted`);
    if ('d' in jwk) throw new Error(`${path}: key ${i} contains private key material ("d"); publish public keys only`);
  });
  return { keys: keys as Record<string, unknown>[] };
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}
