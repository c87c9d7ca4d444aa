/**
 * The lean path of cached answers (src/server/leanCachedAnswers.ts) under hostile requests: for
 * a body whose answer is cached (final, or keyed by its plan), each variant is sent with a
 * Content-Length (the lean path reads it) and chunked (always the Express path), and both must
 * get the same status, headers and body. Whatever Express refuses, the lean path must refuse too.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { DAY_MS, HOUR_MS } from '../../src/reports/intervals';
import type { Gateway } from '../../src/server/createGateway';
import { SAFELIST_MANIFEST_PATH } from '../../src/server/persistedQueries/safelist';
import { SECRET, sign, unsignedToken } from '../auth/tokens';
import { startTestGateway } from '../helpers/gateway';

const NOW = Date.UTC(2026, 10, 26, 3, 30, 12, 345);
const DAY = NOW - (NOW % DAY_MS);
const CLOSED = `query Closed { intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, startTime: ${DAY - 3 * DAY_MS}, endTime: ${DAY - DAY_MS}) { statsTime closed inbound { callsOffered } } }`;
const openQuery = (end: number | string) =>
  `query Open($id: ID!) { intervalInstanceReport(instanceId: $id, interval: HOURLY, startTime: ${NOW - 5 * HOUR_MS}, endTime: ${end}) { statsTime closed inbound { callsOffered } } }`;
const OPEN_VARIABLES = `query Open($id: ID!, $end: Timestamp) { intervalInstanceReport(instanceId: $id, interval: HOURLY, startTime: ${NOW - 5 * HOUR_MS}, endTime: $end) { statsTime closed inbound { callsOffered } } }`;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** POST with a Content-Length (lean-eligible) or chunked (the Express path). */
function post(url: string, body: string, headers: Record<string, string | undefined>, chunked: boolean): Promise<Reply> {
  const all: Record<string, string> = { 'content-type': 'application/json' };
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) delete all[name];
    else all[name] = value;
  }
  if (!chunked) all['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers: all }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c) => chunks.push(c));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, text: Buffer.concat(chunks).toString() }));
    });
    request.on('error', reject);
    if (chunked) {
      request.write(body.slice(0, 5));
      request.end(body.slice(5));
    } else request.end(body);
  });
}

/** Headers that differ per request or per framing. */
const comparable = (reply: Reply) => {
  const { date: _d, 'x-request-id': _id, 'content-length': _l, 'transfer-encoding': _te, connection: _c, 'keep-alive': _k, etag: _e, ...rest } = reply.headers;
  return { status: reply.status, headers: rest, text: reply.text.replace(/"requestId":"[^"]*"/g, '"requestId":"<id>"') };
};

describe('the lean path refuses whatever the Express path refuses', () => {
  let gateway: Gateway;
  let wide: string;
  beforeAll(async () => {
    gateway = await startTestGateway(
      { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, CORS_ORIGINS: 'https://dash.example', RATE_LIMIT_PER_SECOND: '1000', RATE_LIMIT_BURST: '1000', MAX_DOCUMENT_BYTES: '2048' },
      { now: () => NOW },
    );
    wide = `Bearer ${await sign({ sub: 'hostile-wide', ccc_instances: '*' })}`;
    // Stored: a final answer (lean alias of these bytes) and plan-keyed open answers.
    for (const body of [
      JSON.stringify({ query: CLOSED }),
      JSON.stringify({ query: openQuery(NOW), variables: { id: 'ccc-test' } }),
      JSON.stringify({ query: OPEN_VARIABLES, variables: { id: 'ccc-test', end: NOW } }),
    ]) {
      const warm = await post(gateway.url, body, { authorization: wide }, false);
      expect(warm.status).toBe(200);
      expect(warm.text).not.toContain('"errors"');
    }
  });
  afterAll(() => gateway.close());

  const cachedCount = async () => {
    const text = await (await fetch(gateway.url.replace('/graphql', '/metrics'))).text();
    return Number(text.split('\n').find((l) => l.startsWith('ccc_gateway_operations_total{operation="cached",outcome="ok"} '))?.split(' ')[1] ?? 0);
  };

  /** Same answer with a Content-Length and chunked; returns the lean one. */
  async function same(body: string, headers: Record<string, string | undefined>): Promise<Reply> {
    const lean = await post(gateway.url, body, headers, false);
    const express = await post(gateway.url, body, headers, true);
    expect(comparable(lean)).toEqual(comparable(express));
    return lean;
  }

  it('is a hit for the warmed bodies (so the cases below do reach the lean path)', async () => {
    const before = await cachedCount();
    const reply = await post(gateway.url, JSON.stringify({ query: CLOSED }), { authorization: wide }, false);
    expect(reply.status).toBe(200);
    const open = await post(gateway.url, JSON.stringify({ query: openQuery(NOW + 1234), variables: { id: 'ccc-test' } }), { authorization: wide }, false);
    expect(open.status).toBe(200);
    expect(await cachedCount()).toBe(before + 2);
  });

  it.each([
    ['no token', undefined],
    ['a malformed token', 'Bearer nope'],
    ['a token signed with another secret', 'other'],
    ['an expired token', 'expired'],
    ['alg none', 'none'],
    ['Basic credentials', 'Basic dXNlcjpwYXNz'],
  ])('authentication: %s gets the same 401 and WWW-Authenticate', async (_name, kind) => {
    let authorization = kind;
    if (kind === 'other') authorization = `Bearer ${await sign({ ccc_instances: '*' }, new TextEncoder().encode('another-secret-0123456789-abcdefgh'))}`;
    if (kind === 'expired') authorization = `Bearer ${await sign({ ccc_instances: '*' }, undefined, { expiresIn: -60 })}`;
    if (kind === 'none') authorization = `Bearer ${unsignedToken({ ccc_instances: '*' })}`;
    for (const body of [JSON.stringify({ query: CLOSED }), JSON.stringify({ query: openQuery(NOW + 7), variables: { id: 'ccc-test' } })]) {
      const reply = await same(body, { authorization });
      expect(reply.status).toBe(401);
      expect(reply.headers['www-authenticate']).toMatch(/^Bearer/);
    }
  });

  it('permissions: a token without the instance gets FORBIDDEN, never the wide caller\'s answer', async () => {
    const narrow = `Bearer ${await sign({ sub: 'hostile-narrow', ccc_instances: ['ccc-demo-1'] })}`;
    for (const body of [JSON.stringify({ query: CLOSED }), JSON.stringify({ query: openQuery(NOW + 9), variables: { id: 'ccc-test' } })]) {
      const reply = await same(body, { authorization: narrow });
      expect(JSON.parse(reply.text).errors[0].extensions.code).toBe('FORBIDDEN');
    }
  });

  it('rate limit: a caller over it gets 429 with Retry-After on both paths', async () => {
    const limited = await startTestGateway({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '1' }, { now: () => NOW });
    try {
      const body = JSON.stringify({ query: CLOSED });
      expect((await post(limited.url, body, { authorization: `Bearer ${await sign({ sub: 'warm', ccc_instances: '*' })}` }, false)).status).toBe(200);
      const token = `Bearer ${await sign({ sub: 'hostile-rl', ccc_instances: '*' })}`;
      for (const chunked of [false, true]) {
        const replies = await Promise.all(Array.from({ length: 4 }, () => post(limited.url, body, { authorization: token }, chunked)));
        const refused = replies.filter((r) => r.status === 429);
        expect(refused.length).toBeGreaterThanOrEqual(2);
        for (const r of refused) {
          expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
          expect(JSON.parse(r.text).errors[0].extensions.code).toBe('RATE_LIMITED');
        }
        await new Promise((resolve) => setTimeout(resolve, 2_100)); // the bucket refills (the limiter's own clock)
      }
    } finally {
      await limited.close();
    }
  });

  it('budget of refused requests: a caller over it gets 429 on the lean path too', async () => {
    const budgeted = await startTestGateway({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, REJECTED_REQUESTS_PER_MINUTE: '3' }, { now: () => NOW });
    try {
      const body = JSON.stringify({ query: CLOSED });
      const token = `Bearer ${await sign({ sub: 'hostile-budget', ccc_instances: '*' })}`;
      expect((await post(budgeted.url, body, { authorization: token }, false)).status).toBe(200);
      for (let i = 0; i < 6; i++) await post(budgeted.url, JSON.stringify({ query: '{ nope' }), { authorization: token }, false);
      const lean = await post(budgeted.url, body, { authorization: token }, false);
      const express = await post(budgeted.url, body, { authorization: token }, true);
      expect(lean.status).toBe(429);
      expect(lean.headers['retry-after']).toBeDefined();
      expect(comparable(lean).status).toBe(comparable(express).status);
    } finally {
      await budgeted.close();
    }
  });

  it.each([
    ['an allowed origin', 'https://dash.example'],
    ['a disallowed origin', 'https://evil.example'],
    ['a lookalike origin', 'https://dash.example.evil.example'],
    ['the null origin', 'null'],
  ])('CORS: %s gets the same headers (no Access-Control-Allow-Origin unless allowed)', async (_name, origin) => {
    for (const body of [JSON.stringify({ query: CLOSED }), JSON.stringify({ query: openQuery(NOW + 11), variables: { id: 'ccc-test' } })]) {
      const reply = await same(body, { authorization: wide, origin });
      expect(reply.status).toBe(200);
      expect(reply.headers['access-control-allow-origin']).toBe(origin === 'https://dash.example' ? origin : undefined);
      expect(reply.headers.vary).toMatch(/^Origin, /);
    }
  });

  it.each([
    'application/json; charset=utf-8',
    'APPLICATION/JSON;charset="UTF-8"',
    'application/json ; charset = utf-8',
    'application/json; charset="utf-8',
    'application/json; charset=utf-8"',
    'application/json; charset=latin1',
    'application/json; charset=utf-16',
    'application/graphql',
    'text/plain',
    'text/plain; charset=utf-8',
    'multipart/form-data; boundary=x',
    'application/x-www-form-urlencoded',
  ])('content type %s: the same answer', async (type) => {
    await same(JSON.stringify({ query: CLOSED }), { authorization: wide, 'content-type': type });
  });

  it('a body over the 256 kB limit gets the same 413', async () => {
    const body = JSON.stringify({ query: CLOSED }) + ' '.repeat(300 * 1024);
    // Both are the Express path's (a chunked body's size is unknown until read: its message says so).
    for (const chunked of [false, true]) {
      const reply = await post(gateway.url, body, { authorization: wide }, chunked);
      expect(reply.status).toBe(413);
      expect(JSON.parse(reply.text).errors[0].message).toMatch(/at most 262144 are allowed/);
    }
  });

  it('duplicate keys, __proto__ keys, arrays (batches): the same answer', async () => {
    const closed = JSON.stringify(CLOSED);
    for (const body of [
      `{"query":"{ __typename }","query":${closed}}`,
      `{"query":${closed},"query":"{ __typename }"}`,
      `{"query":${closed},"__proto__":{"query":"{ __typename }"}}`,
      `{"__proto__":{"query":${closed}}}`,
      `{"query":${closed},"variables":{"__proto__":{"x":1}}}`,
      `{"query":${JSON.stringify(openQuery(NOW + 13))},"variables":{"id":"ccc-test","__proto__":{"id":"ccc-demo-1"}}}`,
      `{"query":${JSON.stringify(OPEN_VARIABLES)},"variables":{"__proto__":{"id":"ccc-test"},"end":${NOW}}}`,
      `[{"query":${closed}}]`,
      `[{"query":${closed}},{"query":${closed}}]`,
      `{"query":${closed},"operationName":"Closed","operationName":"Other"}`,
      `{"query":${closed},"variables":null,"operationName":null}`,
      `{"query":${closed},"variables":[]}`,
      `{"query":${closed},"extensions":{}}`,
      `  \n{"query":${closed}}\n  `,
      `\ufeff{"query":${closed}}`,
      '',
      '   ',
      'null',
      `"${'x'.repeat(10)}"`,
      `{"query":${closed}} {"query":${closed}}`,
    ]) {
      await same(body, { authorization: wide });
    }
  });

  it('many variables, and variables nested deeper than the limit: the same answer', async () => {
    const many = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`x${i}`, i]));
    await same(JSON.stringify({ query: OPEN_VARIABLES, variables: { id: 'ccc-test', end: NOW, ...many } }), { authorization: wide });
    // Nested far deeper than MAX_JSON_DEPTH (and than any recursive JSON.stringify can go).
    const deep = `${'['.repeat(60_000)}${']'.repeat(60_000)}`;
    for (const body of [
      `{"query":${JSON.stringify(OPEN_VARIABLES)},"variables":{"id":"ccc-test","end":${NOW},"x":${deep}}}`,
      `{"query":${JSON.stringify(OPEN_VARIABLES)},"variables":{"id":"ccc-test","end":${deep}}}`,
      `{"query":${JSON.stringify(CLOSED)},"variables":{"x":${deep}}}`,
    ]) {
      const reply = await same(body, { authorization: wide });
      expect(reply.status).toBe(400);
    }
  });

  it('document limits: a plan-keyed text over MAX_DOCUMENT_BYTES gets the same 413', async () => {
    // A text just under the limit, stored; the same with a longer range end crosses it.
    const base = openQuery(NOW);
    const padded = (end: number | string) => `${openQuery(end)}${' '.repeat(2048 - Buffer.byteLength(base) - 2)}`;
    const warm = await post(gateway.url, JSON.stringify({ query: padded(NOW), variables: { id: 'ccc-test' } }), { authorization: wide }, false);
    expect(warm.status).toBe(200);
    const reply = await same(JSON.stringify({ query: padded('"2026-11-26T11:30:12.999+08:00"'), variables: { id: 'ccc-test' } }), { authorization: wide });
    expect(reply.status).toBe(413);
    // Literals GraphQL cannot parse (a leading zero) are a syntax error, not the stored answer.
    const zero = await same(JSON.stringify({ query: openQuery(`0${NOW + 5}`), variables: { id: 'ccc-test' } }), { authorization: wide });
    expect(JSON.parse(zero.text).errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('Accept: the Content-Type Apollo would negotiate, and its 406', async () => {
    for (const accept of ['application/graphql-response+json,application/json;q=0.9', 'application/graphql-response+json', '*/*', 'application/*', 'text/html', 'application/json;q=0']) {
      for (const body of [JSON.stringify({ query: CLOSED }), JSON.stringify({ query: openQuery(NOW + 17), variables: { id: 'ccc-test' } })]) {
        await same(body, { authorization: wide, accept });
      }
    }
  });
});

describe('the lean path under PERSISTED_QUERIES=safelist', () => {
  it('serves listed texts again and refuses unlisted ones (also ones whose only difference is a range end)', async () => {
    const manifest = JSON.parse(readFileSync(SAFELIST_MANIFEST_PATH, 'utf8')) as Record<string, string>;
    const listed = Object.values(manifest).find((text) => text.startsWith('query DailySummary'))!;
    const gateway = await startTestGateway({ PERSISTED_QUERIES: 'safelist' }, { now: () => NOW });
    try {
      const variables = { instanceId: 'ccc-test', startTime: DAY - 3 * DAY_MS, endTime: NOW };
      const body = JSON.stringify({ query: listed, variables });
      const first = await post(gateway.url, body, {}, false);
      expect(first.status).toBe(200);
      expect(first.text).not.toContain('"errors"');
      expect(comparable(await post(gateway.url, body, {}, false))).toEqual(comparable(first));
      // The listed text with its range ends inline: another text, not listed.
      const inline = listed.replace(/\$startTime\b(?!:)/, String(DAY - 3 * DAY_MS)).replace(/\$endTime\b(?!:)/, String(NOW + 1));
      expect(inline).not.toBe(listed);
      for (const query of [inline, `${listed} `, 'query Unlisted($id: ID!) { callCenterInstance(id: $id) { id } }']) {
        for (const chunked of [false, true]) {
          for (let i = 0; i < 2; i++) {
            const refused = await post(gateway.url, JSON.stringify({ query, variables }), {}, chunked);
            if (query === `${listed} `) expect(refused.status).toBe(200); // layout is normalized by the safelist
            else expect([refused.status, JSON.parse(refused.text).errors[0].extensions.code]).toEqual([403, 'PERSISTED_QUERY_NOT_IN_SAFELIST']);
          }
        }
      }
    } finally {
      await gateway.close();
    }
  });
});
