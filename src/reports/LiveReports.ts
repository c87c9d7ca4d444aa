/**
 * One subscription operation's entry to live reports: validates and authorizes the request like
 * a query (InstanceReports.plan), reads the current bucket (or takes the series' fresh rows), and
 * subscribes to the hub. The GraphQL layer only maps what comes out.
 */
import { badUserInput } from './errors';
import type { InstanceReports, ReportRequest, ReportRow } from './InstanceReports';
import { bucketStart, type ReportInterval } from './intervals';
import type { LiveSeriesSpec } from './LiveCoordination';
import type { LiveDropReason, LiveEvent, LiveReportHub } from './LiveReportHub';
import type { RequestedInterval } from './reportPlan';

export interface LiveRequest {
  instanceIds: readonly string[];
  interval: RequestedInterval;
  timeZone?: string | null;
}

/** The read behind a live series from `from` to now: every bucket, empty ones as zeros. */
export function liveReadRequest(spec: Pick<LiveSeriesSpec, 'instanceIds' | 'interval' | 'zone'>, from: number): ReportRequest {
  return { instanceIds: spec.instanceIds, interval: spec.interval, timeZone: spec.zone, startTime: from, endTime: null, emptyIntervals: 'ZERO' };
}

/**
 * The series a request watches, validated and authorized (BAD_USER_INPUT, FORBIDDEN as for
 * queries). TOTAL has no current bucket to watch.
 */
export function liveSeriesOf(reports: InstanceReports, request: LiveRequest): LiveSeriesSpec {
  if (request.interval === 'TOTAL') {
    throw badUserInput('interval TOTAL has no current bucket to follow; subscribe with HOURLY, DAILY, WEEKLY or MONTHLY', 'interval');
  }
  const plan = reports.plan({ instanceIds: request.instanceIds, interval: request.interval, timeZone: request.timeZone });
  return { key: plan.seriesKey, instanceIds: [...plan.instanceIds].sort(), interval: request.interval as ReportInterval, zone: plan.viewZone };
}

/** The request a live field's first read makes (the current bucket): what its operation cost counts. */
export function currentBucketRequest(reports: InstanceReports, request: LiveRequest): ReportRequest {
  const spec = liveSeriesOf(reports, request);
  return liveReadRequest(spec, bucketStart(reports.now, spec.interval, spec.zone));
}

export class LiveReports {
  constructor(
    private readonly hub: LiveReportHub,
    /** The subscriber's own reports: its permissions, its caller key for budgets and fair queueing. */
    private readonly reports: InstanceReports,
    /** Called when the hub drops a subscriber (its transport closes the connection with the reason). */
    private readonly onDrop: (reason: LiveDropReason) => void,
  ) {}

  async subscribe(request: LiveRequest): Promise<AsyncIterableIterator<LiveEvent>> {
    const spec = liveSeriesOf(this.reports, request);
    let rows: ReportRow[] | undefined = this.hub.freshRows(spec.key);
    rows ??= await this.reports.read(liveReadRequest(spec, bucketStart(this.reports.now, spec.interval, spec.zone)));
    return this.hub.subscribe(spec, rows, this.onDrop);
  }
}
