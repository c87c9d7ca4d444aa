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
