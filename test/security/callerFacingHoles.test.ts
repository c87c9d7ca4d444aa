/**
 * Issue 10 §6, over real HTTP against a real gateway: what one caller can learn or spoil.
 * - tokens without `sub` do not share one rate-limit bucket;
 * - `x-gateway-debug` is honoured only where the explorer is on, or for a token with the claim;
 * - in production, messages carry no schema suggestions, and an echoed operation name is bounded;
 * - Timestamps that are negative or look like epoch seconds are BAD_USER_INPUT saying so.
 */
import type { Gateway } from '../../src/server/createGateway';
import { DAY_MS } from '../../src/reports/intervals';
import { SECRET, sign } from '../auth/tokens';
import { graphql, startTestGateway } from '../helpers/gateway';

const now = Date.UTC(2026, 10, 26, 3, 30);
const closedRange = `startTime: ${now - 3 * DAY_MS}, endTime: ${now - 2 * DAY_MS}`;
const reportQuery = `{ intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, ${closedRange}) { statsTime } }`;

describe('tokens without sub and the rate limiter', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startTestGateway(
      { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '3' },
      { now: () => now },
    );
  });
  afterAll(() => gateway.close());

  it('one sub-less token exhausting its budget does not limit another sub-less token', async () => {
    // Two clients' tokens, issued in the same second: they differ in their own claims only.
    const noisy = `Bearer ${await sign({ sub: undefined, ccc_instances: '*', jti: 'noisy-client' })}`;
    const quiet = `Bearer ${await sign({ sub: undefined, ccc_instances: '*', jti: 'quiet-client' })}`;
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 6; i++) codes.push((await graphql(gateway, reportQuery, undefined, { authorization: noisy })).errors?.[0]?.extensions?.code);
    expect(codes.filter((c) => c === 'RATE_LIMITED').length).toBeGreaterThan(0);
    const answer = await graphql(gateway, reportQuery, undefined, { authorization: quiet });
    expect(answer.errors).toBeUndefined();
    expect(answer.data.intervalInstanceReport.length).toBeGreaterThan(0);
  });

  it('two tokens of the same sub still share one budget', async () => {
    const a = `Bearer ${await sign({ sub: 'svc-shared', ccc_instances: '*' })}`;
    const b = `Bearer ${await sign({ sub: 'svc-shared', ccc_instances: '*', other: 1 })}`;
    for (let i = 0; i < 6; i++) await graphql(gateway, reportQuery, undefined, { authorization: a });
    expect((await graphql(gateway, reportQuery, undefined, { authorization: b })).errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  });
});

describe('x-gateway-debug', () => {
  const debug = { 'x-gateway-debug': '1' };

  it('works for everyone where the explorer is on (development)', async () => {
    const gateway = await startTestGateway({}, { now: () => now });
    try {
      expect((await graphql(gateway, reportQuery, undefined, debug)).extensions?.gateway).toBeDefined();
    } finally {
      await gateway.close();
    }
  });

  it('is ignored in production, except for a token carrying gateway_debug: true', async () => {
    const gateway = await startTestGateway({ NODE_ENV: 'production', CCC_EMULATOR: 'true', AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET }, { now: () => now });
    try {
      const plain = `Bearer ${await sign({ ccc_instances: '*' })}`;
      const debugger_ = `Bearer ${await sign({ ccc_instances: '*', gateway_debug: true })}`;
      const ignored = await graphql(gateway, reportQuery, undefined, { ...debug, authorization: plain });
      expect(ignored.errors).toBeUndefined();
      expect(ignored.extensions?.gateway).toBeUndefined();
      const shown = await graphql(gateway, reportQuery, undefined, { ...debug, authorization: debugger_ });
      expect(shown.extensions?.gateway).toMatchObject({ batches: 1 });
    } finally {
      await gateway.close();
    }
  });
});

describe('error messages', () => {
  const typo = `{ intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, ${closedRange}) { statTime } }`;
  const enumTypo = `query Q($i: ReportInterval) { intervalInstanceReport(instanceId: "ccc-test", interval: $i, ${closedRange}) { statsTime } }`;
  const longName = 'Op'.repeat(500);

  it('in production: no "Did you mean", and an echoed operation name is cut to 100 characters', async () => {
    const gateway = await startTestGateway({ NODE_ENV: 'production', CCC_EMULATOR: 'true', AUTH_ALLOW_OFF_IN_PRODUCTION: 'true' }, { now: () => now });
    try {
      const field = await graphql(gateway, typo);
      expect(field.errors?.[0]?.message).toBe('Cannot query field "statTime" on type "IntervalReport".');
      const variable = await graphql(gateway, enumTypo, { i: 'HOURLYY' });
      expect(variable.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(variable.errors?.[0]?.message).toContain('HOURLYY');
      expect(variable.errors?.[0]?.message).not.toMatch(/Did you mean/);

      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: reportQuery, operationName: longName }),
      });
      const body = (await response.json()) as { errors: { message: string }[] };
      expect(body.errors[0].message).toContain(`"${longName.slice(0, 100)}…"`);
      expect(body.errors[0].message.length).toBeLessThan(200);
    } finally {
      await gateway.close();
    }
  });

  it('in development: suggestions stay (they help the person typing)', async () => {
    const gateway = await startTestGateway({}, { now: () => now });
    try {
      expect((await graphql(gateway, typo)).errors?.[0]?.message).toMatch(/Did you mean "statsTime"( or "endTime")?\?/);
    } finally {
      await gateway.close();
    }
  });
});

describe('Timestamp arguments', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startTestGateway({}, { now: () => now });
  });
  afterAll(() => gateway.close());

  const ask = (start: string) => graphql(gateway, `{ intervalInstanceReport(instanceId: "ccc-test", startTime: ${start}, endTime: ${now}) { statsTime } }`);
  const askVariable = (start: unknown) =>
    graphql(gateway, `query Q($s: Timestamp!) { intervalInstanceReport(instanceId: "ccc-test", startTime: $s, endTime: ${now}) { statsTime } }`, { s: start });

  it('a negative Timestamp is BAD_USER_INPUT, as a literal and as a variable', async () => {
    for (const answer of [await ask('-1000'), await askVariable(-1000)]) {
      expect(answer.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(answer.errors?.[0]?.message).toMatch(/negative/);
    }
  });

  it('one that looks like epoch seconds is BAD_USER_INPUT saying Timestamps are milliseconds', async () => {
    const seconds = Math.floor((now - DAY_MS) / 1000);
    for (const answer of [await ask(String(seconds)), await askVariable(seconds)]) {
      expect(answer.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(answer.errors?.[0]?.message).toMatch(/epoch seconds; Timestamps are epoch milliseconds/);
      expect(answer.errors?.[0]?.message).toContain(String(seconds * 1000));
    }
  });

  it('milliseconds still work', async () => {
    const answer = await ask(String(now - DAY_MS));
    expect(answer.errors).toBeUndefined();
  });
});
