/** What `CallCenterInstance.archive` shows: the archived span of an instance and what is missing in it. */
import { archivedSeries, type ArchiveProgressStore } from './ArchiveProgress';

export interface ArchiveStatus {
  /** Start of the oldest archived bucket (either size). */
  earliest: number;
  /** Exclusive end of the newest bucket gone through (either size). */
  latest: number;
  /** Closed buckets of both sizes within the span that are not stored (retried by every pass). */
  missingBuckets: number;
}

/** Undefined when the instance was never archived. */
export async function readArchiveStatus(progress: ArchiveProgressStore, instanceId: string, instanceZone: string): Promise<ArchiveStatus | undefined> {
  const states = await Promise.all(archivedSeries(instanceId, instanceZone).map((series) => progress.read(series)));
  const started = states.filter((s) => s.earliest !== undefined && s.watermark !== undefined);
  if (started.length === 0) return undefined;
  return {
    earliest: Math.min(...started.map((s) => s.earliest!)),
    latest: Math.max(...started.map((s) => s.watermark!)),
    missingBuckets: states.reduce((n, s) => n + s.missing.length, 0),
  };
}
