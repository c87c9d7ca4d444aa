/**
 * Per-operation entry point of the domain: validates a report request, applies the API's
 * defaults, and reads it through the operation's DataLoader.
 */
import type DataLoader from 'dataloader';
import type { BucketSlot, UpstreamInterval } from './buckets';
import { badUserInput } from './errors';
import { bucketStart, bucketStartsInRange } from './intervals';
import type { ReportBucket } from './metrics';
import type { BucketRangeKey } from './ReportPipeline';

/** CCC instance ids: letters, digits, `-` and `_` (they become cache keys and upstream parameters). */
export const INSTANCE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export interface ReportRequest {
  instanceId: string;
  interval: UpstreamInterval;
  startTime?: number | null;
  endTime?: number | null;
}

export interface IntervalReportRow extends ReportBucket {
  instanceId: string;
  interval: UpstreamInterval;
  closed: boolean;
}

export interface InstanceReportsSettings {
  /** The instance's day boundary (upstream Daily buckets). */
  zoneFor(instanceId: string): string;
  maxBucketsPerField: number;
}

export function assertInstanceId(instanceId: string, argumentName = 'instanceId'): void {
  if (!INSTANCE_ID_PATTERN.test(instanceId)) {
    throw badUserInput(
      `${argumentName} ${JSON.stringify(instanceId.slice(0, 80))} is not a call center instance id (letters, digits, "-" and "_", at most 64 characters)`,
      argumentName,
    );
  }
}

/** The range [start, end) of a request after defaults and validation. */
export function resolveReportRange(
  request: ReportRequest,
  zone: string,
  now: number,
): { start: number; end: number } {
  // API defaults: from today 00:00 in the instance's zone, until now.
  const start = request.startTime ?? bucketStart(now, 'DAILY', zone);
  const requestedEnd = request.endTime ?? now;
  if (start > now) {
    throw badUserInput(`startTime (${new Date(start).toISOString()}) is in the future; reports exist up to now`, 'startTime');
  }
  if (start > requestedEnd) {
    throw badUserInput(
      `startTime (${new Date(start).toISOString()}) is after endTime (${new Date(requestedEnd).toISOString()})`,
      'startTime',
    );
  }
  // Buckets after now hold nothing yet: the range stops at now, as upstream's does.
  const end = Math.min(requestedEnd, now);
  // Upstream treats EndTime as "rounded up to the hour, exclusive": an end in the middle of a
  // bucket includes that bucket, an end exactly on a boundary does not.
  return { start, end };
}

export class InstanceReports {
  constructor(
    private readonly loader: DataLoader<BucketRangeKey, BucketSlot[], string>,
    private readonly settings: InstanceReportsSettings,
    private readonly now: number,
  ) {}

  /** Buckets of the range, including the ones without traffic (`data: null`). */
  async slots(request: ReportRequest): Promise<{ key: BucketRangeKey; slots: BucketSlot[] }> {
    assertInstanceId(request.instanceId);
    const instanceZone = this.settings.zoneFor(request.instanceId);
    // Upstream hours are UTC hours; upstream days start at the instance's midnight.
    const zone = request.interval === 'HOURLY' ? 'UTC' : instanceZone;
    const { start, end } = resolveReportRange(request, instanceZone, this.now);
    const key: BucketRangeKey = { instanceId: request.instanceId, interval: request.interval, zone, start, end };
    const count = bucketStartsInRange(start, end, request.interval, zone).length;
    if (count > this.settings.maxBucketsPerField) {
      throw badUserInput(
        `The range covers ${count} ${request.interval.toLowerCase()} buckets; at most ${this.settings.maxBucketsPerField} are allowed per field. Narrow the range or use a coarser interval.`,
        'startTime',
      );
    }
    return { key, slots: await this.loader.load(key) };
  }

  /** Upstream's view: buckets with traffic only. */
  async intervalReports(request: ReportRequest): Promise<IntervalReportRow[]> {
    const { slots } = await this.slots(request);
    const rows: IntervalReportRow[] = [];
    for (const slot of slots) {
      if (slot.data === null) continue;
      rows.push({
        instanceId: request.instanceId,
        interval: request.interval,
        closed: slot.closed,
        ...slot.data,
        statsTime: slot.statsTime,
      });
    }
    return rows;
  }
}
