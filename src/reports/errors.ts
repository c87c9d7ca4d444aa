/**
 * Errors the gateway reports to callers, independent of GraphQL.
 *
 * `code` is stable: clients switch on it. The GraphQL layer turns a GatewayError into a GraphQL
 * error with `extensions.code`; everything else (a bug, a library's exception) becomes
 * INTERNAL_SERVER_ERROR with a generic message, so no transport detail or secret ever leaks.
 */
export type GatewayErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'FORBIDDEN'
  | 'UNAUTHENTICATED'
  | 'OPERATION_TOO_EXPENSIVE'
  /** The caller's budget (of upstream calls per minute) is spent; `retryAfterMs` says when it refills. */
  | 'RATE_LIMITED'
  | 'UPSTREAM_THROTTLED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_AUTH'
  | 'UPSTREAM_ERROR';

export class GatewayError extends Error {
  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    /** Safe, caller-visible details (upstream RequestId, upstream code, the offending argument). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

export function badUserInput(message: string, argumentName?: string): GatewayError {
  return new GatewayError('BAD_USER_INPUT', message, argumentName ? { argumentName } : {});
}

/** Longest id echoed back: ids are short; a megabyte of "id" need not come back in the error. */
const MAX_ECHOED_ID_LENGTH = 64;

/**
 * The answer when the caller may not read an instance: one message for every id, whether or not
 * the instance exists (a different answer for unknown ids would let anyone enumerate other
 * tenants' instances). Checked before anything touches upstream, so the timing cannot tell either.
 */
export function forbiddenInstance(instanceId: string): GatewayError {
  const shown = instanceId.length > MAX_ECHOED_ID_LENGTH ? `${instanceId.slice(0, MAX_ECHOED_ID_LENGTH)}…` : instanceId;
  return new GatewayError('FORBIDDEN', `not allowed to read call center instance ${shown}`);
}
