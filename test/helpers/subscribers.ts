/**
 * Live report subscribers over the real `graphql-ws` client (with `ws` in node), for tests and
 * benchmarks (docs/subscriptions.md, "Seams for the router test and the bench").
 *
 * `subscribe(url, query, variables, options)` opens one client (one WebSocket) with one
 * subscription and records everything that comes back: results with their wall-clock arrival
 * time, the error or completion, and the socket's close code and reason.
 * `startSubscribers(urls, n, ...)` opens `n` of them, spread round robin over `urls` (replicas),
 * and resolves once each has received its first event (its current bucket).
 */
import type { FormattedExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface ReceivedEvent<T = any> {
  result: FormattedExecutionResult<T, unknown>;
  /** Date.now() when it arrived. */
  at: number;
}

export interface TestSubscriber<T = any> {
  client: Client;
  events: ReceivedEvent<T>[];
  /** The error the subscription ended with (an `error` message, or the socket closing). */
  error?: unknown;
  completed: boolean;
  /** Close events of the client's sockets, in order. */
  closes: { code: number; reason: string }[];
  /** The WebSocket currently open (tests pause its underlying socket to play a stalled reader). */
  socket(): WebSocket | undefined;
  /** Resolves with the first event from index `from` on that satisfies `predicate`. */
  waitFor(predicate: (event: ReceivedEvent<T>) => boolean, options?: { from?: number; timeoutMs?: number }): Promise<ReceivedEvent<T>>;
  /** Resolves when the subscription has ended (error or complete). */
  ended(timeoutMs?: number): Promise<void>;
  /** Resolves once a socket of this client has closed; the close event. */
  closed(timeoutMs?: number): Promise<{ code: number; reason: string }>;
  dispose(): Promise<void>;
}

export interface SubscribeOptions {
  /** `connection_init` payload, e.g. `{ authorization: 'Bearer ...' }` (or a function, called on every connect). */
  connectionParams?: Record<string, unknown> | (() => Record<string, unknown> | Promise<Record<string, unknown>>);
  /** Reconnect attempts after a close (default 0: a close ends the subscription). */
  retryAttempts?: number;
  /** Fixed wait between reconnect attempts (default 50 ms). */
  retryWaitMs?: number;
  /** `ws` client options (e.g. `headers: { origin }`). */
  wsOptions?: WebSocket.ClientOptions;
}

/** `http://host/graphql` -> `ws://host/graphql`. */
export function wsUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws');
}

const DEFAULT_TIMEOUT_MS = 20_000;

export function subscribe<T = any>(
  url: string | (() => string),
  query: string,
  variables: Record<string, unknown> = {},
  options: SubscribeOptions = {},
): TestSubscriber<T> {
  const events: ReceivedEvent<T>[] = [];
  const closes: { code: number; reason: string }[] = [];
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  let current: WebSocket | undefined;
  const wsOptions = options.wsOptions;
  class RecordingWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, wsOptions);
      current = this;
    }
  }
  const resolveUrl = () => wsUrl(typeof url === 'function' ? url() : url);
  const client = createClient({
    url: resolveUrl,
    webSocketImpl: RecordingWebSocket,
    connectionParams: options.connectionParams,
    retryAttempts: options.retryAttempts ?? 0,
    retryWait: async () => new Promise((resolve) => setTimeout(resolve, options.retryWaitMs ?? 50)),
    shouldRetry: () => true,
    lazy: true,
    on: {
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        closes.push({ code, reason: String(reason) });
        notify();
      },
    },
  });
  const subscriber: TestSubscriber<T> = {
    client,
    events,
    completed: false,
    closes,
    socket: () => current,
    waitFor(predicate, { from = 0, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
      return until(() => events.slice(from).find(predicate), timeoutMs, () => `no matching event among ${events.length} received: ${JSON.stringify(events.map((e) => e.result)).slice(0, 2000)}`);
    },
    ended(timeoutMs = DEFAULT_TIMEOUT_MS) {
      return until(() => (subscriber.completed || subscriber.error !== undefined ? true : undefined), timeoutMs, () => 'the subscription did not end').then(() => undefined);
    },
    closed(timeoutMs = DEFAULT_TIMEOUT_MS) {
      return until(() => closes[0], timeoutMs, () => 'no socket closed');
    },
    async dispose() {
      await client.dispose();
    },
  };
  function until<R>(check: () => R | undefined, timeoutMs: number, describe: () => string): Promise<R> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        const found = check();
        if (found === undefined) return false;
        listeners.delete(attempt as () => void);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        listeners.delete(attempt as () => void);
        reject(new Error(describe()));
      }, timeoutMs);
      if (!attempt()) listeners.add(attempt as () => void);
    });
  }
  client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        events.push({ result, at: Date.now() });
        notify();
      },
      error: (error) => {
        subscriber.error = error;
        notify();
      },
      complete: () => {
        subscriber.completed = true;
        notify();
      },
    },
  );
  return subscriber;
}

/**
 * `n` subscribers of one subscription, each with its own client and socket, spread round robin
 * over `urls` (gateway replicas); resolves once every one has its first event. The bench's seam:
 * `startSubscribers([a.url, b.url], 1000, LIVE_QUERY, { id: 'ccc-test' })`.
 */
export async function startSubscribers<T = any>(
  urls: readonly string[],
  n: number,
  query: string,
  variables: Record<string, unknown> = {},
  options: SubscribeOptions & { firstEventTimeoutMs?: number } = {},
): Promise<TestSubscriber<T>[]> {
  const subscribers = Array.from({ length: n }, (_, i) => subscribe<T>(urls[i % urls.length], query, variables, options));
  await Promise.all(subscribers.map((s) => s.waitFor(() => true, { timeoutMs: options.firstEventTimeoutMs ?? 60_000 })));
  return subscribers;
}
