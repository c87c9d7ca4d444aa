/**
 * Per-operation entry point of the domain: validates a report request, applies the API's
 * defaults, plans which upstream buckets make up each requested bucket, reads them all through
 * the operation's DataLoader, and combines them.
 */
import type DataLoader from 'dataloader';
import { DateTime } from 'luxon';
import { bucketSeriesKey } from './bucketIdentity';
import type { BucketSlot, UpstreamInterval } from './buckets';
import { combineBuckets, zeroMetrics } from './combine';
import { badUserInput, forbiddenInstance, GatewayError } from './errors';
import { bucketStart, canonicalTimeZone, HOUR_MS, nextBucketStart } from './intervals';
import type { ReportBucket } from './metrics';
import type { BucketRangeKey } from './ReportPipeline';
import { isUpstreamNative, planTargetBuckets, type RequestedInterval, type Segment } from './reportPlan';

/** CCC instance ids: letters, digits, `-` and `_` (they become cache keys and upstream parameters). */
export const INSTANCE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export type EmptyIntervals = 'OMIT' | 'ZERO';

export interface ReportRequest {
  instanceIds: readonly string[];
  interval: RequestedInterval;
  startTime?: number | null;
  endTime?: number | null;
  /** IANA zone of the buckets; default: the instances' zone. */
  timeZone?: string | null;
  emptyIntervals?: EmptyIntervals | null;
}

export interface ReportRow extends ReportBucket {
  interval: RequestedInterval;
  closed: boolean;
  /**
   * Exclusive end of the period the bucket stands for: the calendar end of its hour, day, week or
   * month (also while it is open and holds data only up to now); for TOTAL, the requested end
   * rounded up to the hour. With `statsTime`, the period in the bucket's identity.
   */
  endTime: number;
  /** The bucket's identity but for its period (`bucketSeriesKey`): one shared string per field. */
  seriesKey: string;
}

export interface ReadPlan {
  instanceIds: readonly string[];
  viewZone: string;
  plans: { instanceZone: string; ids: string[]; targets: ReturnType<typeof planTargetBuckets> }[];
  keys: BucketRangeKey[];
  /** Upstream buckets (all instances) the request reads: an upper estimate, exact but for DST days. */
  upstreamBuckets: number;
  /** Identity of the request's buckets but for their periods (see bucketIdentity.ts). */
  seriesKey: string;
  /** End of the TOTAL bucket's period: the requested end (not cut at now) rounded up to the hour. */
  totalEnd: number;
  /** Set when the first bucket starts before the requested start (see WidenedStart). */
  widenedStart?: WidenedStart;
}

/** The ends of a plan (InstanceReports.planBounds). */
export interface PlanBounds {
  instanceIds: readonly string[];
  viewZone: string;
  /** Undefined for an empty range. */
  first?: { statsTime: number; end: number };
  last?: { statsTime: number; end: number };
  totalEnd: number;
  /** Where upstream data ends: the end of the hour holding now. */
  dataEnd: number;
}

/**
 * Buckets are whole: a range starting inside a bucket is widened to that bucket's start, so a
 * WEEKLY or MONTHLY answer can begin up to a week or a month before startTime. Errors about the
 * range name that start, since it, not startTime, is what the range really covers (and what, for
 * example, upstream's retention is measured against).
 */
export interface WidenedStart {
  interval: RequestedInterval;
  zone: string;
  /** startTime as requested (or its default). */
  requested: number;
  /** Start of the bucket holding it: where the range really starts. */
  bucketStart: number;
  /** Start of the next bucket: the earliest start that leaves the widened bucket out. */
  nextBucketStart: number;
}

export interface InstanceReportsSettings {
  /** The instance's day boundary (upstream Daily buckets). */
  zoneFor(instanceId: string): string;
  /** Largest number of upstream buckets (all instances together) one field may read. */
  maxBucketsPerField: number;
  maxInstancesPerField: number;
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
  request: Pick<ReportRequest, 'startTime' | 'endTime'>,
  zone: string,
  now: number,
): { start: number; end: number } {
  // API defaults: from today 00:00 in the zone, until now.
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
  // Buckets after now hold nothing yet: the range stops at now, as upstream's does. An end in
  // the middle of a bucket includes that bucket; an end exactly on a boundary does not.
  return { start, end: Math.min(requestedEnd, now) };
}

export class InstanceReports {
  constructor(
    private readonly loader: DataLoader<BucketRangeKey, BucketSlot[], string>,
    private readonly settings: InstanceReportsSettings,
    /** The operation's clock reading: every default and open/closed judgement of the operation uses it. */
    readonly now: number,
    /** The caller's permission, checked for every instance before anything is read. */
    private readonly canRead: (instanceId: string) => boolean = () => true,
    /** Counts buckets served open, so a caller can tell whether the whole answer is final. */
    private readonly trace: { openBuckets: number } = { openBuckets: 0 },
  ) {}

  /**
   * Validates a request and lists the upstream buckets it needs, without reading anything:
   * what `read` does first, and what the operation cost check counts before execution.
   */
  plan(request: ReportRequest): ReadPlan {
    // The operation cost check plans every report field before execution; the field then plans
    // again when it runs: same request, same plan (this object lives for one operation).
    const key = JSON.stringify([request.instanceIds, request.interval, request.startTime, request.endTime, request.timeZone]);
    let plan = this.plans.get(key);
    if (!plan) {
      plan = this.buildPlan(request);
      this.plans.set(key, plan);
    }
    return plan;
  }

  private readonly plans = new Map<string, ReadPlan>();

  /**
   * The first and last target bucket of `plan(request)`, without planning the ones between (targets
   * are consecutive buckets of one grid, so these two fix them all), after the same validation:
   * what the answer cache keys an answer by (planFingerprint.ts), cheaply enough for every poll.
   */
  planBounds(request: ReportRequest): PlanBounds {
    const { instanceIds, viewZone, groups, start, end } = this.resolve(request);
    const totalEnd = Math.ceil((request.endTime ?? this.now) / HOUR_MS) * HOUR_MS;
    const [instanceZone] = groups.keys();
    const dataEnd = Math.ceil((this.now + 1) / HOUR_MS) * HOUR_MS;
    if (end <= start) return { instanceIds, viewZone, totalEnd, dataEnd };
    // The bucket holding `start` and the one holding `end - 1`, each planned on its own.
    const first = planTargetBuckets({ interval: request.interval, viewZone, instanceZone, start, end: Math.min(end, start + 1), dataEnd })[0];
    const last = planTargetBuckets({ interval: request.interval, viewZone, instanceZone, start: Math.max(start, end - 1), end, dataEnd }).at(-1);
    return { instanceIds, viewZone, first, last, totalEnd, dataEnd };
  }

  /** Validation, permissions, the view zone and the range: the part of a plan before any bucket. */
  private resolve(request: ReportRequest): { instanceIds: readonly string[]; viewZone: string; groups: Map<string, string[]>; start: number; end: number } {
    const instanceIds = this.validateInstances(request.instanceIds);
    for (const id of instanceIds) {
      // Same answer whether or not the instance exists: a caller learns nothing about others'.
      if (!this.canRead(id)) throw forbiddenInstance(id);
    }
    // Read once, in the tz database's spelling: zone names match case-insensitively, and
    // `asia/shanghai` must give the ids, plans and cache keys `Asia/Shanghai` gives.
    let timeZone: string | undefined;
    if (request.timeZone != null) {
      try {
        timeZone = canonicalTimeZone(request.timeZone);
      } catch {
        throw badUserInput(`timeZone "${request.timeZone.slice(0, 64)}" is not an IANA time zone name (e.g. "Asia/Shanghai", "America/New_York", "UTC")`, 'timeZone');
      }
    }
    // Instances are grouped by upstream's day boundary: each group is planned on its own days.
    const groups = new Map<string, string[]>();
    for (const id of instanceIds) {
      const zone = this.zoneOf(id);
      const ids = groups.get(zone) ?? [];
      ids.push(id);
      groups.set(zone, ids);
    }
    if (groups.size > 1 && timeZone === undefined) {
      throw badUserInput(`The instances are in different time zones (${[...groups.keys()].join(', ')}); pass timeZone to say which day boundary to use`, 'timeZone');
    }
    const viewZone = timeZone ?? [...groups.keys()][0];
    const { start, end } = resolveReportRange(request, viewZone, this.now);
    return { instanceIds, viewZone, groups, start, end };
  }

  private buildPlan(request: ReportRequest): ReadPlan {
    const { instanceIds, viewZone, groups, start, end } = this.resolve(request);
    // Target boundaries depend only on the view zone, so every group's plan lines up index by index.
    const plans = [...groups].map(([instanceZone, ids]) => ({
      instanceZone,
      ids,
      targets: planTargetBuckets({ interval: request.interval, viewZone, instanceZone, start, end, dataEnd: Math.ceil((this.now + 1) / HOUR_MS) * HOUR_MS }),
    }));
    // Every upstream bucket any target needs, per instance: loaded as contiguous runs.
    const keys = plans.flatMap(({ instanceZone, ids, targets }) => {
      const segments = targets.flatMap((t) => t.segments);
      return ids.flatMap((instanceId) => rangeKeys(instanceId, instanceZone, segments));
    });
    const upstreamBuckets = keys.reduce((n, k) => n + estimateBuckets(k), 0);
    const seriesKey = bucketSeriesKey(instanceIds, request.interval, viewZone);
    // An open TOTAL keeps its identity while it grows, as an open week does: its period is what
    // was asked for, not the part of it that has happened yet.
    const totalEnd = Math.ceil((request.endTime ?? this.now) / HOUR_MS) * HOUR_MS;
    const first = plans[0].targets[0];
    const widenedStart: WidenedStart | undefined =
      first && first.statsTime < start
        ? { interval: request.interval, zone: viewZone, requested: start, bucketStart: first.statsTime, nextBucketStart: request.interval === 'TOTAL' ? first.statsTime + HOUR_MS : first.end }
        : undefined;
    return { instanceIds, viewZone, plans, keys, upstreamBuckets, seriesKey, totalEnd, widenedStart };
  }

  /**
   * The zone in which a request for this one instance would be planned, or undefined if the id is
   * malformed or the caller may not read it. Requests for one instance cost the same for every
   * instance of a zone: the operation cost check prices `_entities` representations per zone.
   */
  readableInstanceZone(instanceId: unknown): string | undefined {
    if (typeof instanceId !== 'string' || !INSTANCE_ID_PATTERN.test(instanceId) || !this.canRead(instanceId)) return undefined;
    return this.zoneOf(instanceId);
  }

  /** An instance's configured zone, spelled as the tz database spells it (as `timeZone` is). */
  private zoneOf(instanceId: string): string {
    return canonicalTimeZone(this.settings.zoneFor(instanceId));
  }

  async read(request: ReportRequest): Promise<ReportRow[]> {
    const { instanceIds, viewZone, plans, keys, upstreamBuckets: bucketCount, seriesKey, totalEnd, widenedStart } = this.plan(request);
    if (bucketCount > this.settings.maxBucketsPerField) {
      throw withWidenedStart(
        widenedStart,
        badUserInput(
          `The request needs about ${bucketCount} upstream buckets; at most ${this.settings.maxBucketsPerField} are allowed per field. Narrow the range, use fewer instances, or a coarser interval in the instances' own time zone.`,
          'startTime',
        ),
      );
    }
    const loaded = (await this.loader.loadMany(keys)).map((result) => (result instanceof Error ? withWidenedStart(widenedStart, result) : result));
    const zeroFill = request.emptyIntervals === 'ZERO';
    if (keys.length === 1 && instanceIds.length === 1 && isUpstreamNative({ interval: request.interval, viewZone, instanceZone: plans[0].instanceZone })) {
      // One instance, upstream's own buckets: each slot is one row as it is (the warm path of
      // every dashboard, so no per-bucket lookups or copies beyond the row itself).
      const [result] = loaded;
      if (result instanceof Error) throw result;
      const rows: ReportRow[] = [];
      for (let i = 0; i < result.length; i++) {
        const slot = result[i];
        if (!slot.closed) this.trace.openBuckets++;
        // The slots are consecutive buckets of the one key: each ends where the next starts, the
        // last where the key does (no zone arithmetic on the warm path).
        const endTime = i + 1 < result.length ? result[i + 1].statsTime : keys[0].end;
        if (slot.data !== null) rows.push(reportRow(slot.data, slot.statsTime, endTime, request.interval, slot.closed, seriesKey));
        else if (zeroFill) rows.push(reportRow(zeroMetrics(), slot.statsTime, endTime, request.interval, slot.closed, seriesKey));
      }
      return rows;
    }
    const slots = new Map<string, BucketSlot>();
    loaded.forEach((result, i) => {
      if (result instanceof Error) throw result;
      const key = keys[i];
      for (const slot of result) slots.set(`${key.instanceId}|${key.interval}|${slot.statsTime}`, slot);
    });

    const rows: ReportRow[] = [];
    plans[0].targets.forEach((target, index) => {
      const parts: BucketSlot[] = [];
      for (const { instanceZone, ids, targets } of plans) {
        for (const instanceId of ids) {
          for (const segment of targets[index].segments) collectSlots(slots, instanceId, segment, instanceZone, parts);
        }
      }
      // A combined bucket is closed only when every part is.
      const closed = parts.length > 0 && parts.every((p) => p.closed);
      if (!closed) this.trace.openBuckets++;
      const withData = parts.filter((p) => p.data !== null);
      const endTime = request.interval === 'TOTAL' ? totalEnd : target.end;
      if (withData.length === 0) {
        if (zeroFill) rows.push(reportRow(zeroMetrics(), target.statsTime, endTime, request.interval, closed, seriesKey));
        return;
      }
      // Upstream-native requests returned above; everything here is combined.
      rows.push(reportRow(combineBuckets(withData.map((p) => p.data)), target.statsTime, endTime, request.interval, closed, seriesKey));
    });
    return rows;
  }

  private validateInstances(instanceIds: readonly string[]): readonly string[] {
    if (instanceIds.length === 0) throw badUserInput('instanceIds must name at least one instance', 'instanceIds');
    if (instanceIds.length > this.settings.maxInstancesPerField) {
      throw badUserInput(`instanceIds names ${instanceIds.length} instances; at most ${this.settings.maxInstancesPerField} are allowed per field`, 'instanceIds');
    }
    const seen = new Set<string>();
    for (const id of instanceIds) {
      assertInstanceId(id, instanceIds.length === 1 ? 'instanceId' : 'instanceIds');
      if (seen.has(id)) throw badUserInput(`instanceIds names "${id}" more than once`, 'instanceIds');
      seen.add(id);
    }
    return instanceIds;
  }
}

/**
 * `error`, and when it is about the range's start (upstream's retention, the bucket budget) and
 * the range was widened, the same error naming the bucket start the range was widened to:
 * `extensions.widenedStartTime` and a sentence in the message.
 */
function withWidenedStart(widened: WidenedStart | undefined, error: Error): Error {
  if (!widened || !(error instanceof GatewayError) || error.details.argumentName !== 'startTime') return error;
  const at = (t: number) => DateTime.fromMillis(t, { zone: widened.zone }).toISO({ suppressMilliseconds: true });
  const bucket = widened.interval === 'TOTAL' ? 'hour' : `${widened.interval} bucket`;
  return new GatewayError(
    error.code,
    `${error.message} Note: buckets are whole, so this range starts at ${at(widened.bucketStart)}, the start of the ${bucket} holding ` +
      `startTime ${at(widened.requested)} (${widened.zone}), not at startTime; to leave that ${bucket} out, start at ${at(widened.nextBucketStart)}.`,
    { ...error.details, widenedStartTime: widened.bucketStart },
  );
}

function reportRow(
  metrics: Omit<ReportBucket, 'statsTime'>,
  statsTime: number,
  endTime: number,
  interval: RequestedInterval,
  closed: boolean,
  seriesKey: string,
): ReportRow {
  return { statsTime, endTime, interval, closed, seriesKey, inbound: metrics.inbound, outbound: metrics.outbound, overall: metrics.overall };
}

/** Loader keys for one instance: contiguous runs of same-size segments merged into one range each. */
function rangeKeys(instanceId: string, instanceZone: string, segments: readonly Segment[]): BucketRangeKey[] {
  const byInterval = new Map<UpstreamInterval, Segment[]>();
  for (const s of segments) {
    const list = byInterval.get(s.interval) ?? [];
    list.push(s);
    byInterval.set(s.interval, list);
  }
  const keys: BucketRangeKey[] = [];
  for (const [interval, list] of byInterval) {
    list.sort((a, b) => a.start - b.start);
    let current: Segment | undefined;
    for (const s of list) {
      if (current && s.start <= current.end) current.end = Math.max(current.end, s.end);
      else {
        if (current) keys.push(key(instanceId, interval, instanceZone, current));
        current = { ...s };
      }
    }
    if (current) keys.push(key(instanceId, interval, instanceZone, current));
  }
  return keys;
}

function key(instanceId: string, interval: UpstreamInterval, instanceZone: string, s: Segment): BucketRangeKey {
  // Upstream hours are UTC hours; upstream days start at the instance's midnight.
  return { instanceId, interval, zone: interval === 'HOURLY' ? 'UTC' : instanceZone, start: s.start, end: s.end };
}

/** Upper estimate (DST days are 23 h at least), cheap enough to check before anything is read. */
function estimateBuckets(k: BucketRangeKey): number {
  return Math.ceil((k.end - k.start) / (k.interval === 'HOURLY' ? HOUR_MS : 23 * HOUR_MS));
}

function collectSlots(slots: Map<string, BucketSlot>, instanceId: string, segment: Segment, instanceZone: string, into: BucketSlot[]): void {
  const zone = segment.interval === 'HOURLY' ? 'UTC' : instanceZone;
  for (let t = segment.start; t < segment.end; t = nextBucketStart(t, segment.interval, zone)) {
    const slot = slots.get(`${instanceId}|${segment.interval}|${t}`);
    if (slot) into.push(slot);
  }
}
