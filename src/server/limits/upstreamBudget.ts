/**
 * The per-caller budget of upstream calls per minute (UPSTREAM_CALLS_PER_CALLER_PER_MINUTE), on
 * rate-limiter-flexible: in Redis when configured, so every replica spends from one budget per
 * caller; in memory otherwise, and as the insurance when Redis fails (then per replica, rather
 * than no budget at all).
 */
import type { Cluster, Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { UpstreamBudgetDecision, UpstreamCallBudget } from '../../reports/UpstreamCallBudget';

export interface UpstreamBudgetOptions {
  perMinute: number;
  redis?: Redis | Cluster;
  keyPrefix?: string;
  /** Called for every refusal (metrics). */
  onRejected?: () => void;
}

export function createUpstreamCallBudget(options: UpstreamBudgetOptions): UpstreamCallBudget {
  const keyPrefix = options.keyPrefix ?? 'ccc:ub';
  const memory = new RateLimiterMemory({ points: options.perMinute, duration: 60, keyPrefix });
  const limiter = options.redis
    ? new RateLimiterRedis({
        storeClient: options.redis,
        points: options.perMinute,
        duration: 60,
        keyPrefix,
        insuranceLimiter: memory,
        rejectIfRedisNotReady: true, // then the insurance limiter answers at once
      })
    : memory;
  return {
    perMinute: options.perMinute,
    async spend(callerKey: string, calls: number): Promise<UpstreamBudgetDecision> {
      try {
        await limiter.consume(callerKey, calls);
        return { allowed: true, retryAfterMs: 0 };
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        // A refused operation made no calls: give its points back, so that one oversized
        // request does not also block the caller's small ones for the rest of the minute.
        await limiter.reward(callerKey, calls).catch(() => undefined);
        options.onRejected?.();
        return { allowed: false, retryAfterMs: rejection.msBeforeNext };
      }
    },
  };
}
