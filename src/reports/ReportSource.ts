import type { ReportBucket } from './metrics';

/** One upstream `ListIntervalInstanceReport` call, in the gateway's terms. */
export interface ReportQuery {
  instanceId: string;
  interval: 'HOURLY' | 'DAILY';
  /** Epoch ms, inclusive; upstream floors it to the hour. */
  startTime: number;
  /** Epoch ms, inclusive last millisecond; upstream rounds it up to the hour. */
  endTime: number;
}

export interface ReportAnswer {
  /** Buckets with traffic, ascending; buckets without traffic are absent, as upstream does. */
  buckets: ReportBucket[];
  requestId?: string;
}

/** What a source tells its caller while a call runs: each throttled attempt (to slow down). */
export interface ReportCallFeedback {
  onThrottled(retryAfterMs?: number): void;
}

/** Where reports come from: the Alibaba Cloud client, or a fake in unit tests. */
export interface ReportSource {
  listIntervalInstanceReport(query: ReportQuery, feedback?: ReportCallFeedback): Promise<ReportAnswer>;
}
