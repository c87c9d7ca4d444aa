/**
 * Report bucket arithmetic in an IANA time zone.
 *
 * A bucket is identified by its start (epoch ms); its end is the start of the next bucket, so
 * buckets of one interval partition the time line with no gaps or overlaps, even across DST
 * changes (a DAILY bucket then lasts 23 or 25 hours).
 *
 * Zone offsets come from luxon's IANAZone (backed by Intl). Calendar arithmetic on *wall* dates
 * (add a day, find the Monday, find the 1st) is done on "wall milliseconds": the local date and
 * time encoded as if it were UTC, which keeps it free of zone rules. Converting a wall time back
 * to an instant is the only zone-sensitive step, and it is done explicitly because wall times can
 * be skipped (spring forward) or repeated (fall back).
 */
import { IANAZone } from 'luxon';

/** TOTAL is handled elsewhere: it is a single bucket covering the whole requested range. */
export type ReportInterval = 'HOURLY' | 'DAILY' | 'WEEKLY' | 'MONTHLY';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/**
 * Offsets in the tz database lie within about ±15 h, so the instant at which a given wall time
 * occurs is within this distance of the same wall time read as UTC.
 */
const MAX_ABS_OFFSET_MS = 15 * HOUR_MS;

/** Throws RangeError unless `zone` is an IANA zone name this runtime knows (e.g. "Asia/Shanghai"). */
export function assertTimeZone(zone: string): void {
  ianaZone(zone);
}

/** Canonical spellings, by lower-cased name: zone names are matched case-insensitively. */
const canonicalZones = new Map<string, string>();

/**
 * The tz database's own spelling of a zone name (`asia/shanghai` -> `Asia/Shanghai`, `utc` ->
 * `UTC`). Intl and luxon accept any case, so two spellings of one zone would otherwise give two
 * bucket ids, two cache keys and two plans for the same buckets. Throws RangeError like
 * assertTimeZone for a name that is not a zone. Remembered per lower-cased name: at most one entry
 * per zone, whatever case callers try.
 */
export function canonicalTimeZone(zone: string): string {
  const folded = zone.toLowerCase();
  let canonical = canonicalZones.get(folded);
  if (canonical === undefined) {
    assertTimeZone(zone);
    canonical = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
    canonicalZones.set(folded, canonical);
  }
  return canonical;
}

/** Start of the bucket containing instant `t`. */
export function bucketStart(t: number, interval: ReportInterval, zone: string): number {
  assertEpochMs('t', t);
  const z = ianaZone(zone);
  if (interval === 'HOURLY') return wallHourStart(z, t);
  return firstInstantOfWallDay(z, calendarPeriodAround(z, t, interval).period);
}

/**
 * Start of the bucket after the one containing `start` (i.e. the exclusive end of that bucket).
 * `start` is normally a bucket start, but any instant works.
 */
export function nextBucketStart(start: number, interval: ReportInterval, zone: string): number {
  assertEpochMs('start', start);
  const z = ianaZone(zone);
  return interval === 'HOURLY' ? nextWallHourStart(z, start) : calendarPeriodAround(z, start, interval).end;
}

/**
 * Starts of all buckets overlapping [start, end), ascending. The first is the bucket containing
 * `start` (a range starting mid-bucket still needs that bucket); `end` is exclusive.
 */
export function bucketStartsInRange(start: number, end: number, interval: ReportInterval, zone: string): number[] {
  assertEpochMs('start', start);
  assertEpochMs('end', end);
  assertTimeZone(zone);
  if (end <= start) return [];

  const starts: number[] = [];
  if (interval === 'HOURLY' && isWholeHourOffsetZone(zone, start, end)) {
    // Every wall-clock hour is a UTC hour here, so skip the per-bucket zone lookups: ranges of
    // thousands of hourly buckets are common and this keeps them to plain arithmetic.
    for (let b = floorTo(start, HOUR_MS); b < end; b += HOUR_MS) starts.push(b);
    return starts;
  }
  for (let b = bucketStart(start, interval, zone); b < end; b = nextBucketStart(b, interval, zone)) starts.push(b);
  return starts;
}

/**
 * Whether the bucket starting at `bucketStartMs` is over and has had `settleDelayMs` for upstream
 * to finish aggregating it, so its figures are final and may be cached for good.
 */
export function isClosedInterval(
  bucketStartMs: number,
  interval: ReportInterval,
  zone: string,
  now: number,
  settleDelayMs: number,
): boolean {
  assertEpochMs('now', now);
  return nextBucketStart(bucketStartMs, interval, zone) + settleDelayMs <= now;
}

/**
 * True when every UTC offset `zone` uses in [from, to) is a whole number of hours, so its
 * wall-clock hours (and midnights) fall on UTC hours and HOURLY buckets are plain UTC hours.
 *
 * Offsets are sampled at `from`, at every 24 h step after it and at `to` itself (checking `to` as
 * well errs on the safe side: a false "false" only costs speed). Offsets change at most a few
 * times a year and each offset stays in force for far longer than a day, so a daily sample sees
 * every offset in use; this costs one lookup per day instead of one per hour.
 */
export function isWholeHourOffsetZone(zone: string, from: number, to: number): boolean {
  assertEpochMs('from', from);
  assertEpochMs('to', to);
  const z = ianaZone(zone);
  for (let t = from; t < to; t += DAY_MS) {
    if (offsetMs(z, t) % HOUR_MS !== 0) return false;
  }
  return offsetMs(z, to) % HOUR_MS === 0;
}

// ---------------------------------------------------------------------------------------------
// Zone access

function ianaZone(zone: string): IANAZone {
  // IANAZone.create caches instances (and their validity) per name, so this is cheap to repeat.
  const z = IANAZone.create(zone);
  if (!z.isValid) throw new RangeError(`Unknown time zone "${zone}"`);
  return z;
}

/** UTC offset in force at instant `t`, in ms (luxon reports minutes). */
function offsetMs(z: IANAZone, t: number): number {
  const day = Math.floor(t / DAY_MS);
  const offsetForWholeDay = dayOffsetsFor(z).get(day) ?? rememberDayOffset(z, day);
  return offsetForWholeDay ?? lookUpOffsetMs(z, t);
}

/*
 * Each Intl lookup costs a few microseconds, and walking thousands of hourly buckets in a zone
 * that is not on the UTC-hour grid (Asia/Kolkata) needs several per bucket. Offsets change only a
 * few times a year, so remember, per zone and UTC day, the offset when it is the same at both ends
 * of the day (taken as constant throughout: no zone changes and reverts within 24 h), or null for
 * the rare days with a change, which keep exact lookups. The memory is bounded by clearing.
 */
const MAX_REMEMBERED_DAYS_PER_ZONE = 50_000;
const offsetsByZoneAndDay = new Map<string, Map<number, number | null>>();

function dayOffsetsFor(z: IANAZone): Map<number, number | null> {
  let days = offsetsByZoneAndDay.get(z.name);
  if (days === undefined) offsetsByZoneAndDay.set(z.name, (days = new Map()));
  return days;
}

function rememberDayOffset(z: IANAZone, day: number): number | null {
  const atStart = lookUpOffsetMs(z, day * DAY_MS);
  const constant = atStart === lookUpOffsetMs(z, (day + 1) * DAY_MS) ? atStart : null;
  const days = dayOffsetsFor(z);
  if (days.size >= MAX_REMEMBERED_DAYS_PER_ZONE) days.clear();
  days.set(day, constant);
  return constant;
}

function lookUpOffsetMs(z: IANAZone, t: number): number {
  return Math.round(z.offset(t) * 60_000);
}

/** Local wall time at instant `t`, encoded as if it were UTC. */
function wallMs(z: IANAZone, t: number): number {
  return t + offsetMs(z, t);
}

/**
 * Smallest instant x in (lo, hi] with `isAfter(x)`, given `isAfter(lo)` is false and
 * `isAfter(hi)` true. Used to pin down the exact instant of an offset change, which Intl does
 * not expose; only needed near transitions, so the ~25 lookups are rare.
 */
function firstInstantWhere(lo: number, hi: number, isAfter: (t: number) => boolean): number {
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (isAfter(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

// ---------------------------------------------------------------------------------------------
// HOURLY: wall-clock hours, plus a boundary wherever the offset changes mid-hour

/*
 * Within a stretch of constant offset, hourly buckets start at wall-clock :00. An offset change
 * that is not a whole number of hours (Australia/Lord_Howe shifts by 30 min) would otherwise
 * make the wall hour before and after the change overlap; making the change instant itself a
 * bucket boundary keeps the buckets a partition (that hour is then split into two short buckets,
 * just as a DST day is a short or long DAILY bucket). For whole-hour offsets this reduces to
 * flooring to the UTC hour.
 */

function wallHourStart(z: IANAZone, t: number): number {
  const offset = offsetMs(z, t);
  const start = t - positiveModulo(t + offset, HOUR_MS);
  if (start === t || offsetMs(z, start) === offset) return start;
  // The offset changed between the wall :00 and t: the bucket starts at the change.
  return firstInstantWhere(start, t, (x) => offsetMs(z, x) === offset);
}

function nextWallHourStart(z: IANAZone, t: number): number {
  const offset = offsetMs(z, t);
  const next = t + HOUR_MS - positiveModulo(t + offset, HOUR_MS);
  if (offsetMs(z, next - 1) === offset) return next;
  // The offset changes before the next wall :00: the change starts the next bucket.
  return firstInstantWhere(t, next - 1, (x) => offsetMs(z, x) !== offset);
}

// ---------------------------------------------------------------------------------------------
// DAILY / WEEKLY / MONTHLY: calendar periods of local dates

type CalendarInterval = Exclude<ReportInterval, 'HOURLY'>;

/**
 * The calendar period containing `t`, named by the wall midnight of its first day, and the
 * instant it ends. (Its start is firstInstantOfWallDay(period); callers that only need the end
 * skip that lookup.)
 *
 * A period begins at the first instant local time reaches its first midnight. Usually the period
 * is simply the one holding t's local date, but the loop also covers a fall-back that crosses
 * midnight, where local time briefly reads the previous date again after the new period began.
 */
function calendarPeriodAround(z: IANAZone, t: number, interval: CalendarInterval): { period: number; end: number } {
  let period = periodContainingWallDay(floorTo(wallMs(z, t), DAY_MS), interval);
  let end = firstInstantOfWallDay(z, followingPeriod(period, interval));
  while (end <= t) {
    period = followingPeriod(period, interval);
    end = firstInstantOfWallDay(z, followingPeriod(period, interval));
  }
  return { period, end };
}

/** Wall midnight of the first day of the period holding the wall day `wallDay`. */
function periodContainingWallDay(wallDay: number, interval: CalendarInterval): number {
  switch (interval) {
    case 'DAILY':
      return wallDay;
    case 'WEEKLY': {
      // ISO weeks start on Monday; getUTCDay() numbers Sunday 0 .. Saturday 6.
      const daysSinceMonday = (new Date(wallDay).getUTCDay() + 6) % 7;
      return wallDay - daysSinceMonday * DAY_MS;
    }
    case 'MONTHLY': {
      const d = new Date(wallDay);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    }
  }
}

function followingPeriod(periodStartWallDay: number, interval: CalendarInterval): number {
  switch (interval) {
    case 'DAILY':
      return periodStartWallDay + DAY_MS;
    case 'WEEKLY':
      return periodStartWallDay + 7 * DAY_MS;
    case 'MONTHLY': {
      const d = new Date(periodStartWallDay);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    }
  }
}

/**
 * First instant at which local time reaches the wall midnight `wallMidnight`.
 *
 * Midnight normally occurs once. Where a fall-back repeats it (e.g. America/Havana goes back from
 * 01:00 to 00:00), the day starts at its first occurrence. Where a spring-forward skips it (Havana
 * again, 00:00 -> 01:00, or Pacific/Apia skipping 2011-12-30), the day starts at the transition,
 * the first instant showing a time at or after midnight.
 */
function firstInstantOfWallDay(z: IANAZone, wallMidnight: number): number {
  // Every offset that could place this midnight is in force somewhere in this window; offsets
  // change rarely, so sampling its two ends finds both sides of any change inside it.
  const windowStart = wallMidnight - MAX_ABS_OFFSET_MS;
  const windowEnd = wallMidnight + MAX_ABS_OFFSET_MS;
  const candidateOffsets = new Set([offsetMs(z, windowStart), offsetMs(z, windowEnd)]);

  let earliest = Number.POSITIVE_INFINITY;
  for (const offset of candidateOffsets) {
    const instant = wallMidnight - offset;
    // A candidate counts only if that offset really is in force at that instant.
    if (offsetMs(z, instant) === offset && instant < earliest) earliest = instant;
  }
  if (earliest !== Number.POSITIVE_INFINITY) return earliest;

  // Midnight was skipped: wall time only moves forward across a gap, so search for the jump.
  return firstInstantWhere(windowStart, windowEnd, (x) => wallMs(z, x) >= wallMidnight);
}

// ---------------------------------------------------------------------------------------------
// Small numeric helpers

function positiveModulo(a: number, m: number): number {
  return ((a % m) + m) % m;
}

function floorTo(t: number, unit: number): number {
  return t - positiveModulo(t, unit);
}

function assertEpochMs(name: string, value: number): void {
  // NaN or Infinity would otherwise turn range loops into empty results or endless loops.
  if (!Number.isFinite(value)) throw new RangeError(`${name} must be a finite epoch-ms number, got ${value}`);
}
