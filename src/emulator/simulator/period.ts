/**
 * Exact metrics of an instance over any range of UTC hours, as of a given moment: the oracle that
 * roll-up tests compare against, and what the emulator serves.
 *
 * Closed hours (ended at or before `now`) never change, so their tallies are cached in a bounded
 * LRU: a 180-day Daily request touches 4,320 hours, and a benchmark repeats such requests. The
 * hour containing `now` is recomputed from its raw events cut at `now`, so it grows as time
 * passes; hours starting at or after `now` contribute nothing. The clock is always passed in.
 */
import { LRUCache } from 'lru-cache';
import { activityBefore, HOUR_MS, HourActivity } from './activity';
import { ceilToHour, DEFAULT_TIME_ZONE, floorToHour } from './calendar';
import { BucketMetrics, metricsFromTally, MetricsOptions } from './computeMetrics';
import { simulateHour } from './simulateHour';
import { addTally, emptyTally, Tally, tallyActivity } from './tally';
import { ReportBucket } from '../../reports/metrics';

export interface PeriodOptions extends MetricsOptions {
  /** The moment of the query, epoch ms: activity starting at or after it is excluded. Default: no cut. */
  now?: number;
  /** Local time zone of the center (drives its business hours). Default Asia/Shanghai. */
  timeZone?: string;
}

/** About 60 numbers per entry: 50,000 hours (~11 instances x 180 days) stay well under 50 MB. */
const DEFAULT_CACHED_HOURS = 50_000;

let closedHourTallies = new LRUCache<string, Tally>({ max: DEFAULT_CACHED_HOURS });
/** Raw activity of recently simulated hours, for the current hour, which is asked for repeatedly. */
let recentActivity = new LRUCache<string, HourActivity>({ max: 2_000 });

/** Resizes (and empties) the simulator's caches. */
export function configureSimulatorCache(options: { maxClosedHours?: number; maxRawHours?: number } = {}): void {
  closedHourTallies = new LRUCache<string, Tally>({ max: options.maxClosedHours ?? DEFAULT_CACHED_HOURS });
  recentActivity = new LRUCache<string, HourActivity>({ max: options.maxRawHours ?? 2_000 });
}

export function simulatorCacheSize(): { closedHours: number; rawHours: number } {
  return { closedHours: closedHourTallies.size, rawHours: recentActivity.size };
}

function cacheKey(instanceId: string, timeZone: string, hourStart: number): string {
  return `${timeZone}|${hourStart}|${instanceId}`;
}

/** `simulateHour` through a small cache of raw activity. */
export function cachedHourActivity(instanceId: string, hourStart: number, timeZone: string = DEFAULT_TIME_ZONE): HourActivity {
  const key = cacheKey(instanceId, timeZone, hourStart);
  let activity = recentActivity.get(key);
  if (!activity) {
    activity = simulateHour(instanceId, hourStart, timeZone);
    recentActivity.set(key, activity);
  }
  return activity;
}

/** Tally of one hour as of `now` (closed hours from the cache: shared, hence read-only). */
export function hourTally(instanceId: string, hourStart: number, timeZone: string, now: number): Readonly<Tally> {
  if (hourStart >= now) return emptyTally();
  if (hourStart + HOUR_MS <= now) {
    const key = cacheKey(instanceId, timeZone, hourStart);
    let tally = closedHourTallies.get(key);
    if (!tally) {
      tally = tallyActivity([simulateHour(instanceId, hourStart, timeZone)]);
      closedHourTallies.set(key, tally);
    }
    return tally;
  }
  return tallyActivity([activityBefore(cachedHourActivity(instanceId, hourStart, timeZone), now)]);
}

/** Combined tally of the UTC hours in [from, to) as of `now`; `from` floored, `to` rounded up to the hour. */
export function periodTally(instanceId: string, from: number, to: number, timeZone: string, now: number): Tally {
  const total = emptyTally();
  const end = Math.min(ceilToHour(to), ceilToHour(now));
  for (let hour = floorToHour(from); hour < end; hour += HOUR_MS) {
    addTally(total, hourTally(instanceId, hour, timeZone, now));
  }
  return total;
}

/**
 * Exact metrics of the hours in [from, to) (from floored, to rounded up to the hour, as upstream
 * does), from the raw events of those hours as of `options.now`; null when there was no traffic.
 * `statsTime` is the first hour's start.
 */
export function metricsForPeriod(instanceId: string, from: number, to: number, options: PeriodOptions = {}): ReportBucket | null {
  const now = options.now ?? Number.POSITIVE_INFINITY;
  const metrics: BucketMetrics | null = metricsFromTally(
    periodTally(instanceId, from, to, options.timeZone ?? DEFAULT_TIME_ZONE, now),
    options,
  );
  return metrics && { statsTime: floorToHour(from), ...metrics };
}
