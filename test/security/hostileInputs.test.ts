/**
 * Hostile inputs, each with its expected error code, against a gateway with JWT auth on, while
 * a well-behaved client keeps being served.
 */
import { DAY_MS } from '../../src/reports/intervals';
import type { Gateway } from '../../src/server/createGateway';
import { SECRET, sign, unsignedToken } from '../auth/tokens';
import { startTestGateway } from '../helpers/gateway';
import { hostileDocuments } from '../helpers/hostileDocuments';

const NOW = Date.UTC(2026, 10, 26, 3, 30);
const day = NOW - (NOW % DAY_MS);

interface Case {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  token?: string | null; // undefined: the good token; null: no header
  header?: string;
  code: string;
  message?: RegExp;
  /** HTTP status of the answer, when the whole request is refused. */
  status?: number;
  /** `variables` as raw JSON text (JSON.stringify cannot write 10,000 levels; attackers can). */
  rawVariables?: string;
}

describe('hostile inputs', () => {
  let gateway: Gateway;
  let good: string;
  const post = async (query: string, variables?: object, authorization?: string | null, rawVariables?: string) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authorization) headers.authorization = authorization;
    const body = rawVariables === undefined ? JSON.stringify({ query, variables }) : `{"query":${JSON.stringify(query)},"variables":${rawVariables}}`;
    const response = await fetch(gateway.url, { method: 'POST', headers, body });
    return { status: response.status, body: (await response.json()) as any };
  };
  const entities = `query($r: [_Any!]!) { _entities(representations: $r) { ... on CallCenterInstance { id } } }`;
  const deeplyNested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

  beforeAll(async () => {
    gateway = await startTestGateway(
      { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_JWT_AUDIENCE: 'ccc-reports', RATE_LIMIT_PER_SECOND: '0', MAX_BUCKETS_PER_FIELD: '5000' },
      { now: () => NOW },
    );
    good = await sign({ aud: 'ccc-reports', ccc_instances: ['ccc-test'] });
  });
  afterAll(() => gateway.close());

  const report = (args: string, selection = 'statsTime') => `{ intervalInstanceReport(${args}) { ${selection} } }`;
  const range = `startTime: ${day - 2 * DAY_MS}, endTime: ${day - DAY_MS}`;

  const cases = (): Case[] => [
    { name: 'instance id with *', query: report(`instanceId: "ccc-*"`), code: 'BAD_USER_INPUT', message: /not a call center instance id/ },
    { name: 'instance id {}', query: report(`instanceId: "{}"`), code: 'BAD_USER_INPUT' },
    { name: 'instance id with a hash tag', query: report(`instanceId: "ccc-test}{x"`), code: 'BAD_USER_INPUT' },
    { name: 'instance id with a newline', query: `query($id: ID!) { intervalInstanceReport(instanceId: $id) { statsTime } }`, variables: { id: 'ccc-test\nFLUSHALL' }, code: 'BAD_USER_INPUT' },
    { name: 'instance id of 10 kB', query: `query($id: ID!) { intervalInstanceReport(instanceId: $id) { statsTime } }`, variables: { id: 'c'.repeat(10_240) }, code: 'BAD_USER_INPUT' },
    { name: 'instance id __proto__', query: report(`instanceId: "__proto__"`), code: 'BAD_USER_INPUT' },
    { name: 'path traversal id', query: report(`instanceId: "../../etc"`), code: 'BAD_USER_INPUT' },
    { name: 'empty id', query: report(`instanceId: ""`), code: 'BAD_USER_INPUT' },
    { name: 'forbidden instance', query: report(`instanceId: "ccc-demo-1", ${range}`), code: 'FORBIDDEN', message: /^not allowed to read call center instance ccc-demo-1$/ },
    { name: 'forbidden unknown instance (same answer as existing)', query: report(`instanceId: "ccc-nope", ${range}`), code: 'FORBIDDEN', message: /^not allowed to read call center instance ccc-nope$/ },
    {
      name: '_entities for a forbidden id',
      query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on CallCenterInstance { intervalReports(${range}) { statsTime } } } }`,
      variables: { r: [{ __typename: 'CallCenterInstance', id: 'ccc-demo-2' }] },
      code: 'FORBIDDEN',
    },
    { name: 'nested entity field for a forbidden id', query: `{ callCenterInstance(id: "ccc-demo-3") { summary(${range}) { statsTime } } }`, code: 'FORBIDDEN' },
    { name: 'combined report with one forbidden id', query: `{ combinedIntervalReport(instanceIds: ["ccc-test", "ccc-demo-4"], ${range}) { statsTime } }`, code: 'FORBIDDEN' },
    { name: 'startTime after endTime', query: report(`instanceId: "ccc-test", startTime: ${day}, endTime: ${day - DAY_MS}`), code: 'BAD_USER_INPUT', message: /after endTime/ },
    { name: 'future start', query: report(`instanceId: "ccc-test", startTime: ${NOW + DAY_MS}`), code: 'BAD_USER_INPUT', message: /future/ },
    { name: 'negative timestamp', query: report(`instanceId: "ccc-test", startTime: -1, endTime: 1000`), code: 'BAD_USER_INPUT', message: /negative/ },
    { name: 'epoch seconds instead of milliseconds', query: report(`instanceId: "ccc-test", startTime: 1764000000`), code: 'BAD_USER_INPUT', message: /looks like epoch seconds/ },
    { name: 'NaN as a string', query: report(`instanceId: "ccc-test", startTime: "NaN"`), code: 'BAD_USER_INPUT' },
    { name: 'non-integer milliseconds', query: `query($s: Timestamp) { intervalInstanceReport(instanceId: "ccc-test", startTime: $s) { statsTime } }`, variables: { s: 1.5 }, code: 'BAD_USER_INPUT' },
    { name: 'an impossible date (February 30)', query: report(`instanceId: "ccc-test", startTime: "2026-02-30T00:00:00Z"`), code: 'BAD_USER_INPUT', message: /not a valid date-time/ },
    { name: 'year 99999', query: report(`instanceId: "ccc-test", startTime: 3093527980800000`), code: 'BAD_USER_INPUT', message: /out of range/ },
    { name: 'absurd range (10 years hourly)', query: report(`instanceId: "ccc-test", interval: HOURLY, startTime: ${NOW - 3650 * DAY_MS}`), code: 'BAD_USER_INPUT', message: /at most 5000/ },
    { name: 'unknown enum value as a literal', query: report(`instanceId: "ccc-test", interval: YEARLY`), code: 'BAD_USER_INPUT' },
    { name: 'unknown enum value as a variable', query: `query($i: ReportInterval) { intervalInstanceReport(instanceId: "ccc-test", interval: $i) { statsTime } }`, variables: { i: 'YEARLY' }, code: 'BAD_USER_INPUT' },
    { name: 'unknown time zone', query: report(`instanceId: "ccc-test", timeZone: "Mars/Olympus"`), code: 'BAD_USER_INPUT' },
    { name: 'a 10 kB time zone', query: `query($z: String) { intervalInstanceReport(instanceId: "ccc-test", timeZone: $z) { statsTime } }`, variables: { z: 'Z'.repeat(10_240) }, code: 'BAD_USER_INPUT' },
    { name: 'half-hour time zone', query: report(`instanceId: "ccc-test", interval: DAILY, timeZone: "Asia/Kolkata", ${range}`), code: 'BAD_USER_INPUT' },
    { name: '101 instances', query: `{ combinedIntervalReport(instanceIds: [${Array.from({ length: 101 }, (_, i) => `"ccc-sim-${i}"`).join(',')}]) { statsTime } }`, code: 'BAD_USER_INPUT' },
    { name: 'duplicated instance ids', query: `{ combinedIntervalReport(instanceIds: ["ccc-test", "ccc-test"]) { statsTime } }`, code: 'BAD_USER_INPUT' },
    { name: '1,000 aliases', query: `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: __typename`).join(' ')} }`, code: 'OPERATION_TOO_EXPENSIVE' },
    { name: '60 aliased report fields', query: `{ ${Array.from({ length: 60 }, (_, i) => `a${i}: intervalInstanceReport(instanceId: "ccc-test") { statsTime }`).join(' ')} }`, code: 'OPERATION_TOO_EXPENSIVE', message: /Aliases limit of 50 exceeded, found 60/ },
    { name: 'deep nesting', query: `{ callCenterInstance(id: "ccc-test") { ${'a { '.repeat(12)}b${' }'.repeat(12)} } }`, code: 'OPERATION_TOO_EXPENSIVE', message: /depth limit of 10 exceeded, found 14/, status: 400 },
    { name: '51 directives', query: `{ __typename ${'@include(if: true) '.repeat(51)}}`, code: 'OPERATION_TOO_EXPENSIVE', message: /Directives limit of 50/, status: 400 },
    { name: '2,001 tokens', query: `{ ${'a '.repeat(1999)}}`, code: 'OPERATION_TOO_EXPENSIVE', message: /2000 tokens/, status: 400 },
    // Issue 10: every hostile document we can build within MAX_DOCUMENT_BYTES, refused before it is expensive.
    ...hostileDocuments().map((d) => ({ name: `document: ${d.name}`, query: d.query, variables: d.variables, code: d.code, status: 400 })),
    // A representation is {__typename, id: string}: anything else is refused as a whole (400).
    { name: 'representation with a numeric id', query: entities, variables: { r: [{ __typename: 'CallCenterInstance', id: 5 }] }, code: 'BAD_USER_INPUT', message: /"id" as a string, not a number/, status: 400 },
    { name: 'representation with an object id', query: entities, variables: { r: [{ __typename: 'CallCenterInstance', id: {} }] }, code: 'BAD_USER_INPUT', message: /not an object/, status: 400 },
    { name: 'representation with a null id', query: entities, variables: { r: [{ __typename: 'CallCenterInstance', id: null }] }, code: 'BAD_USER_INPUT', status: 400 },
    { name: 'representation without an id', query: entities, variables: { r: [{ __typename: 'CallCenterInstance' }] }, code: 'BAD_USER_INPUT', status: 400 },
    { name: 'representation that is a number', query: entities, variables: { r: [5] }, code: 'BAD_USER_INPUT', status: 400 },
    { name: 'representation of an unknown type', query: entities, variables: { r: [{ __typename: 'Nope', id: 'ccc-test' }] }, code: 'BAD_USER_INPUT', status: 400 },
    { name: 'representation literal with a numeric id', query: `{ _entities(representations: [{ __typename: "CallCenterInstance", id: 5 }]) { __typename } }`, code: 'BAD_USER_INPUT', status: 400 },
    {
      name: 'representation id nested 10,000 deep',
      query: entities,
      rawVariables: `{"r":[{"__typename":"CallCenterInstance","id":${deeplyNested(10_000)}}]}`,
      code: 'BAD_USER_INPUT',
      message: /nested more than 32 levels/,
      status: 400,
    },
    { name: 'variables nested 10,000 deep', query: report(`instanceId: "ccc-test"`), rawVariables: `{"unused":${deeplyNested(10_000)}}`, code: 'BAD_USER_INPUT', status: 400 },
    { name: 'a list variable nested 100,000 deep', query: entities, rawVariables: `{"r":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, code: 'BAD_USER_INPUT', status: 400 },
    { name: 'variables nested 33 deep', query: report(`instanceId: "ccc-test"`), rawVariables: `{"unused":${deeplyNested(32)}}`, code: 'BAD_USER_INPUT', status: 400 },
    { name: 'a 20 kB document', query: `{ __typename ${' '.repeat(20_000)} }`, code: 'OPERATION_TOO_EXPENSIVE', message: /bytes/ },
    { name: 'no token', query: report(`instanceId: "ccc-test"`), token: null, code: 'UNAUTHENTICATED' },
    { name: 'Basic scheme', query: report(`instanceId: "ccc-test"`), header: 'Basic dXNlcjpwYXNz', code: 'UNAUTHENTICATED' },
    { name: 'garbage token', query: report(`instanceId: "ccc-test"`), header: 'Bearer not.a.jwt', code: 'UNAUTHENTICATED' },
    { name: 'forged token (wrong secret)', query: report(`instanceId: "ccc-test"`), token: 'FORGED', code: 'UNAUTHENTICATED' },
    { name: 'expired token', query: report(`instanceId: "ccc-test"`), token: 'EXPIRED', code: 'UNAUTHENTICATED' },
    { name: 'wrong audience', query: report(`instanceId: "ccc-test"`), token: 'WRONG_AUD', code: 'UNAUTHENTICATED' },
    { name: 'alg: none', query: report(`instanceId: "ccc-test"`), token: 'NONE', code: 'UNAUTHENTICATED' },
    { name: 'claims * inside an array (not a wildcard)', query: report(`instanceId: "ccc-demo-1", ${range}`), token: 'STAR_IN_ARRAY', code: 'FORBIDDEN' },
  ];

  async function tokenFor(name: string | null | undefined): Promise<string | null> {
    switch (name) {
      case undefined:
        return good;
      case null:
        return null;
      case 'FORGED':
        return sign({ aud: 'ccc-reports', ccc_instances: '*' }, new TextEncoder().encode('another-secret-0123456789-abcdefgh'));
      case 'EXPIRED':
        return sign({ aud: 'ccc-reports', ccc_instances: '*' }, undefined, { expiresIn: -3600 });
      case 'WRONG_AUD':
        return sign({ aud: 'someone-else', ccc_instances: '*' });
      case 'NONE':
        return unsignedToken({ aud: 'ccc-reports', ccc_instances: '*' });
      case 'STAR_IN_ARRAY':
        return sign({ aud: 'ccc-reports', ccc_instances: ['*'] });
      default:
        throw new Error(name);
    }
  }

  it('has at least 75 cases', () => {
    expect(cases().length).toBeGreaterThanOrEqual(75);
  });

  it.each(cases().map((c) => [c.name, c] as const))('%s -> its error code, while others are served', async (_name, c) => {
    const token = await tokenFor(c.token);
    const authorization = c.header ?? (token ? `Bearer ${token}` : null);
    const control = post(report(`instanceId: "ccc-test", ${range}`, 'statsTime inbound { callsOffered }'), undefined, `Bearer ${good}`);
    const { status, body } = await post(c.query, c.variables, authorization, c.rawVariables);
    const codes = (body.errors ?? []).map((e: any) => e.extensions?.code);
    expect({ case: c.name, codes }).toEqual({ case: c.name, codes: expect.arrayContaining([c.code]) });
    if (c.status) expect({ case: c.name, status }).toEqual({ case: c.name, status: c.status });
    if (c.message) expect(body.errors.map((e: any) => e.message).join('\n')).toMatch(c.message);
    // Never a token, a secret or a stack trace in an answer.
    const text = JSON.stringify(body);
    expect(text).not.toContain(SECRET);
    if (token) expect(text).not.toContain(token);
    expect(text).not.toMatch(/\bat \w+ \(|stacktrace/);
    const served = await control;
    expect(served.body.errors).toBeUndefined();
    expect(served.body.data.intervalInstanceReport.length).toBeGreaterThan(0);
  });

  it('rejects a malformed JSON body with 400 and keeps serving', async () => {
    const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${good}` }, body: '{"query": ' });
    expect(response.status).toBe(400);
    const ok = await post(report(`instanceId: "ccc-test", ${range}`), undefined, `Bearer ${good}`);
    expect(ok.body.errors).toBeUndefined();
  });

  // Bodies that are not a GraphQL request at all: a JSON GraphQL error with a 4xx status, never
  // Express's HTML error page (with its stack trace), never a 500.
  const bodies: { name: string; body: string; contentType?: string; status: number }[] = [
    { name: 'malformed JSON', body: '{"query": ', status: 400 },
    { name: 'a JSON number', body: '5', status: 400 },
    { name: 'JSON null', body: 'null', status: 400 },
    { name: 'a JSON string', body: '"{ __typename }"', status: 400 },
    { name: 'a JSON array (batching is off)', body: '[{"query":"{ __typename }"}]', status: 400 },
    { name: 'an empty JSON array', body: '[]', status: 400 },
    { name: 'an empty object', body: '{}', status: 400 },
    { name: 'a query that is a number', body: '{"query": 5}', status: 400 },
    { name: 'variables that are an array', body: '{"query": "{ __typename }", "variables": [1]}', status: 400 },
    { name: 'a 300 kB body', body: JSON.stringify({ query: '{ __typename }', variables: { x: 'x'.repeat(300_000) } }), status: 413 },
    { name: 'content-type text/plain', body: '{"query": "{ __typename }"}', contentType: 'text/plain', status: 400 },
    { name: 'content-type application/xml', body: '<query>{ __typename }</query>', contentType: 'application/xml', status: 400 },
    { name: 'an unsupported charset', body: '{"query": "{ __typename }"}', contentType: 'application/json; charset=ebcdic', status: 415 },
  ];
  it.each(bodies.map((b) => [b.name, b] as const))('a body that is %s -> JSON BAD_REQUEST, 4xx', async (_name, c) => {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': c.contentType ?? 'application/json', authorization: `Bearer ${good}` },
      body: c.body,
    });
    expect(response.status).toBe(c.status);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await response.text();
    expect(text).not.toMatch(/<html|<pre>|\bat \w+ \(|stacktrace/i);
    const body = JSON.parse(text);
    expect(body.errors.map((e: any) => e.extensions.code)).toEqual(['BAD_REQUEST']);
    expect(body.errors[0].message.length).toBeGreaterThan(10);
  });

  it('refuses a hostile document in a GET request too', async () => {
    const url = new URL(gateway.url);
    url.searchParams.set('query', `{ ${'__typename '.repeat(500)}}`);
    const response = await fetch(url, { headers: { authorization: `Bearer ${good}`, 'apollo-require-preflight': 'true' } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).errors[0].extensions.code).toBe('OPERATION_TOO_EXPENSIVE');
  });

  it('refuses deeply nested variables in a GET request too', async () => {
    const url = new URL(gateway.url);
    url.searchParams.set('query', report(`instanceId: "ccc-test"`));
    url.searchParams.set('variables', `{"unused":${deeplyNested(100)}}`);
    const response = await fetch(url, { headers: { authorization: `Bearer ${good}`, 'apollo-require-preflight': 'true' } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  // Unknown paths: the same JSON shape, 404 NOT_FOUND, never Express's HTML "Cannot GET".
  it.each([
    ['GET /nope', 'GET', '/nope'],
    ['POST /graphq', 'POST', '/graphq'],
    ['DELETE /healthz/extra', 'DELETE', '/healthz/extra'],
    ['GET of a 5,000-character path', 'GET', `/${'x'.repeat(5_000)}`],
  ])('%s -> JSON 404 NOT_FOUND, no HTML', async (_name, method, path) => {
    const response = await fetch(new URL(path, gateway.url), { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{"query":"{ __typename }"}' : undefined });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await response.text();
    expect(text).not.toMatch(/<html|<pre>|Cannot \w+ \//i);
    const body = JSON.parse(text);
    expect(body.errors.map((e: any) => e.extensions.code)).toEqual(['NOT_FOUND']);
    expect(body.errors[0].message).toMatch(/the GraphQL endpoint is \/graphql/);
    expect(body.errors[0].message.length).toBeLessThan(300);
  });
});
