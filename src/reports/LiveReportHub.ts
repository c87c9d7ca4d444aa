/**
 * Live report series: the open bucket of a series, polled once per poll interval
 * (CACHE_OPEN_TTL_MS) whatever the number of subscribers and replicas, and pushed to every
 * subscriber each time its numbers change (docs/subscriptions.md).
 *
 * One hub per process. Per series it keeps the subscribers of this replica and, while this replica
 * holds the series' poller lease (LiveCoordination), polls it: a read through the report pipeline
 * like any operation's (so the poll refreshes the cache tiers, and queries for the same open
 * bucket share its snapshot), from the oldest bucket that has not settled yet to the current one.
 * Each poll's rows are published to the other replicas and delivered here; every subscriber gets
 * the rows whose numbers (or `closed`) differ from what it last received: a bucket again each time
 * it changes, once more as `closed: true` when it settles, and the next bucket as soon as it
 * exists.
 *
 * Subscribers are pull-based async iterators with a bounded queue: a consumer that does not read
 * (a stalled socket) is dropped once `maxQueuedEvents` wait for it, never buffered without limit.
 */
import { bucketStart, nextBucketStart } from './intervals';
import { GatewayError } from './errors';
import type { ReportRow } from './InstanceReports';
import type { LiveCoordination, LiveError, LiveSeriesSpec, LiveSnapshot } from './LiveCoordination';

/** What a subscriber receives: a bucket, or the error of a poll (the subscription goes on). */
export type LiveEvent = { row: ReportRow; error?: undefined } | { error: GatewayError; row?: undefined };

/** Why a subscriber was dropped. */
export type LiveDropReason = 'slow-consumer';

export interface LiveHubObserver {
  polled(spec: LiveSeriesSpec, outcome: 'ok' | 'error'): void;
  /** Events queued for subscribers. */
  pushed(count: number): void;
  /** An event taken by its consumer, `lagMs` after its poll was published. */
  delivered(lagMs: number): void;
  dropped(reason: LiveDropReason): void;
}

export interface LiveReportHubOptions {
  coordination: LiveCoordination;
  /** Reads the series' rows (ZERO-filled) from `from` to now through the pipeline, as the poller. */
  poll(spec: LiveSeriesSpec, from: number): Promise<ReportRow[]>;
  /** The pipeline's clock (injectable in tests): which buckets are open. */
  now(): number;
  settleDelayMs: number;
  /** How often a series is polled: CACHE_OPEN_TTL_MS, the life of an open snapshot. */
  pollIntervalMs: number;
  /** Events one subscriber may leave unread before it is dropped. */
  maxQueuedEvents: number;
  observer?: LiveHubObserver;
  /** Failures of the coordination (Redis) and unexpected poll failures: logged, never thrown at subscribers. */
  onError?(error: unknown, where: 'coordination' | 'poll'): void;
  /** Wall clock for lag measurements (default Date.now). */
  wallClock?(): number;
}

/**
 * Leases and interest keys outlive three poll intervals (a replica that dies is replaced within
 * them), and at least 2 s: a busy event loop that delays one renewal must not hand the series to
 * a second poller.
 */
const LEASE_INTERVALS = 3;
const MIN_LEASE_MS = 2_000;

class Series {
  readonly subscribers = new Set<LiveSubscriber>();
  /** The last rows received (polled here or published by the poller), and when (wall clock). */
  latest?: { rows: ReportRow[]; fingerprints: string[]; receivedAt: number };
  /** First bucket the next poll reads: the oldest one whose `closed: true` was not seen yet. */
  trackedStart?: number;
  polling = false;
  timer?: NodeJS.Timeout;
  stopped = false;
  constructor(readonly spec: LiveSeriesSpec) {}
}

/** A bucket's numbers and closedness, as one string: two versions differ exactly when these do. */
function fingerprint(row: ReportRow): string {
  return JSON.stringify([row.closed, row.endTime, row.inbound, row.outbound, row.overall]);
}

export class LiveSubscriber implements AsyncIterableIterator<LiveEvent> {
  private readonly queue: { event: LiveEvent; publishedAt: number }[] = [];
  private waiting?: (result: IteratorResult<LiveEvent>) => void;
  private done = false;
  /** statsTime -> fingerprint of the version this subscriber last received. */
  readonly seen = new Map<number, string>();

  constructor(
    private readonly hub: LiveReportHub,
    readonly series: Series,
    private readonly maxQueued: number,
    private readonly onDrop: (reason: LiveDropReason) => void,
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  /** Queues an event; false when the subscriber is over its bound (it is dropped then). */
  push(event: LiveEvent, publishedAt: number): boolean {
    if (this.done) return false;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      this.hub.observeDelivery(publishedAt);
      resolve({ value: event, done: false });
      return true;
    }
    if (this.queue.length >= this.maxQueued) {
      this.end();
      this.hub.observer?.dropped('slow-consumer');
      this.onDrop('slow-consumer');
      return false;
    }
    this.queue.push({ event, publishedAt });
    return true;
  }

  next(): Promise<IteratorResult<LiveEvent>> {
    const first = this.queue.shift();
    if (first) {
      this.hub.observeDelivery(first.publishedAt);
      return Promise.resolve({ value: first.event, done: false });
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<LiveEvent>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<LiveEvent>> {
    this.end();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<LiveEvent> {
    return this;
  }

  /** Ends the stream (unsubscribe, drop, shutdown): nothing more is queued, a waiting read ends. */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.queue.length = 0;
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve?.({ value: undefined, done: true });
    this.hub.detach(this);
  }
}

export class LiveReportHub {
  private readonly series = new Map<string, Series>();
  private stopped = false;
  readonly observer?: LiveHubObserver;
  private readonly wallClock: () => number;

  constructor(private readonly options: LiveReportHubOptions) {
    this.observer = options.observer;
    this.wallClock = options.wallClock ?? Date.now;
    options.coordination.onSnapshot((snapshot) => this.accept(snapshot));
  }

  /** Subscribers on this replica, and the series they watch. */
  get stats(): { subscribers: number; series: number; polling: number } {
    let subscribers = 0;
    let polling = 0;
    for (const s of this.series.values()) {
      subscribers += s.subscribers.size;
      if (s.polling) polling++;
    }
    return { subscribers, series: this.series.size, polling };
  }

  /**
   * The rows last received for a series if they are no older than one poll interval: a new
   * subscriber starts from them instead of reading.
   */
  freshRows(key: string): ReportRow[] | undefined {
    const latest = this.series.get(key)?.latest;
    return latest && this.wallClock() - latest.receivedAt < this.options.pollIntervalMs ? latest.rows : undefined;
  }

  /**
   * A new subscriber of a series, starting from `initial` (the series' rows, read by the
   * subscriber's own operation or `freshRows`): the buckets not closed yet come first.
   */
  subscribe(spec: LiveSeriesSpec, initial: ReportRow[], onDrop: (reason: LiveDropReason) => void): LiveSubscriber {
    if (this.stopped) throw new GatewayError('UPSTREAM_UNAVAILABLE', 'This gateway replica is shutting down; reconnect to subscribe again');
    let series = this.series.get(spec.key);
    const created = !series;
    if (!series) {
      series = new Series(spec);
      this.series.set(spec.key, series);
    }
    const subscriber = new LiveSubscriber(this, series, this.options.maxQueuedEvents, onDrop);
    series.subscribers.add(subscriber);
    // A read for this subscriber is as new as anything received: later subscribers may start from it.
    if (initial !== series.latest?.rows) series.latest = { rows: initial, fingerprints: initial.map(fingerprint), receivedAt: this.wallClock() };
    const fingerprints = initial === series.latest.rows ? series.latest.fingerprints : initial.map(fingerprint);
    const last = initial.length - 1;
    const now = this.wallClock();
    initial.forEach((row, i) => {
      subscriber.seen.set(row.statsTime, fingerprints[i]);
      // A bucket that closed before this subscriber came is history, unless it is all there is.
      if (!row.closed || i === last) this.queue(subscriber, { row }, now);
    });
    if (created) void this.tick(series, true);
    return subscriber;
  }

  /** A subscriber ended: the series stays while this replica polls it for others. */
  detach(subscriber: LiveSubscriber): void {
    const series = subscriber.series;
    series.subscribers.delete(subscriber);
    if (series.subscribers.size === 0 && !series.polling) this.dropSeries(series);
  }

  observeDelivery(publishedAt: number): void {
    this.observer?.delivered(Math.max(0, this.wallClock() - publishedAt));
  }

  /** Ends every subscription and stops polling (shutdown); leases are released for other replicas. */
  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.series.values()];
    for (const series of all) for (const subscriber of [...series.subscribers]) subscriber.end();
    await Promise.all(all.map((series) => this.dropSeries(series)));
  }

  /** A snapshot (polled here or published by the poller): each subscriber gets what changed for it. */
  accept(snapshot: LiveSnapshot): void {
    const series = this.series.get(snapshot.key);
    if (!series || series.stopped) return;
    if (snapshot.error) {
      const error = new GatewayError(snapshot.error.code, snapshot.error.message, snapshot.error.details);
      for (const subscriber of [...series.subscribers]) this.queue(subscriber, { error }, snapshot.publishedAt);
      return;
    }
    const rows = snapshot.rows ?? [];
    const fingerprints = rows.map(fingerprint);
    series.latest = { rows, fingerprints, receivedAt: this.wallClock() };
    for (const subscriber of [...series.subscribers]) {
      rows.forEach((row, i) => {
        if (subscriber.seen.get(row.statsTime) === fingerprints[i]) return;
        subscriber.seen.set(row.statsTime, fingerprints[i]);
        this.queue(subscriber, { row }, snapshot.publishedAt);
      });
      // Buckets before the snapshot's first are settled and delivered: forget them.
      if (rows.length > 0) for (const statsTime of subscriber.seen.keys()) if (statsTime < rows[0].statsTime) subscriber.seen.delete(statsTime);
    }
  }

  private queue(subscriber: LiveSubscriber, event: LiveEvent, publishedAt: number): void {
    if (subscriber.push(event, publishedAt)) this.observer?.pushed(1);
  }

  /**
   * Every poll interval, per series: declare interest (while there are subscribers here), take or
   * renew the poller lease, and poll when this replica holds it. The first tick only claims: the
   * new subscriber has just read the series.
   */
  private async tick(series: Series, first = false): Promise<void> {
    if (series.stopped) return;
    const { coordination, pollIntervalMs } = this.options;
    const leaseMs = Math.max(pollIntervalMs * LEASE_INTERVALS, MIN_LEASE_MS);
    try {
      if (series.subscribers.size > 0) await coordination.declareInterest(series.spec, leaseMs);
      const claimed = await coordination.claimPoller(series.spec.key, leaseMs);
      if (series.stopped) {
        // Dropped while the claim was on its way (its last subscriber left at once): a lease won
        // now would block other replicas' polls until it expires. Unless a new series of the same
        // key (a subscriber came back) holds it now: the lease is this replica's, and it is in use.
        if (claimed && !this.series.has(series.spec.key)) await coordination.releasePoller(series.spec.key);
        return;
      }
      series.polling = claimed;
      if (series.polling && series.subscribers.size === 0 && !(await coordination.hasInterest(series.spec.key))) {
        // Nobody anywhere watches it any more.
        await this.dropSeries(series);
        return;
      }
    } catch (error) {
      this.options.onError?.(error, 'coordination');
      series.polling = true; // without coordination, every replica serves its own subscribers
    }
    if (!series.polling && series.subscribers.size === 0) {
      await this.dropSeries(series);
      return;
    }
    if (series.polling && !first && !series.stopped) await this.poll(series);
    if (!series.stopped) {
      series.timer = setTimeout(() => void this.tick(series), pollIntervalMs);
      series.timer.unref?.();
    }
  }

  private async poll(series: Series): Promise<void> {
    const { spec } = series;
    const from = (series.trackedStart ??= bucketStart(this.options.now() - this.options.settleDelayMs, spec.interval, spec.zone));
    let snapshot: LiveSnapshot;
    try {
      const rows = await this.options.poll(spec, from);
      const open = rows.find((row) => !row.closed);
      const last = rows[rows.length - 1];
      series.trackedStart = open ? open.statsTime : last ? nextBucketStart(last.statsTime, spec.interval, spec.zone) : from;
      snapshot = { key: spec.key, rows, publishedAt: this.wallClock() };
      this.observer?.polled(spec, 'ok');
    } catch (error) {
      if (!(error instanceof GatewayError)) this.options.onError?.(error, 'poll');
      snapshot = { key: spec.key, error: liveError(error), publishedAt: this.wallClock() };
      this.observer?.polled(spec, 'error');
    }
    if (series.stopped) return;
    this.accept(snapshot);
    try {
      await this.options.coordination.publish(snapshot);
    } catch (error) {
      this.options.onError?.(error, 'coordination');
    }
  }

  private async dropSeries(series: Series): Promise<void> {
    if (series.stopped) return;
    series.stopped = true;
    clearTimeout(series.timer);
    if (this.series.get(series.spec.key) === series) this.series.delete(series.spec.key);
    if (series.polling) {
      series.polling = false;
      try {
        await this.options.coordination.releasePoller(series.spec.key);
      } catch (error) {
        this.options.onError?.(error, 'coordination');
      }
    }
  }
}

/** What subscribers are told about a failed poll: a GatewayError's code and message, or a generic one. */
function liveError(error: unknown): LiveError {
  if (error instanceof GatewayError) return { code: error.code, message: error.message, details: error.details };
  return { code: 'UPSTREAM_ERROR', message: 'The live report could not be refreshed; the next poll tries again', details: {} };
}
