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
import type { RequestHandler } from 'express';
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

    onOperation(ctx, _req, _args, result) {
      const expiresAt = subscriptions.get(ctx)?.principal.expiresAt;
      if (expiresAt === undefined || !isAsyncIterable(result)) return undefined;
      return untilExpiry(result, expiresAt, () => metrics.disconnected('token-expired'));
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
    handler(req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'server-sent events subscription failed');
      if (!res.headersSent) next(error);
      else res.destroy();
    });
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
