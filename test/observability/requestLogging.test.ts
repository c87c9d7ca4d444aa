import express from 'express';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../src/server/logger';
import {
  acceptRequestId,
  LOCALS_OPERATION_NAME,
  requestIdOf,
  requestLoggerOf,
  requestLogging,
} from '../../src/server/observability/requestLogging';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SECRET_TOKEN = 'Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.sig';
const SECRET_VARIABLE = 'variable-value-7f3a';

describe('request logging', () => {
  let server: Server;
  let base: string;
  let raw: string[];
  const lines = () => raw.map((line) => JSON.parse(line) as Record<string, any>);
  const requestLines = () => lines().filter((line) => line.msg === 'request');

  beforeAll(async () => {
    raw = [];
    const logger = createLogger('info', { write: (line: string) => void raw.push(line) });
    const app = express();
    app.use(requestLogging({ logger }));
    app.post('/graphql', express.json(), (req, res) => {
      requestLoggerOf(res, logger).info({ step: 'resolving' }, 'inside the handler');
      res.json({ requestId: requestIdOf(res), data: { ok: true } });
    });
    app.get('/graphql', (_req, res) => {
      res.json({ data: { ok: true } });
    });
    app.get('/named', (_req, res) => {
      res.locals[LOCALS_OPERATION_NAME] = 'FromPlugin';
      res.status(418).end();
    });
    app.get('/healthz', (_req, res) => {
      res.json({ status: 'ok' });
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => {
    raw.length = 0;
  });

  /** The request line is written on `finish`, which may come just after the client has the body. */
  async function settle(count = 1) {
    for (let i = 0; i < 50 && requestLines().length < count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('keeps a sane x-request-id, echoes it, and puts it on every line of the request', async () => {
    const response = await post({ query: '{ ok }' }, { 'x-request-id': 'req-1.A_b' });
    expect(response.headers.get('x-request-id')).toBe('req-1.A_b');
    expect(((await response.json()) as any).requestId).toBe('req-1.A_b');
    await settle();
    const [inside, line] = lines();
    expect(inside).toMatchObject({ requestId: 'req-1.A_b', step: 'resolving', msg: 'inside the handler' });
    expect(line).toMatchObject({ level: 30, requestId: 'req-1.A_b', method: 'POST', path: '/graphql', status: 200, msg: 'request' });
    expect(typeof line.durationMs).toBe('number');
    expect(line.durationMs).toBeGreaterThanOrEqual(0);
  });

  it.each([
    ['absent', undefined],
    ['with a space', 'two words'],
    ['with quotes', 'a"b'],
    ['129 characters', 'x'.repeat(129)],
    ['empty', ''],
    ['non-ASCII', 'idé'],
  ])('generates a UUID when x-request-id is %s', async (_what, header) => {
    const headers: Record<string, string> = header === undefined ? {} : { 'x-request-id': header };
    // node:http rather than fetch: it sends any Latin-1 header value as it is.
    const id = await new Promise<string>((resolve, reject) => {
      http
        .get(`${base}/graphql?query=%7Bok%7D`, { headers }, (response) => {
          response.resume();
          resolve(String(response.headers['x-request-id']));
        })
        .on('error', reject);
    });
    expect(id).toMatch(UUID);
    await settle();
    expect(requestLines()[0].requestId).toBe(id);
  });

  it('accepts exactly the sane tokens', () => {
    expect(acceptRequestId('abc-DEF_1.2')).toBe('abc-DEF_1.2');
    expect(acceptRequestId('x'.repeat(128))).toBe('x'.repeat(128));
    expect(acceptRequestId('x'.repeat(129))).toBeUndefined();
    expect(acceptRequestId('a\nb')).toBeUndefined();
    expect(acceptRequestId('a b')).toBeUndefined();
    expect(acceptRequestId(['a', 'b'])).toBeUndefined();
    expect(acceptRequestId(undefined)).toBeUndefined();
  });

  it('logs the operation name, never the authorization header, variables or the query', async () => {
    await post(
      { query: 'query Dashboard($id: ID!) { ok }', operationName: 'Dashboard', variables: { id: SECRET_VARIABLE } },
      { authorization: SECRET_TOKEN, cookie: 'session=s3cr3t' },
    );
    await fetch(`${base}/graphql?query=%7Bok%7D&operationName=Viaget&variables=%7B%22id%22%3A%22${SECRET_VARIABLE}%22%7D`, {
      headers: { authorization: SECRET_TOKEN },
    });
    await settle(2);
    const [postLine, getLine] = requestLines();
    expect(postLine).toMatchObject({ method: 'POST', path: '/graphql', operationName: 'Dashboard' });
    expect(getLine).toMatchObject({ method: 'GET', path: '/graphql', operationName: 'Viaget' });
    const all = raw.join('\n');
    expect(all).not.toContain('eyJhbGciOiJIUzI1NiJ9');
    expect(all).not.toContain(SECRET_VARIABLE);
    expect(all).not.toContain('s3cr3t');
    expect(all).not.toContain('{ ok }');
    expect(all.toLowerCase()).not.toContain('authorization');
    for (const line of lines()) expect(Object.keys(line)).not.toEqual(expect.arrayContaining(['headers', 'req', 'body', 'variables']));
  });

  it('logs only a sane operation name, and prefers one a handler set', async () => {
    await post({ query: '{ ok }', operationName: 'not a name; rm -rf' });
    await fetch(`${base}/named?operationName=Ignored`);
    await settle(2);
    const [bad, named] = requestLines();
    expect(bad.operationName).toBeUndefined();
    expect(named).toMatchObject({ path: '/named', status: 418, operationName: 'FromPlugin' });
  });

  it('logs probes at debug only', async () => {
    await fetch(`${base}/healthz`);
    await post({ query: '{ ok }' });
    await settle(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(requestLines().map((line) => line.path)).toEqual(['/graphql']);
  });
});

describe('request logging at debug level', () => {
  it('still writes probe lines, at debug', async () => {
    const raw: string[] = [];
    const logger = createLogger('debug', { write: (line: string) => void raw.push(line) });
    const app = express();
    app.use(requestLogging({ logger }));
    app.get('/readyz', (_req, res) => {
      res.json({ status: 'ready' });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`);
      for (let i = 0; i < 50 && raw.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(JSON.parse(raw[0])).toMatchObject({ level: 20, path: '/readyz', status: 200, msg: 'request' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
