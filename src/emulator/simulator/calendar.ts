/**
 * Hour and local-day arithmetic shared by the simulator and the emulator.
 *
 * Upstream buckets are UTC hours; a Daily bucket is a local calendar day of the service's time
 * zone (Asia/Shanghai for the real service), which is 23 or 25 hours long on DST days in zones
 * that have DST. Luxon does the zone arithmetic; plain millisecond arithmetic would get DST wrong.
 */
import { DateTime } from 'luxon';
import { HOUR_MS } from './activity';

export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

export function floorToHour(epochMs: number): number {
  return Math.floor(epochMs / HOUR_MS) * HOUR_MS;
}

export function ceilToHour(epochMs: number): number {
  return Math.ceil(epochMs / HOUR_MS) * HOUR_MS;
}

/** Starts of the UTC hours in [from, to), after flooring `from` and rounding `to` up to the hour. */
export function hourStartsBetween(from: number, to: number): number[] {
  const hours: number[] = [];
  for (let hour = floorToHour(from); hour < ceilToHour(to); hour += HOUR_MS) hours.push(hour);
  return hours;
}

export interface LocalTime {
  /** 0..23 */
  readonly hour: number;
  /** ISO weekday: 1 = Monday .. 7 = Sunday. */
  readonly weekday: number;
}

export function localTimeOf(epochMs: number, timeZone: string): LocalTime {
  const local = DateTime.fromMillis(epochMs, { zone: timeZone });
  return { hour: local.hour, weekday: local.weekday };
}

/** Epoch ms of the local midnight that starts the day containing `epochMs`. */
export function startOfLocalDay(epochMs: number, timeZone: string): number {
  return DateTime.fromMillis(epochMs, { zone: timeZone }).startOf('day').toMillis();
}

/** Epoch ms of the local midnight that ends the day containing `epochMs` (next day's start). */
export function endOfLocalDay(epochMs: number, timeZone: string): number {
  return DateTime.fromMillis(epochMs, { zone: timeZone }).startOf('day').plus({ days: 1 }).toMillis();
}

export interface LocalDay {
  /** Local midnight, epoch ms: the Daily bucket's StatsTime. */
  readonly dayStart: number;
  /** Next local midnight, epoch ms. */
  readonly dayEnd: number;
}

/** Validates a zone name the way luxon understands it (IANA names such as `Asia/Shanghai`). */
export function isValidTimeZone(timeZone: string): boolean {
  return DateTime.now().setZone(timeZone).isValid;
}

/**
 * The local days that the UTC hours in [from, to) fall in, ascending. An hour belongs to the day
 * containing its start (this only matters for zones whose offset is not whole hours).
 */
export function localDaysOfHours(from: number, to: number, timeZone: string): LocalDay[] {
  const days: LocalDay[] = [];
  const firstHour = floorToHour(from);
  const end = ceilToHour(to);
  let hour = firstHour;
  while (hour < end) {
    const dayStart = startOfLocalDay(hour, timeZone);
    const dayEnd = endOfLocalDay(hour, timeZone);
    days.push({ dayStart, dayEnd });
    // The first UTC hour starting at or after the day's end belongs to the next day.
    hour = Math.max(hour + HOUR_MS, ceilToHour(dayEnd));
  }
  return days;
}
