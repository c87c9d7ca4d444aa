/**
 * Resilience 4: one gateway (Redis of the test's own, built-in emulator) taken through every
 * fault in turn: warm and cold reads, 30% injected faults, a full upstream outage that opens the
 * circuit, recovery, a Redis outage and its end. /metrics, scraped as Prometheus would, shows
 * each counter move with the scenario that drives it.
 */
import { randomUUID } from 'node:crypto';
import type { Gateway } from '../../src/server/createGateway';
import { graphql } from '../helpers/gateway';
import { startRedisServer, type TestRedisServer } from '../helpers/redisServer';
import { DAY_MS, eventually, HOURLY_FIELD, readyz, resilienceGateway, scrape, setFailures, sleep, TODAY, type Scrape } from './support';

const RESET_MS = 300;

describe('/metrics across the resilience scenarios', () => {
  let redis: TestRedisServer;
  let g: Gateway | undefined;

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await g?.close();
    if (!redis.external) await redis.stop();
  });

  it('counts operations by outcome, upstream calls by code, retries, circuit transitions, cache hits and misses, Redis errors', async () => {
    if (redis.external) return; // the Redis phase stops the server
    g = await resilienceGateway(
      { REDIS_URL: redis.url, CIRCUIT_RESET_MS: String(RESET_MS), REDIS_COMMAND_TIMEOUT_MS: '200', UPSTREAM_CONCURRENCY: '1' },
      `test:${randomUUID()}:`,
    );
    const gateway = g;
    const scrapes: Record<string, Scrape> = { start: await scrape(gateway) };
    const delta = (from: string, to: string, name: string, labels: Record<string, string> = {}) =>
      scrapes[to].sum(name, labels) - scrapes[from].sum(name, labels);
    let day = 10;
    const cold = (alias: string, instanceId = 'ccc-demo-4') => {
      day += 2;
      return HOURLY_FIELD(alias, instanceId, TODAY - day * DAY_MS, TODAY - (day - 1) * DAY_MS);
    };

    // 1. Cold; the same document again (the response cache answers it); the range under another
    //    alias (a new document: the in-process tier); once more after emptying that tier (Redis).
    const range = ['ccc-demo-1', TODAY - 4 * DAY_MS, TODAY - 2 * DAY_MS] as const;
    const cachedField = HOURLY_FIELD('cached', ...range);
    expect((await graphql(gateway, `{ ${cachedField} }`)).errors).toBeUndefined();
    expect((await graphql(gateway, `{ ${cachedField} }`)).errors).toBeUndefined();
    expect((await graphql(gateway, `{ ${HOURLY_FIELD('again', ...range)} }`)).errors).toBeUndefined();
    gateway.memory.clear();
    expect((await graphql(gateway, `{ ${HOURLY_FIELD('fromRedis', ...range)} }`)).errors).toBeUndefined();
    scrapes.cache = await scrape(gateway);
    const buckets = 48;
    expect(delta('start', 'cache', 'ccc_gateway_cache_lookups_total', { tier: 'memory', result: 'miss' })).toBe(2 * buckets);
    expect(delta('start', 'cache', 'ccc_gateway_cache_lookups_total', { tier: 'memory', result: 'hit' })).toBe(buckets);
    expect(delta('start', 'cache', 'ccc_gateway_cache_lookups_total', { tier: 'redis', result: 'miss' })).toBe(buckets);
    expect(delta('start', 'cache', 'ccc_gateway_cache_lookups_total', { tier: 'redis', result: 'hit' })).toBe(buckets);
    expect(delta('start', 'cache', 'ccc_gateway_cache_writes_total', { interval: 'HOURLY', kind: 'final' })).toBe(buckets);
    expect(delta('start', 'cache', 'ccc_gateway_upstream_calls_total', { outcome: 'ok', code: 'OK' })).toBe(1);
    expect(delta('start', 'cache', 'ccc_gateway_operations_total', { outcome: 'ok' })).toBe(4);
    expect(delta('start', 'cache', 'ccc_gateway_operations_total', { operation: 'cached', outcome: 'ok' })).toBe(1);

    // 2. 30% injected faults (seed 2: no call exhausts its 3 attempts, see injectedFaults.test.ts).
    setFailures(gateway, 0.3, ['Throttling.User', 'ServiceUnavailable'], 2);
    gateway.emulator!.resetStats();
    for (let i = 0; i < 12; i++) expect((await graphql(gateway, `{ ${cold('f', `ccc-sim-metrics-${i}`)} }`)).errors).toBeUndefined();
    scrapes.faults = await scrape(gateway);
    const byCode = gateway.emulator!.stats.byCode;
    expect(delta('cache', 'faults', 'ccc_gateway_upstream_calls_total', { code: 'Throttling.User' })).toBe(byCode['Throttling.User']);
    expect(delta('cache', 'faults', 'ccc_gateway_upstream_calls_total', { code: 'ServiceUnavailable' })).toBe(byCode.ServiceUnavailable);
    expect(delta('cache', 'faults', 'ccc_gateway_upstream_retries_total')).toBe(byCode['Throttling.User'] + byCode.ServiceUnavailable);
    expect(delta('cache', 'faults', 'ccc_gateway_upstream_retries_total')).toBeGreaterThan(0);
    expect(delta('cache', 'faults', 'ccc_gateway_operations_total', { outcome: 'ok' })).toBe(12);

    // 3. Upstream down: a partial answer, then failures until the circuit opens.
    setFailures(gateway, 1, ['ServiceUnavailable']);
    const partial = await graphql(gateway, `{ ${cachedField} ${cold('fresh')} }`);
    expect(partial.data.cached).not.toBeNull();
    expect(partial.data.fresh).toBeNull();
    for (let i = 0; i < 10 && (await scrape(gateway)).sum('ccc_gateway_circuit_state') !== 2; i++) await graphql(gateway, `{ ${cold('down')} }`);
    const fastFail = await graphql(gateway, `{ ${cold('open')} }`);
    expect(fastFail.errors?.[0].extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    scrapes.down = await scrape(gateway);
    expect(scrapes.down.sum('ccc_gateway_circuit_state')).toBe(2);
    expect(delta('faults', 'down', 'ccc_gateway_operations_total', { outcome: 'partial' })).toBe(1);
    expect(delta('faults', 'down', 'ccc_gateway_operations_total', { outcome: 'UPSTREAM_UNAVAILABLE' })).toBeGreaterThanOrEqual(2);
    expect(delta('faults', 'down', 'ccc_gateway_upstream_calls_total', { outcome: 'error', code: 'ServiceUnavailable' })).toBeGreaterThanOrEqual(3);
    expect(delta('faults', 'down', 'ccc_gateway_upstream_retries_total', { code: 'ServiceUnavailable' })).toBeGreaterThan(0);
    expect(delta('faults', 'down', 'ccc_gateway_circuit_transitions_total', { to: 'open' })).toBe(1);
    // The fast failure never reached upstream; it is counted under its own code (or, if the
    // breaker had just half-opened, as one more ServiceUnavailable probe).
    expect(
      delta('faults', 'down', 'ccc_gateway_upstream_calls_total', { code: 'CIRCUIT_OPEN' }) +
        delta('faults', 'down', 'ccc_gateway_circuit_transitions_total', { to: 'half-open' }),
    ).toBeGreaterThan(0);
    expect((await readyz(gateway)).body.status).toBe('degraded');

    // 4. Recovery: half-open after RESET_MS, closed by the next successful call.
    setFailures(gateway, 0, ['ServiceUnavailable']);
    await sleep(RESET_MS + 200);
    expect((await graphql(gateway, `{ ${cold('back')} }`)).errors).toBeUndefined();
    scrapes.recovered = await scrape(gateway);
    expect(scrapes.recovered.sum('ccc_gateway_circuit_state')).toBe(0);
    expect(delta('down', 'recovered', 'ccc_gateway_circuit_transitions_total', { to: 'half-open' })).toBeGreaterThanOrEqual(1);
    expect(delta('down', 'recovered', 'ccc_gateway_circuit_transitions_total', { to: 'closed' })).toBe(1);
    expect((await readyz(gateway)).body.status).toBe('ready');

    // 5. Redis down: errors counted, health 0, operations still answered; then back.
    await redis.stop();
    for (let i = 0; i < 3; i++) expect((await graphql(gateway, `{ ${cold('noredis')} }`)).errors).toBeUndefined();
    scrapes.redisDown = await scrape(gateway);
    expect(delta('recovered', 'redisDown', 'ccc_gateway_redis_errors_total')).toBeGreaterThan(0);
    expect(scrapes.redisDown.sum('ccc_gateway_redis_healthy')).toBe(0);
    expect(delta('recovered', 'redisDown', 'ccc_gateway_operations_total', { outcome: 'ok' })).toBe(3);
    const degraded = await readyz(gateway);
    expect(degraded.body.status).toBe('degraded');
    expect(degraded.body.checks.redis.status).toBe('failing');

    await redis.restart();
    expect(
      await eventually(async () => {
        await graphql(gateway, `{ ${cold('redisback')} }`);
        return (await scrape(gateway)).sum('ccc_gateway_redis_healthy') === 1;
      }, 10_000, 100),
    ).toBe(true);
    scrapes.end = await scrape(gateway);
    expect((await readyz(gateway)).body.status).toBe('ready');

    // Over the whole run, every family moved.
    for (const [name, labels] of [
      ['ccc_gateway_operations_total', { outcome: 'ok' }],
      ['ccc_gateway_operations_total', { outcome: 'partial' }],
      ['ccc_gateway_operations_total', { outcome: 'UPSTREAM_UNAVAILABLE' }],
      ['ccc_gateway_operation_duration_seconds_count', {}],
      ['ccc_gateway_upstream_calls_total', { code: 'OK' }],
      ['ccc_gateway_upstream_calls_total', { code: 'Throttling.User' }],
      ['ccc_gateway_upstream_calls_total', { code: 'ServiceUnavailable' }],
      ['ccc_gateway_upstream_call_duration_seconds_count', {}],
      ['ccc_gateway_upstream_retries_total', {}],
      ['ccc_gateway_circuit_transitions_total', { to: 'open' }],
      ['ccc_gateway_circuit_transitions_total', { to: 'half-open' }],
      ['ccc_gateway_circuit_transitions_total', { to: 'closed' }],
      ['ccc_gateway_cache_lookups_total', { tier: 'memory', result: 'hit' }],
      ['ccc_gateway_cache_lookups_total', { tier: 'memory', result: 'miss' }],
      ['ccc_gateway_cache_lookups_total', { tier: 'redis', result: 'hit' }],
      ['ccc_gateway_cache_lookups_total', { tier: 'redis', result: 'miss' }],
      ['ccc_gateway_cache_writes_total', { kind: 'final' }],
      ['ccc_gateway_redis_errors_total', {}],
      ['ccc_gateway_dataloader_batch_size_count', {}],
    ] as [string, Record<string, string>][]) {
      expect([name, labels, delta('start', 'end', name, labels) > 0]).toEqual([name, labels, true]);
    }
    expect(scrapes.end.sum('ccc_gateway_circuit_state')).toBe(0);
    expect(scrapes.end.sum('ccc_gateway_redis_healthy')).toBe(1);
  });
});
