/**
 * The port through which gateway replicas share live report series (docs/subscriptions.md): who
 * polls a series, who still wants it, and the snapshots the poller reads.
 *
 * Adapters: `InProcessLiveCoordination` (one process: it always polls, snapshots stay local) and
 * `RedisLiveCoordination` (a lease per series, an interest key per series, Redis pub/sub), both in
 * src/cache.
 */
import type { GatewayErrorCode } from './errors';
import type { ReportRow } from './InstanceReports';
import type { ReportInterval } from './intervals';

/** What a live series reads: instances (one, or a combined set), bucket size and bucket zone. */
export interface LiveSeriesSpec {
  /** The bucket identity but for the period (`bucketSeriesKey`): the series' name everywhere. */
  key: string;
  /** Sorted, without repeats. */
  instanceIds: string[];
  interval: ReportInterval;
  /** IANA zone the buckets are cut in (canonical spelling). */
  zone: string;
}

/** An upstream failure as it travels between replicas. */
export interface LiveError {
  code: GatewayErrorCode;
  message: string;
  details: Record<string, unknown>;
}

/** One poll of a series: its buckets from the oldest one not settled yet to the current one, or the error. */
export interface LiveSnapshot {
  key: string;
  rows?: ReportRow[];
  error?: LiveError;
  /** Wall-clock time (epoch ms) the poll's answer was published: delivery lag is measured from it. */
  publishedAt: number;
}

export interface LiveCoordination {
  /** This replica has subscribers for the series: kept for `ttlMs` (refreshed every poll interval). */
  declareInterest(spec: LiveSeriesSpec, ttlMs: number): Promise<void>;
  /** Whether any replica declared interest in the series within its TTL. */
  hasInterest(key: string): Promise<boolean>;
  /**
   * Takes the series' poller lease, or renews it when this replica holds it. True: this replica
   * polls the series. When it fails (Redis down) the hub polls anyway: every replica then serves
   * its own subscribers, which costs upstream calls, never updates.
   */
  claimPoller(key: string, ttlMs: number): Promise<boolean>;
  releasePoller(key: string): Promise<void>;
  /** Sends a snapshot to the other replicas (the publisher delivers its own locally). */
  publish(snapshot: LiveSnapshot): Promise<void>;
  /** Snapshots other replicas published. */
  onSnapshot(listener: (snapshot: LiveSnapshot) => void): void;
  close(): Promise<void>;
}
