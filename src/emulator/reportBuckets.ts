/**
 * The buckets of one ListIntervalInstanceReport answer, from the simulator.
 *
 * The range is widened to whole UTC hours (StartTime floored, inclusive; EndTime rounded up,
 * exclusive). Hourly: one bucket per hour with traffic. Daily: one bucket per local day of the
 * service's zone, combining that day's hours that lie inside the range, stamped with the day's
 * local midnight (even when the range starts later that day); DST days have 23 or 25 hours.
 * Buckets without traffic are omitted, as upstream omits them. Hours are combined through exact
 * tallies of their raw events, so a Daily bucket equals its hours combined.
 */
import { ReportBucket } from '../reports/metrics';
import { ceilToHour, floorToHour, hourStartsBetween, localDaysOfHours } from './simulator/calendar';
import { AverageRounding, metricsFromTally } from './simulator/computeMetrics';
import { HOUR_MS } from './simulator/activity';
import { hourTally, periodTally } from './simulator/period';
import type { Tally } from './simulator/tally';
import { ReportRequest } from './reportRequest';

export interface BucketContext {
  now: number;
  timeZone: string;
  averageRounding: AverageRounding;
  /** Extra IVR-completed calls in the hour containing `now` (see CccEmulatorOptions). */
  openHourExtraCalls?: number;
}

/** The tally of [from, to) plus the open hour's extra calls when `now` falls inside it. */
function withExtraCalls(tally: Readonly<Tally>, from: number, to: number, context: BucketContext): Readonly<Tally> {
  const extra = context.openHourExtraCalls ?? 0;
  if (extra === 0 || context.now < from || context.now >= to) return tally;
  // A copy: closed-hour tallies come from a shared cache.
  return { ...tally, inOffered: tally.inOffered + extra };
}

export function reportBuckets(request: ReportRequest, context: BucketContext): ReportBucket[] {
  const buckets: ReportBucket[] = [];
  for (const bucket of bucketSteps(request, context)) if (bucket) buckets.push(bucket);
  return buckets;
}

/**
 * The same buckets, computed in slices of at most `sliceMs` of CPU with the event loop free in
 * between. A long simulation (240 hours of a new instance) would otherwise block the emulator's
 * only thread: requests arriving meanwhile would be stamped late and answered late, and the
 * configured latency would not be the service's response time any more.
 */
export async function reportBucketsInSlices(request: ReportRequest, context: BucketContext, sliceMs = 2): Promise<ReportBucket[]> {
  const buckets: ReportBucket[] = [];
  let sliceStart = performance.now();
  for (const bucket of bucketSteps(request, context)) {
    if (bucket) buckets.push(bucket);
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
  return buckets;
}

/** One step per hour (Hourly) or local day (Daily): its bucket, or null when it had no traffic. */
function bucketSteps(request: ReportRequest, context: BucketContext): Generator<ReportBucket | null> {
  return request.interval === 'Hourly' ? hourlySteps(request, context) : dailySteps(request, context);
}

function* hourlySteps(request: ReportRequest, context: BucketContext): Generator<ReportBucket | null> {
  for (const hour of hourStartsBetween(request.startTime, request.endTime)) {
    if (hour >= context.now) break;
    const tally = withExtraCalls(hourTally(request.instanceId, hour, context.timeZone, context.now), hour, hour + HOUR_MS, context);
    const metrics = metricsFromTally(tally, context);
    yield metrics ? { statsTime: hour, ...metrics } : null;
  }
}

function* dailySteps(request: ReportRequest, context: BucketContext): Generator<ReportBucket | null> {
  const rangeStart = floorToHour(request.startTime);
  const rangeEnd = ceilToHour(request.endTime);
  for (const day of localDaysOfHours(rangeStart, rangeEnd, context.timeZone)) {
    // The day's hours are those starting in [dayStart, dayEnd); keep the ones inside the range.
    const from = Math.max(ceilToHour(day.dayStart), rangeStart);
    const to = Math.min(ceilToHour(day.dayEnd), rangeEnd);
    if (from >= context.now || from >= to) continue;
    const metrics = metricsFromTally(withExtraCalls(periodTally(request.instanceId, from, to, context.timeZone, context.now), from, to, context), context);
    yield metrics ? { statsTime: day.dayStart, ...metrics } : null;
  }
}
