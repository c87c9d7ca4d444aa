/**
 * GraphQL over WebSocket (the `graphql-transport-ws` protocol of `graphql-ws`, what routers use to
 * reach subgraph subscriptions) on the HTTP server's `/graphql`, for live report subscriptions
 * (docs/subscriptions.md). Only subscriptions are served here; queries go over HTTP, where the
 * response cache, HTTP caching and persisted queries live.
 *
 * Per connection: the bearer token travels in `connection_init` (`{ authorization: "Bearer ..." }`)
 * and is checked by the same Authenticator as HTTP; without a valid one the socket closes with
 * 4401. When the token expires (its `exp` plus AUTH_CLOCK_TOLERANCE_S) the socket closes with 4403
 * "bearer token expired": graphql-ws clients retry 4403, so a client whose `connectionParams`
 * fetch a fresh token reconnects and resubscribes by itself.
 *
 * Per subscription, before it runs, the same rules as an HTTP operation and
 * MAX_SUBSCRIPTIONS_PER_CALLER (./subscriptionAdmission.ts); each instance is checked against the
 * token's claim when the subscription starts (FORBIDDEN).
 *
 * A consumer that leaves SUBSCRIPTION_QUEUE_MAX updates unread (its socket stopped reading) is
 * disconnected with 1013 "slow consumer" rather than buffered without limit. Shutdown ends every
 * subscription and closes every socket with 1001 (graphql-ws clients reconnect, elsewhere).
 */
import type http from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { GatewayContext } from '../../graphql/context';
import { GatewayError } from '../../reports/errors';
import type { LiveDropReason, LiveReportHub } from '../../reports/LiveReportHub';
import type { Authenticator } from '../auth/Authenticator';
import type { Principal } from '../auth/principal';
import type { Logger } from '../logger';
import type { LiveDisconnectReason, LiveMetrics } from '../observability/liveMetrics';
import type { SubscriptionAdmission } from './subscriptionAdmission';

// graphql-ws publishes its `ws` adapter only through package exports (`graphql-ws/use/ws`), which
// this project's moduleResolution ("node") does not read: the code comes from the export, its
// types from the file behind it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { useServer } = require('graphql-ws/use/ws') as typeof import('graphql-ws/dist/use/ws');

/** Close codes and reasons the gateway uses (the reason is at most 123 bytes). */
export const SUBSCRIPTION_CLOSE = {
  unauthenticated: CloseCode.Unauthorized, // 4401: graphql-ws clients do not retry
  tokenExpired: CloseCode.Forbidden, // 4403: graphql-ws clients retry (with fresh connectionParams)
  slowConsumer: 1013, // Try Again Later: clients retry
  tooManyConnections: CloseCode.TooManyInitialisationRequests, // 4429: graphql-ws clients do not retry
  shutdown: 1001, // Going Away: clients retry, on another replica
} as const;

export interface SubscriptionServerOptions {
  httpServer: http.Server;
  path: string;
  schema: GraphQLSchema;
  authenticator: Authenticator;
  /** Caller key when authentication is off: the client address. */
  authOff: boolean;
  /** The checks and the count every subscription passes, whatever its transport. */
  admission: SubscriptionAdmission;
  hub: LiveReportHub;
  metrics: LiveMetrics;
  /** Updates a subscriber may leave unread (the hub's bound), for the close reason. */
  queueMax: number;
  /** Ping interval (0: none); a socket that does not pong within it is terminated. */
  keepAliveMs: number;
  /** MAX_CONNECTIONS_PER_CALLER: connections one caller may hold open at once on this replica. */
  maxConnectionsPerCaller: number;
  /** Largest message accepted (the HTTP body limit); a larger frame closes the socket with 1009 before it is buffered. */
  maxMessageBytes: number;
  /** Browser origins allowed besides the gateway's own (CORS_ORIGINS); none: same origin only. */
  allowedOrigin?: (origin: string) => boolean;
  logger: Logger;
}

interface Connection {
  principal: Principal;
  callerKey: string;
  /** Subscription id -> its release from the caller's count (SubscriptionAdmission). */
  releases: Map<string, () => void>;
  expiry?: NodeJS.Timeout;
  /** The socket has closed (subscriptions admitted after that are released at once, never run). */
  closed?: boolean;
}

/** setTimeout's longest delay (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How long a closing socket may take to answer the close frame before it is cut. */
const CLOSE_GRACE_MS = 5_000;
/**
 * How long a socket may stay open without `connection_init` (closed with 4408): graphql-ws'
 * default, stated here because it is what bounds sockets that never authenticate.
 */
const CONNECTION_INIT_WAIT_MS = 3_000;

export interface SubscriptionServer {
  /** Apollo Server plugin: its drain ends subscriptions and closes their sockets (the HTTP drain waits for them). */
  plugin(): ApolloServerPlugin<GatewayContext>;
  /** Subscriptions open per caller on this replica (tests). */
  openSubscriptions(callerKey: string): number;
  close(): Promise<void>;
}

export function serveSubscriptions(options: SubscriptionServerOptions): SubscriptionServer {
  const { schema, metrics, logger, admission } = options;
  const connections = new WeakMap<WebSocket, Connection>();
  /** Authenticated connections open per caller (MAX_CONNECTIONS_PER_CALLER). */
  const connectionsPerCaller = new Map<string, number>();

  const wsServer = new WebSocketServer({
    server: options.httpServer,
    path: options.path,
    // ws' default is 100 MiB, buffered and then parsed as JSON: bounded like an HTTP body instead.
    maxPayload: options.maxMessageBytes,
    // Cross-site WebSocket hijacking: a browser page on another origin may connect only if
    // CORS_ORIGINS lets it call the endpoint over HTTP. Non-browser clients send no Origin.
    verifyClient: ({ origin, req }: { origin?: string; req: http.IncomingMessage }) =>
      !origin || sameOrigin(origin, req) || options.allowedOrigin?.(origin) === true,
  });

  const close = (socket: WebSocket, code: number, reason: string, why: LiveDisconnectReason) => {
    if (socket.readyState !== socket.OPEN) return;
    metrics.disconnected(why);
    socket.close(code, reason);
    // A peer that stopped reading never answers the close frame: cut it after a grace period.
    setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
  };

  const cleanup = useServer<Record<string, unknown> | undefined, { socket: WebSocket; request: http.IncomingMessage }>(
    {
      schema,
      connectionInitWaitTimeout: CONNECTION_INIT_WAIT_MS,
      // Internal errors close with a plain "Internal server error", never their message, whatever NODE_ENV.
      isProd: true,
      async onConnect(ctx) {
        const { socket, request } = ctx.extra;
        let principal: Principal;
        try {
          principal = await options.authenticator.authenticate(bearerOf(ctx.connectionParams, request));
        } catch (error) {
          if (error instanceof GatewayError && error.code === 'UNAUTHENTICATED') {
            close(socket, SUBSCRIPTION_CLOSE.unauthenticated, closeReason(`Unauthorized: ${error.message} (send { authorization: "Bearer <token>" } in connection_init)`), 'unauthenticated');
          } else {
            logger.error({ err: error }, 'authentication failed unexpectedly');
            socket.close(CloseCode.InternalServerError, 'Internal server error');
          }
          return false;
        }
        // Closed while its token was checked (onClose has run already): nothing to count or arm.
        if (socket.readyState !== socket.OPEN) return false;
        const callerKey = options.authOff || !principal.callerKey ? `ip:${request.socket.remoteAddress ?? 'unknown'}` : principal.callerKey;
        const held = connectionsPerCaller.get(callerKey) ?? 0;
        if (held >= options.maxConnectionsPerCaller) {
          close(
            socket,
            SUBSCRIPTION_CLOSE.tooManyConnections,
            `Too many connections: at most ${options.maxConnectionsPerCaller} per caller (MAX_CONNECTIONS_PER_CALLER); multiplex subscriptions`,
            'too-many-connections',
          );
          return false;
        }
        connectionsPerCaller.set(callerKey, held + 1);
        const connection: Connection = { principal, callerKey, releases: new Map() };
        connections.set(socket, connection);
        if (principal.expiresAt !== undefined) {
          const expiresAt = principal.expiresAt;
          const arm = () => {
            const left = expiresAt - Date.now();
            if (left > 0) {
              connection.expiry = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
              connection.expiry.unref();
            } else {
              close(socket, SUBSCRIPTION_CLOSE.tokenExpired, 'Forbidden: bearer token expired; reconnect with a fresh token in connection_init', 'token-expired');
            }
          };
          arm();
        }
        return true;
      },

      async onSubscribe(ctx, id, payload) {
        const { socket } = ctx.extra;
        const connection = connections.get(socket);
        if (!connection) return admission.refuse('UNAUTHENTICATED', 'The connection is not initialised');
        const admitted = await admission.admit(connection, payload, 'WebSocket', (reason: LiveDropReason) =>
          close(socket, SUBSCRIPTION_CLOSE.slowConsumer, `slow consumer: over ${options.queueMax} updates unread (SUBSCRIPTION_QUEUE_MAX); read faster`, reason),
        );
        if ('errors' in admitted) return admitted.errors;
        if (connection.closed) {
          // The socket went away while the subscription was admitted: no read for nobody.
          admitted.release();
          return [new GraphQLError('The connection has closed')];
        }
        connection.releases.set(id, admitted.release);
        return admitted.args;
      },

      onNext(_ctx, _id, _payload, _args, result) {
        if (!result.errors) return undefined;
        return { ...result, errors: admission.format(result.errors) };
      },

      onError(_ctx, _id, _payload, errors) {
        return admission.format(errors);
      },

      onComplete(ctx, id) {
        const connection = connections.get(ctx.extra.socket);
        connection?.releases.get(id)?.();
        connection?.releases.delete(id);
      },

      onClose(ctx) {
        const connection = connections.get(ctx.extra.socket);
        if (!connection) return;
        connection.closed = true;
        const left = (connectionsPerCaller.get(connection.callerKey) ?? 1) - 1;
        if (left > 0) connectionsPerCaller.set(connection.callerKey, left);
        else connectionsPerCaller.delete(connection.callerKey);
        clearTimeout(connection.expiry);
        for (const release of connection.releases.values()) release();
        connection.releases.clear();
      },
    },
    wsServer,
    options.keepAliveMs,
  );

  // graphql-ws (registered just above) prints every socket error with console.error and closes
  // with 1011. Socket errors are a client's protocol errors (an oversized frame, bad framing,
  // invalid UTF-8), which ws has already answered by closing with the right code (1009, 1002,
  // 1007): a debug line of our logger, not a stack on stderr per hostile connection.
  wsServer.on('connection', (socket) => {
    socket.removeAllListeners('error');
    socket.on('error', (err: Error & { code?: string }) => logger.debug({ code: err.code, message: err.message }, 'WebSocket client protocol error'));
  });

  let closing: Promise<void> | undefined;
  const closeAll = () =>
    (closing ??= (async () => {
      // All in this tick: Apollo's HTTP drain, which runs alongside, ends every socket of the HTTP
      // server a moment later, upgraded ones included, and a socket ended before its close frame
      // was written closes as 1006 instead of 1001. So: every subscription ends (the hub's stop
      // ends its subscribers at once and releases the leases after), every socket gets its 1001.
      const hubStopped = options.hub.stop();
      for (const socket of wsServer.clients) {
        metrics.disconnected('shutdown');
        socket.close(SUBSCRIPTION_CLOSE.shutdown, 'Going away');
      }
      await hubStopped;
      await cleanup.dispose();
    })());

  return {
    plugin: () => ({
      // A subscription sent over HTTP: a clear 400 rather than a resolver without its stream.
      async requestDidStart() {
        return {
          async didResolveOperation({ operation }) {
            if (operation?.operation === 'subscription') {
              throw new GraphQLError(`Subscriptions are served over WebSocket (graphql-ws, subprotocol graphql-transport-ws) at ${options.path}, not over HTTP`, {
                extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
              });
            }
          },
        };
      },
      async serverWillStart() {
        return {
          async drainServer() {
            await closeAll();
          },
        };
      },
    }),
    openSubscriptions: (callerKey) => admission.openSubscriptions(callerKey),
    close: closeAll,
  };
}

/**
 * The bearer token of a connection: `connection_init`'s `authorization` (browsers cannot set
 * headers on a WebSocket), or its bare `token` (what some routers derive from a propagated
 * header), else the upgrade request's `Authorization` header (what routers that propagate
 * headers to subgraph WebSockets send).
 */
export function bearerOf(params: Record<string, unknown> | undefined, request: http.IncomingMessage): string | undefined {
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  // A bare token may already carry its scheme: Apollo Router sends `{ token: "Bearer ..." }`.
  const withScheme = (token: string | undefined) => token && (/^bearer\s/i.test(token) ? token : `Bearer ${token}`);
  // Apollo Router nests its connection parameters: `{ connectionParams: { token } }`.
  const nested = params?.connectionParams;
  const inner = nested && typeof nested === 'object' ? (nested as Record<string, unknown>) : undefined;
  return (
    text(params?.authorization) ??
    text(params?.Authorization) ??
    withScheme(text(params?.token)) ??
    text(inner?.authorization) ??
    text(inner?.Authorization) ??
    withScheme(text(inner?.token)) ??
    text(request.headers.authorization)
  );
}

function sameOrigin(origin: string, request: http.IncomingMessage): boolean {
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** A close reason is at most 123 bytes (RFC 6455). */
function closeReason(reason: string): string {
  return Buffer.byteLength(reason) <= 123 ? reason : `${Buffer.from(reason).subarray(0, 120).toString().replace(/\uFFFD+$/, '')}...`;
}
