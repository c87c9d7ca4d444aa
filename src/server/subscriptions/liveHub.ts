/**
 * Wires the live report hub (src/reports/LiveReportHub.ts) to this gateway: its coordination
 * (Redis when configured, this process otherwise), its polls (a pipeline read like any
 * operation's, under the caller key `live-poller`), its metrics and logs.
 */
import type { Cluster, Redis } from 'ioredis';
import { InProcessLiveCoordination } from '../../cache/InProcessLiveCoordination';
import { RedisLiveCoordination } from '../../cache/RedisLiveCoordination';
import { InstanceReports, type InstanceReportsSettings } from '../../reports/InstanceReports';
import type { LiveCoordination } from '../../reports/LiveCoordination';
import { LiveReportHub } from '../../reports/LiveReportHub';
import { liveReadRequest } from '../../reports/LiveReports';
import { PipelineTrace, type ReportPipeline } from '../../reports/ReportPipeline';
import type { Logger } from '../logger';
import type { GatewayMetrics } from '../observability';
import { createLiveMetrics, type LiveMetrics } from '../observability/liveMetrics';

/**
 * Whose queue and budget the polls use (UPSTREAM_CALLS_PER_CALLER_PER_MINUTE applies to it as to
 * any caller: one poll per live series per CACHE_OPEN_TTL_MS, at most one upstream call each).
 */
export const LIVE_POLLER_CALLER = 'live-poller';

export interface LiveHubWiring {
  hub: LiveReportHub;
  coordination: LiveCoordination;
  metrics: LiveMetrics;
}

export function createLiveHub(options: {
  pipeline: ReportPipeline;
  redis?: Redis | Cluster;
  keyPrefix: string;
  now: () => number;
  settleDelayMs: number;
  /** CACHE_OPEN_TTL_MS: one poll per series per open snapshot's life. */
  pollIntervalMs: number;
  queueMax: number;
  settings: InstanceReportsSettings;
  metrics: GatewayMetrics;
  logger: Logger;
}): LiveHubWiring {
  const { pipeline, logger } = options;
  const coordination: LiveCoordination = options.redis
    ? new RedisLiveCoordination({ redis: options.redis, keyPrefix: options.keyPrefix, onError: (err) => logger.warn({ err }, 'live report coordination (Redis pub/sub) failed') })
    : new InProcessLiveCoordination();
  let hub: LiveReportHub | undefined;
  let lastCoordinationWarning = -Infinity;
  const metrics = createLiveMetrics(options.metrics.registry, () => hub?.stats ?? { subscribers: 0, series: 0, polling: 0 });
  hub = new LiveReportHub({
    coordination,
    now: options.now,
    settleDelayMs: options.settleDelayMs,
    pollIntervalMs: options.pollIntervalMs,
    maxQueuedEvents: options.queueMax,
    observer: metrics,
    onError: (err, where) => {
      if (where === 'poll') return logger.error({ err }, 'live report poll failed unexpectedly');
      // Every series' tick fails while Redis is down: one line per minute says it.
      if (Date.now() - lastCoordinationWarning < 60_000) return;
      lastCoordinationWarning = Date.now();
      logger.warn({ err }, 'live report coordination (Redis) failed; each replica polls for its own subscribers until it is back');
    },
    async poll(spec, from) {
      const trace = new PipelineTrace();
      const read = () =>
        new InstanceReports(pipeline.createLoader(trace, LIVE_POLLER_CALLER), options.settings, options.now(), () => true, trace).read(liveReadRequest(spec, from));
      const rows = await read();
      // Open snapshots are refreshed in the background once due (stale-while-revalidate): the
      // poll waits for that refresh and reads what it wrote, so subscribers get the new numbers
      // now rather than one poll interval later.
      if (trace.backgroundRefreshes === 0) return rows;
      await pipeline.refreshesSettled();
      return read();
    },
  });
  return { hub, coordination, metrics };
}
