/**
 * Prometheus metrics of the archive, in the gateway's registry (`GatewayMetrics.registry`).
 *
 *  - `ccc_gateway_archive_buckets_total{interval}`: buckets the archive stored (fetched, or found
 *    stored while retrying);
 *  - `ccc_gateway_archive_upstream_calls_total{interval,outcome}`: its upstream calls;
 *  - `ccc_gateway_archive_errors_total{kind}`: `upstream` (a call failed: its buckets are listed
 *    missing), `pass` (a pass failed, e.g. Redis: the next resumes at the watermark), `lock`
 *    (this replica lost the lock mid-pass, or a stale write was fenced off);
 *  - `ccc_gateway_archive_watermark_age_seconds{instance_id,interval}`: now - the series'
 *    watermark, on the replica holding the lock (HOURLY stays below the settle delay plus an
 *    hour and a pass interval when all is well; DAILY below a day more);
 *  - `ccc_gateway_archive_missing_buckets{instance_id,interval}`: closed buckets of the archived
 *    span not stored;
 *  - `ccc_gateway_archive_lock_held`: 1 on the replica that archives.
 * `instance_id` takes the archived instances only (ARCHIVE_INSTANCES or the directory): bounded.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ArchiveServiceEvents } from '../../archive/ArchiveService';
import type { BucketSeries } from '../../reports/buckets';

export function createArchiveMetrics(registry: Registry, now: () => number = Date.now): ArchiveServiceEvents {
  const buckets = new Counter({ name: 'ccc_gateway_archive_buckets_total', help: 'Buckets the archive stored', labelNames: ['interval'], registers: [registry] });
  const calls = new Counter({
    name: 'ccc_gateway_archive_upstream_calls_total',
    help: 'Upstream calls of the archive, by outcome',
    labelNames: ['interval', 'outcome'],
    registers: [registry],
  });
  const errors = new Counter({ name: 'ccc_gateway_archive_errors_total', help: 'Archive failures, by kind (upstream, pass, lock)', labelNames: ['kind'], registers: [registry] });
  const watermarks = new Map<string, { series: BucketSeries; watermark: number; missing: number }>();
  new Gauge({
    name: 'ccc_gateway_archive_watermark_age_seconds',
    help: 'Seconds between now and the end of the archived span of a series (on the replica holding the archive lock)',
    labelNames: ['instance_id', 'interval'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { series, watermark } of watermarks.values()) {
        this.set({ instance_id: series.instanceId, interval: series.interval }, Math.max(0, (now() - watermark) / 1000));
      }
    },
  });
  new Gauge({
    name: 'ccc_gateway_archive_missing_buckets',
    help: 'Closed buckets within the archived span that are not stored (retried by every pass)',
    labelNames: ['instance_id', 'interval'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { series, missing } of watermarks.values()) this.set({ instance_id: series.instanceId, interval: series.interval }, missing);
    },
  });
  const lockHeld = new Gauge({ name: 'ccc_gateway_archive_lock_held', help: '1 while this replica holds the archive lock', registers: [registry] });
  lockHeld.set(0);
  for (const interval of ['HOURLY', 'DAILY']) {
    buckets.inc({ interval }, 0);
    for (const outcome of ['ok', 'error']) calls.inc({ interval, outcome }, 0);
  }
  for (const kind of ['upstream', 'pass', 'lock']) errors.inc({ kind }, 0);

  return {
    onUpstreamCall: (series, outcome) => calls.inc({ interval: series.interval, outcome }),
    onBucketsArchived: (series, count) => buckets.inc({ interval: series.interval }, count),
    onError: () => errors.inc({ kind: 'upstream' }),
    onProgress: (series, watermark, missing) => {
      watermarks.set(`${series.instanceId}|${series.interval}`, { series, watermark, missing });
    },
    onLockChange: (held) => {
      lockHeld.set(held ? 1 : 0);
      // Only the holder knows current watermarks; a replica that lost the lock stops reporting them.
      if (!held) watermarks.clear();
    },
    onPass: (outcome, result) => {
      // An instance no longer archived (released, removed from ARCHIVE_INSTANCES) stops being reported.
      if (result) for (const [key, { series }] of watermarks) if (!result.instanceIds.includes(series.instanceId)) watermarks.delete(key);
      if (outcome === 'failed') errors.inc({ kind: 'pass' });
      if (outcome === 'lost-lock') errors.inc({ kind: 'lock' });
    },
  };
}
