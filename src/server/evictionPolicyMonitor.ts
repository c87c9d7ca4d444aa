/**
 * Watches the shared cache's `maxmemory-policy` (see `cache/evictionPolicy`): once at start and
 * again after every (re)connect, since a failover or a restarted Redis may come back configured
 * differently.
 *
 * A policy that can evict keys without a TTL (`allkeys-*`) refuses the start in production: the
 * gateway would otherwise lose closed buckets silently, and those older than upstream's 180 days
 * for good. In development it is a warning. The first verdict that reads the policy is the start
 * check, whenever it comes: if Redis was down at start, the first connection decides, and in
 * production an unsafe policy then calls `onUnsafeFirstVerdict` (the gateway's fatal-configuration
 * path: a clean close and exit 2), since an operator who starts Redis a moment after the gateway
 * must not get a gateway that would have refused to start a moment later. A change found after
 * that (a failover, a restarted Redis reconfigured) is logged as an error: the process keeps
 * serving, and `/readyz` says it.
 * A Redis that forbids `CONFIG` (managed services) cannot be checked: logged and shown, never
 * refused.
 */
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { checkEvictionPolicy, type EvictionPolicyVerdict } from '../cache/evictionPolicy';
import type { ConditionResult } from './observability/readiness';

export interface EvictionPolicyLogger {
  error(details: object, message: string): void;
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

export class UnsafeEvictionPolicyError extends Error {
  constructor(readonly policies: string[]) {
    super(unsafeMessage(policies));
    this.name = 'UnsafeEvictionPolicyError';
  }
}

export interface EvictionPolicyMonitorOptions {
  redis: Redis | Cluster;
  logger: EvictionPolicyLogger;
  /** Production refuses to start on an unsafe policy; elsewhere it is a warning. */
  production: boolean;
  timeoutMs: number;
  /**
   * Production only: the first verdict that read the policy came after the start (Redis was down
   * then) and is unsafe. Called once, instead of the error log: the refusal `start()` would have
   * thrown. Without it the verdict is logged as an error, like a later change.
   */
  onUnsafeFirstVerdict?: (error: UnsafeEvictionPolicyError) => void;
}

export class EvictionPolicyMonitor {
  private verdict: EvictionPolicyVerdict | undefined;
  /**
   * A verdict has read the policy (safe or unsafe). `unchecked` (CONFIG forbidden, a timeout, the
   * connection lost mid-check) does not settle it: the start check is still owed.
   */
  private settled = false;
  private lastLogged = '';
  private checking: Promise<EvictionPolicyVerdict> | undefined;
  private readonly onReady = () => {
    void this.check(false);
  };

  constructor(private readonly options: EvictionPolicyMonitorOptions) {}

  /**
   * Checks now if Redis is connected, and after every later `ready`. Rejects with
   * `UnsafeEvictionPolicyError` in production when a master may evict keys without a TTL.
   */
  async start(): Promise<void> {
    this.options.redis.on('ready', this.onReady);
    if (this.options.redis.status !== 'ready') return;
    const verdict = await this.check(true);
    if (verdict.state === 'unsafe' && this.options.production) {
      this.stop();
      throw new UnsafeEvictionPolicyError(verdict.unsafePolicies);
    }
  }

  stop(): void {
    this.options.redis.off('ready', this.onReady);
  }

  /** The latest verdict, as a `/readyz` condition. */
  condition(): ConditionResult {
    const verdict = this.verdict;
    if (!verdict) return { status: 'unchecked', reason: 'not checked yet: Redis has not been reachable' };
    switch (verdict.state) {
      case 'safe':
        return { status: 'ok', policies: verdict.policies };
      case 'unsafe':
        return {
          status: 'failing',
          policies: verdict.policies,
          reason: `maxmemory-policy ${verdict.unsafePolicies.join(', ')} may evict closed buckets (stored without TTL): set noeviction`,
        };
      case 'unchecked':
        return { status: 'unchecked', policies: verdict.policies, reason: verdict.reason };
    }
  }

  /** Resolves with the verdict; a check already running is shared. */
  check(atStart = false): Promise<EvictionPolicyVerdict> {
    this.checking ??= checkEvictionPolicy(this.options.redis, this.options.timeoutMs)
      .then((verdict) => {
        this.verdict = verdict;
        const first = !this.settled && verdict.state !== 'unchecked';
        if (first) this.settled = true;
        const { production, onUnsafeFirstVerdict } = this.options;
        if (first && !atStart && production && verdict.state === 'unsafe' && onUnsafeFirstVerdict) {
          // The start check, late: refused like at start (`start()` throws there), not just logged.
          this.lastLogged = JSON.stringify(verdict);
          this.stop();
          onUnsafeFirstVerdict(new UnsafeEvictionPolicyError(verdict.unsafePolicies));
          return verdict;
        }
        this.log(verdict, atStart);
        return verdict;
      })
      .finally(() => {
        this.checking = undefined;
      });
    return this.checking;
  }

  /** Logs a verdict when it differs from the last one logged (reconnects are not news). */
  private log(verdict: EvictionPolicyVerdict, atStart: boolean): void {
    const key = JSON.stringify(verdict);
    if (key === this.lastLogged) return;
    this.lastLogged = key;
    const { logger, production } = this.options;
    switch (verdict.state) {
      case 'safe':
        logger.info({ maxmemoryPolicy: verdict.policies }, 'Redis maxmemory-policy keeps closed buckets');
        return;
      case 'unchecked':
        logger.warn({ reason: verdict.reason }, 'Could not check Redis maxmemory-policy: make sure it is noeviction (or volatile-*)');
        return;
      case 'unsafe':
        // At start in production, the caller refuses to start with this message.
        if (atStart && production) return;
        if (production) logger.error({ maxmemoryPolicy: verdict.unsafePolicies }, unsafeMessage(verdict.unsafePolicies));
        else logger.warn({ maxmemoryPolicy: verdict.unsafePolicies }, unsafeMessage(verdict.unsafePolicies));
    }
  }
}

function unsafeMessage(policies: readonly string[]): string {
  return (
    `Redis maxmemory-policy is ${policies.join(', ')}: when memory runs out Redis evicts keys without a TTL, ` +
    'that is closed buckets, which are never refetched and after 180 days exist nowhere else. ' +
    'Set maxmemory-policy noeviction (or a volatile-* policy) on every master, e.g. CONFIG SET maxmemory-policy noeviction and in redis.conf, ' +
    'and size maxmemory for the data'
  );
}
