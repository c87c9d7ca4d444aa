/**
 * The report pipeline: from "these ranges of these series" to buckets, with the fewest upstream
 * calls.
 *
 * One pipeline lives for the whole process (it owns the cache tiers, the in-flight table and the
 * upstream scheduler); each GraphQL operation gets its own DataLoader from `createLoader`, with
 * its caller's key, so every range an operation asks for (aliases, `_entities`, nested entities)
 * lands in one batch.
 *
 * A batch:
 *  1. lists the buckets every key covers, deduplicated per series;
 *  2. reads them from the in-process tier, then the shared tier (Redis) in one round trip;
 *  3. joins upstream calls already in flight for any still missing (cross-request single-flight);
 *  4. plans the fewest upstream calls for the rest, spends the caller's budget of upstream calls
 *     on them (beyond it they fail with RATE_LIMITED), and runs them through the fair, adaptive
 *     UpstreamScheduler (per-caller queues, round robin over the concurrency cap);
 *  5. slices the buckets back per key.
 *
 * Nothing is stored as final unless the bucket was closed and settled *before* the upstream call
 * was sent; an upstream error stores nothing; a key that needs a bucket upstream could not give
 * gets an error, never a silently short series.
 */
import DataLoader from 'dataloader';
import type { ReportSource } from './ReportSource';
import { canLease, type BucketStore, type BucketWrite, type UpstreamLease } from './BucketStore';
import { bucketId, seriesId, type BucketSeries, type BucketSlot, type StoredBucket, type UpstreamInterval } from './buckets';
import { GatewayError } from './errors';
import { bucketStart, bucketStartsInRange, nextBucketStart } from './intervals';
import { planUpstreamCalls, type Plan, type UpstreamCall, type UpstreamLimits } from './planner';
import { upstreamBudgetExceeded, type UpstreamCallBudget } from './UpstreamCallBudget';
import { UpstreamScheduler } from './UpstreamScheduler';
import type { MemoryBucketStore } from '../cache/MemoryBucketStore';

/** A range of one series: the buckets overlapping [start, end). */
export interface BucketRangeKey extends BucketSeries {
  start: number;
  end: number;
}

export interface ReportPipelineOptions {
  source: ReportSource;
  /** In-process tier, always present. */
  memory: MemoryBucketStore;
  /** Shared tier (Redis), optional. */
  shared?: BucketStore;
  now: () => number;
  settleDelayMs: number;
  openTtlMs: number;
  /** Most upstream calls in flight; ignored when `scheduler` is given (it has its own). */
  upstreamConcurrency: number;
  /** Fair, adaptive admission of upstream calls; by default one of `upstreamConcurrency` slots. */
  scheduler?: UpstreamScheduler;
  /** Per-caller budget of new upstream calls; none: unlimited. */
  upstreamBudget?: UpstreamCallBudget;
  limits?: UpstreamLimits;
  /** False: no cache at all, every operation goes upstream (a baseline for benchmarks, and for debugging). */
  cacheEnabled?: boolean;
  /**
   * Cross-replica single-flight through the shared store: how long a lease on an upstream call
   * lasts, and how often a replica that did not get it looks for the holder's buckets. 0: off.
   */
  leaseMs?: number;
  leasePollMs?: number;
  /**
   * Stale-while-revalidate for open snapshots: once a snapshot is this fraction of
   * `openTtlMs` old (or its bucket has closed), the next read starts one refresh in the
   * background and keeps serving the snapshot meanwhile. Default `DEFAULT_REFRESH_AHEAD_FRACTION`:
   * in normal operation the refresh lands before the snapshot is `openTtlMs` old, so nothing older
   * is served; a slow or failing refresh lets it age up to `MAX_SERVED_AGE_TTLS` x `openTtlMs`,
   * never beyond. Why not earlier: every refresh is an upstream call, and a live poller reads
   * each series once per `openTtlMs`; at 0.8 a series is refetched about once per TTL whether
   * dashboards, subscribers or both read it (at 0.5 it was twice), and the refresh still has a
   * fifth of the TTL (6 s at the default 30 s) to land before the snapshot turns TTL old.
   */
  refreshAheadFraction?: number;
  /** After a failed background refresh, reads wait this long before starting another. */
  refreshRetryBackoffMs?: number;
  /** Each background refresh's outcome (metrics). */
  onBackgroundRefresh?: (outcome: 'ok' | 'failed', buckets: number) => void;
}

/** See `ReportPipelineOptions.refreshAheadFraction`. */
export const DEFAULT_REFRESH_AHEAD_FRACTION = 0.8;

/** An open snapshot is never served once it is this many `openTtlMs` old: then reads wait for upstream. */
export const MAX_SERVED_AGE_TTLS = 2;

/** What one operation cost, for the debug extension and metrics. */
export class PipelineTrace {
  batches = 0;
  bucketsRequested = 0;
  memoryHits = 0;
  sharedReads = 0;
  sharedHits = 0;
  joinedInFlight = 0;
  /** Upstream calls another replica made for us (we waited on its lease). */
  leaseWaits = 0;
  /** Lease round trips to the shared store (take, release, polls while waiting). */
  leaseRoundTrips = 0;
  sharedWrites = 0;
  upstreamCalls = 0;
  upstreamBuckets = 0;
  batchSizes: number[] = [];
  /** Report buckets served that were not closed: an answer with none is final (response cache). */
  openBuckets = 0;
  /**
   * Earliest instant (epoch ms, the pipeline's clock) at which an open snapshot this operation
   * read stops being served (its TTL ends, or its bucket closes): the answer may change then.
   * Infinity when no open snapshot was read. HTTP Cache-Control max-age is derived from it.
   */
  openSnapshotExpiresAt = Infinity;
  /**
   * Earliest instant at which an open snapshot this operation read is due for its background
   * refresh (`refreshAheadFraction` of its TTL, or its bucket closing): a copy of the whole
   * answer may be served until then, and no longer, or the refresh would never be triggered.
   * Infinity when no open snapshot was read.
   */
  openSnapshotRefreshAt = Infinity;
  /** Open snapshots served while older than `openTtlMs` (a refresh was slow or failed). */
  staleSnapshots = 0;
  /** Background refreshes this operation started (not counted in `upstreamCalls`: it did not wait for them). */
  backgroundRefreshes = 0;
  /** Cache lookups per upstream interval, for metrics. */
  byInterval: Partial<Record<UpstreamInterval, { bucketsRequested: number; memoryHits: number; sharedLookups: number; sharedHits: number }>> = {};

  countsFor(interval: UpstreamInterval) {
    return (this.byInterval[interval] ??= { bucketsRequested: 0, memoryHits: 0, sharedLookups: 0, sharedHits: 0 });
  }
}

type CallResult = Map<number, StoredBucket>;

/** The caller of operations that do not say who they are for (benchmarks, unit tests). */
export const UNNAMED_CALLER = 'unnamed';

export class ReportPipeline {
  /** bucketId -> the upstream call that will deliver it. */
  private readonly inFlight = new Map<string, Promise<CallResult>>();
  /** Each flight's place in the scheduler's queues, so that joining callers queue it too. */
  private readonly flightCallers = new WeakMap<Promise<CallResult>, { shareWith(callerKey: string): void }>();
  readonly scheduler: UpstreamScheduler;
  /** bucketId -> the background refresh under way for it (single-flight, see `refreshInBackground`). */
  private readonly refreshing = new Map<string, Promise<void>>();
  /** bucketId -> until when a failed refresh is not retried. */
  private readonly refreshFailedUntil = new Map<string, number>();
  /** Open snapshots are due for a refresh at this age. */
  private readonly refreshAheadMs: number;
  /** ... and never served at this age. */
  readonly maxServedAgeMs: number;

  constructor(private readonly options: ReportPipelineOptions) {
    this.scheduler = options.scheduler ?? new UpstreamScheduler({ maxConcurrency: options.upstreamConcurrency });
    const fraction = options.refreshAheadFraction ?? DEFAULT_REFRESH_AHEAD_FRACTION;
    if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`refreshAheadFraction must be in (0, 1], got ${fraction}`);
    this.refreshAheadMs = Math.round(options.openTtlMs * fraction);
    this.maxServedAgeMs = MAX_SERVED_AGE_TTLS * options.openTtlMs;
  }

  /** Buckets whose background refresh is under way. */
  get refreshesUnderWay(): number {
    return this.refreshing.size;
  }

  /** Resolves once no background refresh is under way (tests, shutdown). */
  async refreshesSettled(): Promise<void> {
    while (this.refreshing.size > 0) await Promise.allSettled([...new Set(this.refreshing.values())]);
  }

  /**
   * Buckets starting before this instant are closed and settled at `now`. Buckets partition
   * time, so "bucket end + settle <= now" is the same as "bucket start < start of the bucket
   * holding now - settle": one zone computation per series instead of one per bucket.
   */
  closedBefore(series: BucketSeries, now: number): number {
    return bucketStart(now - this.options.settleDelayMs, series.interval, series.zone);
  }

  /** When a bucket counts as closed and settled (the inverse of `closedBefore`). */
  closesAt(series: BucketSeries, statsTime: number): number {
    return nextBucketStart(statsTime, series.interval, series.zone) + this.options.settleDelayMs;
  }

  /** One operation's loader; `callerKey` decides whose queue and budget its upstream calls use. */
  createLoader(trace = new PipelineTrace(), callerKey = UNNAMED_CALLER): DataLoader<BucketRangeKey, BucketSlot[], string> {
    return new DataLoader((keys) => this.loadRanges(keys, trace, callerKey), {
      cacheKeyFn: (key) => `${seriesId(key)}|${key.start}|${key.end}`,
    });
  }

  async loadRanges(keys: readonly BucketRangeKey[], trace = new PipelineTrace(), callerKey = UNNAMED_CALLER): Promise<(BucketSlot[] | Error)[]> {
    trace.batches++;
    trace.batchSizes.push(keys.length);
    const now = this.options.now();

    // 1. Every bucket needed, once.
    // Bucket ids are built once here and reused for every lookup below (the warm path).
    const needed = new Map<string, { series: BucketSeries; statsTime: number }>();
    const startsPerKey = keys.map((key) => bucketStartsInRange(key.start, key.end, key.interval, key.zone));
    const idsPerKey = keys.map((key, k) =>
      startsPerKey[k].map((statsTime) => {
        const id = bucketId(key, statsTime);
        if (!needed.has(id)) needed.set(id, { series: key, statsTime });
        return id;
      }),
    );
    trace.bucketsRequested += needed.size;

    const thresholds = new Map<string, number>();
    const thresholdFor = (series: BucketSeries) => {
      const sid = seriesId(series);
      let threshold = thresholds.get(sid);
      if (threshold === undefined) thresholds.set(sid, (threshold = this.closedBefore(series, now)));
      return threshold;
    };
    const closed = (statsTime: number, series: BucketSeries) => statsTime < thresholdFor(series);
    const found = new Map<string, StoredBucket>();
    // Stale-while-revalidate: an open snapshot is served until it is maxServedAgeMs old (also
    // once its bucket has closed: it says `closed: false`, which stays true of it); from
    // refreshAheadMs (or its bucket closing) one refresh runs in the background meanwhile.
    const usable = (_ref: { series: BucketSeries; statsTime: number }, value: StoredBucket | undefined) =>
      value !== undefined && (value.final || now - (value.fetchedAt ?? -Infinity) < this.maxServedAgeMs);
    const refreshDue = (ref: { series: BucketSeries; statsTime: number }, value: StoredBucket) =>
      !value.final && (now - (value.fetchedAt ?? -Infinity) >= this.refreshAheadMs || closed(ref.statsTime, ref.series));

    // 2a. In-process tier.
    const cacheEnabled = this.options.cacheEnabled !== false;
    let misses: { id: string; series: BucketSeries; statsTime: number }[] = [];
    for (const [id, ref] of needed) {
      const value = cacheEnabled ? this.options.memory.getById(id) : undefined;
      const counts = trace.countsFor(ref.series.interval);
      counts.bucketsRequested++;
      if (usable(ref, value)) {
        found.set(id, value!);
        counts.memoryHits++;
      } else misses.push({ id, ...ref });
    }
    trace.memoryHits += found.size;

    // 2b. Shared tier, one round trip.
    if (misses.length > 0 && this.options.shared && cacheEnabled) {
      trace.sharedReads++;
      const values = await this.options.shared.getMany(misses);
      const stillMissing: typeof misses = [];
      misses.forEach((ref, i) => {
        const value = values[i];
        const counts = trace.countsFor(ref.series.interval);
        counts.sharedLookups++;
        if (usable(ref, value)) {
          found.set(ref.id, value!);
          this.options.memory.set({ ...ref, value: value!, ttlMs: this.maxServedAgeMs });
          trace.sharedHits++;
          counts.sharedHits++;
        } else stillMissing.push(ref);
      });
      misses = stillMissing;
    }

    // 2c. Snapshots served now but due for a refresh: one refresh each, in the background.
    if (cacheEnabled) {
      let due: { id: string; series: BucketSeries; statsTime: number; fetchedAt: number }[] | undefined;
      for (const [id, value] of found) {
        if (value.final) continue;
        const ref = needed.get(id)!;
        if (refreshDue(ref, value)) (due ??= []).push({ id, ...ref, fetchedAt: value.fetchedAt ?? -Infinity });
      }
      if (due) this.refreshInBackground(due, trace, callerKey, now);
    }

    // 3. Calls in flight, or just finished while we awaited the shared tier (they wrote the
    //    in-process tier in the same tick they left the in-flight table).
    const waits = new Map<string, Promise<CallResult>>();
    const failed = new Map<string, Error>();
    const joinOrGroup = (refs: readonly { id: string; series: BucketSeries; statsTime: number }[]) => {
      const toPlan = new Map<string, { series: BucketSeries; starts: number[] }>();
      for (const ref of refs) {
        const value = cacheEnabled ? this.options.memory.getById(ref.id) : undefined;
        if (usable(ref, value)) {
          found.set(ref.id, value!);
          continue;
        }
        const flight = this.inFlight.get(ref.id);
        if (flight) {
          waits.set(ref.id, flight);
          trace.joinedInFlight++;
          // Still queued: it is this caller's call too, so it gets this caller's turn as well.
          this.flightCallers.get(flight)?.shareWith(callerKey);
          continue;
        }
        const sid = seriesId(ref.series);
        const group = toPlan.get(sid) ?? { series: ref.series, starts: [] };
        group.starts.push(ref.statsTime);
        toPlan.set(sid, group);
      }
      return toPlan;
    };
    const planAll = (toPlan: ReturnType<typeof joinOrGroup>) => {
      const plans: { series: BucketSeries; plan: Plan }[] = [];
      for (const { series, starts } of toPlan.values()) {
        const plan = planUpstreamCalls({
          instanceId: series.instanceId,
          interval: series.interval,
          zone: series.zone,
          missing: starts,
          now,
          limits: this.options.limits,
        });
        if (plan.beyondRetention.length > 0) {
          const error = beyondRetentionError(series, plan.beyondRetention);
          for (const statsTime of plan.beyondRetention) failed.set(bucketId(series, statsTime), error);
        }
        plans.push({ series, plan });
      }
      return plans;
    };

    // 4. Plan the missing calls, spend the caller's budget on them, and start them.
    let plans = planAll(joinOrGroup(misses));
    const budget = this.options.upstreamBudget;
    const newCalls = plans.reduce((n, { plan }) => n + plan.calls.length, 0);
    if (budget && newCalls > 0) {
      const decision = await budget.spend(callerKey, newCalls);
      const planned = plans.flatMap(({ series, plan }) =>
        plan.calls.flatMap((call) => call.bucketStarts.map((statsTime) => ({ id: bucketId(series, statsTime), series, statsTime }))),
      );
      if (!decision.allowed) {
        // Only what needs new calls fails: cached and joined buckets are served all the same.
        const error = upstreamBudgetExceeded(budget, newCalls, decision.retryAfterMs);
        for (const ref of planned) failed.set(ref.id, error);
        plans = [];
      } else {
        // While the budget answered, other operations may have fetched or started some of these.
        plans = planAll(joinOrGroup(planned));
      }
    }
    for (const { series, plan } of plans) {
      for (const call of plan.calls) {
        const flight = this.startCall(series, call, trace, callerKey);
        for (const statsTime of call.bucketStarts) waits.set(bucketId(series, statsTime), flight);
      }
    }

    // Wait for all flights; one failing call fails only the keys that need its buckets.
    const flights = [...new Set(waits.values())];
    const settled = await Promise.allSettled(flights);
    const outcome = new Map(flights.map((f, i) => [f, settled[i]]));
    for (const [id, flight] of waits) {
      const result = outcome.get(flight)!;
      if (result.status === 'rejected') {
        failed.set(id, result.reason instanceof Error ? result.reason : new Error(String(result.reason)));
        continue;
      }
      const statsTime = Number(id.slice(id.lastIndexOf('|') + 1));
      const value = result.value.get(statsTime);
      if (value) found.set(id, value);
      else failed.set(id, new GatewayError('UPSTREAM_ERROR', 'Upstream answer did not cover a requested bucket'));
    }

    // 5. Slice per key.
    return keys.map((key, k) => {
      const starts = startsPerKey[k];
      const ids = idsPerKey[k];
      const slots: BucketSlot[] = new Array(starts.length);
      for (let i = 0; i < starts.length; i++) {
        const value = found.get(ids[i]);
        if (value === undefined) return failed.get(ids[i]) ?? new GatewayError('UPSTREAM_ERROR', 'A requested bucket could not be read');
        // `closed` is what the data is, not what the clock says: a snapshot fetched while its
        // bucket was open (joined from a flight that started before the bucket closed) may miss
        // late events, so it is reported, and treated everywhere, as not final.
        slots[i] = { statsTime: starts[i], closed: value.final, data: value.data };
        if (!value.final) {
          const fetchedAt = value.fetchedAt ?? -Infinity;
          const closesAt = this.closesAt(key, starts[i]);
          const expiresAt = Math.min(fetchedAt + this.options.openTtlMs, closesAt);
          if (expiresAt < trace.openSnapshotExpiresAt) trace.openSnapshotExpiresAt = expiresAt;
          const refreshAt = Math.min(fetchedAt + this.refreshAheadMs, closesAt);
          if (refreshAt < trace.openSnapshotRefreshAt) trace.openSnapshotRefreshAt = refreshAt;
          if (now - fetchedAt >= this.options.openTtlMs) trace.staleSnapshots++;
        }
      }
      return slots;
    });
  }

  /**
   * Refreshes open snapshots that are still served but due (stale-while-revalidate), without
   * anyone waiting for it. At most one refresh per bucket at a time (this table, and the
   * in-flight table its calls join); across replicas the shared tier is read first (another
   * replica may have refreshed already) and the calls take the usual lease. A failed refresh
   * stores nothing, is reported, and is not retried for `refreshRetryBackoffMs`: reads keep
   * getting the snapshot until it is `maxServedAgeMs` old, then they wait for upstream and get
   * its error if it still fails.
   */
  private refreshInBackground(
    due: readonly { id: string; series: BucketSeries; statsTime: number; fetchedAt: number }[],
    trace: PipelineTrace,
    callerKey: string,
    now: number,
  ): void {
    const todo = due.filter((ref) => !this.refreshing.has(ref.id) && !this.inFlight.has(ref.id) && !((this.refreshFailedUntil.get(ref.id) ?? -Infinity) > now));
    if (todo.length === 0) return;
    trace.backgroundRefreshes++;
    // Its calls are nobody's operation: their upstream calls are not the triggering request's.
    const refreshTrace = new PipelineTrace();
    const run = async (): Promise<void> => {
      let remaining = todo;
      const shared = this.options.shared;
      if (shared) {
        const values = await shared.getMany(todo);
        const at = this.options.now();
        remaining = [];
        todo.forEach((ref, i) => {
          const value = values[i];
          const newer =
            value !== undefined &&
            (value.final || ((value.fetchedAt ?? -Infinity) > ref.fetchedAt && at - (value.fetchedAt ?? -Infinity) < this.refreshAheadMs && ref.statsTime >= this.closedBefore(ref.series, at)));
          if (newer) this.options.memory.set({ series: ref.series, statsTime: ref.statsTime, value: value!, ttlMs: this.maxServedAgeMs });
          else remaining.push(ref);
        });
      }
      if (remaining.length === 0) return;
      const groups = new Map<string, { series: BucketSeries; starts: number[] }>();
      for (const ref of remaining) {
        const sid = seriesId(ref.series);
        const group = groups.get(sid) ?? { series: ref.series, starts: [] };
        group.starts.push(ref.statsTime);
        groups.set(sid, group);
      }
      const at = this.options.now();
      const plans = [...groups.values()].map(({ series, starts }) => ({
        series,
        plan: planUpstreamCalls({ instanceId: series.instanceId, interval: series.interval, zone: series.zone, missing: starts, now: at, limits: this.options.limits }),
      }));
      const budget = this.options.upstreamBudget;
      const calls = plans.reduce((n, { plan }) => n + plan.calls.length, 0);
      if (budget && calls > 0) {
        const decision = await budget.spend(callerKey, calls);
        if (!decision.allowed) throw upstreamBudgetExceeded(budget, calls, decision.retryAfterMs);
      }
      const flights: Promise<CallResult>[] = [];
      for (const { series, plan } of plans) {
        for (const call of plan.calls) {
          // A read that found the snapshot too old meanwhile may have started this very call.
          const running = call.bucketStarts.map((statsTime) => this.inFlight.get(bucketId(series, statsTime))).find((f) => f !== undefined);
          flights.push(running ?? this.startCall(series, call, refreshTrace, callerKey));
        }
      }
      const settled = await Promise.allSettled(flights);
      const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) throw failure.reason;
    };
    const flight = run().then(
      () => {
        for (const ref of todo) this.refreshFailedUntil.delete(ref.id);
        this.options.onBackgroundRefresh?.('ok', todo.length);
      },
      () => {
        const until = this.options.now() + (this.options.refreshRetryBackoffMs ?? 1_000);
        if (this.refreshFailedUntil.size > 10_000) this.refreshFailedUntil.clear(); // bounded: an entry only delays a retry
        for (const ref of todo) this.refreshFailedUntil.set(ref.id, until);
        this.options.onBackgroundRefresh?.('failed', todo.length);
      },
    );
    for (const ref of todo) this.refreshing.set(ref.id, flight);
    void flight.finally(() => {
      for (const ref of todo) if (this.refreshing.get(ref.id) === flight) this.refreshing.delete(ref.id);
    });
  }

  /**
   * With a shared store that leases (Redis): take the call's lease, or, if another replica holds
   * it, poll the shared store for its buckets until they are all there (then no upstream call at
   * all) or the lease runs out (then fetch anyway: a crashed holder must not block us). Only the
   * cold path pays this one round trip; warm reads never get here.
   */
  private async awaitOtherReplica(
    series: BucketSeries,
    call: UpstreamCall,
    trace: PipelineTrace,
  ): Promise<{ fromReplica?: CallResult; holdsLease: boolean }> {
    const shared = this.options.shared;
    const leaseMs = this.options.leaseMs ?? 0;
    if (!canLease(shared) || leaseMs <= 0 || this.options.cacheEnabled === false) return { holdsLease: false };
    trace.leaseRoundTrips++;
    if (await shared.acquireLease(leaseOf(series, call), leaseMs)) return { holdsLease: true };
    const refs = call.bucketStarts.map((statsTime) => ({ series, statsTime }));
    const readFresh = async (): Promise<CallResult | undefined> => {
      trace.leaseRoundTrips++;
      const values = await shared.getMany(refs);
      const now = this.options.now();
      const closedBefore = this.closedBefore(series, now);
      const fresh = (v: StoredBucket | undefined, statsTime: number) =>
        v !== undefined && (v.final || (now - (v.fetchedAt ?? -Infinity) < this.refreshAheadMs && statsTime >= closedBefore));
      return values.every((v, i) => fresh(v, refs[i].statsTime)) ? new Map(values.map((v, i) => [refs[i].statsTime, v!])) : undefined;
    };
    const pollMs = this.options.leasePollMs ?? 50;
    for (let waited = 0; waited < leaseMs; waited += pollMs) {
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      const found = await readFresh();
      if (found) {
        trace.leaseWaits++;
        return { fromReplica: found, holdsLease: false };
      }
      // The lease is free again: its holder either failed or finished between our read and now
      // (it writes its buckets before it releases). Take it, read once more, and fetch only if
      // the buckets are still missing, instead of waiting the lease out.
      trace.leaseRoundTrips++;
      if (await shared.acquireLease(leaseOf(series, call), leaseMs)) {
        const late = await readFresh();
        if (!late) return { holdsLease: true };
        await this.releaseLease(series, call, trace);
        trace.leaseWaits++;
        return { fromReplica: late, holdsLease: false };
      }
    }
    return { holdsLease: false };
  }

  private async releaseLease(series: BucketSeries, call: UpstreamCall, trace: PipelineTrace): Promise<void> {
    if (!canLease(this.options.shared)) return;
    trace.leaseRoundTrips++;
    await this.options.shared.releaseLease(leaseOf(series, call));
  }

  /** Starts one upstream call and registers it in the in-flight table for each of its buckets. */
  private startCall(series: BucketSeries, call: UpstreamCall, trace: PipelineTrace, callerKey: string): Promise<CallResult> {
    trace.upstreamCalls++;
    trace.upstreamBuckets += call.bucketStarts.length;
    const ids = call.bucketStarts.map((statsTime) => bucketId(series, statsTime));
    // Callers that join this flight before it is queued (it waits for a lease first).
    const joiners = new Set<string>();
    let scheduled: { shareWith(callerKey: string): void } | undefined;
    const sharing = { shareWith: (other: string) => (scheduled ? scheduled.shareWith(other) : joiners.add(other)) };
    // Only the upstream call itself holds a concurrency slot: decoding, caching and the lease
    // round trips happen outside it, so the next call starts as soon as an answer arrives.
    const fetchAndStore = async (): Promise<CallResult> => {
      // Another replica may be fetching the very same call: wait for its buckets instead.
      const { fromReplica, holdsLease } = await this.awaitOtherReplica(series, call, trace);
      if (fromReplica) {
        for (const [statsTime, value] of fromReplica) this.options.memory.set({ series, statsTime, value, ttlMs: this.maxServedAgeMs });
        for (const id of ids) if (this.inFlight.get(id) === flight) this.inFlight.delete(id);
        return fromReplica;
      }
      // Closedness is judged by the clock *before* the call is sent: a bucket that closes while
      // the answer travels may still miss late events, so it is stored as open.
      const sentAt = this.options.now();
      let answer;
      try {
        const query = { instanceId: series.instanceId, interval: series.interval, startTime: call.startTime, endTime: call.endTime };
        const queued = this.scheduler.schedule(callerKey, (feedback) => this.options.source.listIntervalInstanceReport(query, feedback));
        scheduled = queued;
        for (const other of joiners) queued.shareWith(other);
        answer = await queued.result;
      } catch (error) {
        if (holdsLease) await this.releaseLease(series, call, trace);
        throw error;
      }
      const byTime = new Map(answer.buckets.map((b) => [b.statsTime, b]));
      // A bucket off the grid we asked for means upstream cuts days elsewhere than configured
      // (CCC_INSTANCE_TIMEZONES): storing the requested buckets as empty would be wrong forever.
      const expected = new Set(call.bucketStarts);
      const stray = answer.buckets.find((b) => !expected.has(b.statsTime) && b.statsTime >= call.startTime && b.statsTime <= call.endTime);
      if (stray) {
        if (holdsLease) await this.releaseLease(series, call, trace);
        throw new GatewayError(
          'UPSTREAM_ERROR',
          `Upstream returned a ${series.interval.toLowerCase()} bucket at ${new Date(stray.statsTime).toISOString()}, which is not on the bucket grid of ${series.zone}; check CCC_TIMEZONE / CCC_INSTANCE_TIMEZONES for ${series.instanceId}`,
        );
      }
      const result: CallResult = new Map();
      const closedBefore = this.closedBefore(series, sentAt);
      const writes: BucketWrite[] = call.bucketStarts.map((statsTime) => {
        const value: StoredBucket = {
          data: byTime.get(statsTime) ?? null,
          final: statsTime < closedBefore,
        };
        if (!value.final) value.fetchedAt = sentAt;
        result.set(statsTime, value);
        // Open snapshots are kept (here and in Redis) as long as they may be served.
        return { series, statsTime, value, ttlMs: value.final ? undefined : this.maxServedAgeMs };
      });
      // Same tick: in-process tier written, in-flight entries dropped (see loadRanges step 3).
      const cacheEnabled = this.options.cacheEnabled !== false;
      if (cacheEnabled) for (const write of writes) this.options.memory.set(write);
      for (const id of ids) if (this.inFlight.get(id) === flight) this.inFlight.delete(id);
      if (cacheEnabled && this.options.shared) {
        trace.sharedWrites++;
        // Encoding a call's buckets for the shared tier takes milliseconds of CPU: let the next
        // call's request (dispatched when this one's slot was released) and answers already
        // received go first, so the write is not on every later call's path.
        await new Promise((resolve) => setImmediate(resolve));
        await this.options.shared.setMany(writes);
      }
      if (holdsLease) await this.releaseLease(series, call, trace);
      return result;
    };
    const flight = fetchAndStore();
    this.flightCallers.set(flight, sharing);
    for (const id of ids) this.inFlight.set(id, flight);
    flight.catch(() => {
      for (const id of ids) if (this.inFlight.get(id) === flight) this.inFlight.delete(id);
    });
    return flight;
  }
}

function leaseOf(series: BucketSeries, call: UpstreamCall): UpstreamLease {
  return { instanceId: series.instanceId, interval: series.interval, zone: series.zone, startTime: call.startTime, endTime: call.endTime };
}

function beyondRetentionError(series: BucketSeries, statsTimes: number[]): GatewayError {
  const from = Math.min(...statsTimes);
  const to = Math.max(...statsTimes);
  return new GatewayError(
    'BAD_USER_INPUT',
    `The range reaches back past upstream's 180-day retention and ${statsTimes.length} ${series.interval.toLowerCase()} ` +
      `bucket(s) from ${new Date(from).toISOString()} to ${new Date(to).toISOString()} (bucket starts) are not in the cache. ` +
      `Start the range later, or at most 180 days ago.`,
    { argumentName: 'startTime', uncoveredFrom: from, uncoveredTo: to, instanceId: series.instanceId },
  );
}
