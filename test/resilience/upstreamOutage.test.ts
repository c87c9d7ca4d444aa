/**
 * Resilience 2: upstream fully down (every call answered `ServiceUnavailable`) after some ranges
 * were cached in Redis.
 *
 *  - an operation mixing a cached closed range and an uncached one answers the cached alias and,
 *    for the other, `null` plus an UPSTREAM_UNAVAILABLE error on its path (never a short series);
 *  - the circuit opens (/metrics `ccc_gateway_circuit_state 2`), and from then on upstream sees
 *    only the half-open probes: the operations fail fast;
 *  - /readyz says `degraded` (200) while upstream is down, `ready` once it is back;
 *  - after recovery and CIRCUIT_RESET_MS the breaker half-opens, the next call closes it and the
 *    data is served.
 */
import { randomUUID } from 'node:crypto';
import type { Gateway } from '../../src/server/createGateway';
import { graphql } from '../helpers/gateway';
import { startRedisServer, type TestRedisServer } from '../helpers/redisServer';
import { DAY_MS, HOURLY_FIELD, readyz, resilienceGateway, scrape, setFailures, sleep, TODAY } from './support';

const RESET_MS = 300;

describe('upstream down: cached data still served, circuit opens and closes', () => {
  let redis: TestRedisServer;
  let g: Gateway;

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await g?.close();
    if (!redis.external) await redis.stop();
  });

  it('serves the cached alias, nulls the uncached one with UPSTREAM_UNAVAILABLE, fails fast while open, recovers', async () => {
    g = await resilienceGateway({ REDIS_URL: redis.url, CIRCUIT_RESET_MS: String(RESET_MS), REDIS_COMMAND_TIMEOUT_MS: '300' }, `test:${randomUUID()}:`);
    const emulator = g.emulator!;
    const calls = () => emulator.stats.callsReceived;

    const cachedField = HOURLY_FIELD('cached', 'ccc-demo-1', TODAY - 5 * DAY_MS, TODAY - 2 * DAY_MS);
    const freshField = HOURLY_FIELD('fresh', 'ccc-demo-2', TODAY - 5 * DAY_MS, TODAY - 2 * DAY_MS);
    const warm = await graphql(g, `{ ${cachedField} }`);
    expect(warm.errors).toBeUndefined();
    expect(warm.data.cached.length).toBeGreaterThan(0);
    expect(calls()).toBe(1);
    // From now on the cached range comes from Redis, not from this process's memory.
    g.memory.clear();

    // Upstream goes down.
    setFailures(g, 1, ['ServiceUnavailable']);
    const mixed = await graphql(g, `{ ${cachedField} ${freshField} }`);
    expect(mixed.data.cached).toEqual(warm.data.cached);
    expect(mixed.data.fresh).toBeNull();
    expect(mixed.errors).toHaveLength(1);
    expect(mixed.errors![0].path).toEqual(['fresh']);
    expect(mixed.errors![0].extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamCode: 'ServiceUnavailable' });
    expect(calls()).toBe(1 + 3); // the uncached range: UPSTREAM_MAX_ATTEMPTS attempts, nothing for the cached one

    // More failing calls until the breaker opens (>50% of at least 10 attempts failed).
    let opened = false;
    for (let i = 0; i < 10 && !opened; i++) {
      const answer = await graphql(g, `{ ${HOURLY_FIELD('down', 'ccc-demo-3', TODAY - (20 + i) * DAY_MS, TODAY - (19 + i) * DAY_MS)} }`);
      expect(answer.data.down).toBeNull();
      expect(answer.errors![0].extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      opened = (await scrape(g)).sum('ccc_gateway_circuit_state') === 2;
    }
    expect(opened).toBe(true);
    const atOpen = await scrape(g);
    expect(atOpen.sum('ccc_gateway_circuit_transitions_total', { to: 'open' })).toBe(1);

    const down = await readyz(g);
    expect(down.httpStatus).toBe(200);
    expect(down.body.status).toBe('degraded');
    expect(down.body.checks.upstream.status).toBe('failing');
    expect(down.body.checks.redis.status).toBe('ok');

    // While open: operations fail fast. The only calls reaching upstream are the probes of the
    // half-open states (one each, every RESET_MS).
    const callsBefore = calls();
    const halfOpensBefore = atOpen.sum('ccc_gateway_circuit_transitions_total', { to: 'half-open' });
    let operations = 0;
    let fastFailures = 0;
    const until = Date.now() + 4 * RESET_MS;
    while (Date.now() < until) {
      const answer = await graphql(g, `{ ${cachedField} ${freshField} }`);
      operations++;
      expect(answer.data.cached).toEqual(warm.data.cached);
      expect(answer.data.fresh).toBeNull();
      expect(answer.errors).toHaveLength(1);
      expect(answer.errors![0]).toMatchObject({ path: ['fresh'], extensions: { code: 'UPSTREAM_UNAVAILABLE' } });
      if (answer.errors![0].extensions?.circuit === 'open') fastFailures++;
      g.memory.clear();
    }
    const duringOpen = await scrape(g);
    const probes = duringOpen.sum('ccc_gateway_circuit_transitions_total', { to: 'half-open' }) - halfOpensBefore;
    const upstreamCallsWhileOpen = calls() - callsBefore;
    expect(operations).toBeGreaterThanOrEqual(10);
    expect(fastFailures).toBeGreaterThan(0);
    expect(upstreamCallsWhileOpen).toBeLessThanOrEqual(probes);
    expect(upstreamCallsWhileOpen).toBeLessThan(operations / 2);
    expect(duringOpen.sum('ccc_gateway_upstream_calls_total', { code: 'CIRCUIT_OPEN' })).toBeGreaterThan(0);
    expect((await readyz(g)).body.status).toBe('degraded');

    // Upstream recovers; after RESET_MS the breaker is half-open and lets one call through.
    setFailures(g, 0, ['ServiceUnavailable']);
    await sleep(RESET_MS + 200);
    expect((await scrape(g)).sum('ccc_gateway_circuit_state')).toBe(1);
    const callsAtRecovery = calls();
    const recovered = await graphql(g, `{ ${freshField} }`);
    expect(recovered.errors).toBeUndefined();
    expect(recovered.data.fresh.length).toBeGreaterThan(0);
    expect(calls()).toBe(callsAtRecovery + 1);

    const after = await scrape(g);
    expect(after.sum('ccc_gateway_circuit_state')).toBe(0);
    expect(after.sum('ccc_gateway_circuit_transitions_total', { to: 'half-open' })).toBeGreaterThan(halfOpensBefore);
    expect(after.sum('ccc_gateway_circuit_transitions_total', { to: 'closed' })).toBe(1);

    const both = await graphql(g, `{ ${cachedField} ${freshField} }`);
    expect(both.errors).toBeUndefined();
    expect(both.data).toEqual({ cached: warm.data.cached, fresh: recovered.data.fresh });

    const up = await readyz(g);
    expect(up.httpStatus).toBe(200);
    expect(up.body.status).toBe('ready');
    expect(up.body.checks.upstream.status).toBe('ok');
  });
});
