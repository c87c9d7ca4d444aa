/**
 * The signal handling of main.ts on its own (the process-level behaviour is in shutdown.test.ts):
 * the first signal closes once and exits 0; a second signal exits 1 at once; a close that hangs
 * past the grace period is forced to exit 1.
 */
import { EventEmitter } from 'node:events';
import { closeOnTerminationSignals } from '../../src/server/shutdown';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

function fakeProcess() {
  const emitter = new EventEmitter();
  return { processLike: { on: (event: string, listener: () => void) => emitter.on(event, listener) } as never, emit: (signal: string) => emitter.emit(signal) };
}

describe('closeOnTerminationSignals', () => {
  it('closes once on SIGTERM and exits 0 when the close is done', async () => {
    const { processLike, emit } = fakeProcess();
    const exits: number[] = [];
    let closes = 0;
    let finishClose!: () => void;
    const gateway = { close: () => new Promise<void>((resolve) => { closes++; finishClose = resolve; }) };
    closeOnTerminationSignals(gateway, { logger: silent, graceMs: 10_000, exit: (code) => exits.push(code), processLike });
    emit('SIGTERM');
    expect(closes).toBe(1);
    expect(exits).toEqual([]); // in-flight operations are still finishing
    finishClose();
    await new Promise(setImmediate);
    expect(exits).toEqual([0]);
  });

  it('exits 1 at once on a second signal, without closing twice', () => {
    const { processLike, emit } = fakeProcess();
    const exits: number[] = [];
    let closes = 0;
    const gateway = { close: () => { closes++; return new Promise<void>(() => undefined); } };
    closeOnTerminationSignals(gateway, { logger: silent, graceMs: 10_000, exit: (code) => exits.push(code), processLike });
    emit('SIGINT');
    emit('SIGINT');
    expect(closes).toBe(1);
    expect(exits).toEqual([1]);
  });

  it('forces exit 1 when the close outlives the grace period and its margin', () => {
    jest.useFakeTimers();
    try {
      const { processLike, emit } = fakeProcess();
      const exits: number[] = [];
      const gateway = { close: () => new Promise<void>(() => undefined) };
      closeOnTerminationSignals(gateway, { logger: silent, graceMs: 1_000, closeMarginMs: 500, exit: (code) => exits.push(code), processLike });
      emit('SIGTERM');
      jest.advanceTimersByTime(1_499);
      expect(exits).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(exits).toEqual([1]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('exits 1 when the close fails', async () => {
    const { processLike, emit } = fakeProcess();
    const exits: number[] = [];
    closeOnTerminationSignals({ close: () => Promise.reject(new Error('boom')) }, { logger: silent, graceMs: 1_000, exit: (code) => exits.push(code), processLike });
    emit('SIGTERM');
    await new Promise(setImmediate);
    expect(exits).toEqual([1]);
  });

  it('closes the same way for a fatal configuration and exits with its code (2)', async () => {
    const { processLike } = fakeProcess();
    const exits: number[] = [];
    let closes = 0;
    const shutDown = closeOnTerminationSignals({ close: async () => void closes++ }, { logger: silent, graceMs: 1_000, exit: (code) => exits.push(code), processLike });
    shutDown('fatal configuration', 2);
    await new Promise(setImmediate);
    expect(closes).toBe(1);
    expect(exits).toEqual([2]);
  });
});
