/**
 * The lean path of cached answers: a repeat is answered before Express, with the same headers,
 * log line, metrics, limits and errors as the Express path.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { DAY_MS } from '../../src/reports/intervals';
import { createPrincipal } from '../../src/server/auth/principal';
import type { Admission } from '../../src/server/callerGate';
import type { Gateway } from '../../src/server/createGateway';
import { createLogger } from '../../src/server/logger';
import { leanBodyErrors, leanCachedAnswers } from '../../src/server/leanCachedAnswers';
import { requestLogging } from '../../src/server/observability/requestLogging';
import { leanKeyOf, ResponseCache } from '../../src/server/responseCache';
import Redis from 'ioredis';
import { createHash, randomUUID } from 'node:crypto';
import { SECRET, sign } from '../auth/tokens';
import { startTestGateway } from '../helpers/gateway';
import { startRedisServer } from '../helpers/redisServer';

const NOW = Date.UTC(2026, 10, 26, 3, 30);
const DAY = NOW - (NOW % DAY_MS);
const CLOSED = `query Closed { intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, startTime: ${DAY - 3 * DAY_MS}, endTime: ${DAY - DAY_MS}) { statsTime closed inbound { callsOffered } } }`;

/** POST with a Content-Length (lean-eligible), or chunked (always the Express path). */
function post(url: string, body: string, headers: Record<string, string> = {}, chunked = false): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': String(Buffer.byteLength(body)) }), ...headers } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c) => chunks.push(c));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, text: Buffer.concat(chunks).toString() }));
    });
    request.on('error', reject);
    if (chunked) {
      request.write(body.slice(0, 10));
      request.end(body.slice(10));
    } else request.end(body);
  });
}

const comparable = (headers: http.IncomingHttpHeaders) => {
  const { date: _date, 'x-request-id': _id, 'content-length': _length, 'transfer-encoding': _te, connection: _c, 'keep-alive': _k, etag: _etag, ...rest } = headers;
  return rest;
};

describe('lean path of cached answers, in a gateway', () => {
  let gateway: Gateway;
  const lines: string[] = [];
  beforeAll(async () => {
    gateway = await startTestGateway(
      { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, RATE_LIMIT_PER_SECOND: '3', RATE_LIMIT_BURST: '3', CORS_ORIGINS: 'https://dash.example' },
      { now: () => NOW, logger: createLogger('info', { write: (line: string) => void lines.push(line) }) },
    );
  });
  afterAll(() => gateway.close());
  const metric = async (series: string) => {
    const text = await (await fetch(gateway.url.replace('/graphql', '/metrics'))).text();
    return Number(text.split('\n').find((l) => l.startsWith(series + ' '))?.split(' ').at(-1) ?? 0);
  };

  it('answers a repeat with the bytes and headers of the Express path, its log line and its count', async () => {
    const token = await sign({ sub: 'lean-1', ccc_instances: '*' });
    const body = JSON.stringify({ query: CLOSED, operationName: 'Closed' });
    const headers = { authorization: `Bearer ${token}`, origin: 'https://dash.example' };
    const executed = await post(gateway.url, body, headers);
    expect(executed.status).toBe(200);
    const viaExpress = await post(gateway.url, body, headers, true); // chunked: the Express path's cache hit
    const hits = await metric('ccc_gateway_operations_total{operation="cached",outcome="ok"}');
    const lean = await post(gateway.url, body, { ...headers, 'x-request-id': 'lean-repeat-1' });
    expect(await metric('ccc_gateway_operations_total{operation="cached",outcome="ok"}')).toBe(hits + 1);
    expect(lean.text).toBe(executed.text);
    expect(viaExpress.text).toBe(executed.text);
    expect(comparable(lean.headers)).toEqual(comparable(viaExpress.headers));
    expect(lean.headers['access-control-allow-origin']).toBe('https://dash.example');
    expect(lean.headers.vary).toBe('Origin, Accept, Authorization');
    expect(lean.headers['cache-control']).toBe('private, max-age=31536000, immutable');
    expect(lean.headers['x-request-id']).toBe('lean-repeat-1');
    expect(Number(lean.headers['content-length'])).toBe(Buffer.byteLength(lean.text));
    const line = lines.map((l) => JSON.parse(l)).find((l) => l.requestId === 'lean-repeat-1' && l.msg === 'request');
    expect(line).toMatchObject({ method: 'POST', path: '/graphql', status: 200, operationName: 'Closed' });
  });

  it('authenticates and rate-limits every repeat once, as the Express path does', async () => {
    const token = await sign({ sub: 'lean-2', ccc_instances: '*' });
    const body = JSON.stringify({ query: CLOSED });
    await post(gateway.url, body, { authorization: `Bearer ${(await sign({ sub: 'lean-warm', ccc_instances: '*' }))}` }); // stored
    const statuses = await Promise.all(Array.from({ length: 12 }, () => post(gateway.url, body, { authorization: `Bearer ${token}` }).then((r) => r.status)));
    // 3 a second + a burst of 3: each repeat spent exactly one token (twice would allow 3).
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    expect(statuses.filter((s) => s === 429)).toHaveLength(6);
    const bad = await post(gateway.url, body, { authorization: 'Bearer nope' });
    expect(bad.status).toBe(401);
    expect(JSON.parse(bad.text).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const narrow = await sign({ sub: 'lean-3', ccc_instances: ['ccc-demo-1'] });
    const forbidden = await post(gateway.url, body, { authorization: `Bearer ${narrow}` });
    expect(JSON.parse(forbidden.text).errors[0].extensions.code).toBe('FORBIDDEN');
  });

  it('answers a body that is not JSON with the endpoint\'s own 400', async () => {
    const token = await sign({ sub: 'lean-4', ccc_instances: '*' });
    for (const chunked of [false, true]) {
      const answer = await post(gateway.url, '{"query": ', { authorization: `Bearer ${token}` }, chunked);
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.text)).toEqual({ errors: [{ message: expect.stringMatching(/not a JSON object/), extensions: { code: 'BAD_REQUEST' } }] });
    }
  });
});

describe('lean path and persisted queries', () => {
  it('leaves a body with an APQ hash to the Express path, which registers the hash on every cached answer', async () => {
    const redis = await startRedisServer();
    const client = new Redis(redis.url);
    const prefix = `test:${randomUUID()}:`;
    const gateway = await startTestGateway({ REDIS_URL: redis.url }, { now: () => NOW, redisKeyPrefix: prefix });
    try {
      const hash = createHash('sha256').update(CLOSED).digest('hex');
      const body = JSON.stringify({ query: CLOSED, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
      const first = await post(gateway.url, body); // runs; Apollo registers the hash
      const registrations = async () => (await client.keys(`${prefix}*`)).filter((k) => k.includes(hash));
      expect(await registrations()).toHaveLength(1);
      expect((await post(gateway.url, body)).text).toBe(first.text); // a cached answer
      // The registration is gone (evicted, expired): the next cached answer registers it again.
      await client.del(...(await registrations()));
      expect((await post(gateway.url, body)).text).toBe(first.text);
      expect(await registrations()).toHaveLength(1);
    } finally {
      await gateway.close();
      client.disconnect();
      await redis.stop();
    }
  });
});

describe('leanCachedAnswers on its own', () => {
  const entry = { body: '{"data":{"x":1}}\n', cacheControl: 'public, max-age=31536000, immutable', operationName: 'X' };
  async function serverWith(admission: Admission) {
    const cache = new ResponseCache(1 << 20);
    const seen: { body: unknown; admission: unknown; error: unknown }[] = [];
    const app = express();
    app.post('/graphql', express.json(), leanBodyErrors(), (req, res) => {
      seen.push({ body: req.body, admission: res.locals.admission, error: undefined });
      res.json({ fromApp: true });
    });
    app.use(((error, _req, res, _next) => {
      seen.push({ body: undefined, admission: undefined, error });
      res.status(400).json({ error: (error as { type?: string }).type });
    }) as express.ErrorRequestHandler);
    const lean = leanCachedAnswers({
      endpointPath: '/graphql',
      maxBodyBytes: 1024,
      cache,
      admit: async () => admission,
      logRequest: requestLogging({ logger: createLogger('silent') }),
      onHit: () => undefined,
      vary: 'Accept',
    });
    const server = http.createServer((req, res) => lean(req, res, app));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    return { cache, seen, url, close: () => new Promise((resolve) => server.close(resolve)) };
  }
  const everyone: Admission = { principal: createPrincipal('a', '*'), callerKey: 'ip:x', allowed: true, retryAfterMs: 0 };

  it('serves an entry under the raw bytes without the app, and hands anything else to it with the body parsed', async () => {
    const s = await serverWith(everyone);
    try {
      const body = '{"query":"{ x }"}';
      s.cache.set(leanKeyOf('*', body), entry);
      const hit = await post(s.url, body);
      expect(hit.text).toBe(entry.body);
      expect(hit.headers['cache-control']).toBe(entry.cacheControl);
      expect(hit.headers.vary).toBe('Accept');
      expect(s.seen).toHaveLength(0);

      const miss = await post(s.url, '{"query":"{ y }"}');
      expect(JSON.parse(miss.text)).toEqual({ fromApp: true });
      expect(s.seen).toEqual([{ body: { query: '{ y }' }, admission: everyone, error: undefined }]);

      // Not eligible (too large, another content type): the app reads the body itself.
      const large = JSON.stringify({ query: '{ x }', pad: 'x'.repeat(2_000) });
      expect(JSON.parse((await post(s.url, large)).text)).toEqual({ fromApp: true });
      expect(s.seen.at(-1)!.body).toEqual(JSON.parse(large));
      const bad = await post(s.url, '"just a string"');
      expect(JSON.parse(bad.text)).toEqual({ error: 'entity.parse.failed' });
    } finally {
      await s.close();
    }
  });

  it('never serves a caller the rate limit refused, or one whose permissions differ', async () => {
    const refused = await serverWith({ ...everyone, allowed: false, retryAfterMs: 1000 });
    try {
      const body = '{"query":"{ x }"}';
      refused.cache.set(leanKeyOf('*', body), entry);
      expect(JSON.parse((await post(refused.url, body)).text)).toEqual({ fromApp: true });
    } finally {
      await refused.close();
    }
    const narrow = await serverWith({ ...everyone, principal: createPrincipal('b', new Set(['ccc-test'])) });
    try {
      const body = '{"query":"{ x }"}';
      narrow.cache.set(leanKeyOf('*', body), entry);
      expect(JSON.parse((await post(narrow.url, body)).text)).toEqual({ fromApp: true });
    } finally {
      await narrow.close();
    }
  });
});
