/**
 * The recovery drill: `redis-server` (AOF, `appendfsync everysec`, `noeviction`, as
 * docker-compose runs it) is killed with SIGKILL while the archive backfills two instances and
 * live operations run, then started again from its AOF.
 *
 * Shown: every bucket stored more than two seconds before the kill is there after the restart,
 * byte for byte (Redis documents at most one second lost with everysec, two when the disk is
 * slow); the buckets lost were the last ones written; the gateway answered every live operation
 * throughout, from upstream and memory while Redis was down; and the archive then refilled what
 * was lost, to the same bytes, with no bucket missing.
 */
import Redis from 'ioredis';
import { archiveWindow } from '../../src/reports/archive/archiveWindow';
import { archivedSeries } from '../../src/reports/archive/ArchiveProgress';
import { bucketStartsInRange, DAY_MS } from '../../src/reports/intervals';
import type { Gateway } from '../../src/server/createGateway';
import { startDurableRedisServer, type DurableRedisServer } from '../helpers/durableRedis';
import { graphql, startTestGateway } from '../helpers/gateway';

const NOW = Date.UTC(2026, 10, 30, 5, 30);
const SETTLE_MS = 10 * 60_000;
const PREFIX = 'ccc:';
const ARCHIVED = ['ccc-sim-crash-a', 'ccc-sim-crash-b'];
/** Keys the archive must have stored before the kill: mid-backfill (the whole is about 9,000). */
const KILL_AFTER_KEYS = 2_500;
/** Writes older than this at the kill must survive it (everysec: one second, two on a slow disk). */
const DURABLE_AFTER_MS = 2_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Every bucket key with its value, by SCAN and pipelined GETs (a plain client, outside the gateway). */
async function dump(admin: Redis): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${PREFIX}b:*`, 'COUNT', 2_000);
    cursor = next;
    if (keys.length > 0) {
      const values = await admin.mget(...keys);
      keys.forEach((key, i) => values[i] !== null && found.set(key, values[i]!));
    }
  } while (cursor !== '0');
  return found;
}

describe('Redis killed with SIGKILL during archiving, restarted from its AOF', () => {
  let redis: DurableRedisServer;
  let gateway: Gateway;
  let admin: Redis;

  beforeAll(async () => {
    redis = await startDurableRedisServer();
    admin = new Redis(redis.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 100 });
    admin.on('error', () => undefined);
    gateway = await startTestGateway(
      {
        REDIS_URL: redis.url,
        REDIS_COMMAND_TIMEOUT_MS: '300',
        ARCHIVE_INSTANCES: ARCHIVED.join(','),
        // Paced so the backfill (38 calls) lasts long enough to be killed in the middle of it.
        ARCHIVE_MAX_CALLS_PER_MINUTE: '300',
        ARCHIVE_PASS_INTERVAL_MS: '200',
        ARCHIVE_LOCK_TTL_MS: '2000',
        CACHE_SETTLE_DELAY_MS: String(SETTLE_MS),
      },
      { now: () => NOW, redisKeyPrefix: PREFIX },
    );
    gateway.emulator!.options.latencyMs = 5;
  });

  afterAll(async () => {
    await gateway?.close();
    admin?.disconnect();
    await redis?.stop();
  });

  it('keeps what was stored (at most the last second lost), serves throughout, then refills', async () => {
    // Every closed bucket of the two archived instances: what the backfill stores in all.
    const expected = ARCHIVED.flatMap((id) =>
      archivedSeries(id, 'Asia/Shanghai').map((series) => {
        const window = archiveWindow(series, NOW, SETTLE_MS);
        return { series, starts: bucketStartsInRange(window.from, window.to, series.interval, series.zone) };
      }),
    );
    const total = expected.reduce((n, e) => n + e.starts.length, 0);
    // Live operations all along: cold ranges of other instances (upstream) and a warm one.
    const live = { sent: 0, failed: [] as string[], duringOutage: 0 };
    let outage = false;
    let stopLive = false;
    const liveLoop = async (worker: number) => {
      for (let k = 0; !stopLive; k++) {
        const cold = k % 2 === 0;
        const instanceId = cold ? `ccc-sim-live-${worker}-${k}` : 'ccc-test';
        const start = NOW - 30 * DAY_MS - (cold ? 0 : DAY_MS);
        const answer = await graphql(
          gateway,
          `{ r: intervalInstanceReport(instanceId: "${instanceId}", interval: HOURLY, startTime: ${start}, endTime: ${start + DAY_MS}) { statsTime closed inbound { callsOffered } } }`,
        );
        live.sent++;
        if (outage) live.duringOutage++;
        if (answer.errors || !Array.isArray(answer.data?.r) || answer.data.r.length === 0) live.failed.push(JSON.stringify(answer).slice(0, 300));
        await sleep(20);
      }
    };
    const liveWorkers = [liveLoop(0), liveLoop(1)];
    try {

    // When each key was first seen (polled): the age of what the crash loses.
    const firstSeen = new Map<string, number>();
    const everSeen = new Map<string, string>();
    let observing = true;
    const observer = (async () => {
      await sleep(0);
      while (observing) {
        const now = Date.now();
        for (const [key, value] of await dump(admin).catch(() => new Map<string, string>())) {
          if (!firstSeen.has(key)) firstSeen.set(key, now);
          everSeen.set(key, value);
        }
        await sleep(100);
      }
    })();

    await until(() => firstSeen.size >= KILL_AFTER_KEYS, 60_000, `${KILL_AFTER_KEYS} archived buckets`);
    expect(gateway.archive!.service.holdsLock).toBe(true);
    const durable = await dump(admin);
    await sleep(DURABLE_AFTER_MS + 200); // the archive keeps writing meanwhile

    observing = false;
    await observer;
    const beforeKill = await dump(admin);
    for (const [key, value] of beforeKill) {
      if (!firstSeen.has(key)) firstSeen.set(key, Date.now());
      everSeen.set(key, value);
    }
    const killedAt = Date.now();
    await redis.crash();
    outage = true;
    expect(beforeKill.size).toBeGreaterThan(durable.size); // it was writing up to the kill
    expect(beforeKill.size).toBeLessThan(total); // in the middle of the backfill

    // Redis down: the gateway answers from upstream and memory.
    await until(() => live.duringOutage >= 10, 30_000, 'live operations during the outage');
    await sleep(1_000);
    // Restarted behind a password at first, so what the AOF recovered is read before the gateway
    // writes again; then the gateway is let back in.
    await redis.restart(['--requirepass', 'drill']);
    const inspector = new Redis(redis.url, { password: 'drill', maxRetriesPerRequest: 0 });
    await until(async () => (await inspector.ping().catch(() => '')) === 'PONG', 10_000, 'the AOF to load');
    const afterRestart = await dump(inspector);
    await inspector.config('SET', 'requirepass', '');
    inspector.disconnect();
    outage = false;
    await until(async () => (await admin.ping().catch(() => '')) === 'PONG', 10_000, 'a connection to the restarted Redis');

    // Everything stored more than two seconds before the kill survived, byte for byte.
    const lostDurable = [...durable].filter(([key, value]) => afterRestart.get(key) !== value);
    expect(lostDurable).toEqual([]);
    // What was lost is the tail: keys first seen shortly before the kill.
    const lost = [...beforeKill.keys()].filter((key) => !afterRestart.has(key));
    const lostAges = lost.map((key) => killedAt - firstSeen.get(key)!);
    const oldestLostMs = lostAges.length === 0 ? 0 : Math.max(...lostAges);
    expect(oldestLostMs).toBeLessThan(DURABLE_AFTER_MS);
    // Nothing recovered differs from what was stored (keys written after the last look are new).
    for (const [key, value] of afterRestart) if (beforeKill.has(key)) expect(value).toBe(beforeKill.get(key));
    process.stdout.write(
      `${JSON.stringify({ drill: 'redis SIGKILL', storedBeforeKill: beforeKill.size, lostInCrash: lost.length, oldestLostMs, liveOperations: live.sent, liveDuringOutage: live.duringOutage })}\n`,
    );

    // The archive refills: every closed bucket of both instances stored, nothing missing.
    const storedFinal = async () => {
      let n = 0;
      for (const { series, starts } of expected) {
        n += (await gateway.redisStore!.getMany(starts.map((statsTime) => ({ series, statsTime })))).filter((v) => v?.final).length;
      }
      return n;
    };
    await until(async () => (await storedFinal()) === total, 40_000, `the archive to store all ${total} buckets`);
    for (const id of ARCHIVED) {
      const answer = await graphql(gateway, `{ callCenterInstance(id: "${id}") { archive { missingBuckets } } }`);
      expect(answer.data.callCenterInstance.archive.missingBuckets).toBe(0);
    }
    // Refilled to the same bytes as before the crash (closed buckets never change).
    const refilled = await dump(admin);
    for (const [key, value] of everSeen) if (refilled.has(key)) expect(refilled.get(key)).toBe(value);
    for (const key of lost) if (key.includes('{ccc-sim-crash-')) expect(refilled.get(key)).toBe(beforeKill.get(key));

    } finally {
      stopLive = true;
      await Promise.all(liveWorkers);
    }
    expect(live.failed).toEqual([]);
    expect(live.sent).toBeGreaterThan(20);
  }, 90_000);
});
