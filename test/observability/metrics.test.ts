import express from 'express';
import type { AddressInfo } from 'node:net';
import { canLease, type BucketRef, type BucketStore, type BucketWrite, type UpstreamLease } from '../../src/reports/BucketStore';
import { bucketId, type StoredBucket } from '../../src/reports/buckets';
import { GatewayError } from '../../src/reports/errors';
import { DAY_MS } from '../../src/reports/intervals';
import { PipelineTrace, ReportPipeline, type BucketRangeKey } from '../../src/reports/ReportPipeline';
import { createGatewayMetrics, ObservedMemoryBucketStore, type GatewayMetrics } from '../../src/server/observability/metrics';
import { FakeReportSource } from '../helpers/fakeReportSource';
import { parseExposition, type Exposition } from './promText';

const scrape = async (metrics: GatewayMetrics): Promise<Exposition> => parseExposition(await metrics.registry.metrics());

describe('gateway metrics', () => {
  it('counts operations by name and outcome, and observes their duration in histogram buckets', async () => {
    const metrics = createGatewayMetrics({ defaultMetrics: false });
    metrics.recordOperation('Dashboard', 'ok', 0.02);
    metrics.recordOperation('Dashboard', 'ok', 0.3);
    metrics.recordOperation('Dashboard', 'BAD_USER_INPUT', 0.001);
    metrics.recordOperation('Dashboard', 'partial', 1.2);
    const out = await scrape(metrics);

    expect(out.types.get('ccc_gateway_operations_total')).toBe('counter');
    expect(out.value('ccc_gateway_operations_total', { operation: 'Dashboard', outcome: 'ok' })).toBe(2);
    expect(out.value('ccc_gateway_operations_total', { operation: 'Dashboard', outcome: 'BAD_USER_INPUT' })).toBe(1);
    expect(out.value('ccc_gateway_operations_total', { operation: 'Dashboard', outcome: 'partial' })).toBe(1);

    expect(out.types.get('ccc_gateway_operation_duration_seconds')).toBe('histogram');
    const bucket = (le: string) => out.value('ccc_gateway_operation_duration_seconds_bucket', { operation: 'Dashboard', le });
    expect(bucket('0.005')).toBe(1);
    expect(bucket('0.025')).toBe(2);
    expect(bucket('0.5')).toBe(3);
    expect(bucket('2.5')).toBe(4);
    expect(bucket('+Inf')).toBe(4);
    expect(out.value('ccc_gateway_operation_duration_seconds_count', { operation: 'Dashboard' })).toBe(4);
    expect(out.value('ccc_gateway_operation_duration_seconds_sum', { operation: 'Dashboard' })).toBeCloseTo(1.521, 6);
    // Cumulative buckets never decrease.
    const les = out.find('ccc_gateway_operation_duration_seconds_bucket', { operation: 'Dashboard' }).map((s) => s.value);
    expect(les).toEqual([...les].sort((a, b) => a - b));
    expect(les.length).toBeGreaterThanOrEqual(10);
  });

  it('sanitizes operation names: truncated to 64 characters, anonymous unless a GraphQL name', async () => {
    const metrics = createGatewayMetrics({ defaultMetrics: false });
    const long = 'A'.repeat(100);
    metrics.recordOperation(long, 'ok', 0.01);
    metrics.recordOperation(null, 'ok', 0.01);
    metrics.recordOperation(undefined, 'ok', 0.01);
    metrics.recordOperation('', 'ok', 0.01);
    metrics.recordOperation('drop table; --', 'ok', 0.01);
    metrics.recordOperation('9lives', 'ok', 0.01);
    metrics.recordOperation('émoji', 'ok', 0.01);
    metrics.recordOperation('with"quote', 'weird code!', 0.01);
    const out = await scrape(metrics);
    expect(out.value('ccc_gateway_operations_total', { operation: 'A'.repeat(64), outcome: 'ok' })).toBe(1);
    expect(out.value('ccc_gateway_operations_total', { operation: 'anonymous', outcome: 'ok' })).toBe(6);
    expect(out.value('ccc_gateway_operations_total', { operation: 'anonymous', outcome: 'UNKNOWN_ERROR' })).toBe(1);
    const names = new Set(out.find('ccc_gateway_operations_total').map((s) => s.labels.operation));
    expect(names).toEqual(new Set(['A'.repeat(64), 'anonymous']));
  });

  it('caps distinct operation names at 200 (the rest are "other") and error codes at 50', async () => {
    const metrics = createGatewayMetrics({ defaultMetrics: false });
    for (let i = 0; i < 250; i++) metrics.recordOperation(`Op${i}`, 'ok', 0.01);
    metrics.recordOperation('Op5', 'ok', 0.01); // seen before the cap: keeps its own series
    metrics.recordOperation('Late', 'ok', 0.01);
    for (let i = 0; i < 60; i++) metrics.recordOperation('Op0', `CODE_${i}`, 0.01);
    const out = await scrape(metrics);

    const names = new Set(out.find('ccc_gateway_operations_total').map((s) => s.labels.operation));
    expect(names.size).toBe(201);
    expect(names.has('other')).toBe(true);
    expect(names.has('Late')).toBe(false);
    expect(out.value('ccc_gateway_operations_total', { operation: 'other', outcome: 'ok' })).toBe(51);
    expect(out.value('ccc_gateway_operations_total', { operation: 'Op5', outcome: 'ok' })).toBe(2);
    expect(out.sum('ccc_gateway_operations_total')).toBe(252 + 60);
    expect(new Set(out.find('ccc_gateway_operation_duration_seconds_count').map((s) => s.labels.operation)).size).toBe(201);

    const outcomes = new Set(out.find('ccc_gateway_operations_total', { operation: 'Op0' }).map((s) => s.labels.outcome));
    expect(outcomes.size).toBe(1 + 50 + 1); // ok, 50 codes, OTHER
    expect(out.value('ccc_gateway_operations_total', { operation: 'Op0', outcome: 'OTHER' })).toBe(10);
    expect(metrics.operationLabel('Op7')).toBe('Op7');
    expect(metrics.operationLabel('Brand_New')).toBe('other');
  });

  it('keeps each gateway in its own registry, with process metrics', async () => {
    const a = createGatewayMetrics();
    const b = createGatewayMetrics();
    a.recordOperation('OnlyA', 'ok', 0.01);
    const [outA, outB] = await Promise.all([scrape(a), scrape(b)]);
    expect(outA.value('ccc_gateway_operations_total', { operation: 'OnlyA', outcome: 'ok' })).toBe(1);
    expect(outB.find('ccc_gateway_operations_total')).toHaveLength(0);
    for (const out of [outA, outB]) {
      expect(out.find('process_cpu_user_seconds_total').length).toBe(1);
      expect(out.find('nodejs_heap_size_used_bytes').length).toBe(1);
    }
  });

  it('counts upstream attempts per outcome and code, retries by the code retried, and durations', async () => {
    const metrics = createGatewayMetrics({ defaultMetrics: false });
    const throttled = new GatewayError('UPSTREAM_THROTTLED', 'slow down', { upstreamCode: 'Throttling.User', upstreamRequestId: 'r-1' });
    const unavailable = new GatewayError('UPSTREAM_UNAVAILABLE', 'timeout (ETIMEDOUT)');
    const circuit = new GatewayError('UPSTREAM_UNAVAILABLE', 'circuit open', { circuit: 'open' });
    const query = { instanceId: 'ccc-test', interval: 'HOURLY', startTime: 0, endTime: 1 };
    // One call: throttled, unavailable, then answered.
    metrics.recordUpstreamAttempt({ query, attempt: 1, durationMs: 40, error: throttled });
    metrics.recordUpstreamAttempt({ query, attempt: 2, durationMs: 10_000, error: unavailable });
    metrics.recordUpstreamAttempt({ query, attempt: 3, durationMs: 120 });
    // Another call, first attempt answered.
    metrics.recordUpstreamAttempt({ query: { ...query }, attempt: 1, durationMs: 80 });
    // A call refused by the open circuit.
    metrics.recordUpstreamAttempt({ query: { ...query }, attempt: 1, durationMs: 0.1, error: circuit });
    const out = await scrape(metrics);

    expect(out.value('ccc_gateway_upstream_calls_total', { outcome: 'ok', code: 'OK' })).toBe(2);
    expect(out.value('ccc_gateway_upstream_calls_total', { outcome: 'error', code: 'Throttling.User' })).toBe(1);
    expect(out.value('ccc_gateway_upstream_calls_total', { outcome: 'error', code: 'UPSTREAM_UNAVAILABLE' })).toBe(1);
    expect(out.value('ccc_gateway_upstream_calls_total', { outcome: 'error', code: 'CIRCUIT_OPEN' })).toBe(1);
    expect(out.value('ccc_gateway_upstream_retries_total', { code: 'Throttling.User' })).toBe(1);
    expect(out.value('ccc_gateway_upstream_retries_total', { code: 'UPSTREAM_UNAVAILABLE' })).toBe(1);
    expect(out.sum('ccc_gateway_upstream_retries_total')).toBe(2);

    expect(out.types.get('ccc_gateway_upstream_call_duration_seconds')).toBe('histogram');
    expect(out.value('ccc_gateway_upstream_call_duration_seconds_bucket', { outcome: 'ok', le: '0.1' })).toBe(1);
    expect(out.value('ccc_gateway_upstream_call_duration_seconds_bucket', { outcome: 'ok', le: '0.25' })).toBe(2);
    expect(out.value('ccc_gateway_upstream_call_duration_seconds_bucket', { outcome: 'error', le: '5' })).toBe(2);
    expect(out.value('ccc_gateway_upstream_call_duration_seconds_bucket', { outcome: 'error', le: '10' })).toBe(3);
    expect(out.value('ccc_gateway_upstream_call_duration_seconds_sum', { outcome: 'error' })).toBeCloseTo(10.0401, 6);
  });

  it('caps distinct upstream codes and refuses odd ones', async () => {
    const metrics = createGatewayMetrics({ defaultMetrics: false, maxCodes: 3 });
    for (const code of ['A.1', 'A.2', 'A.3', 'A.4', 'A.5', 'bad code with spaces']) {
      metrics.recordUpstreamAttempt({ attempt: 1, durationMs: 1, error: new GatewayError('UPSTREAM_ERROR', 'x', { upstreamCode: code }) });
    }
    const out = await scrape(metrics);
    const codes = out.find('ccc_gateway_upstream_calls_total', { outcome: 'error' }).map((s) => s.labels.code);
    expect(new Set(codes)).toEqual(new Set(['A.1', 'A.2', 'A.3', 'OTHER']));
    expect(out.value('ccc_gateway_upstream_calls_total', { outcome: 'error', code: 'OTHER' })).toBe(3);
  });

  it('tracks upstream health from attempts: outages count, answers about the request reset', () => {
    const metrics = createGatewayMetrics({ defaultMetrics: false });
    const down = new GatewayError('UPSTREAM_UNAVAILABLE', 'down');
    expect(metrics.upstreamHealth()).toEqual({ consecutiveFailures: 0, circuit: 'closed' });
    metrics.recordUpstreamAttempt({ attempt: 1, durationMs: 1, error: down });
    metrics.recordUpstreamAttempt({ attempt: 1, durationMs: 1, error: new GatewayError('UPSTREAM_AUTH', 'key', { upstreamCode: 'InvalidAccessKeyId.NotFound' }) });
    expect(metrics.upstreamHealth()).toMatchObject({ consecutiveFailures: 2, lastFailureCode: 'InvalidAccessKeyId.NotFound' });
    metrics.recordUpstreamAttempt({ attempt: 1, durationMs: 1, error: new GatewayError('NOT_FOUND', 'no such instance', { upstreamCode: 'NotExists.InstanceId' }) });
    expect(metrics.upstreamHealth().consecutiveFailures).toBe(0);
    metrics.recordUpstreamAttempt({ attempt: 1, durationMs: 1, error: down });
    metrics.recordUpstreamAttempt({ attempt: 1, durationMs: 1 });
    const health = metrics.upstreamHealth();
    expect(health.consecutiveFailures).toBe(0);
    expect(health.lastSuccessAt).toBeGreaterThan(0);
  });

  it('shows the circuit state as a gauge and counts transitions', async () => {
    const metrics = createGatewayMetrics({ defaultMetrics: false });
    let out = await scrape(metrics);
    expect(out.types.get('ccc_gateway_circuit_state')).toBe('gauge');
    expect(out.value('ccc_gateway_circuit_state')).toBe(0);
    expect(out.value('ccc_gateway_circuit_transitions_total', { to: 'open' })).toBe(0);

    metrics.recordCircuitState('open');
    out = await scrape(metrics);
    expect(out.value('ccc_gateway_circuit_state')).toBe(2);
    metrics.recordCircuitState('open'); // no transition
    metrics.recordCircuitState('half-open');
    out = await scrape(metrics);
    expect(out.value('ccc_gateway_circuit_state')).toBe(1);
    metrics.recordCircuitState('closed');
    out = await scrape(metrics);
    expect(out.value('ccc_gateway_circuit_state')).toBe(0);
    expect(out.value('ccc_gateway_circuit_transitions_total', { to: 'open' })).toBe(1);
    expect(out.value('ccc_gateway_circuit_transitions_total', { to: 'half-open' })).toBe(1);
    expect(out.value('ccc_gateway_circuit_transitions_total', { to: 'closed' })).toBe(1);
    expect(metrics.upstreamHealth().circuit).toBe('closed');
  });

  it('counts rate-limited requests and Redis errors (recorded, and read from a store at scrape)', async () => {
    const metrics = createGatewayMetrics({ defaultMetrics: false });
    let out = await scrape(metrics);
    expect(out.value('ccc_gateway_rate_limited_total')).toBe(0);
    expect(out.value('ccc_gateway_redis_errors_total')).toBe(0);
    expect(out.find('ccc_gateway_redis_healthy')).toHaveLength(0);

    const store = { healthy: true, counters: { errors: 4 } };
    metrics.observeRedisStore(store); // errors before observation are not this registry's
    metrics.recordRateLimited();
    metrics.recordRateLimited();
    metrics.recordRedisError();
    store.counters.errors = 7;
    store.healthy = false;
    out = await scrape(metrics);
    expect(out.value('ccc_gateway_rate_limited_total')).toBe(2);
    expect(out.value('ccc_gateway_redis_errors_total')).toBe(1 + 3);
    expect(out.value('ccc_gateway_redis_healthy')).toBe(0);
    store.healthy = true;
    out = await scrape(metrics);
    expect(out.value('ccc_gateway_redis_errors_total')).toBe(4); // no double counting across scrapes
    expect(out.value('ccc_gateway_redis_healthy')).toBe(1);
  });

  it('serves the registry on /metrics with its content type', async () => {
    const metrics = createGatewayMetrics();
    metrics.recordOperation('Served', 'ok', 0.01);
    const app = express();
    app.get('/metrics', metrics.metricsHandler());
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(metrics.registry.contentType);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const out = parseExposition(await response.text());
      expect(out.value('ccc_gateway_operations_total', { operation: 'Served', outcome: 'ok' })).toBe(1);
      expect(out.find('process_resident_memory_bytes').length + out.find('process_cpu_seconds_total').length).toBeGreaterThan(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/** A shared tier in process (stands in for Redis: same interface, keeps values as given). */
class MapBucketStore implements BucketStore {
  readonly values = new Map<string, StoredBucket>();
  async getMany(refs: readonly BucketRef[]) {
    return refs.map((ref) => this.values.get(bucketId(ref.series, ref.statsTime)));
  }
  async setMany(writes: readonly BucketWrite[]) {
    for (const write of writes) this.values.set(bucketId(write.series, write.statsTime), write.value);
  }
}

describe('gateway metrics from a real report pipeline', () => {
  const NOW = Date.UTC(2026, 10, 26, 3, 30);
  const dayStart = Date.UTC(2026, 10, 26);
  // 24 closed hours of yesterday, 00..02 today closed and settled, 03:00 open: 28 buckets.
  const hourly: BucketRangeKey = { instanceId: 'ccc-a', interval: 'HOURLY', zone: 'UTC', start: dayStart - DAY_MS, end: NOW };
  // Three closed days.
  const daily: BucketRangeKey = { instanceId: 'ccc-a', interval: 'DAILY', zone: 'UTC', start: dayStart - 3 * DAY_MS, end: dayStart };

  function pipelineWith(metrics: GatewayMetrics, shared: BucketStore | undefined, source = new FakeReportSource()) {
    const memory = new ObservedMemoryBucketStore(10_000, metrics);
    const pipeline = new ReportPipeline({
      source,
      memory,
      shared: metrics.observeSharedStore(shared),
      now: () => NOW,
      settleDelayMs: 10 * 60_000,
      openTtlMs: 30_000,
      upstreamConcurrency: 4,
    });
    return { pipeline, memory };
  }

  async function operation(pipeline: ReportPipeline, metrics: GatewayMetrics) {
    const trace = new PipelineTrace();
    const loader = pipeline.createLoader(trace);
    await Promise.all([loader.load(hourly), loader.load(daily)]);
    metrics.recordTrace(trace);
    return trace;
  }

  it('counts lookups per tier from the trace, writes per interval and kind, and batch sizes', async () => {
    const metrics = createGatewayMetrics({ defaultMetrics: false });
    const redis = new MapBucketStore();
    const replicaA = pipelineWith(metrics, redis);
    const cold = await operation(replicaA.pipeline, metrics);
    expect(cold).toMatchObject({ batches: 1, batchSizes: [2], bucketsRequested: 31, memoryHits: 0, sharedReads: 1, sharedHits: 0 });
    let out = await scrape(metrics);
    expect(out.sum('ccc_gateway_cache_lookups_total', { tier: 'memory', result: 'miss' })).toBe(31);
    expect(out.sum('ccc_gateway_cache_lookups_total', { tier: 'redis', result: 'miss' })).toBe(31);
    expect(out.find('ccc_gateway_cache_lookups_total', { result: 'hit' })).toHaveLength(0);
    expect(out.value('ccc_gateway_cache_writes_total', { interval: 'HOURLY', kind: 'final' })).toBe(27);
    expect(out.value('ccc_gateway_cache_writes_total', { interval: 'HOURLY', kind: 'open' })).toBe(1);
    expect(out.value('ccc_gateway_cache_writes_total', { interval: 'DAILY', kind: 'final' })).toBe(3);
    expect(out.types.get('ccc_gateway_dataloader_batch_size')).toBe('histogram');
    expect(out.value('ccc_gateway_dataloader_batch_size_bucket', { le: '1' })).toBe(0);
    expect(out.value('ccc_gateway_dataloader_batch_size_bucket', { le: '2' })).toBe(1);
    expect(out.value('ccc_gateway_dataloader_batch_size_count')).toBe(1);

    // Another replica: everything comes from Redis; copying into its memory is not a write.
    const replicaB = pipelineWith(metrics, redis);
    const fromRedis = await operation(replicaB.pipeline, metrics);
    expect(fromRedis).toMatchObject({ memoryHits: 0, sharedHits: 31, upstreamCalls: 0 });
    // The first replica again: all from memory, Redis not asked.
    const warm = await operation(replicaA.pipeline, metrics);
    expect(warm).toMatchObject({ memoryHits: 31, sharedReads: 0 });
    out = await scrape(metrics);
    expect(out.sum('ccc_gateway_cache_lookups_total', { tier: 'memory', result: 'hit' })).toBe(31);
    expect(out.sum('ccc_gateway_cache_lookups_total', { tier: 'memory', result: 'miss' })).toBe(62);
    expect(out.sum('ccc_gateway_cache_lookups_total', { tier: 'redis', result: 'hit' })).toBe(31);
    expect(out.sum('ccc_gateway_cache_lookups_total', { tier: 'redis', result: 'miss' })).toBe(31);
    expect(out.sum('ccc_gateway_cache_writes_total')).toBe(31);
    expect(out.value('ccc_gateway_dataloader_batch_size_count')).toBe(3);
  });

  it('without a shared tier: memory lookups only, every upstream bucket written once', async () => {
    const metrics = createGatewayMetrics({ defaultMetrics: false });
    const { pipeline } = pipelineWith(metrics, undefined);
    await operation(pipeline, metrics);
    await operation(pipeline, metrics);
    const out = await scrape(metrics);
    expect(out.find('ccc_gateway_cache_lookups_total', { tier: 'redis' })).toHaveLength(0);
    expect(out.sum('ccc_gateway_cache_lookups_total', { tier: 'memory', result: 'miss' })).toBe(31);
    expect(out.sum('ccc_gateway_cache_lookups_total', { tier: 'memory', result: 'hit' })).toBe(31);
    expect(out.sum('ccc_gateway_cache_writes_total')).toBe(31);
  });

  it('observing the shared store keeps everything else it offers (leases, getters, private state)', async () => {
    class LeasingStore extends MapBucketStore {
      #leases = new Set<string>();
      get healthy() {
        return this.#leases.size < 10;
      }
      async acquireLease(lease: UpstreamLease) {
        const key = `${lease.instanceId}|${lease.startTime}`;
        if (this.#leases.has(key)) return false;
        this.#leases.add(key);
        return true;
      }
      async releaseLease(lease: UpstreamLease) {
        this.#leases.delete(`${lease.instanceId}|${lease.startTime}`);
      }
    }
    const metrics = createGatewayMetrics({ defaultMetrics: false });
    const inner = new LeasingStore();
    const observed = metrics.observeSharedStore(inner);
    expect(canLease(observed)).toBe(true);
    const lease = { instanceId: 'ccc-a', interval: 'HOURLY', zone: 'UTC', startTime: 0, endTime: 1 };
    expect(await observed.acquireLease(lease)).toBe(true);
    expect(await observed.acquireLease(lease)).toBe(false);
    await observed.releaseLease(lease);
    expect(await inner.acquireLease(lease)).toBe(true);
    expect(observed.healthy).toBe(true);
    const value: StoredBucket = { data: null, final: true };
    await observed.setMany([{ series: hourly, statsTime: 0, value }]);
    expect(metrics.cameFromSharedStore(value)).toBe(false);
    expect(await observed.getMany([{ series: hourly, statsTime: 0 }])).toEqual([value]);
    expect(metrics.cameFromSharedStore(value)).toBe(true);
    expect(metrics.observeSharedStore(undefined)).toBeUndefined();
  });

  it('records batches only when the cache is disabled, and uses an interval breakdown when the trace has one', async () => {
    const metrics = createGatewayMetrics({ defaultMetrics: false });
    metrics.recordTrace({ batchSizes: [3, 700], bucketsRequested: 10, memoryHits: 0, sharedReads: 0, sharedHits: 0 }, { cacheEnabled: false });
    metrics.recordTrace(
      {
        batchSizes: [],
        bucketsRequested: 12,
        memoryHits: 5,
        sharedReads: 1,
        sharedHits: 4,
        byInterval: {
          HOURLY: { bucketsRequested: 10, memoryHits: 5, sharedLookups: 5, sharedHits: 3 },
          DAILY: { bucketsRequested: 2, memoryHits: 0, sharedLookups: 2, sharedHits: 1 },
        },
      },
    );
    metrics.recordTrace({ batchSizes: [1], bucketsRequested: 4, memoryHits: 4, sharedReads: 0, sharedHits: 0 }, { interval: 'DAILY' });
    const out = await scrape(metrics);
    expect(out.value('ccc_gateway_dataloader_batch_size_bucket', { le: '5' })).toBe(2);
    expect(out.value('ccc_gateway_dataloader_batch_size_bucket', { le: '500' })).toBe(2);
    expect(out.value('ccc_gateway_dataloader_batch_size_bucket', { le: '1000' })).toBe(3);
    const lookup = (tier: string, interval: string, result: string) => out.value('ccc_gateway_cache_lookups_total', { tier, interval, result });
    expect(lookup('memory', 'HOURLY', 'hit')).toBe(5);
    expect(lookup('memory', 'HOURLY', 'miss')).toBe(5);
    expect(lookup('redis', 'HOURLY', 'hit')).toBe(3);
    expect(lookup('redis', 'HOURLY', 'miss')).toBe(2);
    expect(lookup('memory', 'DAILY', 'miss')).toBe(2);
    expect(lookup('memory', 'DAILY', 'hit')).toBe(4);
    expect(lookup('redis', 'DAILY', 'hit')).toBe(1);
    expect(lookup('redis', 'DAILY', 'miss')).toBe(1);
    expect(out.find('ccc_gateway_cache_lookups_total', { interval: 'unknown' })).toHaveLength(0);
  });
});
