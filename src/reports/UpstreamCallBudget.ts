/**
 * A per-caller budget of new upstream calls per minute: upstream's own quota is shared by every
 * caller of the gateway, so no single caller may spend it all. Cached buckets and calls already
 * in flight (joined) cost nothing; only the calls a caller's operation adds do.
 *
 * The pipeline sees only this interface; the server provides it (in Redis when configured, so
 * replicas share one budget per caller).
 */
import { GatewayError } from './errors';

export interface UpstreamBudgetDecision {
  allowed: boolean;
  /** When the budget has room again (0 when allowed). */
  retryAfterMs: number;
}

export interface UpstreamCallBudget {
  /** Calls per minute per caller (for messages). */
  readonly perMinute: number;
  /** Spends `calls` of `callerKey`'s budget, all or none: a refused request spends nothing. */
  spend(callerKey: string, calls: number): Promise<UpstreamBudgetDecision>;
}

export function upstreamBudgetExceeded(budget: UpstreamCallBudget, calls: number, retryAfterMs: number): GatewayError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const advice =
    calls > budget.perMinute
      ? 'it can never fit: split it into operations over fewer instances or shorter ranges'
      : `retry in ${seconds} s, or ask for fewer instances or shorter ranges`;
  return new GatewayError(
    'RATE_LIMITED',
    `This operation needs ${calls} new upstream call(s), beyond your budget of ${budget.perMinute} upstream calls per minute; ` +
      `${advice} (cached data is still served)`,
    { retryAfterMs: Math.ceil(retryAfterMs), upstreamCallsNeeded: calls, upstreamCallsPerMinute: budget.perMinute },
  );
}
