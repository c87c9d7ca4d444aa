/**
 * Who is calling, and which call center instances they may read.
 *
 * Authorization here is per instance only: a principal either may read an instance's reports or
 * may not. The set comes from one claim of a verified token; its shapes are decided below.
 */

export interface Principal {
  /** The token's `sub` (for logs and audits), or `anonymous` when authentication is off. */
  readonly subject: string;
  /** `*`: every instance. Otherwise exactly these instance ids (case-sensitive, as upstream). */
  readonly instances: '*' | ReadonlySet<string>;
  /**
   * Who this caller is for per-caller limits (rate limit, upstream budget, fair queueing):
   * `sub:<sub>`, or for a token without `sub` a digest of the token itself, so that sub-less
   * tokens never share one bucket (one noisy client would otherwise throttle all the others).
   * Absent when authentication is off: the client address identifies the caller then.
   */
  readonly callerKey?: string;
  /** The token carries `gateway_debug: true`: `x-gateway-debug` works for it even in production. */
  readonly debug: boolean;
  /**
   * When the token stops being accepted (its `exp` plus the clock tolerance, epoch ms); absent
   * without authentication. Long-lived connections (subscriptions) are closed then.
   */
  readonly expiresAt?: number;
  canRead(instanceId: string): boolean;
}

export function createPrincipal(
  subject: string,
  instances: '*' | ReadonlySet<string>,
  extra: { callerKey?: string; debug?: boolean; expiresAt?: number } = {},
): Principal {
  return Object.freeze({
    subject,
    instances,
    callerKey: extra.callerKey,
    debug: extra.debug ?? false,
    expiresAt: extra.expiresAt,
    canRead: instances === '*' ? () => true : (instanceId: string) => instances.has(instanceId),
  });
}

/** AUTH_MODE=off: everything is readable, as it was before authentication existed. */
export const ANONYMOUS: Principal = createPrincipal('anonymous', '*');

/** The claim that lets one token see `extensions.gateway` where the explorer is off (production). */
export const DEBUG_CLAIM = 'gateway_debug';

/**
 * The instances claim, in the shapes identity providers produce:
 * - an array of instance id strings: `["ccc-a", "ccc-b"]`;
 * - the string `"*"`: every instance;
 * - a string of ids separated by spaces and/or commas: `"ccc-a ccc-b"`, `"ccc-a,ccc-b"` (the
 *   OAuth `scope` style, and what providers emit when a custom claim can only be a string).
 *
 * Anything else (a number, an object, an array holding a non-string, an absent claim) grants no
 * instances: the token is still authentic, so the caller gets FORBIDDEN per instance rather than
 * UNAUTHENTICATED, but a claim whose meaning has to be guessed must not widen access. For the
 * same reason `*` means "all" only as the whole claim: in an array or a list it is just an id
 * no instance has, so a stray `*` among ids cannot turn a narrow grant into a total one.
 */
export function instancesFromClaim(claim: unknown): '*' | ReadonlySet<string> {
  if (typeof claim === 'string') {
    if (claim.trim() === '*') return '*';
    return new Set(claim.split(/[\s,]+/).filter(Boolean));
  }
  // Array.isArray, not instanceof Array: correct whichever realm parsed the claims set.
  if (Array.isArray(claim) && claim.every((id): id is string => typeof id === 'string')) {
    return new Set(claim);
  }
  // A fresh set, not a shared constant: a Set cannot be frozen, and one principal's set must
  // never be another's.
  return new Set<string>();
}
