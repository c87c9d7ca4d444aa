/**
 * Per-caller rate limiting: a sustained rate plus a burst allowance (rate-limiter-flexible's
 * BurstyRateLimiter, which behaves like a token bucket: refill at `perSecond`, spend up to
 * `burst` extra at once). In Redis when configured, so the limit holds across replicas; if Redis
 * fails, an in-process limiter takes over (per replica) rather than letting everything through.
 */
import type { Cluster, Redis } from 'ioredis';
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export interface RateLimitOptions {
  perSecond: number;
  burst: number;
  redis?: Redis | Cluster;
  keyPrefix?: string;
}

export interface RateLimitDecision {
  allowed: boolean;
  retryAfterMs: number;
}

export interface CallerRateLimiter {
  consume(caller: string): Promise<RateLimitDecision>;
}

export function createRateLimiter(options: RateLimitOptions): CallerRateLimiter {
  const prefix = options.keyPrefix ?? 'ccc:rl';
  const make = (points: number, duration: number, name: string) => {
    const memory = new RateLimiterMemory({ points, duration, keyPrefix: `${prefix}:${name}` });
    if (!options.redis) return memory;
    return new RateLimiterRedis({
      storeClient: options.redis,
      points,
      duration,
      keyPrefix: `${prefix}:${name}`,
      insuranceLimiter: memory,
      rejectIfRedisNotReady: true, // then the insurance limiter answers at once
    });
  };
  const limiter = new BurstyRateLimiter(make(options.perSecond, 1, 'rate'), make(options.burst, 60, 'burst'));
  return {
    async consume(caller) {
      try {
        await limiter.consume(caller);
        return { allowed: true, retryAfterMs: 0 };
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) return { allowed: false, retryAfterMs: rejection.msBeforeNext };
        throw rejection;
      }
    },
  };
}
