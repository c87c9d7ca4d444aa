import fc from 'fast-check';
import { UpstreamScheduler, type SchedulerEvent, type UpstreamCallFeedback } from '../../src/reports/UpstreamScheduler';

/** A task the test finishes by hand, recording when it started. */
interface Held {
  callerKey: string;
  id: number;
  feedback: UpstreamCallFeedback;
  finish(ok?: boolean): void;
}

function harness(options: ConstructorParameters<typeof UpstreamScheduler>[0]) {
  const scheduler = new UpstreamScheduler(options);
  const running: Held[] = [];
  const started: Held[] = [];
  const events: SchedulerEvent[] = [];
  scheduler.observe((event) => events.push(event));
  let nextId = 0;
  let maxRunning = 0;
  const add = (callerKey: string) => {
    const id = nextId++;
    const call = scheduler.schedule(
      callerKey,
      (feedback) =>
        new Promise<number>((resolve, reject) => {
          const held: Held = {
            callerKey,
            id,
            feedback,
            finish: (ok = true) => {
              running.splice(running.indexOf(held), 1);
              if (ok) resolve(id);
              else reject(new Error(`task ${id} failed`));
            },
          };
          running.push(held);
          started.push(held);
          maxRunning = Math.max(maxRunning, running.length);
        }),
    );
    call.result.catch(() => undefined);
    return { id, call };
  };
  /** Finishes the oldest running task and lets the scheduler react (promise callbacks). */
  const finishOne = async (ok = true, index = 0) => {
    running[index].finish(ok);
    await flush();
  };
  return { scheduler, running, started, events, add, finishOne, maxRunning: () => maxRunning };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('UpstreamScheduler', () => {
  it('runs every task exactly once, never more at a time than the limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 60 }),
        fc.array(fc.nat(), { minLength: 60, maxLength: 60 }),
        async (limit, callers, picks) => {
          const h = harness({ maxConcurrency: limit });
          const results = callers.map((caller) => h.add(caller).call.result);
          for (let i = 0; h.running.length > 0; i++) {
            expect(h.running.length).toBeLessThanOrEqual(limit);
            await h.finishOne(true, picks[i % picks.length] % h.running.length);
          }
          expect(await Promise.all(results)).toEqual(callers.map((_, i) => i));
          expect(h.started.map((t) => t.id).sort((x, y) => x - y)).toEqual(callers.map((_, i) => i));
          expect(h.maxRunning()).toBe(Math.min(limit, callers.length));
          expect(h.scheduler.inFlight).toBe(0);
          expect(h.scheduler.queued).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('serves waiting callers round robin: their dispatch counts never differ by more than one', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { minLength: 1, maxLength: 80 }),
        async (limit, callers) => {
          // Occupy every slot first, so that the whole backlog is queued before anything is dispatched.
          const h = harness({ maxConcurrency: limit });
          for (let i = 0; i < limit; i++) h.add('warm-up');
          for (const caller of callers) h.add(caller);
          const remaining = new Map<string, number>();
          for (const caller of callers) remaining.set(caller, (remaining.get(caller) ?? 0) + 1);
          const dispatched = new Map<string, number>([...remaining.keys()].map((k) => [k, 0]));
          let seen = limit;
          while (h.running.length > 0) {
            await h.finishOne();
            for (const task of h.started.slice(seen)) {
              if (task.callerKey === 'warm-up') continue;
              dispatched.set(task.callerKey, dispatched.get(task.callerKey)! + 1);
              remaining.set(task.callerKey, remaining.get(task.callerKey)! - 1);
              // Among callers that still have work queued, nobody is more than one turn ahead.
              const active = [...remaining.entries()].filter(([, n]) => n > 0).map(([k]) => dispatched.get(k)!);
              const counts = [...active, dispatched.get(task.callerKey)!];
              if (remaining.get(task.callerKey)! > 0 && active.length > 0) {
                expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
              }
            }
            seen = h.started.length;
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it("a newcomer's call waits for at most one dispatch per other waiting caller, however long their queues", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 1, max: 300 })), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: 20 }),
        async (limit, backlogs, finishedBefore) => {
          const h = harness({ maxConcurrency: limit });
          for (const [caller, count] of backlogs) for (let i = 0; i < count; i++) h.add(caller);
          for (let i = 0; i < finishedBefore && h.running.length > 0; i++) await h.finishOne();
          const othersWaiting = new Set(backlogs.map(([caller]) => caller)).size;
          h.add('newcomer');
          while (!h.started.some((t) => t.callerKey === 'newcomer')) await h.finishOne();
          const dispatch = h.events.find((e) => e.type === 'dispatch' && e.callerKey === 'newcomer');
          expect(dispatch).toBeDefined();
          if (dispatch?.type === 'dispatch') expect(dispatch.dispatchedWhileQueued).toBeLessThanOrEqual(othersWaiting);
          while (h.running.length > 0) await h.finishOne();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a shared call runs once, from the queue of whichever caller gets a turn first', async () => {
    const h = harness({ maxConcurrency: 1 });
    h.add('a'); // occupies the slot
    for (let i = 0; i < 50; i++) h.add('a');
    const shared = h.add('a'); // the last of a's 51 queued calls
    shared.call.shareWith('b');
    shared.call.shareWith('b'); // twice: still once in b's queue
    expect(h.scheduler.queued).toBe(51);
    await h.finishOne(); // a's first call done: a's next queued call runs...
    await h.finishOne(); // ...then it is b's turn, and b's only call is the shared one
    expect(h.running.map((t) => t.id)).toEqual([shared.id]);
    await h.finishOne();
    expect(await shared.call.result).toBe(shared.id);
    while (h.running.length > 0) await h.finishOne();
    expect(h.started.filter((t) => t.id === shared.id)).toHaveLength(1);
    expect(h.started).toHaveLength(52);
  });

  it('halves the limit on throttling (once per generation of calls, down to 1) and recovers with successes', async () => {
    const h = harness({ maxConcurrency: 8 });
    for (let i = 0; i < 200; i++) h.add(i % 2 ? 'a' : 'b');
    expect(h.running).toHaveLength(8);
    // Eight calls sent under the same limit, all throttled: one signal, 8 -> 4.
    for (const task of h.running) task.feedback.onThrottled();
    expect(h.scheduler.concurrencyLimit).toBe(4);
    // Their retries go out under the new limit; throttled again, that is one more signal: 4 -> 2.
    for (const task of h.running) task.feedback.onThrottled();
    expect(h.scheduler.concurrencyLimit).toBe(2);
    for (const task of h.running) task.feedback.onThrottled();
    expect(h.scheduler.concurrencyLimit).toBe(1);
    for (const task of h.running) task.feedback.onThrottled();
    expect(h.scheduler.concurrencyLimit).toBe(1); // the floor
    // Additive increase: at limit k, k successes in a row add one slot, up to the maximum.
    const recoveredAt: number[] = [];
    let successes = 0;
    while (h.running.length > 0) {
      expect(h.running.length).toBeLessThanOrEqual(Math.max(8, h.scheduler.concurrencyLimit));
      const before = h.scheduler.concurrencyLimit;
      await h.finishOne();
      successes++;
      if (h.scheduler.concurrencyLimit !== before) recoveredAt.push(successes);
      // Once the eight early calls are done, the limit really bounds the calls in flight.
      if (successes >= 8) expect(h.running.length).toBeLessThanOrEqual(h.scheduler.concurrencyLimit);
    }
    expect(recoveredAt).toEqual([1, 3, 6, 10, 15, 21, 28]);
    expect(h.scheduler.concurrencyLimit).toBe(8);
    const changes = h.events.filter((e) => e.type === 'limit').map((e) => (e.type === 'limit' ? `${e.reason}:${e.limit}` : ''));
    expect(changes).toEqual(['throttled:4', 'throttled:2', 'throttled:1', ...[2, 3, 4, 5, 6, 7, 8].map((n) => `recovered:${n}`)]);
  });

  it('successes of calls sent before the last back-off do not count towards recovery', async () => {
    const h = harness({ maxConcurrency: 4 });
    for (let i = 0; i < 20; i++) h.add('a');
    h.running[0].feedback.onThrottled();
    expect(h.scheduler.concurrencyLimit).toBe(2);
    // The three others were sent at the old rate: their success says nothing about the new one.
    await h.finishOne(true, 1);
    await h.finishOne(true, 1);
    await h.finishOne(true, 1);
    expect(h.scheduler.concurrencyLimit).toBe(2);
    // The throttled call's retry went out under the new limit: its success counts.
    await h.finishOne(true, 0);
    expect(h.scheduler.concurrencyLimit).toBe(2);
    await h.finishOne(); // second success at limit 2
    expect(h.scheduler.concurrencyLimit).toBe(3);
    while (h.running.length > 0) await h.finishOne();
  });

  it('a failed call frees its slot without counting as a success', async () => {
    const h = harness({ maxConcurrency: 2 });
    for (let i = 0; i < 4; i++) h.add('a');
    h.running[0].feedback.onThrottled();
    expect(h.scheduler.concurrencyLimit).toBe(1);
    await h.finishOne(false);
    await h.finishOne(false);
    expect(h.scheduler.concurrencyLimit).toBe(1);
    expect(h.running).toHaveLength(1);
    await h.finishOne();
    expect(h.scheduler.concurrencyLimit).toBe(2);
  });

  it('honours a retry hint: nothing new is dispatched before it has passed', async () => {
    let clock = 1_000;
    const h = harness({ maxConcurrency: 4, clock: () => clock });
    for (let i = 0; i < 10; i++) h.add('a');
    h.running[0].feedback.onThrottled(50);
    expect(h.scheduler.concurrencyLimit).toBe(2);
    await h.finishOne();
    await h.finishOne();
    await h.finishOne();
    await h.finishOne();
    expect(h.running).toHaveLength(0); // paused, although the limit allows two
    clock += 50;
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(h.running).toHaveLength(2);
    while (h.running.length > 0) await h.finishOne();
    expect(h.started).toHaveLength(10);
  });

  it('caps a retry hint at maxPauseMs', async () => {
    let clock = 0;
    const h = harness({ maxConcurrency: 1, clock: () => clock, maxPauseMs: 10 });
    h.add('a');
    h.add('a');
    h.running[0].feedback.onThrottled(3_600_000);
    await h.finishOne();
    expect(h.running).toHaveLength(0);
    clock = 10;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(h.running).toHaveLength(1);
    await h.finishOne();
  });

  it('refuses a limit below 1', () => {
    expect(() => new UpstreamScheduler({ maxConcurrency: 0 })).toThrow(RangeError);
  });
});
