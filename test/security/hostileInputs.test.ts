/**
 * Hostile inputs, each with its expected error code, against a gateway with JWT auth on, while
 * a well-behaved client keeps being served.
 */
import { DAY_MS } from '../../src/reports/intervals';
import type { Gateway } from '../../src/server/createGateway';
import { SECRET, sign, unsignedToken } from '../auth/tokens';
import { startTestGateway } from '../helpers/gateway';

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
}

describe('hostile inputs', () => {
  let gateway: Gateway;
  let good: string;
  const post = async (query: string, variables?: object, authorization?: string | null) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authorization) headers.authorization = authorization;
    const response = await fetch(gateway.url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    return { status: response.status, body: (await response.json()) as any };
  };

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
    { name: 'negative timestamp (before retention, not cached)', query: report(`instanceId: "ccc-test", startTime: -1, endTime: 1000`), code: 'BAD_USER_INPUT', message: /retention/ },
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
    { name: '60 aliased report fields', query: `{ ${Array.from({ length: 60 }, (_, i) => `a${i}: intervalInstanceReport(instanceId: "ccc-test") { statsTime }`).join(' ')} }`, code: 'OPERATION_TOO_EXPENSIVE', message: /aliases/ },
    { name: 'deep nesting', query: `{ callCenterInstance(id: "ccc-test") { ${'a { '.repeat(12)}b${' }'.repeat(12)} } }`, code: 'OPERATION_TOO_EXPENSIVE', message: /levels deep/ },
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

  it('has at least 30 cases', () => {
    expect(cases().length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases().map((c) => [c.name, c] as const))('%s -> its error code, while others are served', async (_name, c) => {
    const token = await tokenFor(c.token);
    const authorization = c.header ?? (token ? `Bearer ${token}` : null);
    const control = post(report(`instanceId: "ccc-test", ${range}`, 'statsTime inbound { callsOffered }'), undefined, `Bearer ${good}`);
    const { body } = await post(c.query, c.variables, authorization);
    const codes = (body.errors ?? []).map((e: any) => e.extensions?.code);
    expect({ case: c.name, codes }).toEqual({ case: c.name, codes: expect.arrayContaining([c.code]) });
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
});
