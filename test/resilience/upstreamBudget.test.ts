/**
 * The per-caller budget of upstream calls per minute (UPSTREAM_CALLS_PER_CALLER_PER_MINUTE):
 * beyond it, the fields that need new upstream calls fail with RATE_LIMITED (and when to retry);
 * cached data is still served, another caller is unaffected, a refused operation spends nothing,
 * and with Redis the replicas share one budget per caller.
 */
import { randomUUID } from 'node:crypto';
import type { Gateway } from '../../src/server/createGateway';
import { HOUR_MS } from '../../src/reports/intervals';
import { SECRET, sign } from '../auth/tokens';
import { graphql, startTestGateway } from '../helpers/gateway';
import { startRedisServer, type TestRedisServer } from '../helpers/redisServer';
import { DAY_MS, NOW, scrape, TODAY } from './support';

const BUDGET = 5;
const START = TODAY - 3 * DAY_MS + 9 * HOUR_MS;
const END = START + 2 * HOUR_MS;

const tokenFor = async (sub: string) => ({ authorization: `Bearer ${await sign({ sub, ccc_instances: '*' })}` });
/** One alias per instance, one upstream call per cold instance. */
const operation = (instanceIds: string[]) =>
  `{ ${instanceIds
    .map((id, i) => `r${i}: intervalInstanceReport(instanceId: "${id}", interval: HOURLY, startTime: ${START}, endTime: ${END}) { statsTime closed }`)
    .join(' ')} }`;
const ids = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `ccc-sim-budget-${tag}-${i}`);

function budgetGateway(env: Record<string, string> = {}, redisKeyPrefix?: string): Promise<Gateway> {
  return startTestGateway(
    { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, UPSTREAM_CALLS_PER_CALLER_PER_MINUTE: String(BUDGET), ...env },
    { now: () => NOW, redisKeyPrefix },
  );
}

describe('per-caller budget of upstream calls per minute', () => {
  const gateways: Gateway[] = [];
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((g) => g.close()));
  });

  it('refuses the fields needing new calls beyond the budget, serves cached ones, spares other callers', async () => {
    const g = await budgetGateway();
    gateways.push(g);
    const [a, b] = await Promise.all([tokenFor('budget-a'), tokenFor('budget-b')]);
    const calls = () => g.emulator!.stats.callsReceived;

    const first = ids('first', 3);
    const warm = await graphql(g, operation(first), undefined, a);
    expect(warm.errors).toBeUndefined();
    expect(calls()).toBe(3);

    // 3 spent; 3 more would make 6 > 5: the new fields are refused, the cached ones served.
    const more = ids('more', 3);
    const mixed = await graphql(g, operation([...first, ...more]), undefined, a);
    expect(calls()).toBe(3); // nothing went upstream
    for (let i = 0; i < 3; i++) expect(mixed.data[`r${i}`]).toEqual(warm.data[`r${i}`]);
    for (let i = 3; i < 6; i++) expect(mixed.data[`r${i}`]).toBeNull();
    expect(mixed.errors).toHaveLength(3);
    for (const error of mixed.errors!) {
      expect(error.extensions).toMatchObject({ code: 'RATE_LIMITED', upstreamCallsNeeded: 3, upstreamCallsPerMinute: BUDGET });
      expect(error.extensions!.retryAfterMs).toBeGreaterThan(0);
      expect(error.extensions!.retryAfterMs).toBeLessThanOrEqual(60_000);
      expect(error.message).toMatch(/budget of 5 upstream calls per minute; retry in \d+ s.*cached data is still served/);
    }

    // The refused operation spent nothing: 2 more calls still fit (3 + 2 = 5), then none.
    const fits = await graphql(g, operation(ids('fits', 2)), undefined, a);
    expect(fits.errors).toBeUndefined();
    expect(calls()).toBe(5);
    const over = await graphql(g, operation(ids('over', 1)), undefined, a);
    expect(over.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
    expect(calls()).toBe(5);
    // Cached data needs no budget.
    expect((await graphql(g, operation(first), undefined, a)).errors).toBeUndefined();

    // Another caller has a budget of its own.
    const other = await graphql(g, operation(more), undefined, b);
    expect(other.errors).toBeUndefined();
    expect(calls()).toBe(8);

    // An operation that can never fit says so.
    const huge = await graphql(g, operation(ids('huge', BUDGET + 1)), undefined, b);
    expect(huge.errors?.[0].message).toMatch(/can never fit: split it/);

    const metrics = await scrape(g);
    expect(metrics.sum('ccc_gateway_upstream_budget_rejections_total')).toBe(3);
  });

  it('UPSTREAM_CALLS_PER_CALLER_PER_MINUTE=0 turns the budget off', async () => {
    const g = await budgetGateway({ UPSTREAM_CALLS_PER_CALLER_PER_MINUTE: '0' });
    gateways.push(g);
    const answer = await graphql(g, operation(ids('off', BUDGET * 2)), undefined, await tokenFor('budget-off'));
    expect(answer.errors).toBeUndefined();
    expect(g.emulator!.stats.callsReceived).toBe(BUDGET * 2);
  });

  describe('with Redis', () => {
    let redis: TestRedisServer;
    beforeAll(async () => {
      redis = await startRedisServer();
    });
    afterAll(async () => {
      if (!redis.external) await redis.stop();
    });

    it('replicas spend from one budget per caller', async () => {
      const prefix = `test:${randomUUID()}:`;
      // Separate caches (no shared bucket tier in the way), one Redis for the budget.
      const [g1, g2] = await Promise.all([budgetGateway({ REDIS_URL: redis.url }, prefix), budgetGateway({ REDIS_URL: redis.url }, prefix)]);
      gateways.push(g1, g2);
      const a = await tokenFor('budget-shared');
      expect((await graphql(g1, operation(ids('r1', 3)), undefined, a)).errors).toBeUndefined();
      const second = await graphql(g2, operation(ids('r2', 3)), undefined, a);
      expect(second.errors?.map((e) => e.extensions?.code)).toEqual(['RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
      expect(g2.emulator!.stats.callsReceived).toBe(0);
      expect((await graphql(g2, operation(ids('r2', 2)), undefined, a)).errors).toBeUndefined();
    });
  });
});
