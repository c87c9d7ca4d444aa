/**
 * A full Redis (`noeviction`, used memory above `maxmemory`) refuses every write with "OOM command
 * not allowed". That is not an outage: reads still work. A real redis-server with a tiny
 * maxmemory, filled by the test, shows that the gateway keeps serving (upstream answers, and
 * buckets already in Redis), logs the condition once per episode rather than once per request,
 * counts the refused buckets, and says "full" on /readyz; one accepted write ends the episode.
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { loadConfig } from '../../src/config/config';
import { startGateway, type Gateway } from '../../src/server/createGateway';
import { createLogger } from '../../src/server/logger';
import { graphql } from '../helpers/gateway';
import { startRedisServer, type TestRedisServer } from '../helpers/redisServer';
import { DAY_MS, HOURLY_FIELD, NOW, readyz, scrape, TODAY } from '../resilience/support';

const MAXMEMORY = String(4 * 1024 * 1024);
const FULL_MESSAGE = /^Redis is full/;
const BACK_MESSAGE = /^Redis accepts cache writes again/;

function capturingLogger() {
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** A closed two-day hourly range, the n-th counted back from today: distinct n, distinct buckets. */
function range(n: number, instanceId = 'ccc-demo-1') {
  return { instanceId, start: TODAY - (2 * n + 3) * DAY_MS, end: TODAY - (2 * n + 1) * DAY_MS };
}

async function report(gateway: Gateway, r: ReturnType<typeof range>) {
  return graphql(gateway, `{ ${HOURLY_FIELD('r', r.instanceId, r.start, r.end)} }`);
}

describe('Redis out of memory (noeviction) on writes', () => {
  let redis: TestRedisServer;
  let admin: Redis;
  const gateways: Gateway[] = [];
  const prefix = `test:${randomUUID()}:`;

  beforeAll(async () => {
    redis = await startRedisServer({ args: ['--maxmemory', MAXMEMORY, '--maxmemory-policy', 'noeviction'] });
    admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await admin.connect();
  });
  afterAll(async () => {
    for (const gateway of gateways) await gateway.close();
    admin.disconnect();
    await redis.stop();
  });

  async function start(logger: ReturnType<typeof createLogger>): Promise<Gateway> {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_URL: redis.url,
      REDIS_COMMAND_TIMEOUT_MS: '1000',
      // The Redis-backed limiters stay on: a full Redis must not make them refuse callers.
      RATE_LIMIT_PER_SECOND: '10000',
      RATE_LIMIT_BURST: '10000',
      // No response cache: every operation goes through the bucket cache.
      RESPONSE_CACHE_MAX_BYTES: '0',
    });
    const gateway = await startGateway(config, { now: () => NOW, logger, redisKeyPrefix: prefix });
    gateways.push(gateway);
    return gateway;
  }

  /**
   * Writes filler values until Redis refuses one for lack of memory. The refused command's own
   * buffer is freed after the refusal, leaving a few kB below maxmemory, where some of the next
   * small writes would still fit: maxmemory then drops 256 kB below the memory in use, so that
   * every write is refused, deterministically.
   */
  async function fillRedis(): Promise<void> {
    const value = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 1_000; i++) {
      try {
        await admin.set(`filler:${randomUUID()}`, value);
      } catch (error) {
        if (!(error as Error).message.startsWith('OOM ')) throw error;
        const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
        await admin.config('SET', 'maxmemory', String(used - 256 * 1024));
        return;
      }
    }
    throw new Error('Redis never ran out of memory');
  }

  async function emptyFiller(): Promise<void> {
    const keys = await admin.keys('filler:*');
    if (keys.length) await admin.del(...keys);
    await admin.config('SET', 'maxmemory', MAXMEMORY);
  }

  it('keeps serving, logs once per episode, counts refused buckets, and /readyz says the cache is full', async () => {
    const { logger, lines } = capturingLogger();
    const gateway = await start(logger);
    const cachedBefore = await report(gateway, range(0));
    expect(cachedBefore.errors).toBeUndefined();
    expect(await admin.keys(`${prefix}b:*`)).not.toHaveLength(0);

    await fillRedis();

    // Five operations on cold ranges: every one served from upstream, Redis refusing each write.
    for (let n = 1; n <= 5; n++) {
      const answer = await report(gateway, range(n));
      expect(answer.errors).toBeUndefined();
      expect(answer.data.r.length).toBeGreaterThan(0); // hours without traffic are absent
    }
    expect(gateway.redisStore!.full).toBe(true);
    expect(gateway.redisStore!.healthy).toBe(true); // full is not down
    expect(lines.filter((l) => FULL_MESSAGE.test(l.msg))).toHaveLength(1);
    expect(lines.filter((l) => /Redis cache unavailable/.test(l.msg))).toHaveLength(0);

    const metrics = await scrape(gateway);
    // 5 operations x 48 hourly buckets (one write per bucket), all refused.
    expect(metrics.sum('ccc_gateway_cache_write_rejected_total', { reason: 'oom' })).toBe(5 * 48);
    expect(metrics.sum('ccc_gateway_redis_full')).toBe(1);
    expect(metrics.sum('ccc_gateway_redis_errors_total')).toBe(0);

    const ready = await readyz(gateway);
    expect(ready.httpStatus).toBe(200);
    expect(ready.body.status).toBe('degraded');
    expect(ready.body.checks.cacheWrites).toMatchObject({ status: 'failing', reason: expect.stringMatching(/Redis is full/) });
    expect(ready.body.checks.redis).toMatchObject({ status: 'ok' });

    // Reads still work: a second replica, with nothing in memory, serves the range cached before
    // Redis filled up without one upstream call.
    const second = await start(capturingLogger().logger);
    const fromRedis = await report(second, range(0));
    expect(fromRedis).toEqual(cachedBefore);
    expect(second.emulator!.stats.callsReceived).toBe(0);

    // Memory freed: the next write is accepted and ends the episode.
    await emptyFiller();
    expect((await report(gateway, range(6))).errors).toBeUndefined();
    expect(gateway.redisStore!.full).toBe(false);
    expect(lines.filter((l) => BACK_MESSAGE.test(l.msg))).toHaveLength(1);
    expect((await readyz(gateway)).body.checks.cacheWrites).toEqual({ status: 'ok' });
    expect((await scrape(gateway)).sum('ccc_gateway_redis_full')).toBe(0);

    // Full again: a new episode, logged once more.
    await fillRedis();
    expect((await report(gateway, range(7))).errors).toBeUndefined();
    expect((await report(gateway, range(8))).errors).toBeUndefined();
    expect(lines.filter((l) => FULL_MESSAGE.test(l.msg))).toHaveLength(2);
    await emptyFiller();
  });
});
