/**
 * A real Redis Cluster: three masters with one replica each (`redis-server` processes on free
 * ports, `redis-cli --cluster create --cluster-replicas 1`, `cluster-node-timeout` 1000 ms), and
 * gateway replicas against it (in process, plus one child process that is SIGKILLed).
 *
 * Shown: every key of an instance lives in one slot (its hash tag), instances spread over the
 * masters; a bucket one gateway fetched is a warm read for the others; a master killed with
 * SIGKILL is replaced by its replica, no operation fails meanwhile (the cache fails open: misses
 * for at most the command timeout, answered from upstream), and no stored bucket is lost (the
 * replica had it: replication offsets checked before the kill); the archive lock moves to the
 * surviving gateway when the gateway holding it is killed, with a greater fencing token.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Redis, { Cluster } from 'ioredis';
import { exportBuckets } from '../../src/cache/archiveTransfer/exportBuckets';
import { encodeBucket } from '../../src/cache/bucketCodec';
import { bucketKey, legacyBucketKey } from '../../src/cache/bucketKeys';
import { migrateBuckets } from '../../src/cache/maintenance/migrateBuckets';
import { PROJECT_ROOT } from '../../src/config/paths';
import type { BucketSeries } from '../../src/reports/buckets';
import { DAY_MS } from '../../src/reports/intervals';
import type { Gateway } from '../../src/server/createGateway';
import { graphql, startTestGateway } from '../helpers/gateway';
import { startRedisCluster, type TestRedisCluster } from '../helpers/redisCluster';

const NOW = Date.UTC(2026, 10, 30, 5, 30);
const PREFIX = 'ccc:';
const COMMAND_TIMEOUT_MS = 500;
const INSTANCES = ['ccc-demo-1', 'ccc-demo-2', 'ccc-demo-3', 'ccc-demo-4', 'ccc-demo-5', 'ccc-test'];
const START = NOW - 20 * DAY_MS;
const END = START + 5 * DAY_MS;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await Promise.resolve().then(condition).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const reportQuery = (instanceId: string, start = START, end = END) =>
  `{ r: intervalInstanceReport(instanceId: "${instanceId}", interval: HOURLY, startTime: ${start}, endTime: ${end}) { statsTime closed inbound { callsOffered callsHandled } overall { totalCalls } } }`;

function reportCalls(gateway: Gateway): number {
  return gateway.emulator!.stats.log.filter((c) => c.action === 'ListIntervalInstanceReport').length;
}

/** A plain client on one node. */
function nodeClient(port: number): Redis {
  const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  client.on('error', () => undefined);
  return client;
}

async function onNode<T>(port: number, run: (client: Redis) => Promise<T>): Promise<T> {
  const client = nodeClient(port);
  try {
    await client.connect();
    return await run(client);
  } finally {
    client.disconnect();
  }
}

/** Every key on one node matching a pattern, with its value. */
async function dumpNode(port: number, pattern: string): Promise<Map<string, string>> {
  return onNode(port, async (client) => {
    const found = new Map<string, string>();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
      cursor = next;
      for (const key of keys) {
        const type = await client.type(key);
        if (type === 'string') found.set(key, (await client.get(key))!);
        else found.set(key, type);
      }
    } while (cursor !== '0');
    return found;
  });
}

/** The ports of the master serving a slot and of its replicas, from CLUSTER SLOTS on a live node. */
async function ownersOfSlot(anyPort: number, slot: number): Promise<{ master: number; replicas: number[] }> {
  const slots = (await onNode(anyPort, (c) => c.call('CLUSTER', 'SLOTS'))) as [number, number, ...[string, number, string][]][];
  const range = slots.find(([from, to]) => slot >= from && slot <= to)!;
  const [, , master, ...replicas] = range;
  return { master: master[1], replicas: replicas.map((r) => r[1]) };
}

describe('gateways on a real Redis Cluster (3 masters, 1 replica each)', () => {
  let cluster: TestRedisCluster;
  let admin: Cluster;
  const gateways: Gateway[] = [];
  const children = new Set<ChildProcess>();

  const gatewayEnv = (extra: Record<string, string> = {}) => ({
    REDIS_CLUSTER_NODES: cluster.clusterNodes,
    REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
    ...extra,
  });
  /** A node still running (one master was killed by then). */
  const livePort = async (): Promise<number> => {
    for (const node of cluster.nodes) {
      if ((await onNode(node.port, (c) => c.ping()).catch(() => '')) === 'PONG') return node.port;
    }
    throw new Error('no cluster node answers');
  };
  const startGateway = async (extra: Record<string, string> = {}, now?: () => number) => {
    const gateway = await startTestGateway(gatewayEnv(extra), { now: now ?? (() => NOW), redisKeyPrefix: PREFIX });
    gateway.emulator!.options.latencyMs = 5;
    gateways.push(gateway);
    return gateway;
  };

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 1_000, args: ['--maxmemory-policy', 'noeviction'] });
    admin = new Cluster(cluster.nodes, { redisOptions: { maxRetriesPerRequest: 1 } });
    admin.on('error', () => undefined);
    await until(async () => (await admin.ping()) === 'PONG', 15_000, 'the cluster client');
  }, 40_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(gateways.splice(0).map((g) => g.close().catch(() => undefined)));
    admin?.disconnect();
    await cluster?.stop();
  }, 30_000);

  it('keeps every key of an instance in one slot, spreads instances over the masters, and serves another gateway warm', async () => {
    const [first, second] = [await startGateway(), await startGateway()];
    const answers = [];
    for (const id of INSTANCES) answers.push(await graphql(first, reportQuery(id)));
    expect(answers.every((a) => a.errors === undefined && a.data.r.length > 0)).toBe(true);
    const coldCalls = reportCalls(first);
    expect(coldCalls).toBe(INSTANCES.length);

    // The second replica: the same answers, from Redis, without an upstream call.
    for (const [i, id] of INSTANCES.entries()) expect(await graphql(second, reportQuery(id))).toEqual(answers[i]);
    expect(reportCalls(second)).toBe(0);

    // Where the keys are: per instance one slot (its hash tag), found on one master.
    const masters = new Set<number>();
    for (const id of INSTANCES) {
      const slot = (await admin.call('CLUSTER', 'KEYSLOT', `{${id}}`)) as number;
      const { master } = await ownersOfSlot(cluster.nodes[0].port, slot);
      masters.add(master);
      const keys = [...(await dumpNode(master, `${PREFIX}*{${id}}*`)).keys()];
      expect(keys.length).toBeGreaterThanOrEqual(5 * 24);
      const slots = new Set(await Promise.all(keys.map((key) => admin.call('CLUSTER', 'KEYSLOT', key) as Promise<number>)));
      expect([...slots]).toEqual([slot]);
    }
    expect(masters.size).toBeGreaterThan(1);
  }, 45_000);

  it('survives a master killed with SIGKILL: its replica is promoted, no operation fails, no stored bucket is lost', async () => {
    const [a, b] = gateways.length >= 2 ? gateways.slice(0, 2) : [await startGateway(), await startGateway()];
    const victimInstance = 'ccc-demo-1';
    const slot = (await admin.call('CLUSTER', 'KEYSLOT', `{${victimInstance}}`)) as number;
    const { master, replicas } = await ownersOfSlot(cluster.nodes[0].port, slot);
    expect(replicas).toHaveLength(1);

    // More of the victim's history, then wait until the replica has every write of its master.
    expect((await graphql(a, reportQuery(victimInstance, START - 10 * DAY_MS, START))).errors).toBeUndefined();
    await until(
      async () => {
        const offset = async (port: number, field: string) => Number(new RegExp(`${field}:(\\d+)`).exec(await onNode(port, (c) => c.info('replication')))![1]);
        return (await offset(master, 'master_repl_offset')) === (await offset(replicas[0], 'slave_repl_offset'));
      },
      10_000,
      'the replica to catch up',
    );
    const stored = await dumpNode(master, `${PREFIX}b:*`);
    const victimKeys = [...stored.keys()].filter((k) => k.includes(`{${victimInstance}}`));
    expect(victimKeys.length).toBeGreaterThanOrEqual(15 * 24); // whole hours: the range widens to the hour

    // Operations on both gateways all along: warm ranges of every instance, and cold ones.
    const outcome = { sent: 0, failed: [] as string[], slowestMs: 0 };
    let stop = false;
    const load = async (gateway: Gateway, worker: number) => {
      for (let k = 0; !stop; k++) {
        const id = k % 3 === 2 ? `ccc-sim-failover-${worker}-${k}` : INSTANCES[k % INSTANCES.length];
        const started = Date.now();
        const answer = await graphql(gateway, reportQuery(id));
        outcome.slowestMs = Math.max(outcome.slowestMs, Date.now() - started);
        outcome.sent++;
        if (answer.errors || !(answer.data?.r?.length > 0)) outcome.failed.push(JSON.stringify(answer).slice(0, 300));
        await sleep(10);
      }
    };
    const workers = [load(a, 0), load(b, 1)];
    let promotedAfterMs = 0;
    let cacheBackAfterMs = 0;
    try {
      await sleep(300);
      const killedAt = Date.now();
      await cluster.crash(master);
      await until(async () => /role:master/.test(await onNode(replicas[0], (c) => c.info('replication'))), 20_000, 'the replica to be promoted');
      promotedAfterMs = Date.now() - killedAt;
      await until(async () => ((await onNode(replicas[0], (c) => c.call('CLUSTER', 'INFO'))) as string).includes('cluster_state:ok'), 20_000, 'cluster_state:ok');
      // The gateway's Redis tier serves the victim's buckets again, from the promoted replica.
      const refs = victimKeys.map((key) => ({ series: { instanceId: victimInstance, interval: 'HOURLY' as const, zone: 'UTC' }, statsTime: Number(key.split(':').pop()) }));
      await until(async () => (await a.redisStore!.getMany(refs)).every((v) => v?.final === true), 20_000, 'cache hits from the promoted replica');
      cacheBackAfterMs = Date.now() - killedAt;
      await sleep(300);
    } finally {
      stop = true;
      await Promise.all(workers);
    }
    expect(outcome.failed).toEqual([]);
    expect(outcome.sent).toBeGreaterThan(10);

    // Nothing stored was lost: the promoted replica holds every key of the dead master, byte for byte.
    const after = await dumpNode(replicas[0], `${PREFIX}b:*`);
    const lost = [...stored].filter(([key, value]) => after.get(key) !== value).map(([key]) => key);
    expect(lost).toEqual([]);

    // A gateway that never saw the victim reads its history warm, through the promoted replica.
    const fresh = await startGateway();
    expect((await graphql(fresh, reportQuery(victimInstance, START - 10 * DAY_MS, END))).data.r.length).toBeGreaterThan(0);
    expect(reportCalls(fresh)).toBe(0);
    process.stdout.write(
      `${JSON.stringify({ drill: 'cluster master SIGKILL', promotedAfterMs, cacheBackAfterMs, operations: outcome.sent, failed: outcome.failed.length, slowestOperationMs: outcome.slowestMs, bucketsOnDeadMaster: stored.size })}\n`,
    );
  }, 60_000);

  it('migrates version-1 keys on every master and exports an instance from its slot, after the failover', async () => {
    // Keys of the version-1 layout for instances on different masters, the promoted one included.
    const legacy: { series: BucketSeries; statsTime: number; value: string }[] = [];
    for (const instanceId of ['ccc-v1-a', 'ccc-v1-b', 'ccc-v1-c', 'ccc-demo-1']) {
      for (let h = 0; h < 50; h++) {
        const series: BucketSeries = { instanceId, interval: 'HOURLY', zone: 'UTC' };
        const statsTime = START - 400 * 3_600_000 + h * 3_600_000;
        legacy.push({ series, statsTime, value: `F${encodeBucket(null)}` });
      }
    }
    await Promise.all(legacy.map((l) => admin.set(legacyBucketKey(PREFIX, l.series, l.statsTime), l.value)));

    const summary = await migrateBuckets({ redis: admin, keyPrefix: PREFIX, batchSize: 25 });
    expect(summary).toMatchObject({ moved: legacy.length, undecodable: 0 });
    for (const l of legacy) {
      expect(await admin.get(bucketKey(PREFIX, l.series, l.statsTime))).toBe(l.value);
      expect(await admin.exists(legacyBucketKey(PREFIX, l.series, l.statsTime))).toBe(0);
    }
    expect(await migrateBuckets({ redis: admin, keyPrefix: PREFIX })).toMatchObject({ moved: 0, reencoded: 0 });

    // Export of one instance: its history on the promoted master, one line per stored final bucket.
    const lines: string[] = [];
    const exported = await exportBuckets({ redis: admin, keyPrefix: PREFIX, instanceId: 'ccc-demo-1', write: (line) => void lines.push(line) });
    const slot = (await admin.call('CLUSTER', 'KEYSLOT', '{ccc-demo-1}')) as number;
    const { master } = await ownersOfSlot(await livePort(), slot);
    const stored = [...(await dumpNode(master, `${PREFIX}b:{ccc-demo-1}:*`)).values()].filter((v) => v.startsWith('F'));
    expect(exported.buckets).toBe(stored.length);
    expect(lines).toHaveLength(stored.length);
    expect(lines.every((line) => JSON.parse(line).InstanceId === 'ccc-demo-1')).toBe(true);
  }, 30_000);

  it('moves the archive lock to the surviving gateway when the gateway holding it is killed', async () => {
    const archiveEnv = { ARCHIVE_INSTANCES: 'ccc-test', ARCHIVE_MAX_CALLS_PER_MINUTE: '6000', ARCHIVE_PASS_INTERVAL_MS: '200', ARCHIVE_LOCK_TTL_MS: '2000' };
    // The holder: a real gateway process (`src/main.ts`), started first so it takes the lock.
    const child = spawn(process.execPath, ['-r', join(PROJECT_ROOT, 'test/helpers/runTs.js'), join(PROJECT_ROOT, 'src/main.ts')], {
      cwd: PROJECT_ROOT,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'development',
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        RATE_LIMIT_PER_SECOND: '0',
        ...gatewayEnv(archiveEnv),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const holderKey = `${PREFIX}archive:{lock}:holder`;
    await until(async () => (await admin.get(holderKey)) !== null || child.exitCode !== null, 40_000, 'the child gateway to take the archive lock');
    if (child.exitCode !== null) throw new Error(`the child gateway exited:\n${output}`);
    const childToken = Number(await admin.get(holderKey));

    // The survivor, with the real clock like the child.
    const survivor = await startGateway(archiveEnv, Date.now);
    await sleep(500);
    expect(survivor.archive!.service.holdsLock).toBe(false);
    expect(Number(await admin.get(holderKey))).toBe(childToken);

    const killedAt = Date.now();
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
    children.delete(child);
    await until(() => survivor.archive!.service.holdsLock, 15_000, 'the survivor to take the lock over');
    const takeoverMs = Date.now() - killedAt;
    const survivorToken = survivor.archive!.service.token!;
    expect(survivorToken).toBeGreaterThan(childToken); // fencing: anything the dead holder still sends is refused
    expect(Number(await admin.get(holderKey))).toBe(survivorToken);
    // And it archives: a pass completes under the new token.
    expect(await survivor.archive!.service.nextPass()).toBeDefined();
    process.stdout.write(`${JSON.stringify({ drill: 'archive holder SIGKILL', lockTtlMs: 2000, takeoverMs })}\n`);
  }, 60_000);
});
