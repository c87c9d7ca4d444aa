/**
 * A real router with response caching in front of the subgraph: Hive Gateway's runtime (from npm,
 * runs offline) with its HTTP cache plugin (`useHttpCache`, http-cache-semantics), which keeps
 * subgraph responses by their Cache-Control and revalidates stale ones with If-None-Match.
 * Subgraph requests are counted by a plain forwarding proxy between router and subgraph.
 *
 * The router judges freshness on the real clock (http-cache-semantics, Date headers); the
 * subgraph's own clock is the test clock. The open answer's max-age is a few seconds
 * (CACHE_OPEN_TTL_MS=4000), so the test waits them out once; nothing asserts a duration.
 */
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DAY_MS } from '../../src/reports/intervals';
import type { Gateway } from '../../src/server/createGateway';
import { FINAL_ANSWER_MAX_AGE_S } from '../../src/server/httpCaching';
import { graphql, startTestGateway } from '../helpers/gateway';

// Loaded untyped on purpose: graphql-yoga's type declarations (which these packages pull in)
// augment graphql's GraphQLErrorExtensions globally with an `http.headers` type that Apollo
// Server code (a Map of headers) does not satisfy, breaking the project's typecheck.
interface KeyValueCache {
  get(key: string): unknown;
  set(key: string, value: unknown, options?: { ttl?: number | null }): void;
  delete(key: string): boolean;
  getKeysByPrefix(prefix: string): string[];
}
interface GatewayRuntime {
  fetch(url: string, init: RequestInit): Promise<Response>;
  dispose(): Promise<void> | void;
}
const { createGatewayRuntime } = require('@graphql-hive/gateway-runtime') as { createGatewayRuntime(config: Record<string, unknown>): GatewayRuntime };
const useHttpCache = (require('@graphql-mesh/plugin-http-cache') as { default(options: Record<string, unknown>): unknown }).default;

const NOW = Date.UTC(2026, 10, 26, 3, 30);
const DAY = NOW - (NOW % DAY_MS);
const OPEN_TTL_MS = 4_000;

/** A forwarding proxy that records what reaches the subgraph and what it answered. */
interface Exchange {
  method: string;
  ifNoneMatch?: string;
  status: number;
  cacheControl?: string;
}
async function startCountingProxy(target: string): Promise<{ url: string; exchanges: Exchange[]; close(): Promise<void> }> {
  const targetUrl = new URL(target);
  const exchanges: Exchange[] = [];
  const server = http.createServer((req, res) => {
    const upstream = http.request(
      { host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: `${targetUrl.pathname}${(req.url ?? '').replace(/^\/graphql/, '')}`, headers: req.headers },
      (answer) => {
        exchanges.push({
          method: req.method ?? '',
          ifNoneMatch: req.headers['if-none-match'],
          status: answer.statusCode ?? 0,
          cacheControl: answer.headers['cache-control'],
        });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    exchanges,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The router's cache storage: a Map (the plugin gives each entry its own freshness policy). */
function mapCache(): KeyValueCache {
  const entries = new Map<string, unknown>();
  return {
    get: (key) => entries.get(key) as never,
    set: (key, value) => void entries.set(key, value),
    delete: (key) => entries.delete(key),
    getKeysByPrefix: (prefix) => [...entries.keys()].filter((k) => k.startsWith(prefix)),
  };
}

describe.each([
  ['POST', false],
  ['GET', true],
])('Hive Gateway HTTP cache in front of the subgraph (subgraph requests by %s)', (_method, useGETForQueries) => {
  let subgraph: Gateway;
  let proxy: Awaited<ReturnType<typeof startCountingProxy>>;
  let router: GatewayRuntime;
  const clock = { now: NOW };

  beforeAll(async () => {
    subgraph = await startTestGateway({ CACHE_OPEN_TTL_MS: String(OPEN_TTL_MS) }, { now: () => clock.now });
    proxy = await startCountingProxy(subgraph.url);
    const sdl = (await graphql(subgraph, '{ _service { sdl } }')).data._service.sdl as string;
    const composed = composeServices([{ name: 'ccc-reports', typeDefs: parse(sdl), url: proxy.url }]);
    if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('; '));
    router = createGatewayRuntime({
      supergraph: composed.supergraphSdl!,
      logging: false,
      cache: mapCache(),
      plugins: (ctx: Record<string, unknown>) => [useHttpCache(ctx)],
      transportEntries: {
        '*.http': {
          // GET queries must carry a header that CSRF prevention accepts (see README "HTTP caching").
          headers: [['apollo-require-preflight', 'true']],
          options: { useGETForQueries },
        },
      },
    });
  });
  afterAll(async () => {
    await router?.dispose();
    await proxy?.close();
    await subgraph?.close();
  });

  async function throughRouter(query: string) {
    const response = await router.fetch('http://router.local/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query }),
    });
    return (await response.json()) as { data?: any; errors?: unknown[] };
  }

  it('answers a repeated closed-range query without asking the subgraph again', async () => {
    const query = `{ intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, startTime: ${DAY - 3 * DAY_MS}, endTime: ${DAY - DAY_MS}) { statsTime closed inbound { callsOffered } } }`;
    const before = proxy.exchanges.length;
    const first = await throughRouter(query);
    expect(first.errors).toBeUndefined();
    expect(proxy.exchanges.slice(before)).toEqual([expect.objectContaining({ status: 200, cacheControl: `public, max-age=${FINAL_ANSWER_MAX_AGE_S}, immutable` })]);
    for (let i = 0; i < 5; i++) expect(await throughRouter(query)).toEqual(first);
    expect(proxy.exchanges.length).toBe(before + 1); // five router cache hits, no subgraph request
  });

  it('keeps an open-range answer for its max-age, then asks the subgraph again', async () => {
    const query = `{ intervalInstanceReport(instanceId: "ccc-sim-router-open-${useGETForQueries ? 'get' : 'post'}", interval: HOURLY, startTime: ${DAY}) { statsTime closed inbound { callsOffered } } }`;
    const before = proxy.exchanges.length;
    const first = await throughRouter(query);
    expect(first.data.intervalInstanceReport.at(-1).closed).toBe(false);
    expect(proxy.exchanges.slice(before)).toEqual([expect.objectContaining({ status: 200, cacheControl: `public, max-age=${OPEN_TTL_MS / 1000}` })]);
    expect(await throughRouter(query)).toEqual(first); // within max-age: from the router's cache
    expect(proxy.exchanges.length).toBe(before + 1);

    await new Promise((resolve) => setTimeout(resolve, OPEN_TTL_MS + 1_500)); // the router's copy goes stale
    expect(await throughRouter(query)).toEqual(first); // the subgraph's snapshot is unchanged (its clock stood still)
    const refetch = proxy.exchanges.slice(before + 1);
    expect(refetch).toHaveLength(1);
    if (useGETForQueries) {
      // Revalidated: the router sent the ETag it kept, the subgraph answered 304 without a body.
      expect(refetch[0]).toEqual(expect.objectContaining({ method: 'GET', ifNoneMatch: expect.stringMatching(/^"/), status: 304 }));
    } else {
      expect(refetch[0]).toEqual(expect.objectContaining({ method: 'POST', status: 200 }));
    }
  });

  it('never keeps an answer with an error', async () => {
    const query = `{ intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, startTime: ${NOW + DAY_MS}) { statsTime } }`;
    const before = proxy.exchanges.length;
    expect((await throughRouter(query)).errors).toBeDefined();
    expect((await throughRouter(query)).errors).toBeDefined();
    expect(proxy.exchanges.slice(before).map((e) => e.cacheControl)).toEqual(['no-store', 'no-store']);
  });
});
