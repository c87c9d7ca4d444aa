/**
 * A per-caller budget of refused requests: answers of 400 or 413 (documents that do not parse or
 * validate, over a limit, bad variables), REJECTED_REQUESTS_PER_MINUTE a minute and at most a
 * sixtieth of that (rounded up: 1 at the default 60) in any one second. Beyond either, the caller's
 * requests are refused with RATE_LIMITED before anything is parsed, until the second (or the
 * minute) is over.
 *
 * Why: the document limits bound what one document costs to refuse (a few milliseconds for the
 * worst 2,000-token document graphql-js must validate), but a caller sending a new such document
 * at the full rate limit (50/s) would still spend a large share of a core on refusals. Why per
 * second: a budget counted per 10 seconds let a caller spend all of it in the first fraction of a
 * window, ten of the costliest documents arriving together and queueing behind each other; one a
 * second spreads the same work out. Well-behaved clients send valid operations; a person typing in
 * the explorer makes a few mistakes a minute.
 */
import type { RequestHandler, Response } from 'express';
import { RateLimiterMemory, type RateLimiterRes } from 'rate-limiter-flexible';
import { callerKeyOf } from '../callerGate';

/** Refusals allowed per second for a budget of `perMinute`. */
export const refusalsPerSecond = (perMinute: number) => Math.max(1, Math.ceil(perMinute / 60));

export interface RejectionBudget {
  /** Express step: refuses a caller over its budget (429), and charges each 400/413 answer. */
  middleware: RequestHandler;
  /**
   * Checks the budget again, later in the request (answering 429 when it is spent): for a step
   * that made the request wait while the caller's earlier requests were being refused.
   * False when it answered.
   */
  admit(res: Response): Promise<boolean>;
  /** Whether a caller is over its budget now, without answering (the lean path of cached answers). */
  overBudget(callerKey: string): Promise<boolean>;
  /** Charges one refusal that has no HTTP answer of its own (a subscription refused over WebSocket or SSE). */
  charge(callerKey: string): void;
}

export function rejectionBudget(options: { perMinute: number; onRefused?: () => void }): RejectionBudget {
  // In-process (per replica): the point is CPU of this process, not a global quota.
  const perSecond = refusalsPerSecond(options.perMinute);
  const windows = [
    { limiter: new RateLimiterMemory({ points: perSecond, duration: 1, keyPrefix: 'refused-s' }), points: perSecond, span: 'second' },
    { limiter: new RateLimiterMemory({ points: options.perMinute, duration: 60, keyPrefix: 'refused-m' }), points: options.perMinute, span: 'minute' },
  ];
  const overOf = async (caller: string) => {
    const spent = await Promise.all(windows.map((w) => w.limiter.get(caller)));
    // The window that keeps the caller out longest (the minute's, when both are spent).
    let over: { window: (typeof windows)[number]; state: RateLimiterRes } | undefined;
    windows.forEach((window, i) => {
      const state = spent[i];
      // An ended window can outlive its end by a moment (its record is deleted by a timer).
      const spentNow = state && state.msBeforeNext > 0 && state.consumedPoints >= window.points;
      if (spentNow && (!over || state.msBeforeNext > over.state.msBeforeNext)) over = { window, state };
    });
    return over as { window: (typeof windows)[number]; state: RateLimiterRes } | undefined;
  };
  const admit = async (res: Response) => {
    const over = await overOf(callerKeyOf(res));
    if (!over) return true;
    options.onRefused?.();
    const retryAfterMs = over.state.msBeforeNext;
    const retryAfterS = Math.max(1, Math.ceil(retryAfterMs / 1000));
    res.setHeader('retry-after', String(retryAfterS));
    res.status(429).json({
      errors: [
        {
          message: `${over.state.consumedPoints} requests from this caller were refused in the last ${over.window.span} (at most ${perSecond} a second and ${options.perMinute} a minute); fix the operation, then retry in ${retryAfterS} s.`,
          extensions: { code: 'RATE_LIMITED', retryAfterMs, rejectedRequestsPerMinute: options.perMinute, rejectedRequestsPerSecond: perSecond },
        },
      ],
    });
    return false;
  };
  return {
    admit,
    overBudget: async (callerKey) => (await overOf(callerKey)) !== undefined,
    charge: (callerKey) => {
      for (const w of windows) w.limiter.penalty(callerKey, 1).catch(() => undefined);
    },
    middleware: async (_req, res, next) => {
      if (!(await admit(res))) return;
      const caller = callerKeyOf(res);
      // Charged when the answer is sent (synchronously: a step waiting for this answer sees it).
      res.once('finish', () => {
        if (res.statusCode === 400 || res.statusCode === 413) for (const w of windows) w.limiter.penalty(caller, 1).catch(() => undefined);
      });
      next();
    },
  };
}
