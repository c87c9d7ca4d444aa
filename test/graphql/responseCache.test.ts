/** Whole answers over closed ranges are served again from memory; anything else never is. */
import { HeaderMap } from '@apollo/server';
import { DAY_MS } from '../../src/reports/intervals';
import { finalAnswerCacheControl } from '../../src/server/httpCaching';
import { ResponseCache, responseCachePlugin } from '../../src/server/responseCache';
import type { Gateway } from '../../src/server/createGateway';
import { keyPair, SECRET, sign } from '../auth/tokens';
import { graphql, startTestGateway } from '../helpers/gateway';

const NOW = Date.UTC(2026, 10, 26, 3, 30);
const DAY = NOW - (NOW % DAY_MS);
const closedQuery = `{ intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, startTime: ${DAY - 3 * DAY_MS}, endTime: ${DAY - DAY_MS}) { statsTime closed inbound { callsOffered } } }`;
const openQuery = `{ intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, startTime: ${DAY - DAY_MS}) { statsTime closed inbound { callsOffered } } }`;

describe('response cache', () => {
  let gateway: Gateway;
  let clock = NOW;
  beforeAll(async () => {
    gateway = await startTestGateway({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET }, { now: () => clock });
  });
  afterAll(() => gateway.close());
  const as = (token: string) => ({ authorization: `Bearer ${token}` });

  it('serves a closed range again without executing it, byte for byte the same answer', async () => {
    const token = await sign({ ccc_instances: '*' });
    const first = await graphql(gateway, closedQuery, undefined, as(token));
    expect(first.errors).toBeUndefined();
    const executed = (await graphql(gateway, closedQuery, undefined, { ...as(token), 'x-gateway-debug': '1' })).extensions?.gateway;
    expect(executed.batches).toBe(1); // the debug header bypasses the response cache
    const before = await metricValue('ccc_gateway_operations_total{operation="cached",outcome="ok"}');
    const again = await graphql(gateway, closedQuery, undefined, as(token));
    expect(again).toEqual(first);
    expect(await metricValue('ccc_gateway_operations_total{operation="cached",outcome="ok"}')).toBe(before + 1);
  });

  it('never stores an answer with an open bucket', async () => {
    const token = await sign({ ccc_instances: '*' });
    const first = await graphql(gateway, openQuery, undefined, as(token));
    expect(first.data.intervalInstanceReport.at(-1).closed).toBe(false);
    const cachedBefore = await metricValue('ccc_gateway_operations_total{operation="cached",outcome="ok"}');
    clock += 60_000; // the open hour grows
    const second = await graphql(gateway, openQuery, undefined, as(token));
    expect(await metricValue('ccc_gateway_operations_total{operation="cached",outcome="ok"}')).toBe(cachedBefore);
    expect(second.data.intervalInstanceReport.at(-1).closed).toBe(false);
    clock = NOW;
  });

  it('keys answers by permissions: a caller never gets an answer computed for wider rights', async () => {
    const wide = await sign({ ccc_instances: '*' });
    const narrow = await sign({ ccc_instances: ['ccc-demo-1'] });
    await graphql(gateway, closedQuery, undefined, as(wide));
    const denied = await graphql(gateway, closedQuery, undefined, as(narrow));
    expect(denied.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    // And no token: no answer, cached or not.
    const anonymous = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: closedQuery }) });
    expect(anonymous.status).toBe(401);
  });

  it('does not confuse permission sets whose ids join to the same text', async () => {
    const combined = `{ combinedIntervalReport(instanceIds: ["ccc-test", "ccc-demo-1"], interval: DAILY, startTime: ${DAY - 3 * DAY_MS}, endTime: ${DAY - DAY_MS}) { statsTime } }`;
    const two = await sign({ ccc_instances: ['ccc-demo-1', 'ccc-test'] });
    const oneOddId = await sign({ ccc_instances: ['ccc-demo-1,ccc-test'] });
    expect((await graphql(gateway, combined, undefined, as(two))).errors).toBeUndefined();
    const answer = await graphql(gateway, combined, undefined, as(oneOddId));
    expect(answer.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('never replays a federated trace (ftv1) or any per-execution extension', async () => {
    const token = await sign({ ccc_instances: '*' });
    const query = `{ intervalInstanceReport(instanceId: "ccc-demo-2", interval: DAILY, startTime: ${DAY - 5 * DAY_MS}, endTime: ${DAY - DAY_MS}) { statsTime } }`;
    const traced = await graphql(gateway, query, undefined, { ...as(token), 'apollo-federation-include-trace': 'ftv1' });
    expect(traced.extensions?.ftv1).toEqual(expect.any(String));
    const stored = await graphql(gateway, query, undefined, as(token)); // executed, stored
    const replayed = await graphql(gateway, query, undefined, as(token));
    expect(replayed).toEqual({ data: traced.data });
    expect(stored).toEqual(replayed);
  });

  async function metricValue(series: string): Promise<number> {
    const text = await (await fetch(gateway.url.replace('/graphql', '/metrics'))).text();
    const line = text.split('\n').find((l) => l.startsWith(series));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }
});

describe('rate limiting', () => {
  it('limits each caller to its rate and burst, answers 429 with retry-after, and others go on', async () => {
    const gateway = await startTestGateway({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, RATE_LIMIT_PER_SECOND: '5', RATE_LIMIT_BURST: '5' });
    try {
      const greedy = await sign({ sub: 'greedy', ccc_instances: '*' });
      const polite = await sign({ sub: 'polite', ccc_instances: '*' });
      const query = '{ callCenterInstance(id: "ccc-test") { id } }';
      const post = (token: string) =>
        fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query }) });
      const statuses = await Promise.all(Array.from({ length: 20 }, () => post(greedy).then((r) => r.status)));
      expect(statuses.filter((s) => s === 200)).toHaveLength(10); // 5 per second + 5 burst
      expect(statuses.filter((s) => s === 429)).toHaveLength(10);
      const limited = await post(greedy);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(((await limited.json()) as any).errors[0].extensions.code).toBe('RATE_LIMITED');
      expect((await post(polite)).status).toBe(200);
    } finally {
      await gateway.close();
    }
  });
});

describe('authentication infrastructure failures', () => {
  it('answer a JSON INTERNAL_SERVER_ERROR (no HTML, no stack) when the JWKS endpoint is down', async () => {
    const gateway = await startTestGateway({ AUTH_MODE: 'jwt', AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks.json' });
    try {
      const { privateKey, alg, kid } = await keyPair('RS256', 'k1');
      const token = await sign({ ccc_instances: '*' }, privateKey, { alg, kid });
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(response.status).toBe(500);
      expect(response.headers.get('content-type')).toMatch(/application\/json/);
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      expect(text).not.toContain(token);
    } finally {
      await gateway.close();
    }
  });
});

describe('responseCachePlugin', () => {
  /** What the plugin stores of a successful query that read closed buckets only, sent with `cacheControl`. */
  async function storedWith(cacheControl: string | undefined) {
    const cache = new ResponseCache(1 << 20);
    const headers = new HeaderMap();
    if (cacheControl !== undefined) headers.set('cache-control', cacheControl);
    const requestContext = {
      response: { body: { kind: 'single', singleResult: { data: { ok: true } } }, http: { headers } },
      contextValue: { responseCacheKey: 'key', trace: { bucketsRequested: 3, openBuckets: 0 } },
      operation: { operation: 'query' },
    };
    const listener = await responseCachePlugin(cache).requestDidStart!(requestContext as never);
    await listener!.willSendResponse!(requestContext as never);
    return cache.get('key');
  }

  it('stores an answer only with the final, immutable Cache-Control it will be served with', async () => {
    expect(await storedWith(finalAnswerCacheControl('public'))).toEqual({ body: '{"data":{"ok":true}}\n', cacheControl: finalAnswerCacheControl('public') });
    expect(await storedWith(finalAnswerCacheControl('private'))).toBeDefined();
    // No open bucket, yet not final (an open snapshot was read; a per-execution answer): not stored.
    expect(await storedWith('public, max-age=12')).toBeUndefined();
    expect(await storedWith('no-store')).toBeUndefined();
    expect(await storedWith('public, no-cache')).toBeUndefined();
    expect(await storedWith(undefined)).toBeUndefined();
  });
});
