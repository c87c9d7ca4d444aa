/**
 * Stale-while-revalidate of open snapshots: a due snapshot is served while one refresh runs in
 * the background (started ahead of the TTL), never once it is 2x the TTL old, and a failed
 * refresh is retried after a backoff and heals.
 */
import { MemoryBucketStore } from '../../src/cache/MemoryBucketStore';
import { GatewayError } from '../../src/reports/errors';
import { HOUR_MS } from '../../src/reports/intervals';
import { DEFAULT_REFRESH_AHEAD_FRACTION, PipelineTrace, ReportPipeline, type BucketRangeKey } from '../../src/reports/ReportPipeline';
import type { ReportAnswer, ReportQuery } from '../../src/reports/ReportSource';
import { FakeReportSource } from '../helpers/fakeReportSource';

const NOW = Date.UTC(2026, 10, 26, 3, 30);
const SETTLE = 10 * 60_000;
const TTL = 30_000;
/** When an open snapshot is due for its background refresh (the default refresh point). */
const DUE = TTL * DEFAULT_REFRESH_AHEAD_FRACTION;
const OPEN_HOUR = Date.UTC(2026, 10, 26, 3);
const key: BucketRangeKey = { instanceId: 'ccc-test', interval: 'HOURLY', zone: 'UTC', start: NOW - 3 * HOUR_MS, end: NOW };

/** A source whose calls wait until the test releases them; each answer's callsOffered counts the calls. */
class GatedSource extends FakeReportSource {
  private readonly gates: (() => void)[] = [];
  gated = false;
  override async listIntervalInstanceReport(query: ReportQuery): Promise<ReportAnswer> {
    const n = this.calls.length + 1;
    if (this.gated) {
      this.calls.push(query);
      await new Promise<void>((resolve) => this.gates.push(resolve));
      this.calls.pop();
    }
    const answer = await super.listIntervalInstanceReport(query);
    return { buckets: answer.buckets.map((b) => ({ ...b, inbound: { ...b.inbound, callsOffered: n } })) };
  }
  get waiting(): number {
    return this.gates.length;
  }
  release(): void {
    for (const gate of this.gates.splice(0)) gate();
  }
}

function setup(options: { refreshRetryBackoffMs?: number } = {}) {
  const clock = { now: NOW };
  const source = new GatedSource();
  source.hasTraffic = () => true;
  const refreshes: string[] = [];
  const pipeline = new ReportPipeline({
    source,
    memory: new MemoryBucketStore(10_000),
    now: () => clock.now,
    settleDelayMs: SETTLE,
    openTtlMs: TTL,
    upstreamConcurrency: 4,
    onBackgroundRefresh: (outcome) => refreshes.push(outcome),
    ...options,
  });
  return { clock, source, pipeline, refreshes };
}

async function openHour(pipeline: ReportPipeline, trace = new PipelineTrace()) {
  const [result] = await pipeline.loadRanges([key], trace);
  if (result instanceof Error) throw result;
  const slot = result.at(-1)!;
  expect(slot.statsTime).toBe(OPEN_HOUR);
  expect(slot.closed).toBe(false);
  return { offered: (slot.data!.inbound as Record<string, number>).callsOffered, trace };
}

/** Resolves true if `promise` settles before the event loop has turned `turns` times. */
async function settlesWithin(promise: Promise<unknown>, turns = 20): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true), () => (done = true));
  for (let i = 0; i < turns && !done; i++) await new Promise((r) => setImmediate(r));
  return done;
}

describe('ReportPipeline: stale-while-revalidate of open snapshots', () => {
  it('does nothing before the refresh point, then serves the old snapshot while exactly one refresh runs', async () => {
    const { clock, source, pipeline, refreshes } = setup();
    expect((await openHour(pipeline)).offered).toBe(1);
    expect(source.calls).toHaveLength(1);

    clock.now += DUE - 1; // not due yet
    const early = await openHour(pipeline);
    expect(source.calls).toHaveLength(1);
    expect(early.trace.backgroundRefreshes).toBe(0);
    expect(early.trace.openSnapshotRefreshAt).toBe(NOW + DUE);
    expect(early.trace.openSnapshotExpiresAt).toBe(NOW + TTL);

    clock.now = NOW + DUE; // due: the refresh starts, upstream is slow
    source.gated = true;
    const reads = await Promise.all(Array.from({ length: 20 }, () => openHour(pipeline)));
    // Every read returned before upstream answered, with the previous snapshot, and one call runs.
    expect(source.waiting).toBe(1);
    expect(reads.every((r) => r.offered === 1)).toBe(true);
    expect(reads.filter((r) => r.trace.backgroundRefreshes > 0)).toHaveLength(1);
    expect(reads.every((r) => r.trace.upstreamCalls === 0 && r.trace.staleSnapshots === 0)).toBe(true);

    source.release();
    await pipeline.refreshesSettled();
    expect(refreshes).toEqual(['ok']);
    const after = await openHour(pipeline);
    expect(after.offered).toBe(2);
    expect(after.trace.openSnapshotExpiresAt).toBe(NOW + DUE + TTL);
  });

  it('never serves a snapshot 2x the TTL old: then reads wait for upstream', async () => {
    const { clock, source, pipeline } = setup();
    await openHour(pipeline);
    source.gated = true;
    clock.now = NOW + TTL; // due and already TTL old (a refresh that has not landed): still served, counted stale
    const stale = await openHour(pipeline);
    expect(stale.offered).toBe(1);
    expect(stale.trace.staleSnapshots).toBe(1);
    expect(source.waiting).toBe(1);

    clock.now = NOW + 2 * TTL; // the bound: no longer served
    const waiting = openHour(pipeline);
    expect(await settlesWithin(waiting)).toBe(false);
    expect(source.waiting).toBe(1); // it joined the refresh under way, no second call
    source.release();
    expect((await waiting).offered).toBe(2);
  });

  it('a failed refresh stores nothing, is reported, is retried after the backoff, and heals', async () => {
    const { clock, source, pipeline, refreshes } = setup({ refreshRetryBackoffMs: 1_000 });
    await openHour(pipeline);
    source.failWhen = () => new GatewayError('UPSTREAM_UNAVAILABLE', 'down');
    clock.now = NOW + DUE;
    expect((await openHour(pipeline)).offered).toBe(1); // the good snapshot, while the refresh fails
    await pipeline.refreshesSettled();
    expect(refreshes).toEqual(['failed']);
    expect(source.calls).toHaveLength(2);

    clock.now += 500; // within the backoff: served, not retried
    const backingOff = await openHour(pipeline);
    expect(backingOff.offered).toBe(1);
    expect(backingOff.trace.backgroundRefreshes).toBe(0);
    expect(source.calls).toHaveLength(2);

    clock.now += 600; // past the backoff: retried, still failing
    await openHour(pipeline);
    await pipeline.refreshesSettled();
    expect(refreshes).toEqual(['failed', 'failed']);
    expect(source.calls).toHaveLength(3);

    source.failWhen = () => undefined; // upstream is back
    clock.now += 1_100;
    expect((await openHour(pipeline)).offered).toBe(1);
    await pipeline.refreshesSettled();
    expect(refreshes).toEqual(['failed', 'failed', 'ok']);
    expect((await openHour(pipeline)).offered).toBe(4);
  });

  it('a snapshot past the bound whose refresh keeps failing gives the error, never the old snapshot', async () => {
    const { clock, source, pipeline } = setup();
    await openHour(pipeline);
    source.failWhen = () => new GatewayError('UPSTREAM_UNAVAILABLE', 'down');
    clock.now = NOW + 2 * TTL;
    const [result] = await pipeline.loadRanges([key]);
    expect(result).toBeInstanceOf(GatewayError);
    expect((result as GatewayError).code).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('serves the open snapshot of a bucket that just closed while its final numbers are fetched', async () => {
    const { clock, source, pipeline } = setup();
    clock.now = OPEN_HOUR + HOUR_MS + SETTLE - 5_000; // 04:09:55: the 03:00 hour settles at 04:10
    const hourKey: BucketRangeKey = { ...key, start: OPEN_HOUR, end: OPEN_HOUR + HOUR_MS };
    await pipeline.loadRanges([hourKey]);
    clock.now += 6_000; // settled by the clock; the snapshot is 6 s old
    source.gated = true;
    const [served] = (await pipeline.loadRanges([hourKey])) as { closed: boolean }[][];
    expect(served[0].closed).toBe(false);
    expect(source.waiting).toBe(1);
    source.release();
    await pipeline.refreshesSettled();
    const [final] = (await pipeline.loadRanges([hourKey])) as { closed: boolean }[][];
    expect(final[0].closed).toBe(true);
    expect(source.calls).toHaveLength(2);
  });
});
