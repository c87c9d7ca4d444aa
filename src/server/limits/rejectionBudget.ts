/**
 * A per-caller budget of refused requests: REJECTED_REQUESTS_PER_MINUTE answers of 400 or 413
 * (documents that do not parse or validate, over a limit, bad variables), counted in windows of
 * 10 seconds (a sixth of the budget each, so that a caller cannot spend a minute's worth in one
 * burst); beyond it, the caller's requests are refused with RATE_LIMITED before anything is
 * parsed, until the window is over.
 *
 * Why: the document limits bound what one document costs to refuse (a few milliseconds for the
 * worst 2,000-token document graphql-js must validate), but a caller sending a new such document
 * at the full rate limit (50/s) would still spend a large share of a core on refusals. Well-behaved
 * clients send valid operations; a person typing in the explorer makes a few mistakes a minute.
 */
import type { RequestHandler } from 'express';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { callerKeyOf } from '../callerGate';

export function refuseCallersOverRejectionBudget(options: { perMinute: number; onRefused?: () => void }): RequestHandler {
  // In-process (per replica): the point is CPU of this process, not a global quota.
  const perWindow = Math.max(1, Math.ceil(options.perMinute / 6));
  const refusals = new RateLimiterMemory({ points: perWindow, duration: 10, keyPrefix: 'refused' });
  return async (_req, res, next) => {
    const caller = callerKeyOf(res);
    const spent = await refusals.get(caller);
    if (spent && spent.consumedPoints >= perWindow) {
      options.onRefused?.();
      const retryAfterMs = spent.msBeforeNext;
      res.setHeader('retry-after', String(Math.ceil(retryAfterMs / 1000)));
      res.status(429).json({
        errors: [
          {
            message: `${spent.consumedPoints} requests from this caller were refused in the last 10 seconds (at most ${perWindow}; ${options.perMinute} a minute); fix the operation, then retry in ${Math.ceil(retryAfterMs / 1000)} s.`,
            extensions: { code: 'RATE_LIMITED', retryAfterMs, rejectedRequestsPerMinute: options.perMinute },
          },
        ],
      });
      return;
    }
    res.once('finish', () => {
      if (res.statusCode === 400 || res.statusCode === 413) refusals.penalty(caller, 1).catch(() => undefined);
    });
    next();
  };
}
