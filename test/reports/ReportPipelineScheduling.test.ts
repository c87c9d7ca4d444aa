/**
 * The pipeline's side of fair scheduling and budgets: whose queue a call goes to, what a caller's
 * budget is charged for (new calls only, never cached or joined buckets), and the throttling
 * feedback from the source reaching the scheduler.
 */
import { MemoryBucketStore } from '../../src/cache/MemoryBucketStore';
import { GatewayError } from '../../src/reports/errors';
import { DAY_MS } from '../../src/reports/intervals';
import { ReportPipeline, PipelineTrace, type BucketRangeKey } from '../../src/reports/ReportPipeline';
import type { UpstreamCallBudget } from '../../src/reports/UpstreamCallBudget';
import type { SchedulerEvent } from '../../src/reports/UpstreamScheduler';
import type { ReportCallFeedback, ReportQuery } from '../../src/reports/ReportSource';
import { FakeReportSource } from '../helpers/fakeReportSource';

const NOW = Date.UTC(2026, 10, 26, 3, 30);
const DAY = Date.UTC(2026, 10, 20);
const hourly = (instanceId: string, day = DAY): BucketRangeKey => ({ instanceId, interval: 'HOURLY', zone: 'UTC', start: day, end: day + DAY_MS });

/** Spends from a fixed allowance per caller and records what it was asked. */
class FixedBudget implements UpstreamCallBudget {
  readonly spent: { callerKey: string; calls: number }[] = [];
  constructor(readonly perMinute: number) {}
  private readonly used = new Map<string, number>();
  async spend(callerKey: string, calls: number) {
    this.spent.push({ callerKey, calls });
    const used = this.used.get(callerKey) ?? 0;
    if (used + calls > this.perMinute) return { allowed: false, retryAfterMs: 42_000 };
    this.used.set(callerKey, used + calls);
    return { allowed: true, retryAfterMs: 0 };
  }
}

function setup(options: { budget?: UpstreamCallBudget; concurrency?: number } = {}) {
  const source = new FakeReportSource();
  const pipeline = new ReportPipeline({
    source,
    memory: new MemoryBucketStore(100_000),
    now: () => NOW,
    settleDelayMs: 10 * 60_000,
    openTtlMs: 30_000,
    upstreamConcurrency: options.concurrency ?? 4,
    upstreamBudget: options.budget,
  });
  const events: SchedulerEvent[] = [];
  pipeline.scheduler.observe((event) => events.push(event));
  return { source, pipeline, events };
}

describe('ReportPipeline with the upstream scheduler and budget', () => {
  it("queues each operation's calls under its caller's key", async () => {
    const { pipeline, events } = setup();
    await Promise.all([pipeline.createLoader(new PipelineTrace(), 'sub:a').load(hourly('ccc-a')), pipeline.createLoader(new PipelineTrace(), 'sub:b').load(hourly('ccc-b'))]);
    expect(events.filter((e) => e.type === 'dispatch').map((e) => (e.type === 'dispatch' ? e.callerKey : '')).sort()).toEqual(['sub:a', 'sub:b']);
  });

  it('charges the budget for new calls only: cached and joined buckets are free; beyond it, only the keys needing calls fail', async () => {
    const budget = new FixedBudget(2);
    const { source, pipeline } = setup({ budget });
    // Caller a: two new calls, within its budget; caller b joins one of them while in flight.
    const a = pipeline.createLoader(new PipelineTrace(), 'sub:a');
    const b = pipeline.createLoader(new PipelineTrace(), 'sub:b');
    const aLoads = Promise.all([a.load(hourly('ccc-1')), a.load(hourly('ccc-2'))]);
    await new Promise((resolve) => setImmediate(resolve));
    const joined = await b.load(hourly('ccc-1'));
    await aLoads;
    expect(joined.length).toBe(24);
    expect(source.calls).toHaveLength(2);
    expect(budget.spent).toEqual([{ callerKey: 'sub:a', calls: 2 }]);

    // Caller a again: one cached key (free) and one needing a new call (over budget).
    const again = await pipeline.loadRanges([hourly('ccc-1'), hourly('ccc-3')], new PipelineTrace(), 'sub:a');
    expect(Array.isArray(again[0]) && again[0].length).toBe(24);
    expect(again[1]).toBeInstanceOf(GatewayError);
    expect(again[1]).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterMs: 42_000, upstreamCallsNeeded: 1, upstreamCallsPerMinute: 2 } });
    expect(source.calls).toHaveLength(2);
    expect(budget.spent.at(-1)).toEqual({ callerKey: 'sub:a', calls: 1 });
  });

  it("passes the scheduler's feedback to the source: a throttled attempt halves the concurrency", async () => {
    const { source, pipeline } = setup({ concurrency: 4 });
    const seen: (ReportCallFeedback | undefined)[] = [];
    const answer = source.listIntervalInstanceReport.bind(source);
    source.listIntervalInstanceReport = async (query: ReportQuery, feedback?: ReportCallFeedback) => {
      seen.push(feedback);
      if (query.instanceId === 'ccc-throttled') feedback?.onThrottled(); // the client retried it and then succeeded
      return answer(query);
    };
    await pipeline.loadRanges([hourly('ccc-throttled')], new PipelineTrace(), 'sub:a');
    expect(seen[0]).toBeDefined();
    expect(pipeline.scheduler.concurrencyLimit).toBe(2);
  });
});
