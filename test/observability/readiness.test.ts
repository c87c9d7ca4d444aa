import express from 'express';
import type Redis from 'ioredis';
import type { AddressInfo } from 'node:net';
import { RedisBucketStore } from '../../src/cache/RedisBucketStore';
import { createRedisConnection } from '../../src/cache/redisConnection';
import { GatewayError } from '../../src/reports/errors';
import { createGatewayMetrics } from '../../src/server/observability/metrics';
import {
  createReadinessCheck,
  healthzHandler,
  passiveUpstreamProbe,
  readyzHandler,
  redisProbe,
  type Readiness,
  type ReadinessOptions,
} from '../../src/server/observability/readiness';
import { startRedisServer, type TestRedisServer } from '../helpers/redisServer';
import { parseExposition } from './promText';

const ok = { ping: async () => 'PONG' };
const refused = { ping: async () => Promise.reject(new Error('connect ECONNREFUSED 10.1.2.3:6379')) };
const hung = { ping: () => new Promise<never>(() => undefined) };
const healthyRedis = { healthy: true, ...ok };

async function withApp<T>(options: ReadinessOptions, run: (base: string) => Promise<T>): Promise<T> {
  const app = express();
  app.get('/healthz', healthzHandler());
  app.get('/readyz', readyzHandler(createReadinessCheck(options)));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    return await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

async function probe(options: ReadinessOptions): Promise<{ healthz: number; readyz: number; body: Readiness }> {
  return withApp(options, async (base) => {
    const healthz = await fetch(`${base}/healthz`);
    expect(await healthz.json()).toEqual({ status: 'ok' });
    const readyz = await fetch(`${base}/readyz`);
    expect(readyz.headers.get('cache-control')).toBe('no-store');
    return { healthz: healthz.status, readyz: readyz.status, body: (await readyz.json()) as Readiness };
  });
}

describe('readiness', () => {
  it('is ready when every dependency answers', async () => {
    const { healthz, readyz, body } = await probe({ redis: healthyRedis, upstream: ok, timeoutMs: 200 });
    expect(healthz).toBe(200);
    expect(readyz).toBe(200);
    expect(body).toMatchObject({ status: 'ready', checks: { redis: { status: 'ok' }, upstream: { status: 'ok' } } });
    expect(body.checks.redis!.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('is ready with nothing to check (in-process cache, no upstream probe)', async () => {
    const { readyz, body } = await probe({ timeoutMs: 200 });
    expect(readyz).toBe(200);
    expect(body).toEqual({ status: 'ready', checks: {} });
  });

  it('is degraded (200) when Redis is down, without leaking the error message', async () => {
    const { healthz, readyz, body } = await probe({ redis: { healthy: false, ...refused }, upstream: ok, timeoutMs: 200 });
    expect(healthz).toBe(200);
    expect(readyz).toBe(200);
    expect(body).toMatchObject({ status: 'degraded', checks: { redis: { status: 'failing', reason: 'ping failed' }, upstream: { status: 'ok' } } });
    expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|10\.1\.2\.3/);
  });

  it('is degraded when Redis answers a ping but the store saw its operations fail', async () => {
    const { readyz, body } = await probe({ redis: { healthy: false, ...ok }, timeoutMs: 200 });
    expect(readyz).toBe(200);
    expect(body).toMatchObject({ status: 'degraded', checks: { redis: { status: 'failing', reason: 'recent cache operations failed' } } });
  });

  it('is degraded, not unavailable, when upstream fails: the cache still answers closed buckets', async () => {
    const { readyz, body } = await probe({ redis: healthyRedis, upstream: refused, timeoutMs: 200 });
    expect(readyz).toBe(200);
    expect(body).toMatchObject({ status: 'degraded', checks: { upstream: { status: 'failing', reason: 'upstream unavailable' } } });
  });

  it('is degraded when both fail: the in-process tier still answers', async () => {
    const { readyz, body } = await probe({ redis: { healthy: false, ...refused }, upstream: refused, timeoutMs: 200 });
    expect(readyz).toBe(200);
    expect(body.status).toBe('degraded');
  });

  it('is unavailable (503) when upstream fails and the cache is disabled', async () => {
    const { healthz, readyz, body } = await probe({ upstream: refused, timeoutMs: 200, cacheEnabled: false });
    expect(healthz).toBe(200);
    expect(readyz).toBe(503);
    expect(body.status).toBe('unavailable');
  });

  it('is unavailable (503) while shutting down, and liveness stays 200', async () => {
    let closing = false;
    await withApp({ redis: healthyRedis, upstream: ok, timeoutMs: 200, isShuttingDown: () => closing }, async (base) => {
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      closing = true;
      const readyz = await fetch(`${base}/readyz`);
      expect(readyz.status).toBe(503);
      expect(await readyz.json()).toEqual({ status: 'unavailable', checks: { shutdown: { status: 'failing', reason: 'shutting down' } } });
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    });
  });

  it('bounds every check by the timeout, concurrently', async () => {
    const check = createReadinessCheck({ redis: { healthy: true, ...hung }, upstream: hung, timeoutMs: 100 });
    const started = Date.now();
    const readiness = await check();
    expect(Date.now() - started).toBeLessThan(180);
    expect(readiness).toMatchObject({
      status: 'degraded',
      checks: { redis: { status: 'failing', reason: 'timeout' }, upstream: { status: 'failing', reason: 'timeout' } },
    });
    expect(readiness.checks.redis!.latencyMs).toBeGreaterThanOrEqual(95);
  });

  it('answers 503 if the check itself throws', async () => {
    const app = express();
    app.get('/readyz', readyzHandler(async () => Promise.reject(new Error('bug'))));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ status: 'unavailable', checks: {} });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('judges upstream passively from the attempts and the circuit the metrics saw', async () => {
    const metrics = createGatewayMetrics({ defaultMetrics: false });
    const check = createReadinessCheck({ upstream: passiveUpstreamProbe(metrics, 3), timeoutMs: 100 });
    const down = new GatewayError('UPSTREAM_UNAVAILABLE', 'down');
    expect((await check()).status).toBe('ready');
    metrics.recordUpstreamAttempt({ attempt: 1, durationMs: 1, error: down });
    metrics.recordUpstreamAttempt({ attempt: 2, durationMs: 1, error: down });
    expect((await check()).status).toBe('ready');
    metrics.recordUpstreamAttempt({ attempt: 3, durationMs: 1, error: down });
    expect(await check()).toMatchObject({ status: 'degraded', checks: { upstream: { status: 'failing', reason: 'recent upstream attempts failed' } } });
    // Upstream answered, even if only to say the instance does not exist: reachable.
    metrics.recordUpstreamAttempt({ attempt: 1, durationMs: 1, error: new GatewayError('NOT_FOUND', 'x', { upstreamCode: 'NotExists.InstanceId' }) });
    expect((await check()).status).toBe('ready');
    metrics.recordCircuitState('open');
    expect(await check()).toMatchObject({ status: 'degraded', checks: { upstream: { reason: 'circuit open' } } });
    metrics.recordCircuitState('half-open');
    expect((await check()).status).toBe('ready');
  });
});

const itOwnServer = process.env.REDIS_URL ? it.skip : it;

describe('readiness with a real Redis', () => {
  let server: TestRedisServer;
  let redis: Redis;
  let store: RedisBucketStore;
  const logger = { warn: () => undefined, info: () => undefined };
  const ref = { series: { instanceId: 'ccc-ready', interval: 'HOURLY' as const, zone: 'UTC' }, statsTime: 0 };

  beforeAll(async () => {
    server = await startRedisServer();
    redis = createRedisConnection({ url: server.url, commandTimeoutMs: 200, maxReconnectDelayMs: 100 }) as Redis;
    store = new RedisBucketStore({ redis, logger, keyPrefix: `test-ready-${process.pid}-${Date.now()}:` });
    await waitFor(() => redis.status === 'ready');
  });
  afterAll(async () => {
    redis?.disconnect();
    if (server && !server.external) await server.stop();
  });

  itOwnServer('goes degraded when Redis stops and ready again once the store has used it', async () => {
    const check = createReadinessCheck({ redis: redisProbe(store, redis), timeoutMs: 300 });
    const metrics = createGatewayMetrics({ defaultMetrics: false });
    metrics.observeRedisStore(store);
    const scrape = async () => parseExposition(await metrics.registry.metrics());
    expect(await check()).toMatchObject({ status: 'ready', checks: { redis: { status: 'ok' } } });
    expect((await scrape()).value('ccc_gateway_redis_healthy')).toBe(1);

    await server.stop();
    expect(await store.getMany([ref])).toEqual([undefined]); // the store notices
    expect(store.healthy).toBe(false);
    const started = Date.now();
    expect(await check()).toMatchObject({ status: 'degraded', checks: { redis: { status: 'failing' } } });
    expect(Date.now() - started).toBeLessThan(400);
    let out = await scrape();
    expect(out.value('ccc_gateway_redis_healthy')).toBe(0);
    expect(out.value('ccc_gateway_redis_errors_total')).toBe(1);

    await server.restart();
    await waitFor(() => redis.status === 'ready');
    // Ping answers, but the store has not succeeded since the outage.
    expect(await check()).toMatchObject({ status: 'degraded', checks: { redis: { reason: 'recent cache operations failed' } } });
    await store.getMany([ref]);
    expect(await check()).toMatchObject({ status: 'ready', checks: { redis: { status: 'ok' } } });
    out = await scrape();
    expect(out.value('ccc_gateway_redis_healthy')).toBe(1);
    expect(out.value('ccc_gateway_redis_errors_total')).toBe(1);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
