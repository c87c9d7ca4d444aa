/**
 * The scheduler's background class (the archive): it runs only when no live caller has a call
 * waiting, holds at most `maxBackgroundInFlight` slots, and a live caller that shares a queued
 * background call gets it with live precedence.
 */
import { UpstreamScheduler } from '../../src/reports/UpstreamScheduler';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function harness(options: ConstructorParameters<typeof UpstreamScheduler>[0]) {
  const scheduler = new UpstreamScheduler(options);
  scheduler.runInBackground('archive');
  const started: string[] = [];
  const finishers = new Map<string, () => void>();
  const add = (callerKey: string, name: string) => {
    const call = scheduler.schedule(
      callerKey,
      () =>
        new Promise<string>((resolve) => {
          started.push(name);
          finishers.set(name, () => resolve(name));
        }),
    );
    return call;
  };
  const finish = async (name: string) => {
    finishers.get(name)!();
    finishers.delete(name);
    await flush();
  };
  return { scheduler, started, add, finish };
}

describe('UpstreamScheduler background class', () => {
  it('gives every free slot to live callers first, whatever was queued before', async () => {
    const { started, add, finish } = harness({ maxConcurrency: 1 });
    add('live-a', 'a1'); // takes the only slot
    add('archive', 'bg1');
    add('archive', 'bg2');
    add('live-b', 'b1');
    add('live-a', 'a2');
    expect(started).toEqual(['a1']);
    await finish('a1');
    await finish(started[started.length - 1]);
    await finish(started[started.length - 1]);
    // Both live calls before any background call, though the background ones were queued first.
    expect(started).toEqual(['a1', 'b1', 'a2', 'bg1']);
    await finish('bg1');
    expect(started).toEqual(['a1', 'b1', 'a2', 'bg1', 'bg2']);
  });

  it('runs background calls when no live caller waits, at most maxBackgroundInFlight at once', async () => {
    const { scheduler, started, add, finish } = harness({ maxConcurrency: 4 });
    add('archive', 'bg1');
    add('archive', 'bg2');
    add('archive', 'bg3');
    expect(started).toEqual(['bg1']); // three slots stay free for live callers
    expect(scheduler.inFlight).toBe(1);
    add('live', 'l1');
    add('live', 'l2');
    add('live', 'l3');
    expect(started).toEqual(['bg1', 'l1', 'l2', 'l3']);
    await finish('bg1');
    expect(started).toEqual(['bg1', 'l1', 'l2', 'l3', 'bg2']);
  });

  it('can be allowed more than one background slot', async () => {
    const { started, add } = harness({ maxConcurrency: 4, maxBackgroundInFlight: 2 });
    for (const name of ['bg1', 'bg2', 'bg3']) add('archive', name);
    expect(started).toEqual(['bg1', 'bg2']);
  });

  it('promotes a queued background call that a live caller shares', async () => {
    const { started, add, finish } = harness({ maxConcurrency: 1 });
    add('live-a', 'a1');
    add('archive', 'bg1');
    const shared = add('archive', 'bg2');
    add('live-b', 'b1');
    shared.shareWith('live-c'); // a live operation needs the very same buckets
    await finish('a1');
    // live-b and live-c are both live and take turns in arrival order; bg1 waits for both.
    expect(started).toEqual(['a1', 'b1']);
    await finish('b1');
    expect(started).toEqual(['a1', 'b1', 'bg2']);
    await finish('bg2');
    expect(started).toEqual(['a1', 'b1', 'bg2', 'bg1']);
  });

  it('leaves callers it was not told about in the live class', async () => {
    const { started, add, finish } = harness({ maxConcurrency: 1 });
    add('x', 'x1');
    add('archive', 'bg1');
    add('y', 'y1');
    await finish('x1');
    expect(started).toEqual(['x1', 'y1']);
  });
});
