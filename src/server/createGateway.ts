/**
 * The composition root: wires configuration, upstream, cache tiers, the report pipeline, the
 * GraphQL schema and the HTTP server. Tests build gateways through here too, with overrides
 * (a clock, a report source), so what is tested is what runs.
 */
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginInlineTrace } from '@apollo/server/plugin/inlineTrace';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import http from 'node:http';
import { dirname } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { MemoryBucketStore } from '../cache/MemoryBucketStore';
import { RedisBucketStore } from '../cache/RedisBucketStore';
import { createRedisConnection } from '../cache/redisConnection';
import { EvictionPolicyMonitor } from './evictionPolicyMonitor';
import type { GatewayConfig } from '../config/config';
import type { GatewayContext } from '../graphql/context';
import { listedInstancesForCost, reportFieldCost, representationPriceClass } from '../graphql/reportFieldCost';
import { buildGatewaySchema } from '../graphql/schema';
import type { BucketStore } from '../reports/BucketStore';
import { CachedInstanceDirectory } from '../cache/CachedInstanceDirectory';
import { InstanceCatalog } from '../reports/InstanceCatalog';
import type { InstanceDirectory } from '../reports/InstanceDirectory';
import { GatewayError } from '../reports/errors';
import { InstanceReports } from '../reports/InstanceReports';
import { PipelineTrace, ReportPipeline } from '../reports/ReportPipeline';
import { CccClient, cccClientSettings, isInstancePageQuery, type DEFAULT_BREAKER } from '../upstream/CccClient';
import type { CccEmulator } from '../emulator/CccEmulator';
import { startEmbeddedEmulator } from '../emulator/embeddedEmulator';
import type { ReportSource } from '../reports/ReportSource';
import { createErrorFormatter } from './errors';
import { PlannedExecutor, plannedExecutionGateway } from './reportExecution';
import { createLogger, type Logger } from './logger';
import { debugExtensionsPlugin } from './debugExtensionsPlugin';
import {
  createGatewayMetrics,
  createReadinessCheck,
  type ConditionResult,
  healthzHandler,
  ObservedMemoryBucketStore,
  operationMetricsPlugin,
  passiveUpstreamProbe,
  readyzHandler,
  redisProbe,
  requestIdOf,
  requestLogging,
  type GatewayMetrics,
} from './observability';
import { createUpstreamAnswerReporter } from './observability/upstreamAnswerReporter';
import { createAuthenticator } from './auth/Authenticator';
import { admitCaller, callerGate, callerKeyOf, principalOf, type CallerGateOptions } from './callerGate';
import { OpenAnswerKeys, ResponseCache, responseCachePlugin, responseCacheRequestOf, serveCachedResponses } from './responseCache';
import { leanBodyErrors, leanCachedAnswers } from './leanCachedAnswers';
import { readPlanFingerprint } from '../reports/planFingerprint';
import { rejectOversizedDocuments } from './limits/documentSize';
import { operationCostPlugin } from './limits/operationCostPlugin';
import { createRateLimiter } from './limits/rateLimit';
import { createUpstreamCallBudget } from './limits/upstreamBudget';
import { MAX_VALIDATION_ERRORS, rejectCostlyDocuments } from './limits/documentLimits';
import { jsonErrorHandler, jsonNotFound, rejectDeeplyNestedInput } from './limits/requestBody';
import { rejectionBudget } from './limits/rejectionBudget';
import { createExplorerRouter } from './explorer';
import { corsForEndpoint } from './cors';
import { graphqlResponseHeaders, httpCachingPlugin, strongEtagsForGet } from './httpCaching';
import { createApqCache } from './persistedQueries/apqCache';
import { persistedQueryRequests, registerAnsweredPersistedQuery } from './persistedQueries/persistedQueryRequests';
import { parseUrlQuery, refuseRepeatedGraphqlParams } from './graphqlParams';
import { Safelist } from './persistedQueries/safelist';
import { createLiveHub } from './subscriptions/liveHub';
import { serveSubscriptions, type SubscriptionServer } from './subscriptions/webSocketServer';
import { createSubscriptionAdmission } from './subscriptions/subscriptionAdmission';
import { sseSubscriptions } from './subscriptions/sseServer';
import type { LiveReportHub } from '../reports/LiveReportHub';
import type { Principal } from './auth/principal';
import { originMatcher } from '../config/corsOrigins';
import { createArchive, type Archive } from '../archive/createArchive';
import { RedisArchiveState } from '../cache/RedisArchiveState';
import { readArchiveStatus } from '../reports/archive/archiveStatus';
import { createArchiveMetrics } from './observability/archiveMetrics';

export interface GatewayOverrides {
  now?: () => number;
  source?: ReportSource;
  /** Where instances are listed (default: the upstream client, or `source` when it lists instances too). */
  directory?: InstanceDirectory;
  shared?: BucketStore;
  /** Key prefix of the Redis store (tests isolate themselves with a unique one). */
  redisKeyPrefix?: string;
  logger?: Logger;
  /** Options for the embedded emulator (tests: a clock, failure injection). */
  emulator?: ConstructorParameters<typeof CccEmulator>[0];
  /**
   * How often live series are polled, in real time (default CACHE_OPEN_TTL_MS). Tests on a test
   * clock poll every few hundred milliseconds and keep the TTL itself on their clock.
   */
  livePollIntervalMs?: number;
  /** Circuit breaker settings (tests: a short rolling window). */
  breaker?: Partial<typeof DEFAULT_BREAKER>;
  /**
   * A configuration the gateway must not run with was found after the start (production: Redis
   * was down at start and its first verdict is an `allkeys-*` maxmemory-policy). Already logged
   * as fatal; `npm start` (src/main.ts) closes the gateway cleanly and exits 2. Without it the
   * gateway keeps serving, logs an error and `/readyz` says it.
   */
  onFatalConfiguration?: (error: Error) => void;
}

export interface Gateway {
  url: string;
  pipeline: ReportPipeline;
  memory: MemoryBucketStore;
  metrics: GatewayMetrics;
  /** The Redis tier, when REDIS_URL or REDIS_CLUSTER_NODES is set. */
  redisStore?: RedisBucketStore;
  emulator?: CccEmulator;
  /** The account's instances (ListInstances), cached for INSTANCE_DIRECTORY_TTL_MS: what GraphQL and the archive read. */
  instanceDirectory: CachedInstanceDirectory;
  /** The archive (ARCHIVE_INSTANCES set): its service (lock holder? token) and its lock/progress store. */
  archive?: Archive;
  logger: Logger;
  /** Live report subscriptions: the hub (series, subscribers, polls) and the WebSocket server. */
  live: { hub: LiveReportHub; server: SubscriptionServer };
  /** The report executor (GRAPHQL_EXECUTOR=planned): which path each operation took. */
  executor?: PlannedExecutor;
  close(): Promise<void>;
}

/** The endpoint's body limit (body-parser's, and the lean path's). */
const MAX_BODY_BYTES = 256 * 1024;

/** The loader of an InstanceReports that only plans (`plan` never reads). */
const PLANNING_ONLY = {
  load: () => Promise.reject(new Error('planning only')),
  loadMany: () => Promise.reject(new Error('planning only')),
} as unknown as ConstructorParameters<typeof InstanceReports>[0];

/** Dev access key of the embedded emulator: it exists only inside this process. */
/** Re-exported for tests that talk to a gateway's embedded emulator. */
export { EMULATOR_ACCESS_KEY } from '../emulator/embeddedEmulator';

export async function startGateway(config: GatewayConfig, overrides: GatewayOverrides = {}): Promise<Gateway> {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const now = overrides.now ?? Date.now;
  const metrics = createGatewayMetrics();
  // PERSISTED_QUERIES=safelist without its manifest must not start (nothing is open yet).
  const safelist = config.persistedQueries.mode === 'safelist' ? Safelist.load() : undefined;

  let emulator: CccEmulator | undefined;
  let source = overrides.source;
  if (!source) {
    let endpoint = config.upstream.endpoint;
    let accessKey: { id: string; secret: string } | undefined;
    if (config.upstreamMode === 'emulator') {
      const embedded = await startEmbeddedEmulator({ timeZone: config.timeZone, now, overrides: overrides.emulator });
      ({ emulator, endpoint, accessKey } = embedded);
      logger.info({ endpoint: embedded.url }, 'no Alibaba Cloud credentials configured: using the built-in CCC emulator');
      // Only CCC_EMULATOR=true gets here in production (the configuration refuses it otherwise).
      if (config.env === 'production') logger.warn({ endpoint: embedded.url }, EMULATOR_IN_PRODUCTION);
    }
    const answerReporter = createUpstreamAnswerReporter({ logger, metrics });
    const settings = cccClientSettings(config, endpoint!);
    source = new CccClient({
      ...settings,
      breaker: { ...settings.breaker, ...overrides.breaker },
      accessKey,
      onAttempt: (event) => {
        metrics.recordUpstreamAttempt(event);
        // The caller only sees a generic message for these: the operator needs the detail.
        if (event.error?.code === 'UPSTREAM_AUTH') {
          const call = isInstancePageQuery(event.query) ? { action: event.query.action } : { instanceId: event.query.instanceId };
          logger.error({ upstream: event.error.details, ...call }, 'Alibaba Cloud rejected the gateway\'s credentials');
        }
      },
      onCircuitChange: (state) => {
        metrics.recordCircuitState(state);
        logger.warn({ circuit: state }, `upstream circuit ${state}`);
      },
      onMalformedAnswer: answerReporter.malformed,
      onMalformedInstancePage: (event) =>
        logger.warn(
          { upstreamRequestId: event.upstreamRequestId, action: event.query.action, pageNumber: event.query.pageNumber, problem: event.problem, offending: event.offending },
          'malformed upstream ListInstances page rejected; the instance listing was not cached',
        ),
      onAnswerAnomalies: answerReporter.anomalies,
    });
  }

  // Real credentials are resolved once at start: a misconfigured source is the operator's to fix,
  // and is reported now, naming the sources configured, rather than as the first caller's error.
  if (config.upstreamMode === 'aliyun' && source instanceof CccClient) {
    const client = source;
    void client.checkCredentials().then((result) => {
      if (result.ok) logger.info({ credentialProvider: result.provider }, 'Alibaba Cloud credentials resolved');
      else logger.error({ ...credentialSourcesReport(result.reason), reason: result.reason }, 'Alibaba Cloud credentials could not be resolved: calls upstream will fail until this is fixed');
    });
  }

  const memory = new ObservedMemoryBucketStore(config.cache.memoryMaxBuckets, metrics);
  let redis: ReturnType<typeof createRedisConnection> | undefined;
  let redisStore: RedisBucketStore | undefined;
  let evictionPolicy: EvictionPolicyMonitor | undefined;
  if (config.redis && !overrides.shared) {
    redis = createRedisConnection({ url: config.redis.url, clusterNodes: config.redis.clusterNodes, commandTimeoutMs: config.redis.commandTimeoutMs });
    redisStore = new RedisBucketStore({ redis, logger, keyPrefix: overrides.redisKeyPrefix, timeoutMs: config.redis.commandTimeoutMs });
    metrics.observeRedisStore(redisStore);
    // Commands fail fast while disconnected (no offline queue), so give the first connection a
    // moment: otherwise the first operations after a start all miss a perfectly good cache. A
    // Redis that is down does not block the start: the gateway serves from upstream meanwhile.
    if (!(await waitUntilReady(redis, 3_000))) logger.warn({}, 'Redis not reachable at start; serving from upstream until it is');
    const onFatalConfiguration = overrides.onFatalConfiguration;
    evictionPolicy = new EvictionPolicyMonitor({
      redis,
      logger,
      production: config.env === 'production',
      timeoutMs: config.redis.commandTimeoutMs,
      onUnsafeFirstVerdict: onFatalConfiguration
        ? (error) => {
            logger.fatal({ maxmemoryPolicy: error.policies }, `refusing to run: ${error.message}`);
            onFatalConfiguration(error);
          }
        : undefined,
    });
    try {
      await evictionPolicy.start();
    } catch (error) {
      // Refused (allkeys-* in production): nothing may stay open behind the caller's back.
      redis.disconnect();
      await emulator?.stop();
      if (source instanceof CccClient) source.shutdown();
      throw error;
    }
  }
  const pipeline = new ReportPipeline({
    source,
    memory,
    shared: metrics.observeSharedStore(overrides.shared ?? redisStore),
    now,
    settleDelayMs: config.cache.settleDelayMs,
    openTtlMs: config.cache.openTtlMs,
    upstreamConcurrency: config.upstream.concurrency,
    upstreamBudget:
      config.upstream.callsPerCallerPerMinute > 0
        ? createUpstreamCallBudget({
            perMinute: config.upstream.callsPerCallerPerMinute,
            redis,
            keyPrefix: `ub:${overrides.redisKeyPrefix ?? 'ccc:'}`,
            onRejected: () => metrics.recordUpstreamBudgetRejected(),
          })
        : undefined,
    cacheEnabled: config.cache.enabled,
    leaseMs: config.cache.leaseMs,
    refreshAheadFraction: config.cache.openRefreshFraction,
    onBackgroundRefresh: (outcome) => metrics.recordBackgroundRefresh(outcome),
  });
  metrics.observeUpstreamScheduler(pipeline.scheduler);
  const zoneFor = (instanceId: string) => config.instanceTimeZones[instanceId] ?? config.timeZone;
  const instanceDirectory = new CachedInstanceDirectory(overrides.directory ?? directoryOf(source), { ttlMs: config.cache.instanceDirectoryTtlMs });
  // The archive (docs/archive.md): every replica runs it, the one holding the lock archives.
  const archive = createArchive({
    config,
    source,
    scheduler: pipeline.scheduler,
    memory,
    redis,
    redisStore,
    keyPrefix: overrides.redisKeyPrefix,
    directory: instanceDirectory,
    now,
    logger,
    events: config.archive.instances ? createArchiveMetrics(metrics.registry, now) : undefined,
  });
  // Any replica answers `CallCenterInstance.archive` from the shared progress, archiving or not.
  const archiveProgress = archive?.state ?? (redis && redisStore ? new RedisArchiveState({ redis, buckets: redisStore, keyPrefix: overrides.redisKeyPrefix }) : undefined);
  const archiveStatus = archiveProgress && { status: (instanceId: string) => readArchiveStatus(archiveProgress, instanceId, zoneFor(instanceId)) };

  const app = express();
  app.disable('x-powered-by');
  // req.query as Apollo reads a URL (URLSearchParams, every parameter, strings only): Express's
  // default parser stops at 1,000 parameters and makes arrays of repeated ones (./graphqlParams).
  app.set('query parser', parseUrlQuery);
  const logRequests = requestLogging({ logger });
  app.use(logRequests);
  // Cached answers are served before Express when they can be (./leanCachedAnswers), set below.
  let serveLean: ReturnType<typeof leanCachedAnswers> | undefined;
  const httpServer = http.createServer((req, res) => (serveLean ? serveLean(req, res, app) : app(req, res)));
  const authenticator = createAuthenticator(config.auth);
  const rateLimiter =
    config.rateLimit.perSecond > 0 ? createRateLimiter({ ...config.rateLimit, redis, keyPrefix: `rl:${overrides.redisKeyPrefix ?? 'ccc:'}` }) : undefined;
  const responseCache =
    config.cache.enabled && config.cache.responseCacheMaxBytes > 0 ? new ResponseCache(config.cache.responseCacheMaxBytes, now) : undefined;
  const schema = await buildGatewaySchema();
  // Answers holding open buckets, keyed by the resolved plan (./answerKeys): each report field is
  // planned by the same code execution uses, for the caller's permissions, at the lookup's instant.
  const openAnswerKeys = responseCache
    ? new OpenAnswerKeys(schema, (principal, at) => {
        const planner = new InstanceReports(PLANNING_ONLY, { zoneFor, ...config.limits }, at, (instanceId) => principal.canRead(instanceId));
        return (request) => readPlanFingerprint(planner.planBounds(request), request.interval);
      })
    : undefined;
  // APQ registrations: Redis when configured (shared by replicas), this process otherwise. The
  // safelist mode registers only listed texts, under a prefix of its own: an `apq` deployment's
  // registrations of arbitrary texts must never count as listed.
  const apqCache =
    config.persistedQueries.mode === 'off'
      ? undefined
      : createApqCache({
          redis,
          keyPrefix: `${overrides.redisKeyPrefix ?? 'ccc:'}${safelist ? 'safelist:' : ''}`,
          maxTtlSeconds: config.persistedQueries.ttlSeconds,
          logger,
        });
  const formatError = createErrorFormatter(logger, { hideSchemaDetails: config.env === 'production' });
  // One operation's context: HTTP operations (below) and WebSocket subscriptions (./subscriptions).
  const operationContext = (principal: Principal, callerKey: string, requestId: string): GatewayContext => {
    const trace = new PipelineTrace();
    const reports = new InstanceReports(
      pipeline.createLoader(trace, callerKey),
      { zoneFor, ...config.limits },
      now(),
      (instanceId) => principal.canRead(instanceId),
      trace,
    );
    const instances = new InstanceCatalog(instanceDirectory, {
      canRead: (instanceId) => principal.canRead(instanceId),
      // A listing is a snapshot that changes (a name, a status): an answer holding one is
      // never final (no immutable Cache-Control, not in the response cache); it is fresh until
      // the listing expires. The trace is on the report clock, the listing on the wall clock.
      onListingServed: (listing) => {
        trace.openSnapshotExpiresAt = Math.min(trace.openSnapshotExpiresAt, now() + Math.max(0, listing.expiresAt - Date.now()));
      },
    });
    return { reports, instances, archive: archiveStatus, trace, requestId, principal };
  };
  // Live report subscriptions over graphql-ws on /graphql (docs/subscriptions.md).
  const live = createLiveHub({
    pipeline,
    redis,
    keyPrefix: overrides.redisKeyPrefix ?? 'ccc:',
    now,
    settleDelayMs: config.cache.settleDelayMs,
    pollIntervalMs: overrides.livePollIntervalMs ?? config.cache.openTtlMs,
    queueMax: config.subscriptions.queueMax,
    settings: { zoneFor, ...config.limits },
    metrics,
    logger,
  });
  const admission = createSubscriptionAdmission({
    schema,
    hub: live.hub,
    metrics: live.metrics,
    createContext: operationContext,
    rateLimiter,
    // REJECTED_REQUESTS_PER_MINUTE, the same budget as HTTP's (created below, read when a subscription arrives).
    refusalBudget: { overBudget: async (callerKey) => (await refusedBudget?.overBudget(callerKey)) ?? false, charge: (callerKey) => refusedBudget?.charge(callerKey) },
    safelist,
    documentLimits: config.operationLimits,
    maxDocumentBytes: config.operationLimits.maxDocumentBytes,
    maxCost: config.operationLimits.maxCost,
    maxSubscriptionsPerCaller: config.subscriptions.maxPerCaller,
    formatError,
  });
  const subscriptions = serveSubscriptions({
    httpServer,
    path: '/graphql',
    schema,
    authenticator,
    authOff: config.auth.mode === 'off',
    admission,
    hub: live.hub,
    metrics: live.metrics,
    queueMax: config.subscriptions.queueMax,
    keepAliveMs: config.subscriptions.keepAliveMs,
    maxConnectionsPerCaller: config.subscriptions.maxConnectionsPerCaller,
    maxMessageBytes: MAX_BODY_BYTES,
    allowedOrigin: originMatcher(config.cors.origins),
    logger,
  });
  // GRAPHQL_EXECUTOR=planned: report operations run from a per-operation plan where that is
  // exactly graphql-js's answer (./reportExecution); Apollo's pipeline around execution is the same.
  const executor =
    config.graphqlExecutor === 'planned'
      ? new PlannedExecutor(schema, {
          openBuckets: {
            read: (context) => (context as GatewayContext).trace?.openBuckets,
            restore: (context, value) => {
              (context as GatewayContext).trace.openBuckets = value;
            },
          },
        })
      : undefined;
  const apollo = new ApolloServer<GatewayContext>({
    ...(executor ? { gateway: plannedExecutionGateway(schema, executor) } : { schema }),
    persistedQueries: apqCache ? { cache: apqCache, ttl: config.persistedQueries.ttlSeconds } : false,
    formatError,
    // Validation messages without "Did you mean" in production (the formatter also covers variables).
    hideSchemaDetailsFromClientErrors: config.env === 'production',
    includeStacktraceInErrorResponses: false,
    // main.ts owns SIGTERM/SIGINT. Apollo's own handlers (on unless NODE_ENV=test) would call
    // stop() alongside close(), and Apollo 5.5 never resolves a second concurrent stop(): the
    // process hung until killed.
    stopOnTerminationSignals: false,
    // Introspection follows the explorer switch (EXPLORER; off by default in production).
    introspection: config.explorer,
    plugins: [
      // Apollo's landing pages load from CDNs; the explorer (./explorer) is served locally instead.
      ApolloServerPluginLandingPageDisabled(),
      // In-flight operations get SHUTDOWN_GRACE_MS; idle keep-alive connections close at once.
      // Subscriptions end and their sockets close (1001) on stop: clients reconnect to another replica.
      subscriptions.plugin(),
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.shutdownGraceMs }),
      // Per-field cache hints would hook every field; Cache-Control comes from the trace instead
      // (httpCachingPlugin), once per operation.
      ApolloServerPluginCacheControlDisabled(),
      // Before the response cache's plugin: it stores the Cache-Control this one sets.
      httpCachingPlugin<GatewayContext>({ now, scope: config.auth.mode === 'off' ? 'public' : 'private', openTtlMs: config.cache.openTtlMs }),
      // Federated traces for the router, only when it asks (explicit: no start-up notice).
      ApolloServerPluginInlineTrace({ includeErrors: { transform: (err) => err } }),
      debugExtensionsPlugin({ allowEveryone: config.explorer }),
      operationMetricsPlugin<GatewayContext>(metrics, { cacheEnabled: config.cache.enabled }),
      ...(responseCache ? [responseCachePlugin<GatewayContext>(responseCache, openAnswerKeys && { keys: openAnswerKeys, now, openTtlMs: config.cache.openTtlMs })] : []),
      operationCostPlugin<GatewayContext>({
        maxCost: config.operationLimits.maxCost,
        fieldCost: (ctx) => (_parentType, fieldName, args, parentArgs) => reportFieldCost(ctx.reports, fieldName, args, parentArgs),
        representationClass: (ctx) => (representation) => representationPriceClass(ctx.reports, representation),
        entityLists: (ctx) => listedInstancesForCost(ctx.instances),
      }),
    ],
    // Depth, aliases, directives and field merging are bounded before Apollo (rejectCostlyDocuments);
    // the token cap is repeated here so Apollo's own parse is bounded too.
    parseOptions: { maxTokens: config.operationLimits.maxTokens },
    validationOptions: { maxErrors: MAX_VALIDATION_ERRORS },
  });
  await apollo.start();

  let closing: Promise<void> | undefined;
  app.get('/healthz', healthzHandler());
  app.get(
    '/readyz',
    readyzHandler(
      createReadinessCheck({
        redis: redisStore && redis && redisProbe(redisStore, redis),
        upstream: passiveUpstreamProbe(metrics),
        timeoutMs: config.redis?.commandTimeoutMs ?? 500,
        isShuttingDown: () => closing !== undefined,
        cacheEnabled: config.cache.enabled,
        conditions: () => redisConditions(redisStore, evictionPolicy),
        upstreamMode: {
          mode: config.upstreamMode,
          warning: config.upstreamMode === 'emulator' && config.env === 'production' ? EMULATOR_IN_PRODUCTION : undefined,
        },
      }),
    ),
  );
  app.get('/metrics', metrics.metricsHandler());
  // Before everything else on the endpoint: CORS (preflights are answered here), when origins are allowed.
  const cors = corsForEndpoint(config.cors);
  const gateOptions: CallerGateOptions = { authenticator, rateLimiter, authOff: config.auth.mode === 'off', logger, onRateLimited: () => metrics.recordRateLimited() };
  if (cors) app.use('/graphql', cors);
  // Before Apollo: the explorer (EXPLORER_UI) on a browser GET of the endpoint, /graphiql, /playground, their assets.
  if (config.explorer) app.use(createExplorerRouter({ now, zoneFor, ui: config.explorerUi, endpointPath: '/graphql', warn: (msg) => logger.warn({}, msg) }));
  // Refused requests per caller (./limits/rejectionBudget.ts); the document limits look at it again
  // for a large document that waited behind the same caller's previous one.
  const refusedBudget =
    config.operationLimits.rejectedRequestsPerMinute > 0
      ? rejectionBudget({ perMinute: config.operationLimits.rejectedRequestsPerMinute, onRefused: () => metrics.recordRateLimited() })
      : undefined;
  // Subscriptions over Server-Sent Events (graphql-sse), before the endpoint's own chain.
  app.use(
    '/graphql/stream',
    express.json({ limit: '256kb' }),
    sseSubscriptions({ admission, authenticator, authOff: config.auth.mode === 'off', metrics: live.metrics, logger }),
  );
  app.use(
    '/graphql',
    // Cache-Control no-store until an answer says otherwise, Vary; GET: strong ETags and 304s (./httpCaching).
    graphqlResponseHeaders({ authOn: config.auth.mode !== 'off' }),
    strongEtagsForGet(),
    express.json({ limit: `${MAX_BODY_BYTES}b` }),
    leanBodyErrors(), // a body the lean path read and could not parse: body-parser's error
    // A GraphQL parameter twice in a GET URL: 400, before any step reads the parameters.
    refuseRepeatedGraphqlParams(),
    rejectDeeplyNestedInput(),
    rejectOversizedDocuments(config.operationLimits.maxDocumentBytes),
    callerGate(gateOptions),
    ...(refusedBudget ? [refusedBudget.middleware] : []),
    // Hashes and ids become their text here (safelist: refused unless listed), so the response
    // cache and the document limits see the text.
    ...(apqCache ? [persistedQueryRequests({ safelist, registered: apqCache })] : []),
    ...(responseCache
      ? [
          serveCachedResponses(
            responseCache,
            principalOf,
            async (res) => {
              metrics.recordOperation('cached', 'ok');
              await registerAnsweredPersistedQuery(res); // Apollo, which would have registered it, is skipped
            },
            openAnswerKeys && { keys: openAnswerKeys, now, onLookup: (outcome) => metrics.recordOpenAnswerLookup(outcome) },
          ),
        ]
      : []),
    rejectCostlyDocuments(schema, config.operationLimits, formatError, refusedBudget?.admit),
    expressMiddleware(apollo, {
      context: async ({ res }) => {
        const context = operationContext(principalOf(res), callerKeyOf(res), requestIdOf(res));
        return {
          ...context,
          responseCacheKey: res.locals.responseCacheKey as string | undefined,
          cacheRequest: responseCacheRequestOf(res, context.reports.now),
        };
      },
    }),
  );
  if (responseCache) {
    serveLean = leanCachedAnswers({
      endpointPath: '/graphql',
      maxBodyBytes: MAX_BODY_BYTES,
      cache: responseCache,
      openAnswers:
        openAnswerKeys && !safelist
          ? { keys: openAnswerKeys, now, maxDocumentBytes: config.operationLimits.maxDocumentBytes, onLookup: (outcome) => metrics.recordOpenAnswerLookup(outcome) }
          : undefined,
      admit: (authorization, clientAddress) => admitCaller(gateOptions, authorization, clientAddress),
      overRefusalBudget: refusedBudget?.overBudget,
      logRequest: logRequests,
      onHit: () => metrics.recordOperation('cached', 'ok'),
      vary: config.auth.mode !== 'off' ? 'Accept, Authorization' : 'Accept',
      cors,
    });
  }
  // Unknown paths, malformed bodies (body-parser's errors) and anything unexpected: JSON, never Express's HTML page.
  app.use(jsonNotFound('/graphql'));
  app.use(jsonErrorHandler(logger));

  await new Promise<void>((resolve) => httpServer.listen(config.port, config.host, resolve));
  const address = httpServer.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host}:${address.port}/graphql`;
  logger.info({ url, upstream: config.upstreamMode }, 'ccc-report-gateway ready');
  archive?.service.start();

  return {
    url,
    pipeline,
    memory,
    metrics,
    redisStore,
    emulator,
    instanceDirectory,
    archive,
    logger,
    live: { hub: live.hub, server: subscriptions },
    executor,
    close() {
      closing ??= (async () => {
        await apollo.stop(); // stops accepting, drains in-flight requests, closes the HTTP server
        await live.coordination.close();
        await archive?.service.stop(); // releases the lock: another replica takes over at once
        evictionPolicy?.stop();
        await emulator?.stop();
        if (source instanceof CccClient) source.shutdown(); // the breaker's rolling-window timer
        if (redis) await closeRedis(redis, config.redis?.commandTimeoutMs ?? 500);
      })();
      return closing;
    },
  };
}

/**
 * Which credential sources the environment configures (names only, never values), and which of
 * them the credential chain's failure message blames. The chain (@alicloud/credentials) tries its
 * providers in order and joins their messages; each provider words its failure recognizably.
 */
const CREDENTIAL_SOURCES: { variable: string; what: string; blamedBy: (reason: string, value: string) => boolean }[] = [
  { variable: 'ALIBABA_CLOUD_ACCESS_KEY_ID', what: 'AccessKey from environment variables', blamedBy: (r) => /enviroment variables|environment variable/i.test(r) },
  { variable: 'ALIBABA_CLOUD_CREDENTIALS_FILE', what: 'credentials file', blamedBy: (r, value) => r.includes(dirname(value)) || /access key secret is empty|access key id is empty/i.test(r) },
  { variable: 'ALIBABA_CLOUD_PROFILE', what: 'profile', blamedBy: (r) => /profile|\.alibabacloud\/credentials|aliyun cli config/i.test(r) },
  { variable: 'ALIBABA_CLOUD_ROLE_ARN', what: 'RAM role (OIDC / AssumeRole)', blamedBy: (r) => /oidc|role_arn|AssumeRole/i.test(r) },
  { variable: 'ALIBABA_CLOUD_ECS_METADATA', what: 'ECS instance RAM role', blamedBy: (r) => /meta-data|ecs/i.test(r) },
  { variable: 'ALIBABA_CLOUD_CREDENTIALS_URI', what: 'credentials URI', blamedBy: (r, value) => r.includes(value) },
];

function credentialSourcesReport(reason: string, env: NodeJS.ProcessEnv = process.env): { credentialSources: string[]; failingSources: string[] } {
  const configured = CREDENTIAL_SOURCES.filter((s) => env[s.variable]);
  return {
    credentialSources: configured.length
      ? configured.map((s) => `${s.what} (${s.variable})`)
      : ['none set: default chain (~/.aliyun/config.json, ~/.alibabacloud/credentials)'],
    failingSources: configured.filter((s) => s.blamedBy(reason, env[s.variable]!)).map((s) => `${s.what} (${s.variable})`),
  };
}

/** The source's own listing when it has one (CccClient); otherwise every listing fails, saying why. */
function directoryOf(source: ReportSource): InstanceDirectory {
  const candidate = source as Partial<InstanceDirectory>;
  if (typeof candidate.listInstances === 'function') return candidate as InstanceDirectory;
  return {
    listInstances: () => Promise.reject(new GatewayError('UPSTREAM_UNAVAILABLE', 'No instance directory is configured for this report source')),
  };
}

const EMULATOR_IN_PRODUCTION =
  'NODE_ENV=production with CCC_EMULATOR=true: every answer is simulated by the built-in emulator, not Alibaba Cloud data';

/** Redis conditions for /readyz: the eviction policy, and whether Redis refuses writes (full). */
function redisConditions(store: RedisBucketStore | undefined, evictionPolicy: EvictionPolicyMonitor | undefined) {
  const conditions: Record<string, ConditionResult> = {};
  if (evictionPolicy) conditions.evictionPolicy = evictionPolicy.condition();
  if (store) {
    conditions.cacheWrites = store.full
      ? { status: 'failing', reason: 'Redis is full (maxmemory reached, noeviction): new buckets are not cached in Redis' }
      : { status: 'ok' };
  }
  return conditions;
}

/**
 * QUIT lets replies already on their way arrive (a write sent just before the signal); bounded,
 * because a Redis that does not answer must not hold the exit. Fails at once while disconnected.
 */
async function closeRedis(redis: ReturnType<typeof createRedisConnection>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    redis.quit().catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  redis.disconnect();
}

function waitUntilReady(redis: ReturnType<typeof createRedisConnection>, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
}
