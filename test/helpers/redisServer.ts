/**
 * A throwaway `redis-server` for tests and benchmarks.
 *
 * Tests must never touch the shared Redis on 6379 (others use it; a FLUSHALL there would destroy
 * their data), so each test file starts its own server on a free port, without persistence, and
 * can stop and restart it to play an outage. With `REDIS_URL` set, that server is used instead
 * (CI with a Redis service container): tests then isolate themselves by key prefix, and `stop()` /
 * `restart()` throw, because an external server is not ours to stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';

export interface TestRedisServer {
  url: string;
  port: number;
  /** True when `REDIS_URL` points at a server this helper did not start (stop/restart throw). */
  external: boolean;
  /** Kills the server and resolves when the process has exited. */
  stop(): Promise<void>;
  /** Starts the server again on the same port (empty: nothing is persisted). */
  restart(): Promise<void>;
}

export class ExternalRedisError extends Error {
  constructor(action: string) {
    super(`cannot ${action} an external Redis (REDIS_URL is set): run this test without REDIS_URL`);
    this.name = 'ExternalRedisError';
  }
}

const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;

/** Every server still running when the test process exits is killed, even after a failed test. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A running redis-server and its working directory (where a cluster node keeps nodes.conf). */
interface Instance {
  child: ChildProcess;
  dir: string;
}

export interface StartOptions {
  /**
   * A one-node Redis Cluster owning all 16384 slots: enough to run the cluster client's code
   * paths (routing by hash tag, cluster pipelines) without six processes.
   */
  cluster?: boolean;
  /**
   * Further redis-server options, kept across `restart()`, e.g. `['--maxmemory', '2mb',
   * '--maxmemory-policy', 'noeviction']`. Not possible with an external server (REDIS_URL).
   */
  args?: readonly string[];
}

export async function startRedisServer(options: StartOptions = {}): Promise<TestRedisServer> {
  const externalUrl = process.env.REDIS_URL;
  if (externalUrl && options.cluster) throw new Error('REDIS_URL is set: a cluster test needs its own redis-server');
  if (externalUrl && options.args?.length) throw new Error('REDIS_URL is set: a test that configures redis-server needs its own');
  if (externalUrl) {
    const port = Number(new URL(externalUrl).port || 6379);
    return {
      url: externalUrl,
      port,
      external: true,
      stop: () => Promise.reject(new ExternalRedisError('stop')),
      restart: () => Promise.reject(new ExternalRedisError('restart')),
    };
  }

  const port = await findFreePort();
  const launch = () => launchRedisServer(port, options.cluster === true, options.args ?? []);
  let instance: Instance | undefined = await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    external: false,
    async stop() {
      if (instance) await shutDown(instance);
      instance = undefined;
    },
    async restart() {
      if (instance) await shutDown(instance);
      instance = await launch();
    },
  };
}

/**
 * Starts redis-server in a fresh working directory; a cluster node then gets all slots. A
 * restarted cluster node starts over as a new node on the same port: clients find it by address.
 */
async function launchRedisServer(port: number, cluster: boolean, extraArgs: readonly string[]): Promise<Instance> {
  const dir = await mkdtemp(join(os.tmpdir(), 'test-redis-'));
  const args = cluster
    ? [
        ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
        // A lone node does not know its own address and would announce "" in CLUSTER SLOTS.
        ...['--cluster-announce-ip', '127.0.0.1'],
        // cluster_state turns ok one rejoin delay after the slots are assigned: the node timeout,
        // clamped to 0.5..5 s (default timeout 15 s, so 5 s).
        ...['--cluster-node-timeout', '500'],
      ]
    : [];
  try {
    const child = await spawnRedisServer(port, dir, [...args, ...extraArgs]);
    const instance = { child, dir };
    if (cluster) {
      try {
        await assignAllSlots(port);
      } catch (error) {
        await shutDown(instance);
        throw error;
      }
    }
    return instance;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function shutDown(instance: Instance): Promise<void> {
  await killAndWait(instance.child);
  await rm(instance.dir, { recursive: true, force: true });
}

/** A port the OS just handed out, released again for redis-server to bind. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function spawnRedisServer(port: number, dir: string, extraArgs: readonly string[]): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', ...extraArgs],
    // Its own working directory, so that nothing it might write lands in the repository.
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Kept for the error message when the server dies on start (port taken, bad option...).
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new Error('redis-server is not installed (PATH has none): apt-get install -y redis-server')
          : error,
      );
    });
    child.once('exit', (code, signal) => {
      reject(new Error(`redis-server on port ${port} exited on start (code ${code}, signal ${signal}):\n${output}`));
    });
  });
  exited.catch(() => undefined);

  try {
    await Promise.race([waitForPong(port), exited]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Polls with a raw PING (no client library: its reconnect logic would only add noise here). */
async function waitForPong(port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await pingOnce(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${READY_TIMEOUT_MS} ms`);
}

function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      // "-LOADING" while a dataset loads: not ready yet. "-NOAUTH": up, behind a password (the
      // caller, who set it, waits for the load itself).
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG') || answer.startsWith('-NOAUTH'));
    });
  });
}

async function assignAllSlots(port: number): Promise<void> {
  const admin = new Redis(port, '127.0.0.1', { lazyConnect: true });
  try {
    await admin.connect();
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
  } finally {
    admin.disconnect();
  }
  await waitForClusterOk(port);
}

/** Waits until the cluster node on `port` reports `cluster_state:ok`. */
export async function waitForClusterOk(port: number, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const admin = new Redis(port, '127.0.0.1', { lazyConnect: true });
  try {
    await admin.connect();
    const deadline = Date.now() + timeoutMs;
    while (!((await admin.call('CLUSTER', 'INFO')) as string).includes('cluster_state:ok')) {
      if (Date.now() > deadline) throw new Error(`cluster node on port ${port} did not reach cluster_state:ok`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    admin.disconnect();
  }
}

export function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
