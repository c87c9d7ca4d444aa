/**
 * Who is calling, and may they call now: authentication and per-caller rate limiting as one
 * Express step in front of GraphQL, so that even answers served from the response cache are
 * authenticated, authorized and counted.
 */
import type { RequestHandler, Response } from 'express';
import { GraphQLError } from 'graphql';
import type { Authenticator } from './auth/Authenticator';
import { authenticateRequest } from './auth/contextAuth';
import type { Principal } from './auth/principal';
import type { CallerRateLimiter } from './limits/rateLimit';
import type { Logger } from './logger';
import { requestIdOf } from './observability';

export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('callerGate must run before GraphQL');
  return principal;
}

/**
 * The caller's identity for per-caller limits (rate limit, upstream budget, fair queueing): the
 * token's identity when authentication is on, the client address when it is off.
 */
export function callerKeyOf(res: Response): string {
  const key = res.locals.callerKey as string | undefined;
  if (!key) throw new Error('callerGate must run before GraphQL');
  return key;
}

function sendGraphQLError(res: Response, error: GraphQLError): void {
  const http = error.extensions.http as { status?: number; headers?: Map<string, string> } | undefined;
  for (const [name, value] of http?.headers ?? []) res.setHeader(name, value);
  const { http: _http, ...extensions } = error.extensions;
  res.status(http?.status ?? 400).json({ errors: [{ message: error.message, extensions }] });
}

export interface CallerGateOptions {
  authenticator: Authenticator;
  rateLimiter?: CallerRateLimiter;
  /** Rate-limit key when auth is off: the client address. */
  authOff: boolean;
  logger: Logger;
  onRateLimited?: () => void;
}

/** Who is calling and whether the rate limit lets them (one token spent); `failure` when authentication failed. */
export type Admission = { principal: Principal; callerKey: string; allowed: boolean; retryAfterMs: number } | { failure: unknown };

/**
 * Authentication and the rate limit's verdict, without answering: the lean path of cached answers
 * (./leanCachedAnswers) admits its requests with it, and hands the verdict on (`res.locals.admission`)
 * when the request continues through Express, so a request is authenticated and counted once.
 */
export async function admitCaller(options: CallerGateOptions, authorization: string | undefined, clientAddress: string | undefined): Promise<Admission> {
  let principal: Principal;
  try {
    principal = await authenticateRequest(options.authenticator, authorization);
  } catch (failure) {
    return { failure };
  }
  const callerKey = options.authOff || !principal.callerKey ? `ip:${clientAddress}` : principal.callerKey;
  if (!options.rateLimiter) return { principal, callerKey, allowed: true, retryAfterMs: 0 };
  const decision = await options.rateLimiter.consume(callerKey);
  return { principal, callerKey, allowed: decision.allowed, retryAfterMs: decision.allowed ? 0 : decision.retryAfterMs };
}

export function callerGate(options: CallerGateOptions): RequestHandler {
  return async (req, res, next) => {
    const admission = (res.locals.admission as Admission | undefined) ?? (await admitCaller(options, req.headers.authorization, req.ip));
    if ('failure' in admission) {
      const error = admission.failure;
      if (error instanceof GraphQLError) return sendGraphQLError(res, error);
      // Not the caller's fault (a JWKS endpoint down): logged in full, answered generically, in
      // GraphQL's shape rather than Express's HTML page with a stack trace.
      options.logger.error({ err: error, requestId: requestIdOf(res) }, 'authentication failed unexpectedly');
      return sendGraphQLError(
        res,
        new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR', http: { status: 500 } } }),
      );
    }
    const { principal, callerKey: caller } = admission;
    res.locals.callerKey = caller;
    if (options.rateLimiter) {
      const decision = admission;
      if (!decision.allowed) {
        options.onRateLimited?.();
        const seconds = Math.ceil(decision.retryAfterMs / 1000);
        res.setHeader('retry-after', String(seconds));
        return sendGraphQLError(
          res,
          new GraphQLError(`Rate limit exceeded; retry in ${seconds} s`, {
            extensions: { code: 'RATE_LIMITED', retryAfterMs: decision.retryAfterMs, http: { status: 429 } },
          }),
        );
      }
    }
    res.locals.principal = principal;
    next();
  };
}
