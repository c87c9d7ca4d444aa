/**
 * Prometheus metrics of the gateway, in a registry of its own.
 *
 * Every gateway owns one `GatewayMetrics` (several gateways run in one test process, so nothing
 * here touches prom-client's global registry). The rest of the code records through the typed
 * methods below and never sees prom-client.
 *
 * Cardinality is bounded everywhere a label comes from outside: GraphQL operation names (callers
 * choose them), error codes in `extensions.code`, and upstream error codes. Each is sanitized and
 * capped in distinct values; beyond the cap, values fold into `other` (operations) or
 * `OTHER` (codes).
 *
 * Sources:
 *  - operations: `operationMetricsPlugin` (name, outcome, duration) and the operation's
 *    `PipelineTrace` (`recordTrace`: batch sizes, cache lookups per tier). The trace counts
 *    lookups exactly as the pipeline judges them (a stale open snapshot is a miss) but does not
 *    split them by interval: they are labelled `interval="unknown"` unless the trace carries a
 *    `byInterval` breakdown;
 *  - upstream attempts: `CccClient`'s `onAttempt` (`recordUpstreamAttempt`), its
 *    `onCircuitChange` (`recordCircuitState`);
 *  - cache writes: `ObservedMemoryBucketStore` (+ `observeSharedStore` so that buckets copied
 *    from Redis into memory are not counted as writes);
 *  - Redis errors and health: `observeRedisStore`, read when scraped;
 *  - upstream answers served although they break a roll-up assumption: `recordUpstreamAnomalies`
 *    (from `CccClient`'s `onAnswerAnomalies`).
 */
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BucketRef, BucketStore, BucketWrite } from '../../reports/BucketStore';
import { MemoryBucketStore } from '../../cache/MemoryBucketStore';
import type { StoredBucket, UpstreamInterval } from '../../reports/buckets';
import { ANOMALY_RULES, type AnomalyRule } from '../../reports/rollupAnomalies';
import type { CircuitState } from '../../upstream/CccClient';

export type { CircuitState, UpstreamInterval };
/** `ok`, `partial` (data and errors), or the first error's `extensions.code`. */
export type OperationOutcome = 'ok' | 'partial' | (string & {});

/** Per-interval cache counts of one operation, when the trace can tell intervals apart. */
export interface IntervalCacheCounts {
  /** Buckets looked up in the in-process tier. */
  bucketsRequested: number;
  memoryHits: number;
  /** Buckets looked up in the shared tier (Redis). */
  sharedLookups: number;
  sharedHits: number;
}

/** What `recordTrace` reads; `PipelineTrace` fits. */
export interface TraceLike {
  readonly batchSizes: readonly number[];
  readonly bucketsRequested: number;
  readonly memoryHits: number;
  /** Round trips to the shared tier. */
  readonly sharedReads: number;
  readonly sharedHits: number;
  /** Optional per-interval breakdown; without it cache lookups are labelled `interval="unknown"`. */
  readonly byInterval?: Partial<Record<UpstreamInterval, IntervalCacheCounts>>;
}

/** What `CccClient` hands to `onAttempt`. */
export interface UpstreamAttemptEvent {
  /** The same object for every attempt of one call (retries are recognized by it). */
  query?: object;
  attempt: number;
  durationMs: number;
  error?: { code: string; details?: Record<string, unknown> };
}

/** What readiness reads about upstream, from the attempts seen so far (no extra upstream calls). */
export interface UpstreamHealth {
  /** Attempts in a row that failed because upstream is unreachable or rejects the gateway itself. */
  consecutiveFailures: number;
  lastSuccessAt?: number;
  lastFailureAt?: number;
  lastFailureCode?: string;
  circuit: CircuitState;
}

/** What `observeRedisStore` reads; `RedisBucketStore` fits. */
export interface ObservableRedisStore {
  readonly healthy: boolean;
  /** True while Redis refuses writes for lack of memory. */
  readonly full?: boolean;
  readonly counters: { readonly errors: number; readonly writesRejectedOutOfMemory?: number };
}

export interface GatewayMetricsOptions {
  /** Process and Node.js metrics (`process_*`, `nodejs_*`). Default true. */
  defaultMetrics?: boolean;
  /** Distinct operation names kept before further ones become `other`. Default 200. */
  maxOperationNames?: number;
  /** Distinct error / upstream codes kept before further ones become `OTHER`. Default 50. */
  maxCodes?: number;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  /** The bounded label value for a GraphQL operation name (see `operationLabel`). */
  operationLabel(name: string | null | undefined): string;
  /** `seconds` undefined: counted, not timed (a request refused before it started). */
  recordOperation(name: string | null | undefined, outcome: OperationOutcome, seconds?: number): void;
  /** Batch sizes and cache lookups of one operation. `cacheEnabled: false` records batches only. */
  recordTrace(trace: TraceLike, options?: { interval?: UpstreamInterval; cacheEnabled?: boolean }): void;
  /** Fits `CccClientOptions.onAttempt` as is (a bound function). */
  readonly recordUpstreamAttempt: (event: UpstreamAttemptEvent) => void;
  /** Fits `CccClientOptions.onCircuitChange` as is (a bound function). */
  readonly recordCircuitState: (state: CircuitState) => void;
  /** Buckets fetched from upstream and written to the cache, per interval and final/open. */
  recordCacheWrites(writes: readonly Pick<BucketWrite, 'series' | 'value'>[]): void;
  recordRedisError(count?: number): void;
  recordRateLimited(): void;
  /** Fields refused because their caller's budget of upstream calls per minute was spent. */
  recordUpstreamBudgetRejected(): void;
  /** Background refreshes of open snapshots (stale-while-revalidate), by outcome. */
  recordBackgroundRefresh(outcome: 'ok' | 'failed'): void;
  /** Answer-cache lookups of answers holding open buckets (keyed by the resolved plan), by outcome. */
  recordOpenAnswerLookup(outcome: 'hit' | 'miss' | 'not_keyable'): void;
  /** Reads the upstream scheduler's limit, calls in flight and calls queued at every scrape. */
  observeUpstreamScheduler(scheduler: { readonly concurrencyLimit: number; readonly inFlight: number; readonly queued: number }): void;
  /** Findings of `findRollupAnomalies` in upstream answers that were served anyway, one per finding. */
  recordUpstreamAnomalies(rules: readonly AnomalyRule[]): void;
  /** Reads `counters`, `healthy` and `full` of a Redis store at every scrape. */
  observeRedisStore(store: ObservableRedisStore): void;
  /**
   * Wraps the shared tier so that buckets it returns, when the pipeline copies them into the
   * in-process tier, are not counted as cache writes. Pass-through otherwise.
   */
  observeSharedStore<T extends BucketStore | undefined>(store: T): T;
  /** True for a value the observed shared store returned (it is a copy, not a write). */
  cameFromSharedStore(value: StoredBucket): boolean;
  upstreamHealth(): UpstreamHealth;
  /** `GET /metrics`. */
  metricsHandler(): RequestHandler;
}

const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CODE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const CIRCUIT_VALUE: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** Seconds buckets: operations answer from memory in milliseconds, cold ranges take seconds. */
const OPERATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Upstream attempts: the default timeout per attempt is 10 s. */
const UPSTREAM_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20];
/** Keys per DataLoader batch: an operation's aliases and entity representations. */
const BATCH_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000];

/** Upstream failures that say "upstream cannot serve us", as opposed to "the caller asked badly". */
const OUTAGE_CODES = new Set(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_AUTH']);

/**
 * Keeps at most `max` distinct values; later ones fold into `overflow`. Values seen once stay
 * valid for the life of the process, so a series never changes its label.
 */
class BoundedLabels {
  private readonly seen = new Set<string>();
  constructor(
    private readonly max: number,
    private readonly overflow: string,
  ) {}

  get(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return this.overflow;
    this.seen.add(value);
    return value;
  }
}

/**
 * The GraphQL operation name as a label value, without the cap: truncated to 64 characters, and
 * `anonymous` unless it is a GraphQL name. Also used by request logging.
 */
export function sanitizeOperationName(name: string | null | undefined): string {
  if (typeof name !== 'string') return 'anonymous';
  const truncated = name.slice(0, 64);
  return OPERATION_NAME.test(truncated) ? truncated : 'anonymous';
}

export function createGatewayMetrics(options: GatewayMetricsOptions = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const operations = new Counter({
    name: 'ccc_gateway_operations_total',
    help: 'GraphQL operations by name and outcome (ok, partial, or the first error code)',
    labelNames: ['operation', 'outcome'] as const,
    registers,
  });
  const operationDuration = new Histogram({
    name: 'ccc_gateway_operation_duration_seconds',
    help: 'GraphQL operation duration, from request start to response',
    labelNames: ['operation'] as const,
    buckets: OPERATION_BUCKETS,
    registers,
  });
  const upstreamCalls = new Counter({
    name: 'ccc_gateway_upstream_calls_total',
    help: 'Upstream ListIntervalInstanceReport attempts (retries included) by outcome and upstream code',
    labelNames: ['outcome', 'code'] as const,
    registers,
  });
  const upstreamDuration = new Histogram({
    name: 'ccc_gateway_upstream_call_duration_seconds',
    help: 'Duration of one upstream attempt',
    labelNames: ['outcome'] as const,
    buckets: UPSTREAM_BUCKETS,
    registers,
  });
  const upstreamRetries = new Counter({
    name: 'ccc_gateway_upstream_retries_total',
    help: 'Upstream attempts that retried a failed one, by the code of the failure retried',
    labelNames: ['code'] as const,
    registers,
  });
  const circuitState = new Gauge({
    name: 'ccc_gateway_circuit_state',
    help: 'Upstream circuit breaker: 0 closed, 1 half-open, 2 open',
    registers,
  });
  const circuitTransitions = new Counter({
    name: 'ccc_gateway_circuit_transitions_total',
    help: 'Upstream circuit breaker transitions, by the state entered',
    labelNames: ['to'] as const,
    registers,
  });
  const cacheLookups = new Counter({
    name: 'ccc_gateway_cache_lookups_total',
    help: 'Bucket lookups per cache tier (memory, redis), upstream interval and result (hit, miss)',
    labelNames: ['tier', 'interval', 'result'] as const,
    registers,
  });
  const cacheWrites = new Counter({
    name: 'ccc_gateway_cache_writes_total',
    help: 'Buckets fetched from upstream and written to the cache, by interval and kind (final, open)',
    labelNames: ['interval', 'kind'] as const,
    registers,
  });
  const batchSize = new Histogram({
    name: 'ccc_gateway_dataloader_batch_size',
    help: 'Range keys per DataLoader batch of the report pipeline',
    buckets: BATCH_BUCKETS,
    registers,
  });
  const redisStores: (ObservableRedisStore & { lastErrors: number; lastRejectedOutOfMemory: number })[] = [];
  const redisErrors = new Counter({
    name: 'ccc_gateway_redis_errors_total',
    help: 'Failed or timed-out Redis cache operations, and undecodable cached values',
    registers,
    collect() {
      for (const store of redisStores) {
        const errors = store.counters.errors;
        if (errors > store.lastErrors) this.inc(errors - store.lastErrors);
        store.lastErrors = errors;
      }
    },
  });
  const rateLimited = new Counter({
    name: 'ccc_gateway_rate_limited_total',
    help: 'Requests rejected by the per-caller rate limit',
    registers,
  });
  const upstreamThrottled = new Counter({
    name: 'ccc_gateway_upstream_throttled_total',
    help: 'Upstream attempts answered with throttling (Throttling* codes): retried until the deadline, and the upstream concurrency backs off',
    registers,
  });
  const upstreamBudgetRejected = new Counter({
    name: 'ccc_gateway_upstream_budget_rejections_total',
    help: 'Operation batches refused (RATE_LIMITED) because the caller spent its budget of upstream calls per minute',
    registers,
  });
  const backgroundRefreshes = new Counter({
    name: 'ccc_gateway_open_refreshes_total',
    help: 'Background refreshes of open snapshots (stale-while-revalidate): ok, or failed (nothing stored, the snapshot is served until it is 2x CACHE_OPEN_TTL_MS old, retried after a backoff)',
    labelNames: ['outcome'] as const,
    registers,
  });
  const openAnswerLookups = new Counter({
    name: 'ccc_gateway_open_answer_cache_total',
    help: 'Requests looked up in the cache of answers holding open buckets (keyed by the resolved plan): hit, miss, or not_keyable (the document cannot be keyed safely)',
    labelNames: ['outcome'] as const,
    registers,
  });
  const upstreamAnomalies = new Counter({
    name: 'ccc_gateway_upstream_anomalies_total',
    help: 'Findings in served upstream answers that break a roll-up assumption (docs/rollups.md), by rule',
    labelNames: ['rule'] as const,
    registers,
  });

  circuitState.set(0);
  circuitTransitions.inc({ to: 'closed' }, 0);
  circuitTransitions.inc({ to: 'half-open' }, 0);
  circuitTransitions.inc({ to: 'open' }, 0);
  rateLimited.inc(0);
  upstreamThrottled.inc(0);
  upstreamBudgetRejected.inc(0);
  for (const rule of ANOMALY_RULES) upstreamAnomalies.inc({ rule }, 0);
  redisErrors.inc(0);

  const operationNames = new BoundedLabels(options.maxOperationNames ?? 200, 'other');
  const outcomes = new BoundedLabels(options.maxCodes ?? 50, 'OTHER');
  const upstreamCodes = new BoundedLabels(options.maxCodes ?? 50, 'OTHER');

  const operationLabel = (name: string | null | undefined) => {
    const clean = sanitizeOperationName(name);
    return clean === 'anonymous' ? clean : operationNames.get(clean);
  };
  const outcomeLabel = (outcome: string) => {
    if (outcome === 'ok' || outcome === 'partial') return outcome;
    return CODE.test(outcome) ? outcomes.get(outcome) : 'UNKNOWN_ERROR';
  };

  let currentCircuit: CircuitState = 'closed';
  const health: Omit<UpstreamHealth, 'circuit'> = { consecutiveFailures: 0 };
  /** Code of the last failed attempt per call (the query object), to label the retry that follows. */
  const lastFailure = new WeakMap<object, string>();
  const fromShared = new WeakSet<StoredBucket>();

  const recordUpstreamAttempt = (event: UpstreamAttemptEvent): void => {
    const outcome = event.error ? 'error' : 'ok';
    const code = event.error ? upstreamCodes.get(upstreamCodeOf(event.error)) : 'OK';
    upstreamCalls.inc({ outcome, code });
    if (event.error?.code === 'UPSTREAM_THROTTLED') upstreamThrottled.inc();
    upstreamDuration.observe({ outcome }, Math.max(0, event.durationMs) / 1000);
    if (event.attempt > 1) {
      const retried = (event.query && lastFailure.get(event.query)) ?? 'UNKNOWN';
      upstreamRetries.inc({ code: retried });
    }
    if (event.query) {
      if (event.error) lastFailure.set(event.query, code);
      else lastFailure.delete(event.query);
    }
    const now = Date.now();
    // A circuit rejection says nothing new about upstream (the circuit state is its own metric).
    if (event.error?.details?.circuit) return;
    if (event.error && OUTAGE_CODES.has(event.error.code)) {
      health.consecutiveFailures++;
      health.lastFailureAt = now;
      health.lastFailureCode = code;
    } else {
      // Success, or an answer that proves upstream is reachable (bad input, unknown instance,
      // throttling).
      health.consecutiveFailures = 0;
      if (!event.error) health.lastSuccessAt = now;
    }
  };

  const recordCircuitState = (state: CircuitState): void => {
    if (!(state in CIRCUIT_VALUE)) return;
    circuitState.set(CIRCUIT_VALUE[state]);
    if (state !== currentCircuit) circuitTransitions.inc({ to: state });
    currentCircuit = state;
  };

  const lookups = (tier: 'memory' | 'redis', interval: string, hits: number, total: number) => {
    if (hits > 0) cacheLookups.inc({ tier, interval, result: 'hit' }, hits);
    if (total - hits > 0) cacheLookups.inc({ tier, interval, result: 'miss' }, total - hits);
  };

  return {
    registry,
    operationLabel,

    recordOperation(name, outcome, seconds) {
      const operation = operationLabel(name);
      operations.inc({ operation, outcome: outcomeLabel(outcome) });
      if (seconds !== undefined) operationDuration.observe({ operation }, Math.max(0, seconds));
    },

    recordTrace(trace, traceOptions = {}) {
      for (const size of trace.batchSizes) batchSize.observe(size);
      if (traceOptions.cacheEnabled === false) return;
      if (trace.byInterval && Object.keys(trace.byInterval).length > 0) {
        for (const [interval, counts] of Object.entries(trace.byInterval)) {
          if (!counts) continue;
          lookups('memory', interval, counts.memoryHits, counts.bucketsRequested);
          lookups('redis', interval, counts.sharedHits, counts.sharedLookups);
        }
        return;
      }
      const interval = traceOptions.interval ?? 'unknown';
      lookups('memory', interval, trace.memoryHits, trace.bucketsRequested);
      // Every batch with memory misses reads the shared tier once, for exactly those misses; a
      // batch without misses does not read it. So with any shared read, the shared lookups of
      // the operation are all its memory misses.
      if (trace.sharedReads > 0) lookups('redis', interval, trace.sharedHits, trace.bucketsRequested - trace.memoryHits);
    },

    recordUpstreamAttempt,
    recordCircuitState,

    recordCacheWrites(writes) {
      for (const write of writes) {
        cacheWrites.inc({ interval: write.series.interval, kind: write.value.final ? 'final' : 'open' });
      }
    },

    recordRedisError(count = 1) {
      redisErrors.inc(count);
    },

    recordRateLimited() {
      rateLimited.inc();
    },

    recordUpstreamBudgetRejected() {
      upstreamBudgetRejected.inc();
    },

    recordBackgroundRefresh(outcome) {
      backgroundRefreshes.inc({ outcome });
    },

    recordOpenAnswerLookup(outcome) {
      openAnswerLookups.inc({ outcome });
    },

    observeUpstreamScheduler(scheduler) {
      new Gauge({
        name: 'ccc_gateway_upstream_concurrency_limit',
        help: 'Upstream calls allowed in flight now: UPSTREAM_CONCURRENCY, halved on throttling, recovering with successes',
        registers,
        collect() {
          this.set(scheduler.concurrencyLimit);
        },
      });
      new Gauge({
        name: 'ccc_gateway_upstream_in_flight_calls',
        help: 'Upstream calls holding a concurrency slot (retries and their backoff included)',
        registers,
        collect() {
          this.set(scheduler.inFlight);
        },
      });
      new Gauge({
        name: 'ccc_gateway_upstream_queued_calls',
        help: 'Upstream calls waiting for a slot (queued per caller, served round robin)',
        registers,
        collect() {
          this.set(scheduler.queued);
        },
      });
    },

    recordUpstreamAnomalies(rules) {
      // The rule set is fixed in code, so the label cannot grow from outside.
      for (const rule of rules) if ((ANOMALY_RULES as readonly string[]).includes(rule)) upstreamAnomalies.inc({ rule });
    },

    observeRedisStore(store) {
      // Registered with the first store: a gateway without Redis has no such series (an unset
      // gauge would read 0, "unhealthy").
      if (redisStores.length === 0) {
        new Gauge({
          name: 'ccc_gateway_redis_healthy',
          help: 'Redis cache tier: 1 healthy, 0 failing since its last failed operation',
          registers,
          collect() {
            this.set(redisStores.every((s) => s.healthy) ? 1 : 0);
          },
        });
        new Gauge({
          name: 'ccc_gateway_redis_full',
          help: 'Redis cache tier: 1 while Redis refuses writes for lack of memory (OOM under noeviction), else 0',
          registers,
          collect() {
            this.set(redisStores.some((s) => s.full) ? 1 : 0);
          },
        });
        const rejected = new Counter({
          name: 'ccc_gateway_cache_write_rejected_total',
          help: 'Buckets the Redis cache refused to store, by reason (oom: used memory above maxmemory under noeviction)',
          labelNames: ['reason'] as const,
          registers,
          collect() {
            for (const s of redisStores) {
              const total = s.counters.writesRejectedOutOfMemory ?? 0;
              if (total > s.lastRejectedOutOfMemory) this.inc({ reason: 'oom' }, total - s.lastRejectedOutOfMemory);
              s.lastRejectedOutOfMemory = total;
            }
          },
        });
        rejected.inc({ reason: 'oom' }, 0);
      }
      redisStores.push({
        get healthy() {
          return store.healthy;
        },
        get full() {
          return store.full;
        },
        get counters() {
          return store.counters;
        },
        lastErrors: store.counters.errors,
        lastRejectedOutOfMemory: store.counters.writesRejectedOutOfMemory ?? 0,
      });
    },

    observeSharedStore<T extends BucketStore | undefined>(store: T): T {
      if (!store) return store;
      const getMany = async (refs: readonly BucketRef[]) => {
        const values = await store.getMany(refs);
        for (const value of values) if (value) fromShared.add(value);
        return values;
      };
      // A proxy, not a new object: everything else the store has (leases, `healthy`, counters)
      // must stay visible, e.g. to the pipeline's `canLease`.
      return new Proxy(store, {
        get(target, property) {
          if (property === 'getMany') return getMany;
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    },

    cameFromSharedStore(value) {
      return fromShared.has(value);
    },

    upstreamHealth() {
      return { ...health, circuit: currentCircuit };
    },

    metricsHandler() {
      return async (_req, res) => {
        const body = await registry.metrics();
        res.setHeader('Content-Type', registry.contentType);
        res.setHeader('Cache-Control', 'no-store');
        res.end(body);
      };
    },
  };
}

/** The upstream's own code when it sent one; else the gateway's code (timeouts, network, parse). */
function upstreamCodeOf(error: { code: string; details?: Record<string, unknown> }): string {
  if (error.details?.circuit) return 'CIRCUIT_OPEN'; // open or half-open: the call never left the gateway
  const upstream = error.details?.upstreamCode;
  const code = typeof upstream === 'string' && upstream.length > 0 ? upstream : error.code;
  return CODE.test(code) ? code : 'UNKNOWN';
}

/**
 * The in-process tier, counting buckets written after an upstream fetch (`cache_writes_total`).
 * Copies of shared-tier buckets are not writes: pass the shared store through
 * `metrics.observeSharedStore` so they are recognized.
 */
export class ObservedMemoryBucketStore extends MemoryBucketStore {
  constructor(
    maxBuckets: number,
    private readonly metrics: Pick<GatewayMetrics, 'recordCacheWrites' | 'cameFromSharedStore'>,
  ) {
    super(maxBuckets);
  }

  override set(write: BucketWrite): void {
    super.set(write);
    if (!this.metrics.cameFromSharedStore(write.value)) this.metrics.recordCacheWrites([write]);
  }
}
