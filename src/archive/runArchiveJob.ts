/**
 * `npm run archive`: one archive pass as a scheduled job (cron, a Kubernetes CronJob), then exit.
 *
 * It needs Redis (REDIS_URL or REDIS_CLUSTER_NODES): the archive, its lock and its watermarks
 * live there; without Redis a job would archive into its own memory and lose it on exit. It
 * takes the same lock as the gateway replicas, so a job and an archiving gateway never work at
 * once: while a replica holds the lock, the job fails (exit 1) and says so. The upstream is the
 * gateway's (the configured endpoint and credentials, or the built-in emulator).
 */
import { MemoryBucketStore } from '../cache/MemoryBucketStore';
import { RedisBucketStore } from '../cache/RedisBucketStore';
import { createRedisConnection } from '../cache/redisConnection';
import type { GatewayConfig } from '../config/config';
import type { CccEmulator } from '../emulator/CccEmulator';
import { startEmbeddedEmulator } from '../emulator/embeddedEmulator';
import type { InstanceDirectory } from '../reports/InstanceDirectory';
import type { ReportSource } from '../reports/ReportSource';
import { UpstreamScheduler } from '../reports/UpstreamScheduler';
import type { ArchivePassResult } from '../reports/archive/archivePass';
import { CccClient, cccClientSettings } from '../upstream/CccClient';
import type { ArchiveLogger } from './ArchiveService';
import { createArchive } from './createArchive';

export interface ArchiveJobOverrides {
  source?: ReportSource & Partial<InstanceDirectory>;
  now?: () => number;
  redisKeyPrefix?: string;
  /** Options of the built-in emulator when the configuration uses it. */
  emulator?: ConstructorParameters<typeof CccEmulator>[0];
}

export class ArchiveJobConfigError extends Error {}

/** Runs one pass; rejects when it cannot run or fails (the caller exits non-zero). */
export async function runArchiveJob(config: GatewayConfig, logger: ArchiveLogger, overrides: ArchiveJobOverrides = {}): Promise<ArchivePassResult> {
  if (!config.archive.instances) throw new ArchiveJobConfigError('ARCHIVE_INSTANCES is not set: say which instances to archive (* for every RUNNING and STOPPED one, or a comma list of ids)');
  if (!config.redis) {
    throw new ArchiveJobConfigError('npm run archive needs REDIS_URL or REDIS_CLUSTER_NODES: the archive and its watermarks live in Redis (a gateway without Redis archives into its own memory instead)');
  }
  const now = overrides.now ?? Date.now;
  const redis = createRedisConnection({ url: config.redis.url, clusterNodes: config.redis.clusterNodes, commandTimeoutMs: config.redis.commandTimeoutMs });
  let emulator: CccEmulator | undefined;
  let source = overrides.source;
  try {
    await new Promise<void>((resolve, reject) => {
      if (redis.status === 'ready') return resolve();
      const timer = setTimeout(() => reject(new Error('Redis not reachable within 5 s')), 5_000);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (!source) {
      let endpoint = config.upstream.endpoint;
      let accessKey: { id: string; secret: string } | undefined;
      if (config.upstreamMode === 'emulator') ({ emulator, endpoint, accessKey } = await startEmbeddedEmulator({ timeZone: config.timeZone, now, overrides: overrides.emulator }));
      source = new CccClient({
        ...cccClientSettings(config, endpoint!),
        accessKey,
      });
    }
    const redisStore = new RedisBucketStore({ redis, logger, keyPrefix: overrides.redisKeyPrefix, timeoutMs: config.redis.commandTimeoutMs });
    const archive = createArchive({
      config,
      source,
      scheduler: new UpstreamScheduler({ maxConcurrency: config.upstream.concurrency }),
      memory: new MemoryBucketStore(1_000),
      redis,
      redisStore,
      keyPrefix: overrides.redisKeyPrefix,
      directory: typeof source.listInstances === 'function' ? (source as InstanceDirectory) : undefined,
      now,
      logger,
    })!;
    return await archive.service.runOnce();
  } finally {
    if (source instanceof CccClient) source.shutdown();
    await emulator?.stop();
    await redis.quit().catch(() => redis.disconnect());
  }
}
