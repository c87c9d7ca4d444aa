/**
 * Maps whatever the upstream call raised onto a stable GatewayError.
 *
 * Decisions are made on the Alibaba Cloud error `Code`, not the HTTP status: products disagree
 * on statuses (throttling arrives as 400 from some, 429 or 503 from others). The message is
 * rebuilt from the upstream code and message only: the library's own message embeds request
 * details, and nothing here ever includes credentials.
 */
import { GatewayError, type GatewayErrorCode } from '../reports/errors';

interface AliyunErrorShape {
  code?: string;
  statusCode?: number;
  requestId?: string;
  retryAfter?: number;
  data?: { Message?: string; message?: string; RequestId?: string };
}

const AUTH_CODES = /^(SignatureDoesNotMatch|IncompleteSignature|MissingAuthorization|InvalidAccessKeyId|InvalidSecurityToken|InvalidTimeStamp|SignatureNonceUsed|Forbidden|NoPermission|InvalidCredentials)/;

export function classifyUpstreamCode(code: string | undefined, statusCode?: number): GatewayErrorCode {
  if (!code) return statusCode && statusCode >= 500 ? 'UPSTREAM_UNAVAILABLE' : 'UPSTREAM_ERROR';
  if (code.startsWith('Parameter.') || code.startsWith('InvalidParameter')) return 'BAD_USER_INPUT';
  if (code === 'NotExists.InstanceId' || code.startsWith('NotExists.')) return 'NOT_FOUND';
  if (code.includes('Throttling')) return 'UPSTREAM_THROTTLED';
  if (AUTH_CODES.test(code)) return 'UPSTREAM_AUTH';
  if (code === 'ServiceUnavailable' || code === 'InternalError' || code.startsWith('ServiceUnavailable')) return 'UPSTREAM_UNAVAILABLE';
  if (statusCode && statusCode >= 500) return 'UPSTREAM_UNAVAILABLE';
  return 'UPSTREAM_ERROR';
}

/** Worth another attempt: the same call may succeed a moment later. */
export function isRetryable(error: GatewayError): boolean {
  return error.code === 'UPSTREAM_THROTTLED' || error.code === 'UPSTREAM_UNAVAILABLE';
}

const FRIENDLY: Record<GatewayErrorCode, string> = {
  BAD_USER_INPUT: 'The call center service rejected the request',
  NOT_FOUND: 'The call center instance does not exist',
  FORBIDDEN: 'Forbidden',
  UNAUTHENTICATED: 'Unauthenticated',
  OPERATION_TOO_EXPENSIVE: 'Operation too expensive',
  RATE_LIMITED: 'Rate limit exceeded',
  UPSTREAM_THROTTLED: 'The call center service is throttling requests; try again shortly',
  UPSTREAM_UNAVAILABLE: 'The call center service is unavailable; try again shortly',
  UPSTREAM_AUTH: 'The gateway could not authenticate to the call center service (check its AccessKey configuration)',
  UPSTREAM_ERROR: 'The call center service answered with an error',
};

export function toGatewayError(error: unknown): GatewayError {
  // Includes MalformedUpstreamAnswer: an UPSTREAM_ERROR with upstream's RequestId, not retried.
  if (error instanceof GatewayError) return error;
  const e = (error ?? {}) as AliyunErrorShape & { name?: string; message?: string };
  if (typeof e.code === 'string' && (e.statusCode !== undefined || e.data)) {
    const code = classifyUpstreamCode(e.code, e.statusCode);
    const upstreamMessage = e.data?.Message ?? e.data?.message;
    const requestId = e.requestId && e.requestId !== 'undefined' ? e.requestId : e.data?.RequestId;
    // Auth failures are the operator's problem: the caller gets a generic message, the upstream
    // detail stays in the logs.
    const message =
      code === 'UPSTREAM_AUTH' || !upstreamMessage ? FRIENDLY[code] : `${FRIENDLY[code]}: ${upstreamMessage}`;
    return new GatewayError(code, message, {
      upstreamCode: e.code,
      upstreamRequestId: requestId,
      ...(e.retryAfter ? { retryAfterMs: e.retryAfter } : {}),
    });
  }
  // Network failures, timeouts, unparsable bodies from a proxy in between.
  const what = e.name === 'SyntaxError' ? 'an unreadable answer' : e.code ?? e.name ?? 'a transport error';
  return new GatewayError('UPSTREAM_UNAVAILABLE', `${FRIENDLY.UPSTREAM_UNAVAILABLE} (${what})`);
}
