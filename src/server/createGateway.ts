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
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryBucketStore } from '../cache/MemoryBucketStore';
import { RedisBucketStore } from '../cache/RedisBucketStore';
import { createRedisConnection } from '../cache/redisConnection';
import type { GatewayConfig } from '../config/config';
import type { GatewayContext } from '../graphql/context';
import { buildGatewaySchema } from '../graphql/schema';
import type { BucketStore } from '../reports/BucketStore';
import { InstanceReports } from '../reports/InstanceReports';
import { PipelineTrace, ReportPipeline } from '../reports/ReportPipeline';
import { CccClient } from '../upstream/CccClient';
import { CccEmulator } from '../upstream/emulator/CccEmulator';
import type { ReportSource } from '../upstream/ReportSource';
import { createErrorFormatter } from './errors';
import { createLogger, type Logger } from './logger';
import { debugExtensionsPlugin } from './debugExtensionsPlugin';
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
    source = new CccClient({
      endpoint: endpoint!.host,
      protocol: endpoint!.protocol,
      region: config.upstream.region,
      timeoutMs: config.upstream.timeoutMs,
      accessKey,
    });
  }

  const memory = new MemoryBucketStore(config.cache.memoryMaxBuckets);
  let redis: ReturnType<typeof createRedisConnection> | undefined;
  let redisStore: RedisBucketStore | undefined;
  if (config.redis && !overrides.shared) {
    redis = createRedisConnection({ url: config.redis.url, clusterNodes: config.redis.clusterNodes, commandTimeoutMs: config.redis.commandTimeoutMs });
    redisStore = new RedisBucketStore({ redis, logger, keyPrefix: overrides.redisKeyPrefix, timeoutMs: config.redis.commandTimeoutMs });
    // Commands fail fast while disconnected (no offline queue), so give the first connection a
    // moment: otherwise the first operations after a start all miss a perfectly good cache. A
    // Redis that is down does not block the start: the gateway serves from upstream meanwhile.
    if (!(await waitUntilReady(redis, 3_000))) logger.warn({}, 'Redis not reachable at start; serving from upstream until it is');
  }
  const pipeline = new ReportPipeline({
    source,
    memory,
    shared: overrides.shared ?? redisStore,
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
  const httpServer = http.createServer(app);
  const apollo = new ApolloServer<GatewayContext>({
    schema: await buildGatewaySchema(),
    formatError: createErrorFormatter(logger),
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
      debugExtensionsPlugin(),
    ],
  });
  await apollo.start();

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Before Apollo: the GraphiQL page on a browser GET, and its assets.
  if (config.explorer) app.use('/graphql', createExplorerRouter({ now, zoneFor, warn: (msg) => logger.warn({}, msg) }));
  app.use(
    '/graphql',
    express.json({ limit: '256kb' }),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const requestId = (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].slice(0, 128)) || randomUUID();
        res.setHeader('x-request-id', requestId);
        const trace = new PipelineTrace();
        const reports = new InstanceReports(
          pipeline.createLoader(trace),
          { zoneFor, ...config.limits },
          now(),
        );
        return { reports, trace, requestId };
      },
    }),
  );

  await new Promise<void>((resolve) => httpServer.listen(config.port, config.host, resolve));
  const address = httpServer.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host}:${address.port}/graphql`;
  logger.info({ url, upstream: config.upstreamMode }, 'ccc-report-gateway ready');

  let closing: Promise<void> | undefined;
  return {
    url,
    pipeline,
    memory,
    redisStore,
    emulator,
    logger,
    close() {
      closing ??= (async () => {
        await apollo.stop(); // drains in-flight requests, then closes the HTTP server
        await emulator?.stop();
        redis?.disconnect();
      })();
      return closing;
    },
  };
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
