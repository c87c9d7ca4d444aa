/**
 * Wires the archive of a gateway (or of the `npm run archive` job): the lock and progress store
 * (Redis when configured, process memory otherwise), the fetcher (a report pipeline of its own
 * that shares the gateway's scheduler, source and stores), and the service.
 *
 * Why a pipeline of its own rather than the gateway's: its shared tier is the fenced bucket
 * store of the current lock token (every archive write checks the token), and its in-process
 * tier is a small one of its own (with Redis), so a backfill does not push live operations'
 * buckets out of the gateway's LRU. It shares the gateway's `UpstreamScheduler`, in which the
 * archive's caller is in the background class: its calls wait for every live call queued.
 * Upstream answers go through the same source (validation, retries, breaker), and buckets
 * through the same codec and keys, so an archived bucket is exactly a cached one.
 */
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { MemoryArchiveState } from '../cache/MemoryArchiveState';
import { MemoryBucketStore } from '../cache/MemoryBucketStore';
import { RedisArchiveState } from '../cache/RedisArchiveState';
import type { RedisBucketStore } from '../cache/RedisBucketStore';
import type { GatewayConfig } from '../config/config';
import type { InstanceDirectory } from '../reports/InstanceDirectory';
import { PipelineTrace, ReportPipeline } from '../reports/ReportPipeline';
import type { ReportSource } from '../reports/ReportSource';
import type { UpstreamScheduler } from '../reports/UpstreamScheduler';
import type { ArchiveFetcher } from '../reports/archive/archivePass';
import { ArchiveService, type ArchiveLogger, type ArchiveServiceEvents } from './ArchiveService';

/** The archive's caller key in the scheduler (live keys are `ip:`, `sub:` or `token:`). */
export const ARCHIVE_CALLER = 'archive:background';

/** Private in-process tier of the archive's pipeline (with Redis): a few calls' worth. */
const ARCHIVE_MEMORY_BUCKETS = 1_000;

export interface ArchiveWiring {
  config: GatewayConfig;
  source: ReportSource;
  scheduler: UpstreamScheduler;
  /** The gateway's in-process tier: the archive's store when there is no Redis. */
  memory: MemoryBucketStore;
  redis?: Redis | Cluster;
  redisStore?: RedisBucketStore;
  keyPrefix?: string;
  directory?: InstanceDirectory;
  now: () => number;
  logger: ArchiveLogger;
  events?: ArchiveServiceEvents;
}

export interface Archive {
  service: ArchiveService;
  /** The lock and progress store (Redis or memory): tests and the cluster drill read the holder's token from it. */
  state: RedisArchiveState | MemoryArchiveState;
}

/** Undefined when ARCHIVE_INSTANCES is unset. */
export function createArchive(wiring: ArchiveWiring): Archive | undefined {
  const { config } = wiring;
  const instances = config.archive.instances;
  if (!instances) return undefined;
  const state =
    wiring.redis && wiring.redisStore
      ? new RedisArchiveState({ redis: wiring.redis, buckets: wiring.redisStore, keyPrefix: wiring.keyPrefix })
      : new MemoryArchiveState(wiring.memory);
  wiring.scheduler.runInBackground(ARCHIVE_CALLER);
  const fetcherFor = (token: number): ArchiveFetcher => {
    const withRedis = state instanceof RedisArchiveState;
    const pipeline = new ReportPipeline({
      source: wiring.source,
      memory: withRedis ? new MemoryBucketStore(ARCHIVE_MEMORY_BUCKETS) : wiring.memory,
      shared: withRedis ? state.bucketStore(token) : undefined,
      now: wiring.now,
      settleDelayMs: config.cache.settleDelayMs,
      openTtlMs: config.cache.openTtlMs,
      upstreamConcurrency: config.upstream.concurrency,
      scheduler: wiring.scheduler,
      // The archive stores by definition, whatever CACHE_ENABLED says for live reads.
      cacheEnabled: true,
      leaseMs: config.cache.leaseMs,
    });
    return {
      async fetch(series, call) {
        const trace = new PipelineTrace();
        const [slots] = await pipeline.loadRanges([{ ...series, start: call.startTime, end: call.endTime + 1 }], trace, ARCHIVE_CALLER);
        if (slots instanceof Error) throw slots;
        // Planned from closed buckets only; a bucket not final here was not stored as history.
        if (slots.some((slot) => !slot.closed)) throw new Error('archive: a planned bucket was answered as not closed; it stays missing');
        return { upstreamCalls: trace.upstreamCalls };
      },
    };
  };
  const service = new ArchiveService({
    lock: state,
    progress: state,
    instances,
    directory: wiring.directory,
    zoneFor: (id) => config.instanceTimeZones[id] ?? config.timeZone,
    fetcherFor,
    maxCallsPerMinute: config.archive.maxCallsPerMinute,
    passIntervalMs: config.archive.passIntervalMs,
    lockTtlMs: config.archive.lockTtlMs,
    now: wiring.now,
    settleDelayMs: config.cache.settleDelayMs,
    logger: wiring.logger,
    events: wiring.events,
  });
  return { service, state };
}
