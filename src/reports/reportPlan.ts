/**
 * Which upstream buckets make up each bucket a caller asked for.
 *
 * Upstream knows HOURLY (UTC hours) and DAILY (days of the instance's own zone). A requested
 * bucket is built from the coarsest upstream data that lines up with its boundaries: whole
 * instance-days in the middle from DAILY, the edges from HOURLY. So DAILY in the instance's own
 * zone is upstream DAILY one to one; a day in another zone is its hours; a week or month in the
 * instance's zone is its days; a month in another zone is its inner days plus the hours at each
 * end. Boundaries that do not fall on a UTC hour (zones with half-hour offsets) cannot be built
 * from upstream data at all and are rejected.
 */
import type { UpstreamInterval } from './buckets';
import { badUserInput } from './errors';
import { bucketStart, bucketStartsInRange, HOUR_MS, nextBucketStart } from './intervals';

export type RequestedInterval = 'HOURLY' | 'DAILY' | 'WEEKLY' | 'MONTHLY' | 'TOTAL';

/** A run of upstream buckets of one size: [start, end), aligned to that size's boundaries. */
export interface Segment {
  interval: UpstreamInterval;
  start: number;
  end: number;
}

export interface TargetBucket {
  statsTime: number;
  end: number;
  segments: Segment[];
}

export interface PlanRequest {
  interval: RequestedInterval;
  /** The zone the caller's buckets are cut in. */
  viewZone: string;
  /** The zone of upstream's Daily buckets for this instance. */
  instanceZone: string;
  start: number;
  end: number;
  /**
   * Where upstream data ends: the end of the hour holding now. A week or month still in
   * progress is built from what exists; nothing after this is ever requested.
   */
  dataEnd: number;
}

const floorHour = (t: number) => Math.floor(t / HOUR_MS) * HOUR_MS;
const ceilHour = (t: number) => Math.ceil(t / HOUR_MS) * HOUR_MS;

/** True when the bucket at `start` is served one to one by an upstream bucket. */
export function isUpstreamNative(request: Pick<PlanRequest, 'interval' | 'viewZone' | 'instanceZone'>): boolean {
  return request.interval === 'HOURLY' || (request.interval === 'DAILY' && request.viewZone === request.instanceZone);
}

export function planTargetBuckets(request: PlanRequest): TargetBucket[] {
  const { interval, viewZone, instanceZone, start, end, dataEnd } = request;
  if (end <= start) return [];

  if (interval === 'HOURLY') {
    // Upstream hours are UTC hours; they are the viewer's hours only where offsets are whole hours.
    const starts = bucketStartsInRange(start, end, 'HOURLY', 'UTC');
    const local = bucketStartsInRange(start, end, 'HOURLY', viewZone);
    if (local.length !== starts.length || local.some((t, i) => t !== starts[i])) {
      throw halfHourZone(viewZone);
    }
    return starts.map((t) => ({ statsTime: t, end: t + HOUR_MS, segments: [{ interval: 'HOURLY', start: t, end: t + HOUR_MS }] }));
  }

  if (interval === 'DAILY' && viewZone === instanceZone) {
    return bucketStartsInRange(start, end, 'DAILY', instanceZone).map((t) => {
      const next = nextBucketStart(t, 'DAILY', instanceZone);
      return { statsTime: t, end: next, segments: [{ interval: 'DAILY', start: t, end: next }] };
    });
  }

  const boundaries: [number, number][] =
    interval === 'TOTAL'
      ? // One bucket for the whole range, on upstream's hour grid (StartTime floored, EndTime rounded up).
        [[floorHour(start), ceilHour(end)]]
      : bucketStartsInRange(start, end, interval, viewZone).map((t) => [t, nextBucketStart(t, interval, viewZone)]);

  return boundaries.map(([from, to]) => {
    if (from % HOUR_MS !== 0 || to % HOUR_MS !== 0) throw halfHourZone(viewZone);
    const available = Math.min(to, dataEnd);
    return { statsTime: from, end: to, segments: from < available ? coverWithUpstreamBuckets(from, available, instanceZone) : [] };
  });
}

/** [from, to) on the hour grid as: hours up to the first instance midnight, whole days, hours after the last. */
export function coverWithUpstreamBuckets(from: number, to: number, instanceZone: string): Segment[] {
  const dayAtFrom = bucketStart(from, 'DAILY', instanceZone);
  const firstMidnight = dayAtFrom === from ? from : nextBucketStart(from, 'DAILY', instanceZone);
  const lastMidnight = bucketStart(to, 'DAILY', instanceZone);
  if (firstMidnight >= lastMidnight || firstMidnight % HOUR_MS !== 0 || lastMidnight % HOUR_MS !== 0) {
    return [{ interval: 'HOURLY', start: from, end: to }];
  }
  const segments: Segment[] = [];
  if (from < firstMidnight) segments.push({ interval: 'HOURLY', start: from, end: firstMidnight });
  segments.push({ interval: 'DAILY', start: firstMidnight, end: lastMidnight });
  if (lastMidnight < to) segments.push({ interval: 'HOURLY', start: lastMidnight, end: to });
  return segments;
}

function halfHourZone(zone: string) {
  return badUserInput(
    `Time zone ${zone} has a UTC offset that is not a whole number of hours in this range; its buckets cannot be built from upstream's hourly data. Use a zone with whole-hour offsets (e.g. UTC or the instance's zone).`,
    'timeZone',
  );
}
