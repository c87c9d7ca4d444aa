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
 * Per subscription, before it runs, the same rules as an HTTP operation: the caller's rate limit,
 * the safelist (PERSISTED_QUERIES=safelist; the text travels, hashes are an HTTP feature), MAX_DOCUMENT_BYTES, the token/depth/alias/directive/field-merging limits, validation, the
 * operation cost (OPERATION_MAX_COST) and MAX_SUBSCRIPTIONS_PER_CALLER (open at once, per replica);
 * each instance is checked against the token's claim when the subscription starts (FORBIDDEN).
 *
 * A consumer that leaves SUBSCRIPTION_QUEUE_MAX updates unread (its socket stopped reading) is
 * disconnected with 1013 "slow consumer" rather than buffered without limit. Shutdown ends every
 * subscription and closes every socket with 1001 (graphql-ws clients reconnect, elsewhere).
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import {
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type FieldNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { CloseCode } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { GatewayContext } from '../../graphql/context';
import { liveFieldCost } from '../../graphql/liveFieldCost';
import { GatewayError } from '../../reports/errors';
import type { LiveDropReason, LiveReportHub } from '../../reports/LiveReportHub';
import { LiveReports } from '../../reports/LiveReports';
import type { Authenticator } from '../auth/Authenticator';
import type { Principal } from '../auth/principal';
import { documentLimitErrors, documentLimitRules, MAX_VALIDATION_ERRORS, type DocumentLimits } from '../limits/documentLimits';
import type { CallerRateLimiter } from '../limits/rateLimit';
import { HOW_TO_ADD, NOT_IN_SAFELIST } from '../persistedQueries/safelist';
import type { Logger } from '../logger';
import type { LiveDisconnectReason, LiveMetrics } from '../observability/liveMetrics';

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
  shutdown: 1001, // Going Away: clients retry, on another replica
} as const;

type FormatError = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

export interface SubscriptionServerOptions {
  httpServer: http.Server;
  path: string;
  schema: GraphQLSchema;
  authenticator: Authenticator;
  /** Caller key when authentication is off: the client address. */
  authOff: boolean;
  rateLimiter?: CallerRateLimiter;
  hub: LiveReportHub;
  metrics: LiveMetrics;
  /** A subscription's operation context, built as HTTP operations build theirs. */
  createContext(principal: Principal, callerKey: string, requestId: string): GatewayContext;
  documentLimits: DocumentLimits;
  maxDocumentBytes: number;
  maxCost: number;
  maxSubscriptionsPerCaller: number;
  /** Updates a subscriber may leave unread (the hub's bound), for the close reason. */
  queueMax: number;
  /** Ping interval (0: none); a socket that does not pong within it is terminated. */
  keepAliveMs: number;
  formatError: FormatError;
  /** PERSISTED_QUERIES=safelist: only listed texts run, subscriptions included. */
  safelist?: { allows(text: string): boolean };
  /** Browser origins allowed besides the gateway's own (CORS_ORIGINS); none: same origin only. */
  allowedOrigin?: (origin: string) => boolean;
  logger: Logger;
}

interface Connection {
  principal: Principal;
  callerKey: string;
  /** Subscriptions counted against the caller's limit. */
  counted: Set<string>;
  expiry?: NodeJS.Timeout;
}

/** setTimeout's longest delay (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How long a closing socket may take to answer the close frame before it is cut. */
const CLOSE_GRACE_MS = 5_000;

export interface SubscriptionServer {
  /** Apollo Server plugin: its drain ends subscriptions and closes sockets before the HTTP drain. */
  plugin(): ApolloServerPlugin<GatewayContext>;
  /** Subscriptions open per caller on this replica (tests). */
  openSubscriptions(callerKey: string): number;
  close(): Promise<void>;
}

export function serveSubscriptions(options: SubscriptionServerOptions): SubscriptionServer {
  const { schema, metrics, logger } = options;
  const rules = documentLimitRules(options.documentLimits);
  const connections = new WeakMap<WebSocket, Connection>();
  const perCaller = new Map<string, number>();
  const release = (connection: Connection, id: string) => {
    if (!connection.counted.delete(id)) return;
    const left = (perCaller.get(connection.callerKey) ?? 1) - 1;
    if (left > 0) perCaller.set(connection.callerKey, left);
    else perCaller.delete(connection.callerKey);
  };

  const wsServer = new WebSocketServer({
    server: options.httpServer,
    path: options.path,
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

  const refuse = (code: string, message: string, extensions: Record<string, unknown> = {}): GraphQLError[] => {
    metrics.refused(code);
    return [new GraphQLError(message, { extensions: { ...extensions, code } })];
  };

  const format = (errors: readonly GraphQLError[]) => errors.map((error) => options.formatError(error.toJSON(), error));

  const cleanup = useServer<Record<string, unknown> | undefined, { socket: WebSocket; request: http.IncomingMessage }>(
    {
      schema,
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
        const callerKey = options.authOff || !principal.callerKey ? `ip:${request.socket.remoteAddress ?? 'unknown'}` : principal.callerKey;
        const connection: Connection = { principal, callerKey, counted: new Set() };
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
        if (!connection) return refuse('UNAUTHENTICATED', 'The connection is not initialised');
        const { callerKey, principal } = connection;
        if (options.rateLimiter) {
          const decision = await options.rateLimiter.consume(callerKey);
          if (!decision.allowed) {
            return refuse('RATE_LIMITED', `Rate limit exceeded; retry in ${Math.ceil(decision.retryAfterMs / 1000)} s`, { retryAfterMs: decision.retryAfterMs });
          }
        }
        const query = payload.query;
        if (typeof query !== 'string') return refuse('BAD_REQUEST', 'The subscribe message has no query text (persisted queries are served over HTTP only)');
        if (options.safelist && !options.safelist.allows(query)) return refuse(NOT_IN_SAFELIST, `This subscription is not in the safelist. ${HOW_TO_ADD}`);
        const bytes = Buffer.byteLength(query);
        if (bytes > options.maxDocumentBytes) {
          return refuse('OPERATION_TOO_EXPENSIVE', `The GraphQL document is ${bytes} bytes; at most ${options.maxDocumentBytes} are allowed.`, { maxDocumentBytes: options.maxDocumentBytes });
        }
        const limitErrors = documentLimitErrors(schema, query, options.documentLimits, rules);
        if (limitErrors.length > 0) {
          metrics.refused('OPERATION_TOO_EXPENSIVE');
          return limitErrors.map(withoutHttp);
        }
        let document: DocumentNode;
        try {
          document = parse(query, { maxTokens: options.documentLimits.maxTokens });
        } catch (error) {
          if (!(error instanceof GraphQLError)) throw error;
          metrics.refused('GRAPHQL_PARSE_FAILED');
          return [withCode(error, 'GRAPHQL_PARSE_FAILED')];
        }
        const invalid = validate(schema, document, specifiedRules, { maxErrors: MAX_VALIDATION_ERRORS });
        if (invalid.length > 0) {
          metrics.refused('GRAPHQL_VALIDATION_FAILED');
          return invalid.map((error) => withCode(error, 'GRAPHQL_VALIDATION_FAILED'));
        }
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return refuse('BAD_REQUEST', 'The document has several operations and operationName names none of them');
        if (operation.operation !== 'subscription') {
          return refuse('BAD_REQUEST', `Only subscriptions are served over WebSocket; send ${operation.operation}s to POST /graphql`);
        }
        const variables = getVariableValues(schema, operation.variableDefinitions ?? [], payload.variables ?? {}, { maxErrors: MAX_VALIDATION_ERRORS });
        if ('errors' in variables && variables.errors) {
          metrics.refused('BAD_USER_INPUT');
          return variables.errors.map((error) => withCode(error, 'BAD_USER_INPUT'));
        }
        const contextValue = options.createContext(principal, callerKey, randomUUID());
        contextValue.live = new LiveReports(options.hub, contextValue.reports, (reason: LiveDropReason) =>
          close(socket, SUBSCRIPTION_CLOSE.slowConsumer, `slow consumer: over ${options.queueMax} updates unread (SUBSCRIPTION_QUEUE_MAX); read faster`, reason),
        );
        const cost = subscriptionCost(schema, operation, document, variables.coerced, contextValue);
        if (cost > options.maxCost) {
          return refuse(
            'OPERATION_TOO_EXPENSIVE',
            `The subscription would read ${cost} upstream report buckets; at most ${options.maxCost} are allowed per operation. Use fewer instances or a finer interval.`,
            { cost, maxCost: options.maxCost },
          );
        }
        const open = perCaller.get(callerKey) ?? 0;
        if (open >= options.maxSubscriptionsPerCaller) {
          return refuse(
            'RATE_LIMITED',
            `At most ${options.maxSubscriptionsPerCaller} subscriptions may be open at once per caller on one gateway replica (MAX_SUBSCRIPTIONS_PER_CALLER); complete one before starting another`,
            { maxSubscriptionsPerCaller: options.maxSubscriptionsPerCaller },
          );
        }
        perCaller.set(callerKey, open + 1);
        connection.counted.add(id);
        return { schema, document, contextValue, variableValues: payload.variables ?? undefined, operationName: payload.operationName ?? undefined };
      },

      onNext(_ctx, _id, _payload, _args, result) {
        if (!result.errors) return undefined;
        return { ...result, errors: format(result.errors) };
      },

      onError(_ctx, _id, _payload, errors) {
        return format(errors);
      },

      onComplete(ctx, id) {
        const connection = connections.get(ctx.extra.socket);
        if (connection) release(connection, id);
      },

      onClose(ctx) {
        const connection = connections.get(ctx.extra.socket);
        if (!connection) return;
        clearTimeout(connection.expiry);
        for (const id of [...connection.counted]) release(connection, id);
      },
    },
    wsServer,
    options.keepAliveMs,
  );

  let closing: Promise<void> | undefined;
  const closeAll = () =>
    (closing ??= (async () => {
      // Streams end first (their subscribers are done), then the sockets close with 1001.
      await options.hub.stop();
      for (let i = 0; i < wsServer.clients.size; i++) metrics.disconnected('shutdown');
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
    openSubscriptions: (callerKey) => perCaller.get(callerKey) ?? 0,
    close: closeAll,
  };
}

/** The single root field of a subscription (through fragments), priced with its coerced arguments. */
function subscriptionCost(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  document: DocumentNode,
  variables: Record<string, unknown>,
  context: GatewayContext,
): number {
  const field = firstField(operation.selectionSet, document);
  const definition = field && schema.getSubscriptionType()?.getFields()[field.name.value];
  if (!field || !definition) return 0;
  try {
    return liveFieldCost(context.reports, definition.name, getArgumentValues(definition, field, variables)) ?? 0;
  } catch {
    return 0; // invalid arguments fail when the subscription starts, with their own error
  }
}

function firstField(set: SelectionSetNode, document: DocumentNode): FieldNode | undefined {
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if (!selection.name.value.startsWith('__')) return selection;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const found = firstField(selection.selectionSet, document);
      if (found) return found;
    } else {
      const fragment = document.definitions.find((d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value);
      if (fragment?.kind === Kind.FRAGMENT_DEFINITION) {
        const found = firstField(fragment.selectionSet, document);
        if (found) return found;
      }
    }
  }
  return undefined;
}

/**
 * The bearer token of a connection: `connection_init`'s `authorization` (browsers cannot set
 * headers on a WebSocket), or its bare `token` (what some routers derive from a propagated
 * header), else the upgrade request's `Authorization` header (what routers that propagate
 * headers to subgraph WebSockets send).
 */
export function bearerOf(params: Record<string, unknown> | undefined, request: http.IncomingMessage): string | undefined {
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const bare = text(params?.token);
  return text(params?.authorization) ?? text(params?.Authorization) ?? (bare && `Bearer ${bare}`) ?? text(request.headers.authorization);
}

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, originalError: error, extensions: { ...error.extensions, code } });
}

/** Limit errors carry the HTTP status of their HTTP answer: not part of a WebSocket message. */
function withoutHttp(error: GraphQLError): GraphQLError {
  const { http: _http, ...extensions } = error.extensions;
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions });
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
