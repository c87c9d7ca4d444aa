/**
 * What a live report subscription costs before it runs, in the unit of the operation cost limit
 * (OPERATION_MAX_COST, upstream report buckets): the buckets of its first read, the current
 * bucket of every instance (a MONTHLY one reads the month's days so far). Its polls afterwards are
 * shared by every subscriber of the series and are not the caller's.
 */
import type { InstanceReports } from '../reports/InstanceReports';
import { currentBucketRequest } from '../reports/LiveReports';
import type { RequestedInterval } from '../reports/reportPlan';

export const LIVE_FIELDS = new Set(['intervalReportUpdates', 'combinedIntervalReportUpdates']);

export function liveFieldCost(reports: InstanceReports, fieldName: string, args: Record<string, unknown>): number | undefined {
  if (!LIVE_FIELDS.has(fieldName)) return undefined;
  const instanceIds = fieldName === 'intervalReportUpdates' ? [String(args.instanceId)] : ((args.instanceIds as string[]) ?? []);
  const request = { instanceIds, interval: (args.interval as RequestedInterval) ?? 'HOURLY', timeZone: args.timeZone as string | null | undefined };
  return reports.plan(currentBucketRequest(reports, request)).upstreamBuckets;
}
