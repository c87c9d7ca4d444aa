/**
 * Which instances the archive polls: `*` takes RUNNING and STOPPED ones from the instance
 * directory; a RELEASED instance keeps its history and is no longer polled. Without Redis the
 * archive runs in the one process, into its in-process store. Also the job form (`npm run
 * archive`) and the pacing of calls.
 */
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/config/paths';
import { loadConfig } from '../../src/config/config';
import type { InstanceDirectory, InstanceInfo, InstanceStatus } from '../../src/reports/InstanceDirectory';
import { CallPacer } from '../../src/reports/archive/callPacer';
import type { Gateway } from '../../src/server/createGateway';
import { runArchiveJob } from '../../src/archive/runArchiveJob';
import { CccEmulator } from '../../src/emulator/CccEmulator';
import { CccClient } from '../../src/upstream/CccClient';
import { graphql, startTestGateway } from '../helpers/gateway';
import { startRedisServer, type TestRedisServer } from '../helpers/redisServer';
import { eventually } from '../resilience/support';

const T0 = Date.UTC(2026, 10, 30, 5, 30);
const HOUR_MS = 3_600_000;

function fakeDirectory(statuses: Record<string, InstanceStatus>): InstanceDirectory & { statuses: Record<string, InstanceStatus> } {
  return {
    statuses,
    async listInstances(): Promise<InstanceInfo[]> {
      return Object.entries(this.statuses).map(([id, status]) => ({ id, name: id, status, createTime: null, description: null, domainName: null }));
    },
  };
}

const callsByInstance = (g: Gateway) => {
  const counts: Record<string, number> = {};
  for (const call of g.emulator!.stats.log) if (call.action === 'ListIntervalInstanceReport') counts[call.instanceId!] = (counts[call.instanceId!] ?? 0) + 1;
  return counts;
};

const gateways: Gateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

describe('archived instances (no Redis: one process, in-process store)', () => {
  it('archives RUNNING and STOPPED instances of the directory; a RELEASED one keeps its history and is not polled', async () => {
    let now = T0;
    const directory = fakeDirectory({ 'ccc-demo-1': 'RUNNING', 'ccc-demo-2': 'STOPPED', 'ccc-demo-3': 'RELEASED', 'ccc-demo-4': 'CREATING' });
    const gateway = await startTestGateway(
      { ARCHIVE_INSTANCES: '*', ARCHIVE_MAX_CALLS_PER_MINUTE: '6000000', ARCHIVE_PASS_INTERVAL_MS: '20', INSTANCE_DIRECTORY_TTL_MS: '1' },
      { now: () => now, directory },
    );
    gateways.push(gateway);
    expect(gateway.redisStore).toBeUndefined();
    await gateway.archive!.service.nextPass();
    expect(callsByInstance(gateway)).toEqual({ 'ccc-demo-1': 19, 'ccc-demo-2': 19 });
    // Stored where the gateway reads: a report over the archived span needs no upstream call.
    gateway.emulator!.resetStats();
    const answer = await graphql(
      gateway,
      `{ callCenterInstance(id: "ccc-demo-1") { archive { missingBuckets } intervalReports(interval: HOURLY, startTime: ${T0 - 170 * 24 * HOUR_MS}, endTime: ${T0 - 2 * HOUR_MS}) { statsTime } } }`,
    );
    expect(answer.errors).toBeUndefined();
    expect(answer.data.callCenterInstance.archive.missingBuckets).toBe(0);
    expect(gateway.emulator!.stats.callsReceived).toBe(0);

    // ccc-demo-1 is released: two hours later only ccc-demo-2 gets its new hours.
    directory.statuses['ccc-demo-1'] = 'RELEASED';
    now += 2 * HOUR_MS;
    await gateway.archive!.service.nextPass(); // may have started before the change
    gateway.emulator!.resetStats();
    now += 2 * HOUR_MS;
    await gateway.archive!.service.nextPass();
    expect(callsByInstance(gateway)).toEqual({ 'ccc-demo-2': 1 });
    const kept = await graphql(gateway, '{ callCenterInstance(id: "ccc-demo-1") { archive { earliest latest missingBuckets } } }');
    expect(kept.data.callCenterInstance.archive).toMatchObject({ missingBuckets: 0 });
    const metrics = await (await fetch(gateway.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toContain('ccc_gateway_archive_watermark_age_seconds{instance_id="ccc-demo-2",interval="HOURLY"}');
    expect(metrics).not.toContain('instance_id="ccc-demo-1"');
  });

  it('retries a failed pass soon, not a whole pass interval later', async () => {
    let failures = 1;
    const listing = fakeDirectory({ 'ccc-demo-1': 'RUNNING' });
    const directory: InstanceDirectory = {
      listInstances: () => (failures-- > 0 ? Promise.reject(new Error('ListInstances unavailable')) : listing.listInstances()),
    };
    const gateway = await startTestGateway(
      { ARCHIVE_INSTANCES: '*', ARCHIVE_MAX_CALLS_PER_MINUTE: '6000000', ARCHIVE_PASS_INTERVAL_MS: '3600000', INSTANCE_DIRECTORY_TTL_MS: '1' },
      { now: () => T0, directory },
    );
    gateways.push(gateway);
    // The first pass fails; the second comes about 1 s later, not an hour later.
    expect(await eventually(async () => gateway.archive!.service.passesFinished >= 2, 30_000, 10)).toBe(true);
    expect(failures).toBeLessThan(0);
    expect(gateway.archive!.service.lastPassResult).toMatchObject({ instanceIds: ['ccc-demo-1'], upstreamCalls: 19, failedCalls: 0 });
  });

  it('skips listed ids the directory reports RELEASED, archives the others', async () => {
    const directory = fakeDirectory({ 'ccc-demo-1': 'RELEASED', 'ccc-demo-2': 'RUNNING' });
    const gateway = await startTestGateway(
      { ARCHIVE_INSTANCES: 'ccc-demo-1,ccc-demo-2,ccc-sim-unlisted', ARCHIVE_MAX_CALLS_PER_MINUTE: '6000000', ARCHIVE_PASS_INTERVAL_MS: '20' },
      { now: () => T0, directory },
    );
    gateways.push(gateway);
    await gateway.archive!.service.nextPass();
    // An id the directory does not list (the emulator's ccc-sim-*) is archived as configured.
    expect(callsByInstance(gateway)).toEqual({ 'ccc-demo-2': 19, 'ccc-sim-unlisted': 19 });
  });
});

describe('npm run archive (one pass as a job)', () => {
  let redis: TestRedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

  it('backfills once, then finds nothing to do; refuses while a gateway holds the lock', async () => {
    const emulator = new CccEmulator({ accessKeys: { k: 's' }, now: () => T0 });
    const { url } = await emulator.start(0);
    const source = new CccClient({ endpoint: new URL(url).host, protocol: 'http', region: 'cn-shanghai', timeoutMs: 5_000, accessKey: { id: 'k', secret: 's' } });
    const config = loadConfig({ REDIS_URL: redis.url, ARCHIVE_INSTANCES: 'ccc-test', ARCHIVE_MAX_CALLS_PER_MINUTE: '6000000', LOG_LEVEL: 'silent' });
    try {
      const first = await runArchiveJob(config, logger, { source, now: () => T0, redisKeyPrefix: 'job:' });
      expect(first).toMatchObject({ upstreamCalls: 19, failedCalls: 0 });
      const again = await runArchiveJob(config, logger, { source, now: () => T0, redisKeyPrefix: 'job:' });
      expect(again).toMatchObject({ upstreamCalls: 0, failedCalls: 0 });
      expect(emulator.stats.log.filter((c) => c.action === 'ListIntervalInstanceReport')).toHaveLength(19);

      const gateway = await startTestGateway({ REDIS_URL: redis.url, ARCHIVE_INSTANCES: 'ccc-test', ARCHIVE_PASS_INTERVAL_MS: '60000' }, { now: () => T0, redisKeyPrefix: 'job:' });
      gateways.push(gateway);
      expect(await eventually(async () => gateway.archive!.service.holdsLock, 5_000, 10)).toBe(true);
      await expect(runArchiveJob(config, logger, { source, now: () => T0, redisKeyPrefix: 'job:' })).rejects.toThrow(/lock is held/);
    } finally {
      source.shutdown();
      await emulator.stop();
    }
  });

  it('exits 2 naming what to set when there is no Redis', async () => {
    const run = promisify(execFile);
    const failure = await run(process.execPath, ['-r', join(PROJECT_ROOT, 'test/helpers/runTs.js'), join(PROJECT_ROOT, 'src/archive/main.ts')], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ARCHIVE_INSTANCES: 'ccc-test', LOG_LEVEL: 'info' },
    }).catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stdout: string }).stdout).toContain('REDIS_URL');
  }, 60_000);
});

describe('CallPacer', () => {
  it('spaces calls evenly at perMinute, never in bursts', async () => {
    let clock = 1_000;
    const sleeps: number[] = [];
    const pacer = new CallPacer({
      perMinute: 30,
      now: () => clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
      },
    });
    const at: number[] = [];
    for (let i = 0; i < 5; i++) {
      await pacer.next();
      at.push(clock);
    }
    expect(at).toEqual([1_000, 3_000, 5_000, 7_000, 9_000]);
    // After a pause longer than the spacing, the next call goes at once (no credit is saved up).
    clock += 60_000;
    await pacer.next();
    await pacer.next();
    expect(sleeps).toEqual([2_000, 2_000, 2_000, 2_000, 2_000]);
  });

  it('stops waiting when aborted', async () => {
    const pacer = new CallPacer({ perMinute: 1 });
    await pacer.next();
    const stop = new AbortController();
    const waiting = pacer.next(stop.signal);
    stop.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
  });
});
