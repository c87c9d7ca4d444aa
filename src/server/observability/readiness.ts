/**
 * Liveness (`/healthz`) and readiness (`/readyz`).
 *
 * `/healthz` answers 200 `{"status":"ok"}` while the process runs and its event loop turns:
 * nothing it depends on can make it fail, so an orchestrator never restarts the gateway because
 * Redis or upstream is down (a restart would fix neither, and would empty the in-process cache).
 *
 * `/readyz` answers whether to send traffic here:
 *  - `ready` (200): every dependency answers.
 *  - `degraded` (200): the gateway answers, with less: Redis down (every replica reads and
 *    writes its own in-process tier, upstream takes more calls), or upstream failing (closed
 *    buckets are still served from the cache, forever: only ranges the cache lacks and open
 *    buckets fail). Taking a replica out of rotation would not help: every replica shares the
 *    same upstream and the same Redis, so all of them would go unready at once and nothing
 *    could be served, not even the cache.
 *  - `unavailable` (503): this replica cannot serve at all: it is shutting down (in-flight
 *    requests are drained, new ones should go elsewhere), or upstream is failing while the
 *    cache is disabled (then there is nothing to answer from).
 *
 * Conditions the gateway already knows without asking anyone (`conditions`: Redis full, an
 * eviction policy that may drop closed buckets) appear as checks of their own; a failing one
 * makes the gateway `degraded`, never `unavailable` (it still serves, and every replica shares
 * the same Redis), an `unchecked` one changes nothing. The upstream mode is shown as `upstream`,
 * with a warning when it is the emulator in production (started that way on purpose, with
 * CCC_EMULATOR=true, so readiness stays 200).
 *
 * Checks run concurrently and each is bounded by `timeoutMs`, so a hung dependency makes the
 * probe slow by at most that much, and a check that times out counts as failing. The upstream
 * check should be passive (see `passiveUpstreamProbe`): a probe that calls CCC every few seconds
 * per replica would spend the API's rate limit on health checks. Failure reasons are generic
 * (`timeout`, `ping failed`, ...): the endpoint is unauthenticated, so no host names or error
 * messages.
 */
import type { RequestHandler } from 'express';
import type { UpstreamHealth } from './metrics';

/** An error whose message is safe to show on `/readyz` (probes may throw it). */
export class ProbeFailure extends Error {}

export type ReadinessStatus = 'ready' | 'degraded' | 'unavailable';

export interface CheckResult {
  status: 'ok' | 'failing';
  latencyMs: number;
  reason?: string;
}

/** A condition known in process: `unchecked` when it could not be determined (e.g. CONFIG forbidden). */
export interface ConditionResult {
  status: 'ok' | 'failing' | 'unchecked';
  reason?: string;
  [detail: string]: unknown;
}

export interface Readiness {
  status: ReadinessStatus;
  /** Where answers come from: the real service (`aliyun`) or the built-in emulator (simulated data). */
  upstream?: 'emulator' | 'aliyun';
  warnings?: string[];
  checks: {
    redis?: CheckResult;
    upstream?: CheckResult;
    shutdown?: { status: 'ok' | 'failing'; reason?: string };
    [condition: string]: ConditionResult | CheckResult | { status: 'ok' | 'failing'; reason?: string } | undefined;
  };
}

export interface ReadinessOptions {
  /** The Redis tier: `healthy` from the store (false since a failed operation), `ping` on the client. */
  redis?: { readonly healthy: boolean; ping(): Promise<unknown> };
  /** Resolves when upstream is usable, rejects otherwise. */
  upstream?: { ping(): Promise<unknown> };
  /** Longest each check may take. */
  timeoutMs: number;
  /** True once the gateway is closing: readiness turns `unavailable`. */
  isShuttingDown?: () => boolean;
  /** False when the gateway runs without cache: then upstream failing means `unavailable`. Default true. */
  cacheEnabled?: boolean;
  /** In-process conditions, read at every probe (no I/O): each becomes a check of that name. */
  conditions?: () => Record<string, ConditionResult>;
  /** Shown as `upstream`; `warning` goes to `warnings`. */
  upstreamMode?: { mode: 'emulator' | 'aliyun'; warning?: string };
}

export function createReadinessCheck(options: ReadinessOptions): () => Promise<Readiness> {
  const cacheEnabled = options.cacheEnabled !== false;
  return async () => {
    if (options.isShuttingDown?.()) {
      return { status: 'unavailable', checks: { shutdown: { status: 'failing', reason: 'shutting down' } } };
    }
    const [redis, upstream] = await Promise.all([
      options.redis ? checkRedis(options.redis, options.timeoutMs) : undefined,
      options.upstream ? runCheck(() => options.upstream!.ping(), options.timeoutMs, 'upstream unavailable') : undefined,
    ]);
    const checks: Readiness['checks'] = {};
    if (redis) checks.redis = redis;
    if (upstream) checks.upstream = upstream;
    const conditions = options.conditions?.() ?? {};
    Object.assign(checks, conditions);
    let status: ReadinessStatus = 'ready';
    if (redis?.status === 'failing' || upstream?.status === 'failing') status = 'degraded';
    if (Object.values(conditions).some((condition) => condition.status === 'failing')) status = 'degraded';
    if (upstream?.status === 'failing' && !cacheEnabled) status = 'unavailable';
    const readiness: Readiness = { status, checks };
    if (options.upstreamMode) {
      readiness.upstream = options.upstreamMode.mode;
      if (options.upstreamMode.warning) readiness.warnings = [options.upstreamMode.warning];
    }
    return readiness;
  };
}

/** `GET /healthz`: 200 while the process runs. */
export function healthzHandler(): RequestHandler {
  return (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok' });
  };
}

/** `GET /readyz`: 200 for ready and degraded, 503 for unavailable, the checks in the body. */
export function readyzHandler(check: () => Promise<Readiness>): RequestHandler {
  return async (_req, res) => {
    let readiness: Readiness;
    try {
      readiness = await check();
    } catch {
      readiness = { status: 'unavailable', checks: {} };
    }
    res.setHeader('Cache-Control', 'no-store');
    res.status(readiness.status === 'unavailable' ? 503 : 200).json(readiness);
  };
}

/**
 * The Redis check input from the store and its client, reading `healthy` live (a plain object
 * literal `{ healthy: store.healthy }` would freeze the value at wiring time).
 */
export function redisProbe(store: { readonly healthy: boolean }, client: { ping(): Promise<unknown> }): NonNullable<ReadinessOptions['redis']> {
  return {
    get healthy() {
      return store.healthy;
    },
    ping: () => client.ping(),
  };
}

/**
 * An upstream check from the attempts the gateway already makes (no call of its own): failing
 * while the circuit breaker is open, or after `failuresBeforeDown` attempts in a row failed with
 * UPSTREAM_UNAVAILABLE or UPSTREAM_AUTH. Any answer from upstream, even an error about the
 * request (bad input, unknown instance, throttling), proves it reachable and resets the count.
 */
export function passiveUpstreamProbe(
  source: { upstreamHealth(): UpstreamHealth },
  failuresBeforeDown = 3,
): NonNullable<ReadinessOptions['upstream']> {
  return {
    async ping() {
      const health = source.upstreamHealth();
      if (health.circuit === 'open') throw new ProbeFailure('circuit open');
      if (health.consecutiveFailures >= failuresBeforeDown) throw new ProbeFailure('recent upstream attempts failed');
    },
  };
}

async function checkRedis(redis: NonNullable<ReadinessOptions['redis']>, timeoutMs: number): Promise<CheckResult> {
  const result = await runCheck(() => redis.ping(), timeoutMs, 'ping failed');
  // The store stays unhealthy from a failed operation until one succeeds, so a Redis that just
  // came back reads `degraded` until the next cache operation: harmless (still 200), and honest.
  if (result.status === 'ok' && !redis.healthy) return { ...result, status: 'failing', reason: 'recent cache operations failed' };
  return result;
}

async function runCheck(check: () => Promise<unknown>, timeoutMs: number, failureReason: string): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const latency = () => Math.round(performance.now() - started);
  try {
    const outcome = await Promise.race([
      Promise.resolve()
        .then(check)
        .then(() => 'ok' as const),
      timeout,
    ]);
    if (outcome === 'timeout') return { status: 'failing', latencyMs: latency(), reason: 'timeout' };
    return { status: 'ok', latencyMs: latency() };
  } catch (error) {
    // Only our own probes' messages are safe to show; a client library's may name hosts.
    const reason = error instanceof ProbeFailure ? error.message : failureReason;
    return { status: 'failing', latencyMs: latency(), reason };
  } finally {
    clearTimeout(timer);
  }
}
