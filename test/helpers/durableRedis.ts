/**
 * A throwaway `redis-server` that persists like production (AOF, `appendfsync everysec`,
 * `noeviction`) in a directory of its own, and that a test can SIGKILL and start again from that
 * directory: the crash and recovery drill. Always its own server, never REDIS_URL's.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { findFreePort, killAndWait, spawnRedisServer } from './redisServer';

export interface DurableRedisServer {
  url: string;
  port: number;
  dir: string;
  /** SIGKILL: no shutdown, no final fsync, as a crash or an OOM kill. Resolves once the process is gone. */
  crash(): Promise<void>;
  /**
   * Starts the server again on the same port from its AOF; resolves once it answers PING (the AOF
   * loaded). `extraArgs` apply to this start only, e.g. `['--requirepass', 'x']` to inspect what
   * was recovered before clients get back in (`CONFIG SET requirepass ""` lets them).
   */
  restart(extraArgs?: readonly string[]): Promise<void>;
  stop(): Promise<void>;
}

export const DURABLE_ARGS = ['--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction'];

export async function startDurableRedisServer(extraArgs: readonly string[] = []): Promise<DurableRedisServer> {
  const port = await findFreePort();
  const dir = await mkdtemp(join(os.tmpdir(), 'test-redis-aof-'));
  const args = [...DURABLE_ARGS, ...extraArgs];
  let child: ChildProcess | undefined = await spawnRedisServer(port, dir, args);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async crash() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        running.once('exit', () => resolve());
        running.kill('SIGKILL');
      });
    },
    async restart(extraArgs = []) {
      if (child) await killAndWait(child);
      child = await spawnRedisServer(port, dir, [...args, ...extraArgs]);
    },
    async stop() {
      if (child) await killAndWait(child);
      child = undefined;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
