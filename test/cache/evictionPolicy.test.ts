/**
 * Redis's maxmemory-policy, read at start and after every reconnect: `allkeys-*` would silently
 * evict closed buckets (stored without TTL, and after 180 days nowhere else), so production
 * refuses to start on it, development warns, and /readyz says it. A Redis that forbids CONFIG
 * (managed services) is reported as unchecked, never refused. Real redis-servers throughout:
 * single, CONFIG renamed away, and a three-master cluster with one bad master.
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { checkEvictionPolicy } from '../../src/cache/evictionPolicy';
import { createRedisConnection } from '../../src/cache/redisConnection';
import { loadConfig } from '../../src/config/config';
import { startGateway, type Gateway } from '../../src/server/createGateway';
import { UnsafeEvictionPolicyError } from '../../src/server/evictionPolicyMonitor';
import { createLogger } from '../../src/server/logger';
import { startRedisCluster, type TestRedisCluster } from '../helpers/redisCluster';
import { startRedisServer, type TestRedisServer } from '../helpers/redisServer';
import { eventually, readyz } from '../resilience/support';

const PRODUCTION = { NODE_ENV: 'production', CCC_EMULATOR: 'true', AUTH_ALLOW_OFF_IN_PRODUCTION: 'true' };

function capturingLogger() {
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

function gatewayConfig(env: Record<string, string>) {
  return loadConfig({ PORT: '0', HOST: '127.0.0.1', RATE_LIMIT_PER_SECOND: '0', REDIS_COMMAND_TIMEOUT_MS: '1000', ...env });
}

/** The start's error, or 'started' (the gateway then closed again, so that nothing leaks). */
async function startOrError(config: ReturnType<typeof loadConfig>, logger: ReturnType<typeof createLogger>): Promise<unknown> {
  try {
    const gateway = await startGateway(config, { logger, redisKeyPrefix: `test:${randomUUID()}:` });
    await gateway.close();
    return 'started';
  } catch (error) {
    return error;
  }
}

async function admin(url: string): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  await client.connect();
  return client;
}

describe('maxmemory-policy check', () => {
  let redis: TestRedisServer;
  let adminClient: Redis;
  let gateway: Gateway | undefined;

  beforeAll(async () => {
    redis = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction'] });
    adminClient = await admin(redis.url);
  });
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
    await adminClient.config('SET', 'maxmemory-policy', 'noeviction');
  });
  afterAll(async () => {
    adminClient.disconnect();
    await redis.stop();
  });

  it.each([
    ['noeviction', 'safe'],
    ['volatile-lru', 'safe'],
    ['volatile-ttl', 'safe'],
    ['allkeys-lru', 'unsafe'],
    ['allkeys-lfu', 'unsafe'],
    ['allkeys-random', 'unsafe'],
  ])('judges %s %s', async (policy, state) => {
    await adminClient.config('SET', 'maxmemory-policy', policy);
    const client = createRedisConnection({ url: redis.url, commandTimeoutMs: 1000 });
    try {
      await eventually(async () => client.status === 'ready', 5_000);
      expect(await checkEvictionPolicy(client, 1000)).toMatchObject({ state, policies: [policy] });
    } finally {
      client.disconnect();
    }
  });

  it('refuses to start in production on allkeys-lru, saying what to set', async () => {
    await adminClient.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const { logger } = capturingLogger();
    const outcome = await startOrError(gatewayConfig({ ...PRODUCTION, REDIS_URL: redis.url }), logger);
    expect(outcome).toBeInstanceOf(UnsafeEvictionPolicyError);
    expect((outcome as Error).message).toMatch(/allkeys-lru.*Set maxmemory-policy noeviction/s);
  });

  it('warns in development on allkeys-lru, starts, and /readyz says it (degraded, 200)', async () => {
    await adminClient.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const { logger, lines } = capturingLogger();
    gateway = await startGateway(gatewayConfig({ NODE_ENV: 'development', REDIS_URL: redis.url }), { logger, redisKeyPrefix: `test:${randomUUID()}:` });
    expect(lines.filter((l) => l.level === 40 && /maxmemory-policy is allkeys-lru/.test(l.msg))).toHaveLength(1);
    const { httpStatus, body } = await readyz(gateway);
    expect(httpStatus).toBe(200);
    expect(body.status).toBe('degraded');
    expect(body.checks.evictionPolicy).toMatchObject({ status: 'failing', policies: ['allkeys-lru'], reason: expect.stringMatching(/noeviction/) });
    expect(body.checks.redis).toMatchObject({ status: 'ok' });
  });

  it('starts in production on noeviction and reports it; re-reads the policy after a reconnect', async () => {
    const { logger, lines } = capturingLogger();
    gateway = await startGateway(gatewayConfig({ ...PRODUCTION, REDIS_URL: redis.url }), { logger, redisKeyPrefix: `test:${randomUUID()}:` });
    let { body } = await readyz(gateway);
    expect(body.status).toBe('ready');
    expect(body.checks.evictionPolicy).toEqual({ status: 'ok', policies: ['noeviction'] });

    // Someone reconfigures Redis; the gateway learns it on its next connection, as after a
    // failover or a Redis restart.
    await adminClient.config('SET', 'maxmemory-policy', 'allkeys-lfu');
    await adminClient.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    const noticed = await eventually(async () => (await readyz(gateway!)).body.checks.evictionPolicy?.status === 'failing', 10_000);
    expect(noticed).toBe(true);
    ({ body } = await readyz(gateway));
    expect(body.status).toBe('degraded');
    expect(body.checks.evictionPolicy).toMatchObject({ policies: ['allkeys-lfu'] });
    // Already running in production: an error in the log, the gateway keeps serving.
    expect(lines.filter((l) => l.level === 50 && /maxmemory-policy is allkeys-lfu/.test(l.msg))).toHaveLength(1);

    await adminClient.config('SET', 'maxmemory-policy', 'noeviction');
    await adminClient.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    expect(await eventually(async () => (await readyz(gateway!)).body.status === 'ready', 10_000)).toBe(true);
  });
});

describe('maxmemory-policy on a Redis that forbids CONFIG (managed services)', () => {
  let redis: TestRedisServer;
  let gateway: Gateway | undefined;

  beforeAll(async () => {
    redis = await startRedisServer({ args: ['--rename-command', 'CONFIG', ''] });
  });
  afterAll(async () => {
    await gateway?.close();
    await redis.stop();
  });

  it('starts even in production, logs that it could not check, and /readyz says unchecked (still ready)', async () => {
    const { logger, lines } = capturingLogger();
    gateway = await startGateway(gatewayConfig({ ...PRODUCTION, REDIS_URL: redis.url }), { logger, redisKeyPrefix: `test:${randomUUID()}:` });
    expect(lines.filter((l) => l.level === 40 && /Could not check Redis maxmemory-policy/.test(l.msg))).toHaveLength(1);
    const { httpStatus, body } = await readyz(gateway);
    expect(httpStatus).toBe(200);
    expect(body.status).toBe('ready');
    expect(body.checks.evictionPolicy).toMatchObject({ status: 'unchecked', reason: expect.stringMatching(/not permitted/) });
  });
});

describe('maxmemory-policy on Redis Cluster: every master is checked', () => {
  let cluster: TestRedisCluster;
  let gateway: Gateway | undefined;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, args: ['--maxmemory-policy', 'noeviction'] });
  });
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
  });
  afterAll(async () => {
    await cluster.stop();
  });

  it('starts in production when every master runs noeviction', async () => {
    const { logger } = capturingLogger();
    gateway = await startGateway(gatewayConfig({ ...PRODUCTION, REDIS_CLUSTER_NODES: cluster.clusterNodes }), { logger, redisKeyPrefix: `test:${randomUUID()}:` });
    const { body } = await readyz(gateway);
    expect(body.checks.evictionPolicy).toEqual({ status: 'ok', policies: ['noeviction'] });
  });

  it('refuses to start in production when one master of three runs allkeys-lru', async () => {
    // The last node: the seed list starts with the first, so only a check of every master finds it.
    await cluster.onNode(2, ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru']);
    try {
      const { logger } = capturingLogger();
      const outcome = await startOrError(gatewayConfig({ ...PRODUCTION, REDIS_CLUSTER_NODES: cluster.clusterNodes }), logger);
      expect(outcome).toBeInstanceOf(UnsafeEvictionPolicyError);
      expect((outcome as Error).message).toMatch(/allkeys-lru/);
    } finally {
      await cluster.onNode(2, ['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']);
    }
  });
});

describe('maxmemory-policy when Redis is down at start (production)', () => {
  let redis: TestRedisServer | undefined;
  let gateway: Gateway | undefined;
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
    await redis?.stop();
    redis = undefined;
  });

  /** A production gateway started while `redis` is down; resolves `fatal` on onFatalConfiguration. */
  async function startWhileDown(server: TestRedisServer) {
    await server.stop();
    const { logger, lines } = capturingLogger();
    const fatal: Error[] = [];
    let reported!: (error: Error) => void;
    const firstFatal = new Promise<Error>((resolve) => (reported = resolve));
    gateway = await startGateway(gatewayConfig({ ...PRODUCTION, REDIS_URL: server.url }), {
      logger,
      redisKeyPrefix: `test:${randomUUID()}:`,
      onFatalConfiguration: (error) => {
        fatal.push(error);
        reported(error);
      },
    });
    expect(lines.filter((l) => /Redis not reachable at start/.test(l.msg))).toHaveLength(1);
    return { lines, fatal, firstFatal };
  }

  it('treats the first verdict as the start check: Redis comes up on allkeys-lru, and the gateway reports a fatal configuration', async () => {
    redis = await startRedisServer({ args: ['--maxmemory-policy', 'allkeys-lru'] });
    const { lines, fatal, firstFatal } = await startWhileDown(redis);
    expect(fatal).toEqual([]);

    await redis.restart();
    const error = await firstFatal;
    expect(error).toBeInstanceOf(UnsafeEvictionPolicyError);
    expect((error as UnsafeEvictionPolicyError).policies).toEqual(['allkeys-lru']);
    // One fatal line saying what to set, instead of the error line of a later change.
    const fatalLines = lines.filter((l) => l.level === 60);
    expect(fatalLines).toHaveLength(1);
    expect(fatalLines[0].msg).toMatch(/^refusing to run: Redis maxmemory-policy is allkeys-lru.*Set maxmemory-policy noeviction/s);
    expect(lines.filter((l) => l.level === 50 && /maxmemory-policy/.test(l.msg))).toEqual([]);
    // Once, even if Redis reconnects again before the process is gone.
    const adminClient = await admin(redis.url);
    try {
      await adminClient.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      expect(await eventually(async () => (await readyz(gateway!)).body.checks.redis?.status === 'ok', 10_000)).toBe(true);
    } finally {
      adminClient.disconnect();
    }
    expect(fatal).toHaveLength(1);
  }, 30_000);

  it('a change after a first safe verdict keeps being an error and /readyz, not a fatal configuration', async () => {
    redis = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction'] });
    const { lines, fatal } = await startWhileDown(redis);
    await redis.restart();
    expect(await eventually(async () => (await readyz(gateway!)).body.checks.evictionPolicy?.status === 'ok', 10_000)).toBe(true);

    const adminClient = await admin(redis.url);
    try {
      await adminClient.config('SET', 'maxmemory-policy', 'allkeys-lru');
      await adminClient.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      expect(await eventually(async () => (await readyz(gateway!)).body.checks.evictionPolicy?.status === 'failing', 10_000)).toBe(true);
    } finally {
      adminClient.disconnect();
    }
    expect(lines.filter((l) => l.level === 50 && /maxmemory-policy is allkeys-lru/.test(l.msg))).toHaveLength(1);
    expect(fatal).toEqual([]);
  }, 30_000);
});
