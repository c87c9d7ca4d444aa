/**
 * CORS as a browser enforces it: headless Chromium opens a page served by another local HTTP
 * server (another port: another origin) and calls the gateway from it with a JSON POST carrying
 * a bearer token, which forces a preflight. The listed origin gets its data; an unlisted one is
 * blocked by the browser after the preflight, and its POST never reaches the gateway. With
 * `credentials: 'include'`, the browser also wants CORS_CREDENTIALS.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Browser, BrowserContext } from 'playwright-core';
import type { Gateway } from '../../src/server/createGateway';
import { createLogger } from '../../src/server/logger';
import { SECRET, sign } from '../auth/tokens';
import { launchChromium } from '../helpers/chromium';
import { startTestGateway } from '../helpers/gateway';

jest.setTimeout(60_000);

const QUERY = 'query CorsProbe($id: ID!) { intervalInstanceReport(instanceId: $id, interval: DAILY) { statsTime } }';

interface FetchOutcome {
  ok: boolean;
  status?: number;
  body?: any;
  requestId?: string | null;
  error?: string;
}

/** A page origin: a tiny HTTP server with an empty page. */
async function startPageServer(): Promise<{ origin: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>another origin</title><p>a frontend on another origin</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The gateway's request log lines (method, path, status), to see what reached it. */
function requestLog(): { logger: ReturnType<typeof createLogger>; lines: { method: string; path: string; status: number }[] } {
  const lines: { method: string; path: string; status: number }[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const text of String(chunk).split('\n').filter(Boolean)) {
        const line = JSON.parse(text);
        if (line.msg === 'request') lines.push({ method: line.method, path: line.path, status: line.status });
      }
      done();
    },
  });
  return { logger: createLogger('info', stream), lines };
}

describe('CORS in headless Chromium', () => {
  let browser: Browser;
  let context: BrowserContext;
  let allowedPage: Awaited<ReturnType<typeof startPageServer>>;
  let otherPage: Awaited<ReturnType<typeof startPageServer>>;
  let gateway: Gateway;
  let log: ReturnType<typeof requestLog>;
  let token: string;

  beforeAll(async () => {
    allowedPage = await startPageServer();
    otherPage = await startPageServer();
    log = requestLog();
    // Authentication on: the bearer token must cross the origin boundary for data to come back.
    gateway = await startTestGateway(
      { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, CORS_ORIGINS: allowedPage.origin, LOG_LEVEL: 'info' },
      { logger: log.logger },
    );
    token = await sign({ ccc_instances: ['ccc-test'] });
    browser = await launchChromium();
    context = await browser.newContext();
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gateway?.close();
    await allowedPage?.close();
    await otherPage?.close();
  });

  /** Opens a page on `pageOrigin` and, from it, POSTs the query to `url` the way a frontend would. */
  async function fetchFrom(pageOrigin: string, url: string, credentials: 'omit' | 'include' = 'omit'): Promise<FetchOutcome> {
    const page = await context.newPage();
    try {
      await page.goto(`${pageOrigin}/`);
      expect(new URL(page.url()).origin).toBe(pageOrigin);
      return await page.evaluate(
        async ({ url, query, token, credentials }) => {
          try {
            const response = await fetch(url, {
              method: 'POST',
              credentials,
              headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
              body: JSON.stringify({ query, variables: { id: 'ccc-test' } }),
            });
            return { ok: true, status: response.status, body: await response.json(), requestId: response.headers.get('x-request-id') };
          } catch (error) {
            return { ok: false, error: String(error) };
          }
        },
        { url, query: QUERY, token, credentials },
      );
    } finally {
      await page.close();
    }
  }

  it('lets the listed origin call the gateway with a bearer token after a preflight, and read an exposed header', async () => {
    log.lines.length = 0;
    const outcome = await fetchFrom(allowedPage.origin, gateway.url);
    expect(outcome.error).toBeUndefined();
    expect(outcome.status).toBe(200);
    expect(outcome.body.errors).toBeUndefined();
    expect(outcome.body.data.intervalInstanceReport.length).toBeGreaterThan(0);
    expect(outcome.requestId).toMatch(/^[0-9a-f-]{36}$/); // readable only through Access-Control-Expose-Headers
    // The browser asked first (JSON and Authorization are not "simple"), then sent the POST.
    expect(log.lines.filter((l) => l.path === '/graphql').map((l) => `${l.method} ${l.status}`)).toEqual(['OPTIONS 204', 'POST 200']);
  });

  it('blocks an unlisted origin in the browser: the preflight is refused and the POST never sent', async () => {
    log.lines.length = 0;
    const outcome = await fetchFrom(otherPage.origin, gateway.url);
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/TypeError: Failed to fetch/);
    expect(log.lines.filter((l) => l.path === '/graphql').map((l) => `${l.method} ${l.status}`)).toEqual(['OPTIONS 403']);
  });

  it('with credentials: include, wants CORS_CREDENTIALS=true', async () => {
    const refused = await fetchFrom(allowedPage.origin, gateway.url, 'include');
    expect(refused.ok).toBe(false);

    const withCredentials = await startTestGateway({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, CORS_ORIGINS: allowedPage.origin, CORS_CREDENTIALS: 'true' });
    try {
      const outcome = await fetchFrom(allowedPage.origin, withCredentials.url, 'include');
      expect(outcome.error).toBeUndefined();
      expect(outcome.body.data.intervalInstanceReport.length).toBeGreaterThan(0);
    } finally {
      await withCredentials.close();
    }
  });
});
