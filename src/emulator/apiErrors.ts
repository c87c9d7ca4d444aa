/**
 * The errors the emulator answers with, shaped like Alibaba Cloud's: an HTTP status plus a
 * `{ RequestId, HostId, Code, Message, Recommend }` body. Codes, statuses and messages follow the
 * service's (the CCC seed document, the OpenAPI error center); where the real service's exact
 * choice is undocumented (a request without any Authorization header), the nearest documented
 * code is used and noted.
 */

export class ApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ErrorBody {
  RequestId: string;
  HostId: string;
  Code: string;
  Message: string;
  Recommend: string;
}

export function errorBody(error: ApiError, requestId: string, hostId: string): ErrorBody {
  return {
    RequestId: requestId,
    HostId: hostId,
    Code: error.code,
    Message: error.message,
    Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(error.code)}&product=CCC&requestId=${requestId}`,
  };
}

/** Errors of the API gateway layer: routing and authentication. */
export const gatewayErrors = {
  invalidVersion: () => new ApiError(400, 'InvalidVersion', 'Specified parameter Version is not valid.'),
  invalidAction: () => new ApiError(404, 'InvalidAction.NotFound', 'Specified api is not found, please check your url and method.'),
  /** Undocumented for V3; POP's V1 equivalents are MissingSignature / MissingAccessKeyId. */
  missingAuthorization: () => new ApiError(400, 'MissingAuthorization', 'The Authorization header is required.'),
  incompleteSignature: (detail: string) =>
    new ApiError(400, 'IncompleteSignature', `The request signature does not conform to Aliyun standards. ${detail}`),
  badTimestamp: () =>
    new ApiError(400, 'InvalidTimeStamp.Format', 'Specified time stamp or date value is not well formatted.'),
  expiredTimestamp: () => new ApiError(400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.'),
  unknownAccessKey: () => new ApiError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.'),
  signatureMismatch: (stringToSign: string) =>
    new ApiError(
      400,
      'SignatureDoesNotMatch',
      `Specified signature is not matched with our calculation. server string to sign is:${stringToSign}`,
    ),
  payloadHashMismatch: () =>
    new ApiError(400, 'SignatureDoesNotMatch', 'Specified x-acs-content-sha256 does not match the request body.'),
  nonceUsed: () => new ApiError(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.'),
};

/** Errors the service raises on purpose under load or failure (injected by the emulator). */
export const serviceErrors = {
  'Throttling.User': () => new ApiError(400, 'Throttling.User', 'Request was denied due to user flow control.'),
  ServiceUnavailable: () =>
    new ApiError(503, 'ServiceUnavailable', 'The request has failed due to a temporary failure of the server.'),
  InternalError: () =>
    new ApiError(500, 'InternalError', 'The request processing has failed due to some unknown error, exception or failure.'),
} as const;

export type InjectedFailureCode = keyof typeof serviceErrors;

/** Errors of ListIntervalInstanceReport's own parameter checks. */
export const parameterErrors = {
  blank: (name: string) => new ApiError(400, 'Parameter.Blank', `The parameter ${name} may not be null or blank.`),
  invalid: (name: string, reason: string) => new ApiError(400, 'Parameter.Invalid', `The parameter ${name} is invalid: ${reason}`),
  minimum: (name: string, minimum: number, reason: string) =>
    new ApiError(400, 'Parameter.Minimum', `The parameter ${name} must be no less than ${minimum} (${reason}).`),
  maximum: (name: string, maximum: number, reason: string) =>
    new ApiError(400, 'Parameter.Maximum', `The parameter ${name} must be no greater than ${maximum} (${reason}).`),
  unknownInstance: (instanceId: string) =>
    new ApiError(404, 'NotExists.InstanceId', `The specified instance ${instanceId} does not exist.`),
};
