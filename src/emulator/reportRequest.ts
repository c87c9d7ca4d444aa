/**
 * ListIntervalInstanceReport's parameters: defaults and checks as the service applies them.
 *
 *   InstanceId  required; blank -> Parameter.Blank; unknown -> NotExists.InstanceId (404)
 *   StartTime   epoch ms, default today 00:00 in the service's zone; not before now - 180 days
 *   EndTime     epoch ms, default now; EndTime - StartTime at most 10 days (Hourly) / 180 days (Daily)
 *   Interval    Hourly | Daily, default Daily
 *
 * Checks run format first, then existence, then ranges, so a request with several problems gets
 * the same single error each time. Range checks use the values as given; the bucket range is then
 * widened to whole hours (StartTime floored, EndTime rounded up).
 */
import { parameterErrors } from './apiErrors';
import { startOfLocalDay } from './simulator/calendar';

export type ReportInterval = 'Hourly' | 'Daily';

export interface ReportRequest {
  instanceId: string;
  /** As requested or defaulted, epoch ms (not yet floored). */
  startTime: number;
  /** As requested or defaulted, epoch ms (not yet rounded up). */
  endTime: number;
  interval: ReportInterval;
}

const DAY_MS = 86_400_000;
export const OLDEST_START_DAYS = 180;
export const MAX_SPAN_DAYS: Readonly<Record<ReportInterval, number>> = { Hourly: 10, Daily: 180 };

export interface ReportRequestContext {
  now: number;
  timeZone: string;
  instanceExists(instanceId: string): boolean;
}

export function parseReportRequest(params: ReadonlyMap<string, string>, context: ReportRequestContext): ReportRequest {
  const instanceId = params.get('InstanceId') ?? '';
  if (instanceId.trim() === '') throw parameterErrors.blank('InstanceId');

  const startTime = optionalEpochMs(params, 'StartTime') ?? startOfLocalDay(context.now, context.timeZone);
  const endTime = optionalEpochMs(params, 'EndTime') ?? context.now;
  const interval = optional(params, 'Interval') ?? 'Daily';
  if (interval !== 'Hourly' && interval !== 'Daily') {
    throw parameterErrors.invalid('Interval', `expected Hourly or Daily, got ${interval}.`);
  }

  if (!context.instanceExists(instanceId)) throw parameterErrors.unknownInstance(instanceId);

  const oldestStart = context.now - OLDEST_START_DAYS * DAY_MS;
  if (startTime < oldestStart) {
    throw parameterErrors.minimum('StartTime', oldestStart, `at most ${OLDEST_START_DAYS} days before now`);
  }
  if (startTime > endTime) throw parameterErrors.invalid('StartTime', 'StartTime must not be after EndTime.');
  const maxSpanDays = MAX_SPAN_DAYS[interval];
  if (endTime - startTime > maxSpanDays * DAY_MS) {
    throw parameterErrors.maximum('EndTime', startTime + maxSpanDays * DAY_MS, `at most ${maxSpanDays} days after StartTime for ${interval}`);
  }
  return { instanceId, startTime, endTime, interval };
}

/** An absent or empty parameter is "not given" (the service treats empty optional values so). */
function optional(params: ReadonlyMap<string, string>, name: string): string | undefined {
  const value = params.get(name);
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function optionalEpochMs(params: ReadonlyMap<string, string>, name: string): number | undefined {
  const value = optional(params, name);
  if (value === undefined) return undefined;
  if (!/^-?\d{1,16}$/.test(value)) throw parameterErrors.invalid(name, `expected epoch milliseconds, got ${value}.`);
  return Number(value);
}
