/**
 * The whole path, for real: GraphQL over HTTP -> resolvers -> pipeline -> Alibaba Cloud client
 * (@alicloud/openapi-core, signed) -> HTTP -> the built-in CCC emulator.
 */
import { DateTime } from 'luxon';
import { HOUR_MS } from '../../src/reports/intervals';
import { METRICS } from '../../src/reports/metrics';
import type { Gateway } from '../../src/server/createGateway';
import { CccClient } from '../../src/upstream/CccClient';
import { ALL_METRICS_SELECTION, graphql, startTestGateway } from '../helpers/gateway';

// 2026-11-26 11:30 in Shanghai; the seed's example day (2021-05-06) moved to 2026-11-16.
const NOW = DateTime.fromISO('2026-11-26T11:30:00', { zone: 'Asia/Shanghai' }).toMillis();
const DAY_START = DateTime.fromISO('2026-11-16T00:00:00', { zone: 'Asia/Shanghai' }).toMillis();
const DAY_END_INCLUSIVE = DAY_START + 24 * HOUR_MS - 1; // like the seed's 1620316799000

const REPORT_QUERY = `
  query Report($instanceId: ID!, $startTime: Timestamp, $endTime: Timestamp, $interval: ReportInterval) {
    intervalInstanceReport(instanceId: $instanceId, startTime: $startTime, endTime: $endTime, interval: $interval) {
      instanceId interval statsTime closed ${ALL_METRICS_SELECTION}
    }
  }`;

describe('intervalInstanceReport end to end', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startTestGateway({}, { now: () => NOW });
  });
  afterAll(() => gateway.close());

  it('answers the seed example (HOURLY and DAILY) with every one of the 82 fields', async () => {
    const variables = { instanceId: 'ccc-test', startTime: DAY_START, endTime: DAY_END_INCLUSIVE };
    const daily = await graphql(gateway, REPORT_QUERY, { ...variables, interval: 'DAILY' });
    expect(daily.errors).toBeUndefined();
    expect(daily.data.intervalInstanceReport).toHaveLength(1);
    const [day] = daily.data.intervalInstanceReport;
    expect(day).toMatchObject({ instanceId: 'ccc-test', interval: 'DAILY', statsTime: DAY_START, closed: true });
    for (const group of ['inbound', 'outbound', 'overall'] as const) {
      expect(Object.keys(day[group]).sort()).toEqual(METRICS[group].map((m) => m.name).sort());
      for (const metric of METRICS[group]) expect(typeof day[group][metric.name]).toBe('number');
    }
    expect(day.inbound.callsOffered).toBeGreaterThan(0);

    const hourly = await graphql(gateway, REPORT_QUERY, { ...variables, interval: 'HOURLY' });
    expect(hourly.errors).toBeUndefined();
    const hours = hourly.data.intervalInstanceReport;
    // Night hours have no traffic and are absent, as upstream.
    expect(hours.length).toBeGreaterThan(8);
    expect(hours.length).toBeLessThan(24);
    for (const hour of hours) {
      expect(hour.statsTime % HOUR_MS).toBe(0);
      expect(hour.statsTime).toBeGreaterThanOrEqual(DAY_START);
      expect(hour.statsTime).toBeLessThan(DAY_START + 24 * HOUR_MS);
    }
    // The day is its hours combined.
    const sum = (name: string) => hours.reduce((s: number, h: any) => s + h.inbound[name], 0);
    expect(sum('callsOffered')).toBe(day.inbound.callsOffered);
    expect(sum('totalTalkTime')).toBe(day.inbound.totalTalkTime);
    expect(Math.max(...hours.map((h: any) => h.inbound.maxTalkTime))).toBe(day.inbound.maxTalkTime);
  });

  it("defaults to today (instance's midnight) until now, DAILY", async () => {
    const answer = await graphql(gateway, `{ intervalInstanceReport(instanceId: "ccc-test") { statsTime interval closed inbound { callsOffered } } }`);
    expect(answer.errors).toBeUndefined();
    expect(answer.data.intervalInstanceReport).toEqual([
      { statsTime: DateTime.fromMillis(NOW, { zone: 'Asia/Shanghai' }).startOf('day').toMillis(), interval: 'DAILY', closed: false, inbound: { callsOffered: expect.any(Number) } },
    ]);
  });

  it('accepts ISO-8601 timestamps with offset and returns epoch milliseconds', async () => {
    const answer = await graphql(
      gateway,
      `{ intervalInstanceReport(instanceId: "ccc-test", startTime: "2026-11-16T00:00:00+08:00", endTime: "2026-11-16T23:59:59.999+08:00") { statsTime } }`,
    );
    expect(answer.data.intervalInstanceReport).toEqual([{ statsTime: DAY_START }]);
  });

  it.each([
    ['a date without offset', '"2026-11-16T00:00:00"'],
    ['a word', '"yesterday"'],
    ['a fraction of a millisecond', '1.5'],
    ['a boolean', 'true'],
  ])('rejects %s as a Timestamp with BAD_USER_INPUT', async (_what, literal) => {
    const answer = await graphql(gateway, `{ intervalInstanceReport(instanceId: "ccc-test", startTime: ${literal}) { statsTime } }`);
    expect(answer.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(answer.errors?.[0].message).toMatch(/Timestamp|epoch/);
  });

  it('rejects startTime after endTime, a future start, and a malformed instance id', async () => {
    const cases = [
      [`instanceId: "ccc-test", startTime: ${DAY_START + HOUR_MS}, endTime: ${DAY_START}`, /after endTime/],
      [`instanceId: "ccc-test", startTime: ${NOW + 2 * HOUR_MS}`, /future/],
      [`instanceId: "ccc test*"`, /not a call center instance id/],
      [`instanceId: ""`, /not a call center instance id/],
    ] as const;
    for (const [args, message] of cases) {
      const answer = await graphql(gateway, `{ intervalInstanceReport(${args}) { statsTime } }`);
      expect(answer.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(answer.errors?.[0].message).toMatch(message);
    }
  });

  it('maps an unknown instance to NOT_FOUND with the upstream RequestId', async () => {
    const answer = await graphql(gateway, `{ intervalInstanceReport(instanceId: "ccc-nope") { statsTime } }`);
    // Report fields are nullable: the failed field is null, with an error at its path.
    expect(answer.data).toEqual({ intervalInstanceReport: null });
    expect(answer.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', upstreamCode: 'NotExists.InstanceId' });
    expect(answer.errors?.[0].extensions?.upstreamRequestId).toMatch(/\w{8}-/);
    expect(answer.errors?.[0].path).toEqual(['intervalInstanceReport']);
  });

  it('resolves the CallCenterInstance entity, by root field and through _entities', async () => {
    const viaRoot = await graphql(
      gateway,
      `{ callCenterInstance(id: "ccc-test") { id intervalReports(startTime: ${DAY_START}, endTime: ${DAY_END_INCLUSIVE}) { statsTime inbound { callsOffered } } } }`,
    );
    expect(viaRoot.errors).toBeUndefined();
    expect(viaRoot.data.callCenterInstance.intervalReports).toHaveLength(1);

    const viaEntities = await graphql(
      gateway,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on CallCenterInstance { id intervalReports(startTime: ${DAY_START}, endTime: ${DAY_END_INCLUSIVE}) { inbound { callsOffered } } } } }`,
      { r: [{ __typename: 'CallCenterInstance', id: 'ccc-test' }, { __typename: 'CallCenterInstance', id: 'ccc-demo-1' }] },
    );
    expect(viaEntities.errors).toBeUndefined();
    expect(viaEntities.data._entities.map((e: any) => e.id)).toEqual(['ccc-test', 'ccc-demo-1']);
    expect(viaEntities.data._entities[0].intervalReports).toEqual(viaRoot.data.callCenterInstance.intervalReports.map((r: any) => ({ inbound: r.inbound })));

    const sdl = await graphql(gateway, `{ _service { sdl } }`);
    expect(sdl.data._service.sdl).toMatch(/type CallCenterInstance\s+@key\(fields: "id"\)/);
  });
});

describe('upstream errors through GraphQL', () => {
  const NOW_REAL = Date.now();
  let gateway: Gateway;
  beforeAll(async () => {
    // A short deadline: throttled calls are retried until it passes (outages stop after 3 attempts).
    gateway = await startTestGateway({ UPSTREAM_CONCURRENCY: '2', UPSTREAM_DEADLINE_MS: '1500' }, { now: () => NOW_REAL });
  });
  afterAll(() => gateway.close());
  beforeEach(() => {
    gateway.memory.clear();
    gateway.emulator!.options.failures = { rate: 0, codes: ['Throttling.User'], seed: 1 };
  });

  it.each([
    ['Throttling.User', 'UPSTREAM_THROTTLED'],
    ['ServiceUnavailable', 'UPSTREAM_UNAVAILABLE'],
    ['InternalError', 'UPSTREAM_UNAVAILABLE'],
  ] as const)('%s becomes %s, after retries, with the RequestId', async (upstreamCode, code) => {
    gateway.emulator!.options.failures = { rate: 1, codes: [upstreamCode], seed: 1 };
    gateway.emulator!.resetStats();
    const answer = await graphql(gateway, `{ intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY) { statsTime } }`);
    expect(answer.errors?.[0].extensions).toMatchObject({ code, upstreamCode });
    expect(answer.errors?.[0].extensions?.upstreamRequestId).toBeTruthy();
    if (code === 'UPSTREAM_THROTTLED') {
      // Throttling is not an outage: retried past UPSTREAM_MAX_ATTEMPTS, until the call's deadline.
      expect(gateway.emulator!.stats.callsReceived).toBeGreaterThan(3);
    } else {
      expect(gateway.emulator!.stats.callsReceived).toBe(3); // 3 attempts, then the error
    }
  });

  it('a wrong AccessKey secret becomes UPSTREAM_AUTH and the secret appears nowhere', async () => {
    const secret = 'this-secret-must-never-leak-0123456789';
    const logs: string[] = [];
    const pino = (await import('pino')).default;
    const wrong = await startTestGateway(
      {},
      {
        now: () => NOW_REAL,
        logger: pino({ level: 'trace' }, { write: (line: string) => logs.push(line) }),
        source: new CccClient({
          endpoint: new URL(gateway.emulator!.url!).host,
          protocol: 'http',
          region: 'cn-shanghai',
          timeoutMs: 5000,
          accessKey: { id: Object.keys(gateway.emulator!.options.accessKeys)[0], secret },
        }),
      },
    );
    try {
      const answer = await graphql(wrong, `{ intervalInstanceReport(instanceId: "ccc-test") { statsTime } }`);
      expect(answer.errors?.[0].extensions?.code).toBe('UPSTREAM_AUTH');
      expect(JSON.stringify(answer)).not.toContain(secret);
      expect(logs.join('\n')).not.toContain(secret);
    } finally {
      await wrong.close();
    }
  });

  it('answers identically when upstream sends every number as a string', async () => {
    const query = `{ intervalInstanceReport(instanceId: "ccc-demo-2", interval: HOURLY, startTime: ${NOW_REAL - 30 * HOUR_MS}, endTime: ${NOW_REAL - 2 * HOUR_MS}) { statsTime ${ALL_METRICS_SELECTION} } }`;
    gateway.emulator!.options.numbersAsStrings = false;
    const asNumbers = await graphql(gateway, query);
    gateway.memory.clear();
    gateway.emulator!.options.numbersAsStrings = true;
    const asStrings = await graphql(gateway, query);
    gateway.emulator!.options.numbersAsStrings = false;
    expect(asNumbers.errors).toBeUndefined();
    expect(asStrings).toEqual(asNumbers);
  });
});
