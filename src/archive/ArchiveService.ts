/**
 * Runs the archive: takes the lock, keeps it (renewing every third of its TTL), runs a pass
 * every ARCHIVE_PASS_INTERVAL_MS while it holds it, and lets go on stop. Every replica runs one;
 * the one holding the lock archives, the others try to take it every tenth of the TTL, so a
 * replica that dies is replaced once its lock expires (at most the TTL after its last renewal,
 * plus one try). `runOnce` is the scheduled-job form (`npm run archive`).
 *
 * Losing the lock (a renewal refused, or none possible for a whole TTL) aborts the pass between
 * two calls; a write the pass still makes meanwhile is refused by the fence (see
 * `src/reports/archive/ArchiveProgress.ts`), so two archivers never both move a watermark.
 */
import { hasReportsToFetch, type InstanceDirectory } from '../reports/InstanceDirectory';
import { FencedOutError, type ArchiveLock, type ArchiveProgressStore } from '../reports/archive/ArchiveProgress';
import { runArchivePass, type ArchiveFetcher, type ArchiveInstance, type ArchivePassEvents, type ArchivePassResult } from '../reports/archive/archivePass';
import { readArchiveStatus, type ArchiveStatus } from '../reports/archive/archiveStatus';
import { abortableSleep, CallPacer } from '../reports/archive/callPacer';
import type { UpstreamLimits } from '../reports/planner';

/** First pause after a failed pass (doubling with each further failure, up to the pass interval). */
const FIRST_RETRY_MS = 1_000;

export interface ArchiveLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface ArchiveServiceEvents extends ArchivePassEvents {
  onLockChange?(held: boolean): void;
  onPass?(outcome: 'ok' | 'failed' | 'lost-lock', result?: ArchivePassResult): void;
}

export interface ArchiveServiceOptions {
  lock: ArchiveLock;
  progress: ArchiveProgressStore;
  /** `*`: every RUNNING and STOPPED instance of the directory; else these ids. */
  instances: '*' | readonly string[];
  directory?: InstanceDirectory;
  zoneFor(instanceId: string): string;
  /** The fetcher of a holder with this token (its writes are fenced by it). */
  fetcherFor(token: number): ArchiveFetcher;
  maxCallsPerMinute: number;
  passIntervalMs: number;
  lockTtlMs: number;
  now: () => number;
  settleDelayMs: number;
  limits?: UpstreamLimits;
  logger: ArchiveLogger;
  events?: ArchiveServiceEvents;
}

export class ArchiveService {
  private readonly pacer: CallPacer;
  private heldToken: number | undefined;
  private running = false;
  private stopping: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private lastRenewedAt = 0;
  private passWaiters: ((result: ArchivePassResult | undefined) => void)[] = [];
  /** Passes this process has finished (any outcome). */
  passesFinished = 0;
  /** The result of the last pass this process finished; undefined when it failed. */
  lastPassResult: ArchivePassResult | undefined;

  constructor(private readonly options: ArchiveServiceOptions) {
    this.pacer = new CallPacer({ perMinute: options.maxCallsPerMinute });
  }

  /** The fencing token while this process holds the lock. */
  get token(): number | undefined {
    return this.heldToken;
  }

  get holdsLock(): boolean {
    return this.heldToken !== undefined;
  }

  /** An instance's archived span (any replica can read it). */
  status(instanceId: string): Promise<ArchiveStatus | undefined> {
    return readArchiveStatus(this.options.progress, instanceId, this.options.zoneFor(instanceId));
  }

  /** Resolves when this process finishes its next pass: its result, or undefined when it failed. */
  nextPass(): Promise<ArchivePassResult | undefined> {
    return new Promise((resolve) => this.passWaiters.push(resolve));
  }

  private passFinished(result: ArchivePassResult | undefined): void {
    this.passesFinished++;
    this.lastPassResult = result;
    const waiters = this.passWaiters;
    this.passWaiters = [];
    for (const resolve of waiters) resolve(result);
  }

  /** Starts the background loop (inside the gateway). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = new AbortController();
    this.loop = this.runLoop(this.stopping.signal);
  }

  /** Stops the loop, waits for the call in progress, and lets the lock go for the next replica. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopping?.abort(new Error('archive stopped'));
    await this.loop;
  }

  /**
   * One pass as a scheduled job: takes the lock (failing if a gateway replica holds it: that
   * replica archives already), runs one pass, releases. Rejects on failure.
   */
  async runOnce(): Promise<ArchivePassResult> {
    const token = await this.options.lock.acquire(this.options.lockTtlMs);
    if (token === undefined) throw new Error('the archive lock is held by another archiver (a gateway replica with ARCHIVE_INSTANCES set, or another job): nothing to do');
    const lost = new AbortController();
    this.took(token);
    const renewal = this.keepRenewing(token, lost);
    try {
      return await this.pass(token, lost.signal);
    } finally {
      clearInterval(renewal);
      await this.letGo(token);
    }
  }

  private async runLoop(signal: AbortSignal): Promise<void> {
    const retryMs = Math.max(100, Math.floor(this.options.lockTtlMs / 10));
    while (!signal.aborted) {
      let token: number | undefined;
      try {
        token = await this.options.lock.acquire(this.options.lockTtlMs);
      } catch (error) {
        this.options.logger.warn({ err: error }, 'archive: could not reach the lock; trying again');
      }
      if (token === undefined) {
        await abortableSleep(retryMs, signal).catch(() => undefined);
        continue;
      }
      await this.holdAndArchive(token, signal);
    }
  }

  /** While the lock is ours: a pass, a pause, a pass... until it is lost or we stop. */
  private async holdAndArchive(token: number, stop: AbortSignal): Promise<void> {
    const lost = new AbortController();
    const onStop = () => lost.abort(stop.reason);
    stop.addEventListener('abort', onStop, { once: true });
    this.took(token);
    const renewal = this.keepRenewing(token, lost);
    let failuresInARow = 0;
    try {
      while (!lost.signal.aborted) {
        let pauseMs = this.options.passIntervalMs;
        try {
          await this.pass(token, lost.signal);
          failuresInARow = 0;
        } catch (error) {
          if (lost.signal.aborted || error instanceof FencedOutError) break;
          // Logged and counted by pass(). A failed pass (a Redis blip) is retried sooner than the
          // pass interval, backing off (1 s, 2 s, 4 s, ...) up to it; it resumes at the watermark.
          pauseMs = Math.min(pauseMs, FIRST_RETRY_MS * 2 ** Math.min(failuresInARow++, 16));
        }
        await abortableSleep(pauseMs, lost.signal).catch(() => undefined);
      }
    } finally {
      clearInterval(renewal);
      stop.removeEventListener('abort', onStop);
      await this.letGo(token);
    }
  }

  private took(token: number): void {
    this.heldToken = token;
    this.lastRenewedAt = performance.now();
    this.options.logger.info({ fencingToken: token }, 'archive: this process holds the archive lock');
    this.options.events?.onLockChange?.(true);
  }

  private async letGo(token: number): Promise<void> {
    if (this.heldToken !== token) return;
    this.heldToken = undefined;
    this.options.events?.onLockChange?.(false);
    await this.options.lock.release(token).catch(() => undefined);
  }

  /** Renews every third of the TTL; aborts `lost` when the lock is gone. */
  private keepRenewing(token: number, lost: AbortController): NodeJS.Timeout {
    const ttl = this.options.lockTtlMs;
    const timer = setInterval(() => {
      void this.options.lock.renew(token, ttl).then(
        (held) => {
          if (held) this.lastRenewedAt = performance.now();
          else this.lose(token, lost, 'the lock was taken over');
        },
        (error: unknown) => {
          // Redis unreachable: the lock may still be ours, but not past its TTL.
          if (performance.now() - this.lastRenewedAt >= ttl) this.lose(token, lost, 'no renewal possible within the lock TTL', error);
        },
      );
    }, Math.max(50, Math.floor(ttl / 3)));
    timer.unref();
    return timer;
  }

  private lose(token: number, lost: AbortController, reason: string, error?: unknown): void {
    if (lost.signal.aborted) return;
    this.options.logger.warn({ fencingToken: token, reason, err: error }, 'archive: lost the archive lock; stopping this pass');
    if (this.heldToken === token) {
      this.heldToken = undefined;
      this.options.events?.onLockChange?.(false);
    }
    lost.abort(new Error(`archive lock lost: ${reason}`));
  }

  private async pass(token: number, signal: AbortSignal): Promise<ArchivePassResult> {
    const { options } = this;
    try {
      const instances = await this.instancesToArchive();
      const result = await runArchivePass({
        token,
        instances,
        progress: options.progress,
        fetcher: options.fetcherFor(token),
        pacer: this.pacer,
        now: options.now,
        settleDelayMs: options.settleDelayMs,
        limits: options.limits,
        signal,
        events: options.events,
      });
      for (const skipped of result.skipped) options.logger.warn(skipped, 'archive: upstream does not know this instance; skipped');
      if (result.upstreamCalls > 0 || result.failedCalls > 0) {
        options.logger.info({ ...result, instanceIds: undefined, skipped: result.skipped.length, instances: instances.length }, 'archive pass done');
      }
      options.events?.onPass?.('ok', result);
      this.passFinished(result);
      return result;
    } catch (error) {
      if (signal.aborted || error instanceof FencedOutError) {
        options.events?.onPass?.('lost-lock');
        if (error instanceof FencedOutError) options.logger.warn({ err: error }, 'archive: a newer archiver holds the lock; this one stops');
      } else {
        options.events?.onPass?.('failed');
        options.logger.error({ err: error }, 'archive pass failed; the next pass resumes at the watermark');
      }
      this.passFinished(undefined);
      throw error;
    }
  }

  /** The instances of this pass: RELEASED (and CREATING) ones keep their history but are not polled. */
  private async instancesToArchive(): Promise<ArchiveInstance[]> {
    const { instances, directory, zoneFor, logger } = this.options;
    let ids: string[];
    if (instances === '*') {
      if (!directory) throw new Error('ARCHIVE_INSTANCES=* needs the instance directory (ListInstances), which this upstream does not offer');
      ids = (await directory.listInstances()).filter(hasReportsToFetch).map((i) => i.id);
    } else {
      ids = [...instances];
      if (directory) {
        try {
          const known = new Map((await directory.listInstances()).map((i) => [i.id, i]));
          ids = ids.filter((id) => {
            const info = known.get(id);
            return info === undefined || hasReportsToFetch(info);
          });
        } catch (error) {
          // The listed ids are explicit: archive them all rather than none.
          logger.warn({ err: error }, 'archive: ListInstances failed; archiving every listed instance this pass');
        }
      }
    }
    return ids.map((id) => ({ id, zone: zoneFor(id) }));
  }
}
