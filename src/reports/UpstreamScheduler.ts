/**
 * Fair, adaptive admission of upstream calls.
 *
 * Fairness: every caller (one per identity, see the server's caller key) has a queue of its own,
 * and free slots go round robin over the callers that have work waiting. A caller whose
 * operation needs 2,000 cold calls therefore cannot make another caller's single call wait
 * behind them: that call is dispatched after at most one queued call of every other waiting
 * caller. A call another caller joined (the pipeline's in-flight sharing) is queued for both,
 * and runs from whichever queue reaches it first, so joining never costs a caller its turn.
 *
 * Adaptation (AIMD, as TCP does): upstream throttling halves the number of calls in flight
 * (down to `minConcurrency`), at most once per generation of calls (a burst of throttled answers
 * to calls sent at the same limit is one signal, not four); every `limit` calls sent under the
 * current limit that succeed in a row add one slot back, up to `maxConcurrency`. A retry hint
 * (`retryAfterMs`) pauses new dispatches that long. Throttling thus slows the gateway down
 * instead of failing operations; only the call's own deadline ends its retries (see CccClient).
 *
 * A slot is held for the whole task, retries and their backoff included: a call that is being
 * throttled keeps its slot, so the limit really bounds the calls upstream sees.
 *
 * Background callers (`runInBackground`, the archive): their queues form a second class that gets
 * a slot only when no live caller has a call waiting, and holds at most `maxBackgroundInFlight`
 * slots at once, so a live call never waits behind more than those. A call a live caller shares
 * (joins) sits in that caller's live queue too and is dispatched with live precedence.
 */

/** How a running call reports back what upstream said (the client calls it per throttled attempt). */
export interface UpstreamCallFeedback {
  onThrottled(retryAfterMs?: number): void;
}

export interface ScheduledCall<T> {
  readonly result: Promise<T>;
  /** Another caller needs this call too: queue it for them as well, unless it already started. */
  shareWith(callerKey: string): void;
}

export type SchedulerEvent =
  | {
      type: 'dispatch';
      callerKey: string;
      /** Calls dispatched (for any caller) between this call's enqueueing and its dispatch. */
      dispatchedWhileQueued: number;
      /** Callers with queued work at the moment of dispatch, this one included. */
      waitingCallers: number;
    }
  | { type: 'limit'; limit: number; reason: 'throttled' | 'recovered' };

export interface UpstreamSchedulerOptions {
  /** The ceiling: UPSTREAM_CONCURRENCY. */
  maxConcurrency: number;
  /** The floor throttling can push the limit down to. Default 1. */
  minConcurrency?: number;
  /** Longest pause a retry hint may impose on new dispatches. Default 5 s. */
  maxPauseMs?: number;
  /** Monotonic milliseconds; injectable for tests. */
  clock?: () => number;
  /** Most slots background callers may hold at once. Default 1. */
  maxBackgroundInFlight?: number;
}

interface Ticket {
  /** `background`: dispatched from a background caller's queue (counts against its cap). */
  readonly run: (background: boolean) => void;
  started: boolean;
  /** Each caller whose queue holds it -> the dispatch count when it joined that queue. */
  readonly holders: Map<string, number>;
}

/** A FIFO of tickets with O(1) push and shift (an array and a head index). */
class TicketQueue {
  private items: Ticket[] = [];
  private head = 0;

  push(ticket: Ticket): void {
    this.items.push(ticket);
  }

  /** The first ticket not started yet (started ones, run from another caller's queue, are dropped). */
  shift(): Ticket | undefined {
    while (this.head < this.items.length) {
      const ticket = this.items[this.head++];
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      if (!ticket.started) return ticket;
    }
    return undefined;
  }

  get empty(): boolean {
    for (let i = this.head; i < this.items.length; i++) if (!this.items[i].started) return false;
    this.items = [];
    this.head = 0;
    return true;
  }
}

export class UpstreamScheduler {
  private readonly maxConcurrency: number;
  private readonly minConcurrency: number;
  private readonly maxPauseMs: number;
  private readonly clock: () => number;
  private limit: number;
  /** Successes since the limit last changed: a full window of them (`limit`) adds one slot. */
  private successes = 0;
  /** Bumped on every decrease: feedback from calls sent under an older limit does not decrease again. */
  private generation = 0;
  private running = 0;
  private pending = 0;
  private dispatched = 0;
  private pausedUntil = 0;
  private pauseTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly queues = new Map<string, TicketQueue>();
  /** Callers with queued work, in round-robin order: the next slot goes to the first. */
  private readonly turn: string[] = [];
  /** The same for background callers: served only while `turn` is empty. */
  private readonly backgroundTurn: string[] = [];
  private readonly inTurn = new Set<string>();
  private readonly backgroundCallers = new Set<string>();
  private readonly maxBackgroundInFlight: number;
  private backgroundRunning = 0;
  private readonly listeners = new Set<(event: SchedulerEvent) => void>();

  constructor(options: UpstreamSchedulerOptions) {
    if (!(Number.isInteger(options.maxConcurrency) && options.maxConcurrency >= 1)) {
      throw new RangeError(`maxConcurrency must be a positive integer, got ${options.maxConcurrency}`);
    }
    this.maxConcurrency = options.maxConcurrency;
    this.minConcurrency = Math.min(this.maxConcurrency, Math.max(1, options.minConcurrency ?? 1));
    this.maxPauseMs = options.maxPauseMs ?? 5_000;
    this.clock = options.clock ?? (() => performance.now());
    this.maxBackgroundInFlight = Math.max(1, options.maxBackgroundInFlight ?? 1);
    this.limit = this.maxConcurrency;
  }

  /**
   * Puts `callerKey` in the background class: its calls run only when no live caller has one
   * waiting. Call it before the caller schedules anything.
   */
  runInBackground(callerKey: string): void {
    this.backgroundCallers.add(callerKey);
  }

  /** Calls allowed in flight right now. */
  get concurrencyLimit(): number {
    return this.limit;
  }

  get inFlight(): number {
    return this.running;
  }

  /** Calls waiting for a slot (a shared call counts once). */
  get queued(): number {
    return this.pending;
  }

  /** Listens to dispatches and limit changes (metrics, tests); returns the unsubscribe function. */
  observe(listener: (event: SchedulerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Queues `task` for `callerKey`; it runs when a slot is free and it is that caller's turn. The
   * task gets the feedback channel for throttling; its success counts towards recovery.
   */
  schedule<T>(callerKey: string, task: (feedback: UpstreamCallFeedback) => Promise<T>): ScheduledCall<T> {
    let resolve!: (value: T) => void;
    let reject!: (error: unknown) => void;
    const result = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const ticket: Ticket = {
      started: false,
      holders: new Map([[callerKey, this.dispatched]]),
      run: (background: boolean) => {
        let generation = this.generation;
        const feedback: UpstreamCallFeedback = {
          onThrottled: (retryAfterMs) => {
            this.throttled(generation, retryAfterMs);
            // The next attempt of this call is sent under the new limit.
            generation = this.generation;
          },
        };
        let started: Promise<T>;
        try {
          started = task(feedback);
        } catch (error) {
          started = Promise.reject(error);
        }
        started.then(
          (value) => {
            this.release(background);
            this.succeeded(generation);
            resolve(value);
          },
          (error: unknown) => {
            this.release(background);
            reject(error);
          },
        );
      },
    };
    this.pending++;
    this.enqueue(callerKey, ticket);
    this.pump();
    return {
      result,
      shareWith: (other) => {
        if (ticket.started || ticket.holders.has(other)) return;
        ticket.holders.set(other, this.dispatched);
        this.enqueue(other, ticket);
        this.pump();
      },
    };
  }

  private enqueue(callerKey: string, ticket: Ticket): void {
    let queue = this.queues.get(callerKey);
    if (!queue) this.queues.set(callerKey, (queue = new TicketQueue()));
    queue.push(ticket);
    if (!this.inTurn.has(callerKey)) {
      this.inTurn.add(callerKey);
      this.turnOf(callerKey).push(callerKey);
    }
  }

  private turnOf(callerKey: string): string[] {
    return this.backgroundCallers.has(callerKey) ? this.backgroundTurn : this.turn;
  }

  /** The round-robin line whose caller gets the next free slot: live first, background when allowed. */
  private nextTurn(): string[] | undefined {
    if (this.turn.length > 0) return this.turn;
    if (this.backgroundTurn.length > 0 && this.backgroundRunning < this.maxBackgroundInFlight) return this.backgroundTurn;
    return undefined;
  }

  /** Fills free slots, one caller's turn at a time. */
  private pump(): void {
    let turn: string[] | undefined;
    while (this.running < this.concurrencyLimit && (turn = this.nextTurn())) {
      const wait = this.pausedUntil - this.clock();
      if (wait > 0) {
        this.pauseTimer ??= setTimeout(() => {
          this.pauseTimer = undefined;
          this.pump();
        }, wait);
        // A pause must not keep a process alive that has nothing else to do.
        this.pauseTimer.unref?.();
        return;
      }
      const callerKey = turn.shift()!;
      const queue = this.queues.get(callerKey)!;
      const ticket = queue.shift();
      if (queue.empty) {
        this.inTurn.delete(callerKey);
        this.queues.delete(callerKey);
      } else {
        turn.push(callerKey); // back of the line
      }
      if (!ticket) continue;
      const background = turn === this.backgroundTurn;
      ticket.started = true;
      this.pending--;
      this.running++;
      if (background) this.backgroundRunning++;
      const dispatchedWhileQueued = this.dispatched - ticket.holders.get(callerKey)!;
      this.dispatched++;
      const waitingCallers = this.turn.length + this.backgroundTurn.length + (this.inTurn.has(callerKey) ? 0 : 1);
      this.emit({ type: 'dispatch', callerKey, dispatchedWhileQueued, waitingCallers });
      ticket.run(background);
    }
  }

  private release(background: boolean): void {
    this.running--;
    if (background) this.backgroundRunning--;
    this.pump();
  }

  private throttled(generation: number, retryAfterMs?: number): void {
    if (typeof retryAfterMs === 'number' && retryAfterMs > 0) {
      this.pausedUntil = Math.max(this.pausedUntil, this.clock() + Math.min(retryAfterMs, this.maxPauseMs));
    }
    if (generation !== this.generation) return; // already backed off for this generation of calls
    this.generation++;
    this.successes = 0;
    const halved = Math.max(this.minConcurrency, Math.floor(this.limit / 2));
    if (halved === this.limit) return;
    this.limit = halved;
    this.emit({ type: 'limit', limit: this.limit, reason: 'throttled' });
  }

  /** Only a call sent under the current limit says that this limit works. */
  private succeeded(generation: number): void {
    if (this.limit >= this.maxConcurrency || generation !== this.generation) return;
    if (++this.successes < this.limit) return;
    this.successes = 0;
    this.limit++;
    this.emit({ type: 'limit', limit: this.limit, reason: 'recovered' });
    this.pump();
  }

  private emit(event: SchedulerEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
