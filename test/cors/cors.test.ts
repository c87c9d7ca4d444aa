/**
 * CORS over plain HTTP: CORS_ORIGINS and CORS_CREDENTIALS as configuration, and the headers the
 * endpoint answers preflights and requests with, for allowed, unlisted and absent origins.
 * (test/cors/corsBrowser.test.ts shows a real browser obeying them.)
 */
import http from 'node:http';
import { loadConfig } from '../../src/config/config';
import { DEVELOPMENT_CORS_ORIGINS, originMatcher, parseCorsOrigins } from '../../src/config/corsOrigins';
import type { Gateway } from '../../src/server/createGateway';
import { CORS_ALLOWED_HEADERS } from '../../src/server/cors';
import { startTestGateway } from '../helpers/gateway';

const APP = 'https://app.example.com';
const STRANGER = 'https://evil.example.net';
const PRODUCTION = { NODE_ENV: 'production', CCC_EMULATOR: 'true', AUTH_ALLOW_OFF_IN_PRODUCTION: 'true' };

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** node:http: fetch would refuse to set `Origin` the way a browser does. */
function request(url: string, method: string, headers: Record<string, string> = {}, body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function preflight(url: string, origin: string, requestHeaders = 'authorization,content-type'): Promise<RawResponse> {
  return request(url, 'OPTIONS', { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': requestHeaders });
}

function post(url: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return request(url, 'POST', { 'content-type': 'application/json', ...headers }, JSON.stringify({ query: '{ __typename }' }));
}

const corsHeaders = (res: RawResponse) => Object.keys(res.headers).filter((name) => name.startsWith('access-control-'));
const varyOf = (res: RawResponse) => String(res.headers.vary ?? '').split(',').map((v) => v.trim().toLowerCase());

describe('CORS configuration', () => {
  it('allows loopback origins on any port by default outside production, none in production', () => {
    expect(loadConfig({}).cors).toEqual({ origins: DEVELOPMENT_CORS_ORIGINS, credentials: false });
    expect(loadConfig({ NODE_ENV: 'test' }).cors.origins).toEqual(DEVELOPMENT_CORS_ORIGINS);
    expect(loadConfig(PRODUCTION).cors).toEqual({ origins: [], credentials: false });
    expect(loadConfig({ ...PRODUCTION, CORS_ORIGINS: '' }).cors.origins).toEqual([]); // empty = unset
  });

  it('takes a comma-separated list, normalized to what browsers send; `none` switches the development default off', () => {
    expect(loadConfig({ ...PRODUCTION, CORS_ORIGINS: ` ${APP} , https://Ops.Example.com:443/,http://localhost:*` }).cors.origins).toEqual([
      APP,
      'https://ops.example.com',
      'http://localhost:*',
    ]);
    expect(loadConfig({ CORS_ORIGINS: 'none' }).cors.origins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: `${APP},${APP}/` }).cors.origins).toEqual([APP]);
    expect(parseCorsOrigins('http://[::1]:*,http://127.0.0.1:8080')).toEqual(['http://[::1]:*', 'http://127.0.0.1:8080']);
  });

  it('CORS_CREDENTIALS turns Access-Control-Allow-Credentials on', () => {
    expect(loadConfig({ CORS_ORIGINS: APP, CORS_CREDENTIALS: 'true' }).cors).toEqual({ origins: [APP], credentials: true });
    expect(() => loadConfig({ CORS_CREDENTIALS: 'sometimes' })).toThrow(/CORS_CREDENTIALS/);
  });

  it.each([
    ['*', /wildcard/],
    ['https://*.example.com', /only the port may be/],
    ['app.example.com', /not an origin/],
    ['https://app.example.com/graphql', /without path/],
    ['https://app.example.com?x=1', /without path, query/],
    ['https://user:pw@app.example.com', /credentials/],
    ['ftp://files.example.com', /http\(s\)/],
  ])('refuses %s, naming CORS_ORIGINS', (value, reason) => {
    expect(() => loadConfig({ CORS_ORIGINS: value })).toThrow(/CORS_ORIGINS/);
    expect(() => parseCorsOrigins(value)).toThrow(reason);
  });

  it('reports every bad entry at once', () => {
    expect(() => parseCorsOrigins(`${APP},app.example.org,https://x.example.com/path`)).toThrow(/"app\.example\.org".*; "https:\/\/x\.example\.com\/path"/);
  });
});

describe('origin matching', () => {
  const allowed = originMatcher([APP, 'http://localhost:*']);

  it('matches listed origins exactly, and any port where the port is `*`', () => {
    expect(allowed(APP)).toBe(true);
    expect(allowed('http://localhost:5173')).toBe(true);
    expect(allowed('http://localhost:3000')).toBe(true);
    expect(allowed('http://localhost')).toBe(true);
  });

  it('matches nothing else: other scheme, port, host or suffix, `null`, garbage', () => {
    for (const origin of ['http://app.example.com', 'https://app.example.com:8443', 'https://app.example.com.evil.net', 'https://localhost:5173', 'http://localhost.evil.net:3000', 'null', '', 'http://localhost:5173/x']) {
      expect(allowed(origin)).toBe(false);
    }
  });
});

describe('CORS on the endpoint', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ CORS_ORIGINS: `${APP},http://localhost:*` });
  });
  afterAll(() => gateway.close());

  it('answers an allowed preflight: origin, methods, the headers clients send, max-age, Vary', async () => {
    const res = await preflight(gateway.url, APP, 'content-type,authorization,apollo-require-preflight,x-apollo-operation-name,x-request-id,x-gateway-debug');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-allow-methods']).toBe('GET,POST');
    expect(String(res.headers['access-control-allow-headers']).split(',')).toEqual(CORS_ALLOWED_HEADERS);
    expect(CORS_ALLOWED_HEADERS).toEqual(
      expect.arrayContaining(['content-type', 'authorization', 'apollo-require-preflight', 'x-apollo-operation-name', 'x-request-id', 'x-gateway-debug']),
    );
    expect(res.headers['access-control-max-age']).toBe('600');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(varyOf(res)).toContain('origin');

    const devServer = await preflight(gateway.url, 'http://localhost:5173');
    expect(devServer.headers['access-control-allow-origin']).toBe('http://localhost:5173');
  });

  it('refuses an unlisted origin\'s preflight with no CORS header at all', async () => {
    const res = await preflight(gateway.url, STRANGER);
    expect(res.status).toBe(403);
    expect(corsHeaders(res)).toEqual([]);
    expect(varyOf(res)).toContain('origin');
  });

  it('marks an allowed origin\'s answer readable, with the headers a page may read', async () => {
    const res = await post(gateway.url, { origin: APP });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ data: { __typename: 'Query' } });
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(String(res.headers['access-control-expose-headers'])).toContain('x-request-id');
    expect(varyOf(res)).toContain('origin');
  });

  it('gives an unlisted origin and a caller without Origin no CORS header, and Vary: Origin all the same', async () => {
    const stranger = await post(gateway.url, { origin: STRANGER });
    expect(corsHeaders(stranger)).toEqual([]);
    expect(varyOf(stranger)).toContain('origin');
    const server = await post(gateway.url);
    expect(JSON.parse(server.body)).toEqual({ data: { __typename: 'Query' } });
    expect(corsHeaders(server)).toEqual([]);
    expect(varyOf(server)).toContain('origin');
  });

  it('covers the GraphQL endpoint only, not probes and metrics', async () => {
    const origin = new URL(gateway.url).origin;
    for (const path of ['/healthz', '/metrics']) {
      expect(corsHeaders(await request(`${origin}${path}`, 'GET', { origin: APP }))).toEqual([]);
    }
  });
});

describe('CORS_CREDENTIALS=true', () => {
  it('adds Access-Control-Allow-Credentials to preflights and answers of allowed origins only', async () => {
    const gateway = await startTestGateway({ CORS_ORIGINS: APP, CORS_CREDENTIALS: 'true' });
    try {
      const allowed = await preflight(gateway.url, APP);
      expect(allowed.headers['access-control-allow-credentials']).toBe('true');
      // With credentials, `*` is not allowed by browsers: the origin itself is named.
      expect(allowed.headers['access-control-allow-origin']).toBe(APP);
      expect((await post(gateway.url, { origin: APP })).headers['access-control-allow-credentials']).toBe('true');
      expect(corsHeaders(await post(gateway.url, { origin: STRANGER }))).toEqual([]);
    } finally {
      await gateway.close();
    }
  });
});

describe('CORS in production by default', () => {
  it('allows no origin: no CORS header, not even for localhost', async () => {
    const gateway = await startTestGateway(PRODUCTION);
    try {
      for (const origin of [APP, 'http://localhost:5173']) {
        const res = await preflight(gateway.url, origin);
        expect(corsHeaders(res)).toEqual([]);
        expect(corsHeaders(await post(gateway.url, { origin }))).toEqual([]);
      }
    } finally {
      await gateway.close();
    }
  });
});
