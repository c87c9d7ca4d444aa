/**
 * A throwaway Redis Cluster of three masters (no replicas) on free ports, for tests that need
 * more than one node: per-master checks, clients that must talk to every node (shutdown).
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
  nodes: { host: string; port: number }[];
  /** The value of REDIS_CLUSTER_NODES. */
  clusterNodes: string;
  /** Runs a command on one node (by index), e.g. `['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru']`. */
  onNode(index: number, command: readonly string[]): Promise<unknown>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;

export async function startRedisCluster(options: { masters?: number; args?: readonly string[] } = {}): Promise<TestRedisCluster> {
  if (process.env.REDIS_URL) throw new Error('REDIS_URL is set: a cluster test needs its own redis-servers');
  const masters = options.masters ?? 3;
  const started: { child: Awaited<ReturnType<typeof spawnRedisServer>>; dir: string }[] = [];
  const nodes: { host: string; port: number }[] = [];
  const stop = async () => {
    for (const node of started.splice(0)) {
      await killAndWait(node.child);
      await rm(node.dir, { recursive: true, force: true });
    }
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await findFreePort();
      // The bus port defaults to port + 10000, which may be taken or above 65535.
      const busPort = await findFreePort();
      const dir = await mkdtemp(join(os.tmpdir(), 'test-redis-cluster-'));
      const child = await spawnRedisServer(port, dir, [
        ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort)],
        ...['--cluster-announce-ip', '127.0.0.1', '--cluster-node-timeout', '500'],
        ...(options.args ?? []),
      ]);
      started.push({ child, dir });
      nodes.push({ host: '127.0.0.1', port });
    }
    await promisify(execFile)('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-yes'], { timeout: READY_TIMEOUT_MS });
    for (const node of nodes) await waitForClusterOk(node.port, READY_TIMEOUT_MS);
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
    stop,
  };
}
