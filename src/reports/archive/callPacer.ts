/**
 * Spaces the archive's upstream calls evenly: at most `perMinute` a minute, one every
 * 60 000 / perMinute ms, never in bursts (the archive is a background guest of upstream's quota,
 * which live operations share).
 */
export interface CallPacerOptions {
  perMinute: number;
  now?: () => number;
  /** Resolves after `ms`, or rejects when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export class CallPacer {
  private readonly spacingMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private nextAt = -Infinity;

  constructor(options: CallPacerOptions) {
    if (!(options.perMinute > 0)) throw new RangeError(`perMinute must be positive, got ${options.perMinute}`);
    this.spacingMs = 60_000 / options.perMinute;
    this.now = options.now ?? (() => performance.now());
    this.sleep = options.sleep ?? abortableSleep;
  }

  /** Waits for the next call's turn and claims it. */
  async next(signal?: AbortSignal): Promise<void> {
    const wait = this.nextAt - this.now();
    if (wait > 0) await this.sleep(wait, signal);
    signal?.throwIfAborted();
    this.nextAt = Math.max(this.now(), this.nextAt) + this.spacingMs;
  }
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
