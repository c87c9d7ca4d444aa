/**
 * Live report subscriptions over Server-Sent Events (`graphql-sse`, "distinct connections" mode:
 * one `text/event-stream` response per subscription) at `/graphql/stream`, for browsers behind
 * proxies that block WebSockets (docs/subscriptions.md).
 *
 * An ordinary HTTP request, so the bearer token travels in its `Authorization` header (401
 * without a valid one). Each subscription passes the same admission as over WebSocket
 * (./subscriptionAdmission.ts; refusals are a 400 with the errors). When the token expires, the
 * stream sends a last event with an UNAUTHENTICATED error and completes; a consumer that stops
 * reading has its response cut once SUBSCRIPTION_QUEUE_MAX updates wait for it; shutdown
 * completes every stream.
 */
import type { RequestHandler, Response } from 'express';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { GatewayError } from '../../reports/errors';
import type { Authenticator } from '../auth/Authenticator';
import type { Principal } from '../auth/principal';
import type { Logger } from '../logger';
import type { LiveMetrics } from '../observability/liveMetrics';
import type { SubscriptionAdmission } from './subscriptionAdmission';

// graphql-sse's Express adapter lives under a subpath its package exports; typed from the file.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createHandler } = require('graphql-sse/lib/use/express') as typeof import('graphql-sse/lib/use/express');

/** graphql-sse's single-connection mode names its reserved stream in this header (or a `token` query parameter). */
const STREAM_TOKEN_HEADER = 'x-graphql-event-stream-token';
const SINGLE_CONNECTION_REFUSED =
  "graphql-sse's single-connection mode is not served here; use distinct connections (createClient({ singleConnection: false }), the default): one POST or GET with Accept: text/event-stream per subscription";

/** setTimeout's longest delay (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SseSubscriptionOptions {
  admission: SubscriptionAdmission;
  authenticator: Authenticator;
  /** Caller key when authentication is off: the client address. */
  authOff: boolean;
  metrics: LiveMetrics;
  logger: Logger;
}

type Refusal = [string, { status: number; statusText: string; headers: Record<string, string> }];

function refusal(status: number, statusText: string, errors: unknown[], headers: Record<string, string> = {}): Refusal {
  return [JSON.stringify({ errors }), { status, statusText, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers } }];
}

export function sseSubscriptions(options: SseSubscriptionOptions): RequestHandler {
  const { admission, metrics, logger } = options;
  /** Per response: how many of its events were written out (back pressure, see writeFlow). */
  const flows = new WeakMap<object, WriteFlow>();
  /** Per subscription (its context): the count's release and who it is for. */
  const subscriptions = new WeakMap<object, { release(): void; principal: Principal }>();

  const handler = createHandler<Record<PropertyKey, unknown>>({
    // Only the distinct-connections mode: graphql-sse's single-connection mode keeps a stream per
    // PUT reservation, made before onSubscribe (so without authentication) and never expired.
    // A null token disables it; its requests get a clear 405 instead of a 404.
    authenticate(req) {
      const raw = req.raw;
      if (raw.method === 'PUT' || raw.method === 'DELETE' || raw.headers[STREAM_TOKEN_HEADER] !== undefined || new URL(raw.url ?? '', 'http://localhost/').searchParams.has('token')) {
        return refusal(405, 'Method Not Allowed', [{ message: SINGLE_CONNECTION_REFUSED, extensions: { code: 'BAD_REQUEST' } }], { allow: 'GET, POST' });
      }
      return null;
    },

    async onSubscribe(req, params) {
      const raw = req.raw;
      const res = req.context.res;
      let principal: Principal;
      try {
        principal = await options.authenticator.authenticate(raw.headers.authorization);
      } catch (error) {
        if (error instanceof GatewayError && error.code === 'UNAUTHENTICATED') {
          metrics.refused('UNAUTHENTICATED');
          const challenge = raw.headers.authorization === undefined ? 'Bearer' : 'Bearer error="invalid_token"';
          return refusal(401, 'Unauthorized', [{ message: error.message, extensions: { code: 'UNAUTHENTICATED' } }], { 'www-authenticate': challenge });
        }
        logger.error({ err: error }, 'authentication failed unexpectedly');
        return refusal(500, 'Internal Server Error', [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
      }
      const callerKey = options.authOff || !principal.callerKey ? `ip:${raw.ip ?? raw.socket.remoteAddress ?? 'unknown'}` : principal.callerKey;
      const admitted = await admission.admit({ principal, callerKey }, params, 'Server-Sent Events', (reason) => {
        // The client stopped reading: no reason can reach it any more; the response is cut.
        metrics.disconnected(reason);
        res.destroy();
      });
      if ('errors' in admitted) return refusal(400, 'Bad Request', admission.format(admitted.errors));
      subscriptions.set(admitted.args.contextValue as object, { release: admitted.release, principal });
      return admitted.args as never;
    },

    onOperation(ctx, req, _args, result) {
      if (!isAsyncIterable(result)) return undefined;
      const expiresAt = subscriptions.get(ctx)?.principal.expiresAt;
      const stream = expiresAt === undefined ? result : untilExpiry(result, expiresAt, () => metrics.disconnected('token-expired'));
      const flow = flows.get(req.context.res);
      return flow ? flow.paced(stream) : stream;
    },

    onNext(_ctx, _req, result) {
      if (!result.errors) return undefined;
      return { ...result, errors: admission.format(result.errors as GraphQLError[]) as never };
    },

    onComplete(ctx) {
      subscriptions.get(ctx)?.release();
      subscriptions.delete(ctx);
    },
  });

  return (req, res, next) => {
    flows.set(res, writeFlow(res));
    handler(req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'server-sent events subscription failed');
      if (!res.headersSent) next(error);
      else res.destroy();
    });
  };
}

interface WriteFlow {
  /** The stream, taken one event at a time: the next only once the previous one was written out. */
  paced(source: AsyncIterable<ExecutionResult>): AsyncIterableIterator<ExecutionResult>;
}

/**
 * Back pressure for one event stream. graphql-sse pulls every event from the subscription as soon
 * as it exists and keeps those its Express adapter has not written yet in an array of its own,
 * without bound: a client that stops reading would make the gateway hold every later update. So
 * the subscription is read one event at a time, the next only when the previous one has been
 * written out to the socket (the write's callback). A client that stops reading then leaves its
 * updates in the hub's bounded queue, which drops it past SUBSCRIPTION_QUEUE_MAX (the response is
 * cut), exactly as over WebSocket.
 */
function writeFlow(res: Response): WriteFlow {
  let yielded = 0;
  let written = 0;
  let closed = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const write = res.write;
  res.write = function writeCounted(this: Response, chunk: unknown, ...rest: unknown[]) {
    const callback = typeof rest[rest.length - 1] === 'function' ? (rest.pop() as (error?: Error | null) => void) : undefined;
    const event = typeof chunk === 'string' && chunk.startsWith('event: next');
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest, (error?: Error | null) => {
      if (event) written++;
      notify();
      callback?.(error);
    });
  } as Response['write'];
  res.once('close', () => {
    closed = true;
    notify();
  });
  return {
    paced(source) {
      const iterator = source[Symbol.asyncIterator]();
      const done = (): IteratorResult<ExecutionResult> => ({ value: undefined, done: true });
      return {
        async next() {
          while (written < yielded && !closed) await new Promise<void>((resolve) => (wake = resolve));
          if (closed) {
            await iterator.return?.();
            return done();
          }
          const next = await iterator.next();
          if (!next.done) yielded++;
          return next;
        },
        async return() {
          await iterator.return?.();
          return done();
        },
        async throw(error: unknown) {
          await iterator.return?.();
          throw error;
        },
        [Symbol.asyncIterator]() {
          return this;
        },
      };
    },
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function';
}

/**
 * The stream until the token expires; then one last event with the reason, and the end.
 *
 * An iterator object rather than an async generator: a generator's `return()` waits for the
 * `next()` it is running, which for a quiet series is the next update, perhaps never. graphql-sse
 * calls `return()` when the client disconnects, and that must end the subscription (and release
 * its count) at once.
 */
function untilExpiry(source: AsyncIterable<ExecutionResult>, expiresAt: number, onExpired: () => void): AsyncIterableIterator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  const expired = new Promise<'expired'>((resolve) => {
    const arm = () => {
      const left = expiresAt - Date.now();
      if (left <= 0) return resolve('expired');
      timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    };
    arm();
  });
  const finish = async () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    await iterator.return?.();
  };
  const done = (): IteratorResult<ExecutionResult> => ({ value: undefined, done: true });
  return {
    async next() {
      if (finished) return done();
      const next = await Promise.race([iterator.next(), expired]);
      if (finished) return done();
      if (next === 'expired') {
        await finish();
        onExpired();
        return { value: { errors: [new GraphQLError('Bearer token expired; subscribe again with a fresh token', { extensions: { code: 'UNAUTHENTICATED' } })] }, done: false };
      }
      if (next.done) {
        await finish();
        return done();
      }
      return next;
    },
    async return() {
      await finish();
      return done();
    },
    async throw(error: unknown) {
      await finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
