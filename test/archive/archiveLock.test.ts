/**
 * Exactly one archiver at a time, on real redis-server processes: two gateways share the work
 * without refetching anything; a stopped holder hands over at once; a holder killed with SIGKILL
 * (a real gateway process) is replaced once its lock expires; a stale holder's writes with an old
 * fencing token are refused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Redis from 'ioredis';
import { PROJECT_ROOT } from '../../src/config/paths';
import { RedisArchiveState } from '../../src/cache/RedisArchiveState';
import { RedisBucketStore } from '../../src/cache/RedisBucketStore';
import { FencedOutError } from '../../src/reports/archive/ArchiveProgress';
import type { Gateway } from '../../src/server/createGateway';
import { startTestGateway } from '../helpers/gateway';
import { startRedisServer, type TestRedisServer } from '../helpers/redisServer';
import { eventually } from '../resilience/support';

const T0 = Date.UTC(2026, 10, 30, 5, 30);

let redis: TestRedisServer;
let client: Redis;
beforeAll(async () => {
  redis = await startRedisServer();
  client = new Redis(redis.url);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

const gateways: Gateway[] = [];
const children = new Set<ChildProcess>();
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

function env(overrides: Record<string, string> = {}) {
  return {
    REDIS_URL: redis.url,
    ARCHIVE_INSTANCES: 'ccc-test',
    ARCHIVE_MAX_CALLS_PER_MINUTE: '600',
    ARCHIVE_PASS_INTERVAL_MS: '50',
    ARCHIVE_LOCK_TTL_MS: '1500',
    ...overrides,
  };
}

const reportCalls = (g: Gateway) => g.emulator!.stats.log.filter((c) => c.action === 'ListIntervalInstanceReport').length;

describe('archive lock', () => {
  it('lets one of two gateways archive; a stopped holder hands over and the other resumes with no refetch', async () => {
    const prefix = 'lock-handover:';
    const a = await startTestGateway(env(), { now: () => T0, redisKeyPrefix: prefix });
    gateways.push(a);
    expect(await eventually(async () => a.archive!.service.holdsLock, 5_000, 10)).toBe(true);
    const b = await startTestGateway(env(), { now: () => T0, redisKeyPrefix: prefix });
    gateways.push(b);

    // A few calls in (one every 100 ms): B has been trying all along and never got the lock.
    expect(await eventually(async () => reportCalls(a) >= 4, 10_000, 10)).toBe(true);
    expect(b.archive!.service.holdsLock).toBe(false);
    expect(reportCalls(b)).toBe(0);
    const tokenA = a.archive!.service.token!;

    await a.close(); // releases the lock
    gateways.splice(gateways.indexOf(a), 1);
    expect(await eventually(async () => b.archive!.service.holdsLock, 5_000, 10)).toBe(true);
    expect(b.archive!.service.token).toBeGreaterThan(tokenA);
    const pass = await b.archive!.service.nextPass();
    expect(pass?.failedCalls).toBe(0);

    // Between them, exactly the planned 19 calls: B resumed at A's watermark.
    expect(reportCalls(a) + reportCalls(b)).toBe(19);
    const after = reportCalls(b);
    await b.archive!.service.nextPass();
    expect(reportCalls(b)).toBe(after);
  });

  it('is taken over once the lock of a holder killed with SIGKILL expires', async () => {
    const ttlMs = 1500;
    // A real gateway process (compiled on load, see test/helpers/runTs.js), archiving slowly.
    const child = spawn(process.execPath, ['-r', join(PROJECT_ROOT, 'test/helpers/runTs.js'), join(PROJECT_ROOT, 'src/main.ts')], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', NODE_ENV: 'development', ...env({ ARCHIVE_MAX_CALLS_PER_MINUTE: '60', ARCHIVE_LOCK_TTL_MS: String(ttlMs) }) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.add(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const lockKey = 'ccc:archive:{lock}:holder';
    const held = await eventually(async () => (await client.get(lockKey)) !== null, 60_000, 50);
    if (!held) throw new Error(`the child gateway never took the lock:\n${stderr}`);
    const tokenA = Number(await client.get(lockKey));
    // It archives: its watermark moves.
    const progressKey = 'ccc:archive:{ccc-test}:progress';
    expect(await eventually(async () => (await client.hget(progressKey, 'H:UTC:watermark')) !== null, 30_000, 50)).toBe(true);

    const b = await startTestGateway(env({ ARCHIVE_LOCK_TTL_MS: String(ttlMs) }));
    gateways.push(b);
    expect(b.archive!.service.holdsLock).toBe(false);

    const killedAt = performance.now();
    child.kill('SIGKILL');
    expect(await eventually(async () => b.archive!.service.holdsLock, 10 * ttlMs, 10)).toBe(true);
    const takeoverMs = performance.now() - killedAt;
    expect(b.archive!.service.token).toBeGreaterThan(tokenA);
    // Printed for docs/archive.md; the bound (TTL after A's last renewal, plus one try of TTL/10) is not asserted on wall time.
    console.log(JSON.stringify({ takeoverMs: Math.round(takeoverMs), lockTtlMs: ttlMs }));
    const watermarkBefore = Number(await client.hget(progressKey, 'H:UTC:watermark'));
    await b.archive!.service.nextPass();
    expect(Number(await client.hget(progressKey, 'H:UTC:watermark'))).toBeGreaterThan(watermarkBefore);
  }, 120_000);

  it('refuses the writes of a stale holder once a newer token has been seen', async () => {
    const connection = new Redis(redis.url);
    const logger = { warn: () => undefined, info: () => undefined };
    const state = new RedisArchiveState({ redis: connection, buckets: new RedisBucketStore({ redis: connection, logger, keyPrefix: 'fence:' }), keyPrefix: 'fence:' });
    try {
      const series = { instanceId: 'ccc-test', interval: 'HOURLY' as const, zone: 'UTC' };
      const stale = (await state.acquire(200))!;
      await state.fence(stale, 'ccc-test');
      await state.record(stale, series, { earliest: T0 - 10 * 3_600_000, watermark: T0 - 5 * 3_600_000 });
      expect(await state.acquire(200)).toBeUndefined(); // held
      await eventually(async () => (await connection.pttl('fence:archive:{lock}:holder')) < 0, 2_000, 10);

      const fresh = (await state.acquire(5_000))!;
      expect(fresh).toBeGreaterThan(stale);
      await state.fence(fresh, 'ccc-test');
      expect(await state.renew(stale, 5_000)).toBe(false);

      // The stale holder does not know yet: its watermark update and its bucket write are refused.
      await expect(state.record(stale, series, { watermark: T0 })).rejects.toBeInstanceOf(FencedOutError);
      const bucket = { series, statsTime: T0 - 3_600_000, value: { final: true, data: null } };
      await expect(state.bucketStore(stale).setMany([bucket])).rejects.toBeInstanceOf(FencedOutError);
      expect(await state.read(series)).toEqual({ earliest: T0 - 10 * 3_600_000, watermark: T0 - 5 * 3_600_000, missing: [] });
      expect(await connection.exists(`fence:b:{ccc-test}:H:UTC:${T0 - 3_600_000}`)).toBe(0);

      // The holder's own writes go through, and the watermark never moves back.
      await state.bucketStore(fresh).setMany([bucket]);
      expect(await connection.exists(`fence:b:{ccc-test}:H:UTC:${T0 - 3_600_000}`)).toBe(1);
      await state.record(fresh, series, { watermark: T0 - 7 * 3_600_000, addMissing: [T0 - 9 * 3_600_000] });
      expect(await state.read(series)).toEqual({ earliest: T0 - 10 * 3_600_000, watermark: T0 - 5 * 3_600_000, missing: [T0 - 9 * 3_600_000] });
      await expect(state.fence(stale, 'ccc-test')).rejects.toBeInstanceOf(FencedOutError);
    } finally {
      connection.disconnect();
    }
  });

  it('never reissues a token when the counter is lost (an AOF tail lost in a crash): the next one is still newer than every fence', async () => {
    const connection = new Redis(redis.url);
    const logger = { warn: () => undefined, info: () => undefined };
    const state = new RedisArchiveState({ redis: connection, buckets: new RedisBucketStore({ redis: connection, logger, keyPrefix: 'lost:' }), keyPrefix: 'lost:' });
    try {
      const first = (await state.acquire(60_000))!;
      await state.fence(first, 'ccc-test');
      await state.release(first);
      // What a crash that loses the last second of AOF can leave: the fence kept, the counter gone.
      await connection.del('lost:archive:{lock}:token');
      const next = (await state.acquire(60_000))!;
      expect(next).toBeGreaterThan(first);
      expect(Number.isSafeInteger(next)).toBe(true);
      await state.fence(next, 'ccc-test'); // accepted: not fenced out by the token it replaced
      expect(await state.renew(next, 60_000)).toBe(true); // the stored holder value is the same integer
    } finally {
      connection.disconnect();
    }
  });
});
