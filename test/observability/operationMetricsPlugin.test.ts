import { ApolloServer } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { PipelineTrace } from '../../src/reports/ReportPipeline';
import { createGatewayMetrics, type GatewayMetrics } from '../../src/server/observability/metrics';
import { operationMetricsPlugin, outcomeOf } from '../../src/server/observability/operationMetricsPlugin';
import { parseExposition } from './promText';

interface Context {
  trace: PipelineTrace;
}

const typeDefs = `#graphql
  type Query {
    ok: String!
    failsHard: String!
    failsSoft: String
    slow: String!
  }
`;

const clock = { now: 0 };

const resolvers = {
  Query: {
    ok: (_: unknown, __: unknown, { trace }: Context) => {
      // What a report field's DataLoader batch leaves in the trace.
      trace.batches++;
      trace.batchSizes.push(3);
      trace.bucketsRequested += 10;
      trace.memoryHits += 6;
      return 'ok';
    },
    failsHard: () => {
      throw new GraphQLError('bad range', { extensions: { code: 'BAD_USER_INPUT' } });
    },
    failsSoft: () => {
      throw new GraphQLError('upstream down', { extensions: { code: 'UPSTREAM_UNAVAILABLE' } });
    },
    // 60 ms on the plugin's clock: durations are the clock's, not the machine's (a loaded CI
    // machine once took over 50 ms for `Fast` on the wall clock).
    slow: async () => {
      clock.now += 60;
      return 'late';
    },
  },
};

describe('operationMetricsPlugin', () => {
  let metrics: GatewayMetrics;
  let server: ApolloServer<Context>;
  beforeEach(async () => {
    metrics = createGatewayMetrics({ defaultMetrics: false });
    server = new ApolloServer<Context>({ typeDefs, resolvers, plugins: [operationMetricsPlugin<Context>(metrics, { clock: () => clock.now })] });
    await server.start();
  });
  afterEach(() => server.stop());

  const run = (query: string, operationName?: string) =>
    server.executeOperation({ query, operationName }, { contextValue: { trace: new PipelineTrace() } });
  const scrape = async () => parseExposition(await metrics.registry.metrics());

  it('records name and outcome: ok, partial, the first error code, parse and validation failures', async () => {
    await run('query Dashboard { ok }');
    await run('query Dashboard { ok }');
    await run('query Broken { failsHard }');
    await run('query Mixed { ok failsSoft }');
    await run('{ ok }');
    await run('query Parse {');
    await run('query Invalid { nope }');
    await run('query A { ok } query B { failsHard }', 'B');
    const out = await scrape();
    const count = (operation: string, outcome: string) => out.value('ccc_gateway_operations_total', { operation, outcome });
    expect(count('Dashboard', 'ok')).toBe(2);
    expect(count('Broken', 'BAD_USER_INPUT')).toBe(1);
    expect(count('Mixed', 'partial')).toBe(1);
    expect(count('anonymous', 'ok')).toBe(1);
    // Not parsed: no operation name is known, the client sent none either.
    expect(count('anonymous', 'GRAPHQL_PARSE_FAILED')).toBe(1);
    expect(count('Invalid', 'GRAPHQL_VALIDATION_FAILED')).toBe(1);
    expect(count('B', 'BAD_USER_INPUT')).toBe(1);
    expect(out.sum('ccc_gateway_operations_total')).toBe(8);
  });

  it('names an unparsable operation after the operationName the client sent', async () => {
    await run('query Parse {', 'Parse');
    const out = await scrape();
    expect(out.value('ccc_gateway_operations_total', { operation: 'Parse', outcome: 'GRAPHQL_PARSE_FAILED' })).toBe(1);
  });

  it('observes the duration from request start to response', async () => {
    await run('query Slow { slow }');
    await run('query Fast { ok }');
    const out = await scrape();
    expect(out.value('ccc_gateway_operation_duration_seconds_bucket', { operation: 'Slow', le: '0.05' })).toBe(0);
    expect(out.value('ccc_gateway_operation_duration_seconds_bucket', { operation: 'Slow', le: '0.1' })).toBe(1);
    expect(out.value('ccc_gateway_operation_duration_seconds_sum', { operation: 'Slow' })).toBeGreaterThanOrEqual(0.055);
    expect(out.value('ccc_gateway_operation_duration_seconds_bucket', { operation: 'Fast', le: '0.05' })).toBe(1);
  });

  it("records the operation's trace: batch sizes and cache hits and misses", async () => {
    await run('query Dashboard { ok }');
    await run('query Broken { failsHard }'); // an empty trace adds no lookups
    const out = await scrape();
    expect(out.value('ccc_gateway_dataloader_batch_size_count')).toBe(1);
    expect(out.value('ccc_gateway_dataloader_batch_size_bucket', { le: '5' })).toBe(1);
    expect(out.value('ccc_gateway_cache_lookups_total', { tier: 'memory', interval: 'unknown', result: 'hit' })).toBe(6);
    expect(out.value('ccc_gateway_cache_lookups_total', { tier: 'memory', interval: 'unknown', result: 'miss' })).toBe(4);
    expect(out.find('ccc_gateway_cache_lookups_total', { tier: 'redis' })).toHaveLength(0);
  });

  it('skips lookups when the cache is disabled', async () => {
    const uncached = new ApolloServer<Context>({ typeDefs, resolvers, plugins: [operationMetricsPlugin<Context>(metrics, { cacheEnabled: false })] });
    await uncached.start();
    try {
      await uncached.executeOperation({ query: 'query Dashboard { ok }' }, { contextValue: { trace: new PipelineTrace() } });
    } finally {
      await uncached.stop();
    }
    const out = await scrape();
    expect(out.value('ccc_gateway_dataloader_batch_size_count')).toBe(1);
    expect(out.find('ccc_gateway_cache_lookups_total')).toHaveLength(0);
  });

  it('counts requests refused in the context function or as malformed HTTP, by code, untimed', async () => {
    const express = (await import('express')).default;
    const { expressMiddleware } = await import('@as-integrations/express5');
    let refuse: Error | undefined;
    const refusing = new ApolloServer<Context>({ typeDefs, resolvers, plugins: [operationMetricsPlugin<Context>(metrics, { clock: () => clock.now })] });
    await refusing.start();
    const app = express();
    app.use(
      '/graphql',
      express.json(),
      expressMiddleware(refusing, {
        context: async () => {
          if (refuse) throw refuse;
          return { trace: new PipelineTrace() };
        },
      }),
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/graphql`;
    const post = (body: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    try {
      refuse = new GraphQLError('slow down', { extensions: { code: 'RATE_LIMITED', http: { status: 429 } } });
      expect((await post('{"query":"query Dashboard { ok }"}')).status).toBe(429);
      refuse = new Error('a bug');
      expect((await post('{"query":"query Dashboard { ok }"}')).status).toBe(500);
      refuse = undefined;
      // No query: refused inside the request pipeline (timed). A CSRF-suspect content type:
      // refused before it (not timed). Each counted once.
      expect((await post('{"nothing":"here"}')).status).toBe(400);
      expect((await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"query":"{ ok }"}' })).status).toBe(400);
      expect((await post('{"query":"query Dashboard { ok }"}')).status).toBe(200);
    } finally {
      await refusing.stop();
      await new Promise((resolve) => server.close(resolve));
    }
    const out = await scrape();
    expect(out.value('ccc_gateway_operations_total', { operation: 'anonymous', outcome: 'RATE_LIMITED' })).toBe(1);
    expect(out.value('ccc_gateway_operations_total', { operation: 'anonymous', outcome: 'INTERNAL_SERVER_ERROR' })).toBe(1);
    expect(out.value('ccc_gateway_operations_total', { operation: 'anonymous', outcome: 'BAD_REQUEST' })).toBe(2);
    expect(out.value('ccc_gateway_operations_total', { operation: 'Dashboard', outcome: 'ok' })).toBe(1);
    expect(out.value('ccc_gateway_operation_duration_seconds_count', { operation: 'anonymous' })).toBe(1);
  });

  it('classifies outcomes', () => {
    expect(outcomeOf({ a: 1 }, undefined)).toBe('ok');
    expect(outcomeOf({ a: 1 }, [])).toBe('ok');
    expect(outcomeOf({ a: 1, b: null }, [{ message: 'x', extensions: { code: 'NOT_FOUND' } }])).toBe('partial');
    expect(outcomeOf({ a: [], b: null }, [{ message: 'x', extensions: { code: 'NOT_FOUND' } }])).toBe('partial');
    // Every root field failed: the error, not a partial success.
    expect(outcomeOf({ a: null }, [{ message: 'x', extensions: { code: 'NOT_FOUND' } }])).toBe('NOT_FOUND');
    expect(outcomeOf({}, [{ message: 'x', extensions: { code: 'NOT_FOUND' } }])).toBe('NOT_FOUND');
    expect(outcomeOf(null, [{ message: 'x', extensions: { code: 'NOT_FOUND' } }, { message: 'y', extensions: { code: 'BAD_USER_INPUT' } }])).toBe('NOT_FOUND');
    expect(outcomeOf(undefined, [{ message: 'x' }])).toBe('INTERNAL_SERVER_ERROR');
  });
});
