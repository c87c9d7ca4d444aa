/**
 * A throwaway Redis Cluster of three masters (optionally each with replicas) on free ports, for
 * tests that need more than one node: per-master checks, clients that must talk to every node
 * (shutdown), a master killed and its replica promoted (failover).
 * Built the way an operator builds one: `redis-server --cluster-enabled yes` per node, then
 * `redis-cli --cluster create`. The one-node cluster of `startRedisServer({ cluster: true })` is
 * cheaper where one master is enough.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { findFreePort, killAndWait, spawnRedisServer, waitForClusterOk } from './redisServer';

export interface TestRedisCluster {
  /** Every node, masters and replicas (`redis-cli --cluster create` picks which is which). */
  nodes: { host: string; port: number }[];
  /** The value of REDIS_CLUSTER_NODES. */
  clusterNodes: string;
  /** Runs a command on one node (by index), e.g. `['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru']`. */
  onNode(index: number, command: readonly string[]): Promise<unknown>;
  /** SIGKILL to the node on `port` (a crash: no failover handshake); resolves once it is gone. */
  crash(port: number): Promise<void>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;

export interface RedisClusterOptions {
  masters?: number;
  /** Replicas per master (default 0). */
  replicas?: number;
  /** `cluster-node-timeout`: how long a master may be unreachable before its replica takes over (default 500). */
  nodeTimeoutMs?: number;
  args?: readonly string[];
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<TestRedisCluster> {
  if (process.env.REDIS_URL) throw new Error('REDIS_URL is set: a cluster test needs its own redis-servers');
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 0;
  const started: { child: Awaited<ReturnType<typeof spawnRedisServer>>; dir: string }[] = [];
  const nodes: { host: string; port: number }[] = [];
  const stop = async () => {
    for (const node of started.splice(0)) {
      await killAndWait(node.child);
      await rm(node.dir, { recursive: true, force: true });
    }
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await findFreePort();
      // The bus port defaults to port + 10000, which may be taken or above 65535.
      const busPort = await findFreePort();
      const dir = await mkdtemp(join(os.tmpdir(), 'test-redis-cluster-'));
      const child = await spawnRedisServer(port, dir, [
        ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort)],
        ...['--cluster-announce-ip', '127.0.0.1', '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 500)],
        ...(options.args ?? []),
      ]);
      started.push({ child, dir });
      nodes.push({ host: '127.0.0.1', port });
    }
    await promisify(execFile)(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
      { timeout: READY_TIMEOUT_MS },
    );
    for (const node of nodes) await waitForClusterOk(node.port, READY_TIMEOUT_MS);
    if (replicas > 0) await waitForReplicasInSync(nodes, masters * replicas, READY_TIMEOUT_MS);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    nodes,
    clusterNodes: nodes.map((n) => `${n.host}:${n.port}`).join(','),
    async onNode(index, command) {
      const admin = new Redis(nodes[index].port, nodes[index].host, { lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        await admin.connect();
        return await admin.call(command[0], ...command.slice(1));
      } finally {
        admin.disconnect();
      }
    },
    async crash(port) {
      const node = started[nodes.findIndex((n) => n.port === port)];
      if (!node || node.child.exitCode !== null || node.child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        node.child.once('exit', () => resolve());
        node.child.kill('SIGKILL');
      });
    },
    stop,
  };
}

/** Until every replica reports its link to its master up (`master_link_status:up`). */
async function waitForReplicasInSync(nodes: readonly { host: string; port: number }[], replicas: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let linked = 0;
    for (const node of nodes) {
      const admin = new Redis(node.port, node.host, { lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        await admin.connect();
        if (/master_link_status:up/.test(await admin.info('replication'))) linked++;
      } finally {
        admin.disconnect();
      }
    }
    if (linked >= replicas) return;
    if (Date.now() > deadline) throw new Error(`only ${linked} of ${replicas} replicas linked to their masters`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
