/**
 * Resilience 3: the test's own redis-server is stopped and restarted while operations keep
 * arriving. The gateway is never restarted; not one operation fails (Redis is a cache: its outage
 * costs upstream calls, never answers); the rate limiter, Redis-backed here, falls back to its
 * in-process insurance limiter; once Redis is back the gateway writes to it again by itself and
 * /readyz returns to `ready`.
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { Gateway } from '../../src/server/createGateway';
import { graphql } from '../helpers/gateway';
import { startRedisServer, type TestRedisServer } from '../helpers/redisServer';
import { DAY_MS, eventually, HOURLY_FIELD, readyz, resilienceGateway, scrape, sleep, TODAY } from './support';

const LOAD_MS = 4_000;
const STOP_AT_MS = 1_200;
const RESTART_AT_MS = 2_400;
/** Operations that must have run against the stopped Redis before it is restarted. */
const MIN_OPERATIONS_WHILE_DOWN = 20;
const WORKERS = 6;

describe('Redis killed and restarted under continuous load', () => {
  let redis: TestRedisServer;
  let g: Gateway | undefined;
  let client: Redis | undefined;

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    client?.disconnect();
    await g?.close();
    if (!redis.external) await redis.stop();
  });

  it('no operation fails, no gateway restart, writes resume and /readyz returns to ready', async () => {
    if (redis.external) return; // an external Redis (REDIS_URL) is not ours to stop
    const prefix = `test:${randomUUID()}:`;
    g = await resilienceGateway(
      {
        REDIS_URL: redis.url,
        REDIS_COMMAND_TIMEOUT_MS: '200',
        // The limiter stays on, in Redis, with a limit this load never reaches: its Redis
        // outage path is part of what is tested.
        RATE_LIMIT_PER_SECOND: '100000',
        RATE_LIMIT_BURST: '100000',
      },
      prefix,
    );
    const gateway = g;
    gateway.emulator!.options.latencyMs = 5;
    const keys = async () => {
      client ??= new Redis(redis.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true });
      if (client.status === 'wait') await client.connect();
      return (await client.keys(`${prefix}b:*`)).length;
    };

    // Ranges cached before the load (in Redis and memory).
    const cachedRanges = Array.from({ length: 8 }, (_, i) => ({
      instanceId: `ccc-demo-${1 + (i % 5)}`,
      start: TODAY - (3 + 2 * i) * DAY_MS,
      end: TODAY - (1 + 2 * i) * DAY_MS,
    }));
    const cachedField = (i: number, alias = `c${i}`) => HOURLY_FIELD(alias, cachedRanges[i].instanceId, cachedRanges[i].start, cachedRanges[i].end);
    const warm = await graphql(gateway, `{ ${cachedRanges.map((_, i) => cachedField(i)).join(' ')} }`);
    expect(warm.errors).toBeUndefined();
    const expectedCached = warm.data as Record<string, unknown[]>;
    expect(await keys()).toBeGreaterThan(0);
    const before = await scrape(gateway);

    let sequence = 0;
    const failures: { at: number; detail: string }[] = [];
    const during = { total: 0, whileDown: 0 };
    const t0 = Date.now();
    let stoppedAt = Infinity;
    let restartedAt = Infinity;

    /**
     * Four kinds, in turn: a cached range sent as the very same document every time (answered by
     * the response cache); an uncached range (upstream, then written to Redis); a cached and an
     * uncached range in one operation; a cached range under a fresh alias (a new document: the
     * bucket tiers, memory then Redis, or upstream while Redis is down and memory was emptied).
     */
    async function operation(): Promise<void> {
      const n = sequence++;
      const c = n % cachedRanges.length;
      const uncached = HOURLY_FIELD(`u${n}`, `ccc-sim-redis-${n}`, TODAY - 2 * DAY_MS, TODAY - DAY_MS);
      const fields = [[cachedField(c)], [uncached], [cachedField(c), uncached], [cachedField(c, `c${c}_${n}`)]][n % 4];
      const started = Date.now();
      try {
        const response = await fetch(gateway.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: `{ ${fields.join(' ')} }` }),
        });
        const answer = (await response.json()) as { data?: Record<string, unknown[] | null>; errors?: unknown[] };
        const expectedOf = (alias: string) => expectedCached[alias.split('_')[0]];
        const bad =
          response.status !== 200 ||
          answer.errors !== undefined ||
          !answer.data ||
          Object.keys(answer.data).length !== fields.length ||
          Object.entries(answer.data).some(
            ([alias, series]) =>
              !Array.isArray(series) ||
              series.length === 0 ||
              (alias.startsWith('c') && JSON.stringify(series) !== JSON.stringify(expectedOf(alias))),
          );
        if (bad) failures.push({ at: started - t0, detail: `${response.status} ${JSON.stringify(answer).slice(0, 300)}` });
      } catch (error) {
        failures.push({ at: started - t0, detail: String(error) });
      }
      during.total++;
      if (Date.now() > stoppedAt && started < restartedAt) during.whileDown++;
    }

    // The in-process tier is emptied now and then, so cached ranges are read from Redis (or,
    // while it is down, from upstream), as on a replica that has not seen them yet.
    const clearer = setInterval(() => gateway.memory.clear(), 250);
    const outage = (async () => {
      await sleep(STOP_AT_MS);
      await redis.stop();
      stoppedAt = Date.now();
      await sleep(RESTART_AT_MS - STOP_AT_MS);
      // Coverage by construction, not by throughput: Redis stays down until enough operations
      // have run against the outage, however slow this machine is today.
      while (during.whileDown < MIN_OPERATIONS_WHILE_DOWN) await sleep(50);
      await redis.restart();
      restartedAt = Date.now();
    })();
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (Date.now() - t0 < LOAD_MS || restartedAt === Infinity) await operation();
      }),
    );
    await outage;
    clearInterval(clearer);

    expect(failures).toEqual([]);
    expect(during.whileDown).toBeGreaterThanOrEqual(MIN_OPERATIONS_WHILE_DOWN);
    expect(during.total).toBeGreaterThan(during.whileDown); // before, during and after the outage

    // The restarted server is empty; the gateway reconnects by itself (capped backoff) and writes.
    client?.disconnect();
    client = undefined;
    const writesResumed = await eventually(async () => {
      await operation();
      return (await keys()) > 0;
    }, 10_000, 100);
    expect(writesResumed).toBe(true);
    const ready = await eventually(async () => {
      await operation();
      return (await readyz(gateway)).body.status === 'ready';
    }, 10_000, 100);
    expect(ready).toBe(true);
    expect(failures).toEqual([]);
    expect(gateway.redisStore!.healthy).toBe(true);

    const after = await scrape(gateway);
    // The same process all along: counters kept counting, none reset.
    expect(after.sum('ccc_gateway_operations_total', { outcome: 'ok' }) - before.sum('ccc_gateway_operations_total', { outcome: 'ok' })).toBe(during.total);
    expect(after.sum('ccc_gateway_operations_total') - before.sum('ccc_gateway_operations_total')).toBe(during.total);
    expect(after.sum('ccc_gateway_redis_errors_total')).toBeGreaterThan(before.sum('ccc_gateway_redis_errors_total'));
    expect(after.sum('ccc_gateway_redis_healthy')).toBe(1);
    expect(after.sum('ccc_gateway_rate_limited_total')).toBe(0);
    expect(after.sum('ccc_gateway_cache_lookups_total', { tier: 'redis', result: 'hit' })).toBeGreaterThan(
      before.sum('ccc_gateway_cache_lookups_total', { tier: 'redis', result: 'hit' }),
    );
  });
});
