/**
 * The observability modules wired the way the report proposes for createGateway, on the real
 * pieces: the CCC client against the built-in emulator (signed HTTP), the report pipeline, the
 * gateway schema, Apollo on Express. What a scrape, a probe and the logs show after real traffic.
 */
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config/config';
import type { GatewayContext } from '../../src/graphql/context';
import { buildGatewaySchema } from '../../src/graphql/schema';
import { InstanceReports } from '../../src/reports/InstanceReports';
import { DAY_MS, HOUR_MS } from '../../src/reports/intervals';
import { PipelineTrace, ReportPipeline } from '../../src/reports/ReportPipeline';
import { createErrorFormatter } from '../../src/server/errors';
import { createLogger } from '../../src/server/logger';
import {
  createGatewayMetrics,
  createReadinessCheck,
  healthzHandler,
  ObservedMemoryBucketStore,
  operationMetricsPlugin,
  passiveUpstreamProbe,
  readyzHandler,
  requestIdOf,
  requestLoggerOf,
  requestLogging,
} from '../../src/server/observability';
import { CccClient } from '../../src/upstream/CccClient';
import { CccEmulator } from '../../src/emulator/CccEmulator';
import { DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET } from '../../src/emulator/options';
import { parseExposition } from './promText';

/** What the resolvers read (the gateway's context has more, e.g. the caller's principal). */
type WiredContext = Pick<GatewayContext, 'reports' | 'trace' | 'requestId'>;

describe('observability wired into a gateway', () => {
  const logLines: Record<string, any>[] = [];
  const metrics = createGatewayMetrics();
  let emulator: CccEmulator;
  let httpServer: http.Server;
  let apollo: ApolloServer<WiredContext>;
  let base: string;
  let closing = false;

  beforeAll(async () => {
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' });
    const logger = createLogger('info', { write: (line: string) => void logLines.push(JSON.parse(line)) });
    emulator = new CccEmulator({ timeZone: config.timeZone });
    const { url } = await emulator.start(0);
    const source = new CccClient({
      endpoint: new URL(url).host,
      protocol: 'http',
      region: config.upstream.region,
      timeoutMs: 2_000,
      retryBaseDelayMs: 1,
      accessKey: { id: DEFAULT_ACCESS_KEY_ID, secret: DEFAULT_ACCESS_KEY_SECRET },
      // A breaker that stays closed here: the test counts retries, not circuit behaviour.
      breaker: { errorThresholdPercentage: 100, volumeThreshold: 1_000, resetTimeoutMs: 1_000, rollingWindowMs: 10_000 },
      onAttempt: metrics.recordUpstreamAttempt,
      onCircuitChange: metrics.recordCircuitState,
    });
    const memory = new ObservedMemoryBucketStore(config.cache.memoryMaxBuckets, metrics);
    const pipeline = new ReportPipeline({
      source,
      memory,
      shared: metrics.observeSharedStore(undefined),
      now: Date.now,
      settleDelayMs: config.cache.settleDelayMs,
      openTtlMs: config.cache.openTtlMs,
      upstreamConcurrency: config.upstream.concurrency,
      cacheEnabled: config.cache.enabled,
    });
    const zoneFor = () => config.timeZone;

    const app = express();
    app.disable('x-powered-by');
    app.use(requestLogging({ logger }));
    httpServer = http.createServer(app);
    apollo = new ApolloServer<WiredContext>({
      schema: await buildGatewaySchema(),
      formatError: createErrorFormatter(logger),
      plugins: [ApolloServerPluginInlineTraceDisabled(), operationMetricsPlugin<WiredContext>(metrics, { cacheEnabled: config.cache.enabled })],
    });
    await apollo.start();
    app.get('/healthz', healthzHandler());
    app.get(
      '/readyz',
      readyzHandler(createReadinessCheck({ upstream: passiveUpstreamProbe(metrics), timeoutMs: 500, isShuttingDown: () => closing, cacheEnabled: config.cache.enabled })),
    );
    app.get('/metrics', metrics.metricsHandler());
    app.use(
      '/graphql',
      express.json(),
      expressMiddleware(apollo, {
        context: async ({ res }) => {
          const requestId = requestIdOf(res);
          requestLoggerOf(res, logger).debug({}, 'context');
          const trace = new PipelineTrace();
          return { reports: new InstanceReports(pipeline.createLoader(trace), { zoneFor, ...config.limits }, Date.now()), trace, requestId };
        },
      }),
    );
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await apollo?.stop();
    await new Promise((resolve) => httpServer?.close(resolve));
    await emulator?.stop();
  });

  const dayStart = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const query = (instanceId: string) => `query Yesterday { intervalInstanceReport(instanceId: "${instanceId}", interval: HOURLY,
    startTime: ${dayStart - DAY_MS}, endTime: ${dayStart - DAY_MS + 6 * HOUR_MS}) { statsTime } }`;
  const post = async (body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { response, body: (await response.json()) as any };
  };
  const scrape = async () => {
    const response = await fetch(`${base}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(await response.text());
  };

  it('counts operations, upstream attempts, cache lookups and writes from real traffic', async () => {
    const cold = await post({ query: query('ccc-test'), operationName: 'Yesterday' }, { 'x-request-id': 'wired-1', authorization: 'Bearer top-secret' });
    expect(cold.body.errors).toBeUndefined();
    expect(cold.body.data.intervalInstanceReport.length).toBeGreaterThan(0);
    expect(cold.response.headers.get('x-request-id')).toBe('wired-1');
    const warm = await post({ query: query('ccc-test') });
    expect(warm.body.errors).toBeUndefined();
    const bad = await post({ query: 'query Bad { intervalInstanceReport(instanceId: "no spaces allowed", interval: HOURLY) { statsTime } }' });
    expect(bad.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(bad.body.data).toEqual({ intervalInstanceReport: null }); // nullable field: data, but nothing in it

    const out = await scrape();
    expect(out.value('ccc_gateway_operations_total', { operation: 'Yesterday', outcome: 'ok' })).toBe(2);
    expect(out.value('ccc_gateway_operations_total', { operation: 'Bad', outcome: 'BAD_USER_INPUT' })).toBe(1);
    expect(out.value('ccc_gateway_upstream_calls_total', { outcome: 'ok', code: 'OK' })).toBe(1);
    expect(out.value('ccc_gateway_upstream_call_duration_seconds_count', { outcome: 'ok' })).toBe(1);
    expect(out.sum('ccc_gateway_cache_lookups_total', { tier: 'memory', result: 'miss' })).toBe(6);
    expect(out.sum('ccc_gateway_cache_lookups_total', { tier: 'memory', result: 'hit' })).toBe(6);
    expect(out.value('ccc_gateway_cache_writes_total', { interval: 'HOURLY', kind: 'final' })).toBe(6);
    expect(out.value('ccc_gateway_dataloader_batch_size_count')).toBe(2);
    expect(out.value('ccc_gateway_circuit_state')).toBe(0);
    expect(out.find('process_cpu_user_seconds_total')).toHaveLength(1);

    const requests = logLines.filter((line) => line.msg === 'request' && line.path === '/graphql');
    expect(requests[0]).toMatchObject({ requestId: 'wired-1', method: 'POST', status: 200, operationName: 'Yesterday' });
    expect(logLines.find((line) => line.requestId === 'wired-1' && line.msg !== 'request')).toBeUndefined(); // debug not written at info
    expect(JSON.stringify(logLines)).not.toContain('top-secret');
  });

  it('counts failed attempts and retries, and readiness turns degraded after repeated outages', async () => {
    expect(((await (await fetch(`${base}/readyz`)).json()) as { status: string }).status).toBe('ready');
    emulator.options.failures = { rate: 1, codes: ['ServiceUnavailable'] };
    const failed = await post({ query: query('ccc-demo-1') });
    emulator.options.failures = { rate: 0, codes: [] };
    expect(failed.body.errors[0].extensions.code).toBe('UPSTREAM_UNAVAILABLE');

    const out = await scrape();
    expect(out.value('ccc_gateway_upstream_calls_total', { outcome: 'error', code: 'ServiceUnavailable' })).toBe(3);
    expect(out.value('ccc_gateway_upstream_retries_total', { code: 'ServiceUnavailable' })).toBe(2);
    expect(out.value('ccc_gateway_operations_total', { operation: 'Yesterday', outcome: 'UPSTREAM_UNAVAILABLE' })).toBe(1);
    expect(out.value('ccc_gateway_upstream_call_duration_seconds_count', { outcome: 'error' })).toBe(3);

    const readyz = await fetch(`${base}/readyz`);
    expect(readyz.status).toBe(200);
    expect(await readyz.json()).toMatchObject({ status: 'degraded', checks: { upstream: { status: 'failing' } } });

    // Upstream answers again: ready.
    expect((await post({ query: query('ccc-demo-2') })).body.errors).toBeUndefined();
    expect(((await (await fetch(`${base}/readyz`)).json()) as { status: string }).status).toBe('ready');
    closing = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    closing = false;
  });
});
