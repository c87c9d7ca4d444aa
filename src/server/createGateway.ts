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
import type { AddressInfo } from 'node:net';
import type { MemoryBucketStore } from '../cache/MemoryBucketStore';
import { RedisBucketStore } from '../cache/RedisBucketStore';
import { createRedisConnection } from '../cache/redisConnection';
import type { GatewayConfig } from '../config/config';
import type { GatewayContext } from '../graphql/context';
import { reportFieldCost } from '../graphql/reportFieldCost';
import { buildGatewaySchema } from '../graphql/schema';
import type { BucketStore } from '../reports/BucketStore';
import { InstanceReports } from '../reports/InstanceReports';
import { PipelineTrace, ReportPipeline } from '../reports/ReportPipeline';
import { CccClient, DEFAULT_BREAKER } from '../upstream/CccClient';
import { CccEmulator } from '../upstream/emulator/CccEmulator';
import type { ReportSource } from '../upstream/ReportSource';
import { createErrorFormatter } from './errors';
import { createLogger, type Logger } from './logger';
import { debugExtensionsPlugin } from './debugExtensionsPlugin';
import {
  createGatewayMetrics,
  createReadinessCheck,
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
import { callerGate, principalOf } from './callerGate';
import { ResponseCache, responseCachePlugin, serveCachedResponses } from './responseCache';
import { rejectOversizedDocuments } from './limits/documentSize';
import { operationCostPlugin } from './limits/operationCostPlugin';
import { createRateLimiter } from './limits/rateLimit';
import { maxAliasesRule, maxDepthRule } from './limits/validationRules';
import { createExplorerRouter } from './explorer';

export interface GatewayOverrides {
  now?: () => number;
  source?: ReportSource;
  shared?: BucketStore;
  /** Key prefix of the Redis store (tests isolate themselves with a unique one). */
  redisKeyPrefix?: string;
  logger?: Logger;
  /** Options for the embedded emulator (tests: a clock, failure injection). */
  emulator?: ConstructorParameters<typeof CccEmulator>[0];
}

export interface Gateway {
  url: string;
  pipeline: ReportPipeline;
  memory: MemoryBucketStore;
  metrics: GatewayMetrics;
  /** The Redis tier, when REDIS_URL or REDIS_CLUSTER_NODES is set. */
  redisStore?: RedisBucketStore;
  emulator?: CccEmulator;
  logger: Logger;
  close(): Promise<void>;
}

/** Dev access key of the embedded emulator: it exists only inside this process. */
export const EMULATOR_ACCESS_KEY = { id: 'embedded-emulator-key-id', secret: 'embedded-emulator-key-secret' };

export async function startGateway(config: GatewayConfig, overrides: GatewayOverrides = {}): Promise<Gateway> {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const now = overrides.now ?? Date.now;
  const metrics = createGatewayMetrics();

  let emulator: CccEmulator | undefined;
  let source = overrides.source;
  if (!source) {
    let endpoint = config.upstream.endpoint;
    let accessKey: { id: string; secret: string } | undefined;
    if (config.upstreamMode === 'emulator') {
      emulator = new CccEmulator({
        accessKeys: { [EMULATOR_ACCESS_KEY.id]: EMULATOR_ACCESS_KEY.secret },
        timeZone: config.timeZone,
        now,
        ...overrides.emulator,
      });
      const { url } = await emulator.start(0);
      endpoint = { host: new URL(url).host, protocol: 'http' };
      accessKey = EMULATOR_ACCESS_KEY;
      logger.info({ endpoint: url }, 'no Alibaba Cloud credentials configured: using the built-in CCC emulator');
    }
    const answerReporter = createUpstreamAnswerReporter({ logger, metrics });
    source = new CccClient({
      endpoint: endpoint!.host,
      protocol: endpoint!.protocol,
      region: config.upstream.region,
      timeoutMs: config.upstream.timeoutMs,
      maxAttempts: config.resilience.maxAttempts,
      deadlineMs: config.resilience.deadlineMs,
      breaker: { ...DEFAULT_BREAKER, resetTimeoutMs: config.resilience.circuitResetMs },
      accessKey,
      onAttempt: (event) => {
        metrics.recordUpstreamAttempt(event);
        // The caller only sees a generic message for these: the operator needs the detail.
        if (event.error?.code === 'UPSTREAM_AUTH') {
          logger.error({ upstream: event.error.details, instanceId: event.query.instanceId }, 'Alibaba Cloud rejected the gateway\'s credentials');
        }
      },
      onCircuitChange: (state) => {
        metrics.recordCircuitState(state);
        logger.warn({ circuit: state }, `upstream circuit ${state}`);
      },
      onMalformedAnswer: answerReporter.malformed,
      onAnswerAnomalies: answerReporter.anomalies,
    });
  }

  // Real credentials are resolved once at start: a misconfigured source is the operator's to fix,
  // and is reported now, naming the sources configured, rather than as the first caller's error.
  if (config.upstreamMode === 'aliyun' && source instanceof CccClient) {
    const client = source;
    void client.checkCredentials().then((result) => {
      if (result.ok) logger.info({ credentialProvider: result.provider }, 'Alibaba Cloud credentials resolved');
      else logger.error({ credentialSources: configuredCredentialSources(), reason: result.reason }, 'Alibaba Cloud credentials could not be resolved: calls upstream will fail until this is fixed');
    });
  }

  const memory = new ObservedMemoryBucketStore(config.cache.memoryMaxBuckets, metrics);
  let redis: ReturnType<typeof createRedisConnection> | undefined;
  let redisStore: RedisBucketStore | undefined;
  if (config.redis && !overrides.shared) {
    redis = createRedisConnection({ url: config.redis.url, clusterNodes: config.redis.clusterNodes, commandTimeoutMs: config.redis.commandTimeoutMs });
    redisStore = new RedisBucketStore({ redis, logger, keyPrefix: overrides.redisKeyPrefix, timeoutMs: config.redis.commandTimeoutMs });
    metrics.observeRedisStore(redisStore);
    // Commands fail fast while disconnected (no offline queue), so give the first connection a
    // moment: otherwise the first operations after a start all miss a perfectly good cache. A
    // Redis that is down does not block the start: the gateway serves from upstream meanwhile.
    if (!(await waitUntilReady(redis, 3_000))) logger.warn({}, 'Redis not reachable at start; serving from upstream until it is');
  }
  const pipeline = new ReportPipeline({
    source,
    memory,
    shared: metrics.observeSharedStore(overrides.shared ?? redisStore),
    now,
    settleDelayMs: config.cache.settleDelayMs,
    openTtlMs: config.cache.openTtlMs,
    upstreamConcurrency: config.upstream.concurrency,
    cacheEnabled: config.cache.enabled,
    leaseMs: config.cache.leaseMs,
  });
  const zoneFor = (instanceId: string) => config.instanceTimeZones[instanceId] ?? config.timeZone;

  const app = express();
  app.disable('x-powered-by');
  app.use(requestLogging({ logger }));
  const httpServer = http.createServer(app);
  const authenticator = createAuthenticator(config.auth);
  const rateLimiter =
    config.rateLimit.perSecond > 0 ? createRateLimiter({ ...config.rateLimit, redis, keyPrefix: `rl:${overrides.redisKeyPrefix ?? 'ccc:'}` }) : undefined;
  const responseCache =
    config.cache.enabled && config.cache.responseCacheMaxBytes > 0 ? new ResponseCache(config.cache.responseCacheMaxBytes) : undefined;
  const apollo = new ApolloServer<GatewayContext>({
    schema: await buildGatewaySchema(),
    formatError: createErrorFormatter(logger, { hideSchemaDetails: config.env === 'production' }),
    // Validation messages without "Did you mean" in production (the formatter also covers variables).
    hideSchemaDetailsFromClientErrors: config.env === 'production',
    includeStacktraceInErrorResponses: false,
    // Introspection follows the explorer switch (EXPLORER; off by default in production).
    introspection: config.explorer,
    plugins: [
      // Apollo's landing pages load from CDNs; the explorer (./explorer) is served locally instead.
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // Reports carry no cache hints; the plugin would otherwise hook every field.
      ApolloServerPluginCacheControlDisabled(),
      // Federated traces for the router, only when it asks (explicit: no start-up notice).
      ApolloServerPluginInlineTrace({ includeErrors: { transform: (err) => err } }),
      debugExtensionsPlugin({ allowEveryone: config.explorer }),
      operationMetricsPlugin<GatewayContext>(metrics, { cacheEnabled: config.cache.enabled }),
      ...(responseCache ? [responseCachePlugin<GatewayContext>(responseCache)] : []),
      operationCostPlugin<GatewayContext>({
        maxCost: config.operationLimits.maxCost,
        fieldCost: (ctx) => (_parentType, fieldName, args, parentArgs) => reportFieldCost(ctx.reports, fieldName, args, parentArgs),
      }),
    ],
    validationRules: [maxDepthRule(config.operationLimits.maxDepth), maxAliasesRule(config.operationLimits.maxAliases)],
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
      }),
    ),
  );
  app.get('/metrics', metrics.metricsHandler());
  // Before Apollo: the GraphiQL page on a browser GET, and its assets.
  if (config.explorer) app.use('/graphql', createExplorerRouter({ now, zoneFor, warn: (msg) => logger.warn({}, msg) }));
  app.use(
    '/graphql',
    express.json({ limit: '256kb' }),
    rejectOversizedDocuments(config.operationLimits.maxDocumentBytes),
    callerGate({ authenticator, rateLimiter, authOff: config.auth.mode === 'off', logger, onRateLimited: () => metrics.recordRateLimited() }),
    ...(responseCache ? [serveCachedResponses(responseCache, principalOf, () => metrics.recordOperation('cached', 'ok'))] : []),
    expressMiddleware(apollo, {
      context: async ({ res }) => {
        const requestId = requestIdOf(res);
        const principal = principalOf(res);
        const trace = new PipelineTrace();
        const reports = new InstanceReports(
          pipeline.createLoader(trace),
          { zoneFor, ...config.limits },
          now(),
          (instanceId) => principal.canRead(instanceId),
          trace,
        );
        return { reports, trace, requestId, principal, responseCacheKey: res.locals.responseCacheKey as string | undefined };
      },
    }),
  );

  await new Promise<void>((resolve) => httpServer.listen(config.port, config.host, resolve));
  const address = httpServer.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host}:${address.port}/graphql`;
  logger.info({ url, upstream: config.upstreamMode }, 'ccc-report-gateway ready');

  return {
    url,
    pipeline,
    memory,
    metrics,
    redisStore,
    emulator,
    logger,
    close() {
      closing ??= (async () => {
        await apollo.stop(); // drains in-flight requests, then closes the HTTP server
        await emulator?.stop();
        if (source instanceof CccClient) source.shutdown(); // the breaker's rolling-window timer
        redis?.disconnect();
      })();
      return closing;
    },
  };
}

/** Which credential sources the environment configures (names only, never values). */
function configuredCredentialSources(env: NodeJS.ProcessEnv = process.env): string[] {
  const sources: [string, string][] = [
    ['ALIBABA_CLOUD_ACCESS_KEY_ID', 'AccessKey from environment variables'],
    ['ALIBABA_CLOUD_CREDENTIALS_FILE', 'credentials file'],
    ['ALIBABA_CLOUD_PROFILE', 'profile'],
    ['ALIBABA_CLOUD_ROLE_ARN', 'RAM role (OIDC / AssumeRole)'],
    ['ALIBABA_CLOUD_ECS_METADATA', 'ECS instance RAM role'],
    ['ALIBABA_CLOUD_CREDENTIALS_URI', 'credentials URI'],
  ];
  const configured = sources.filter(([name]) => env[name]).map(([name, what]) => `${what} (${name})`);
  return configured.length ? configured : ['none set: default chain (~/.aliyun/config.json, ~/.alibabacloud/credentials)'];
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
