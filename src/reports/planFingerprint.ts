/**
 * What a planned report field will read, as one string: two requests of one field with equal
 * fingerprints (and equal other arguments) read the same buckets and give the same answer from
 * the same snapshots, whatever their raw `startTime`/`endTime` were. The answer cache keys
 * answers holding open buckets by it (src/server/answerKeys.ts).
 *
 * Ranges are widened to whole buckets and cut at now, and the targets are consecutive buckets of
 * one grid, so the plan is fixed by its first and last bucket (start and end). A bucket still in
 * progress is read only up to the end of the hour holding now (`dataEnd`), which moves every
 * hour. TOTAL's period ends at the requested end rounded up to the hour.
 */
import type { PlanBounds } from './InstanceReports';
import type { RequestedInterval } from './reportPlan';

export function readPlanFingerprint(bounds: PlanBounds, interval: RequestedInterval): string {
  const { first, last } = bounds;
  if (!first || !last) return `${bounds.viewZone}|empty`;
  const total = interval === 'TOTAL' ? `|${bounds.totalEnd}` : '';
  return `${bounds.viewZone}|${first.statsTime}|${last.statsTime}|${last.end}|${Math.min(last.end, bounds.dataEnd)}${total}`;
}
