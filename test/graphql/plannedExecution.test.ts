/**
 * GRAPHQL_EXECUTOR=planned (the default, src/server/reportExecution.ts) against graphql-js: two
 * gateways on the same clock, the same documents, byte-equal answers (status, Cache-Control,
 * body), and the planned one took the path each document should take.
 */
import { DateTime } from 'luxon';
import { HOUR_MS } from '../../src/reports/intervals';
import type { Gateway } from '../../src/server/createGateway';
import type { GraphqlJsReason } from '../../src/server/reportExecution';
import { ALL_METRICS_SELECTION, startTestGateway } from '../helpers/gateway';

const NOW = DateTime.fromISO('2026-11-26T11:30:00', { zone: 'Asia/Shanghai' }).toMillis();
const DAY_START = DateTime.fromISO('2026-11-20T00:00:00', { zone: 'Asia/Shanghai' }).toMillis();
const OPEN_START = NOW - 5 * HOUR_MS;

interface Answer {
  status: number;
  cacheControl: string | null;
  body: any;
}

async function ask(gateway: Gateway, query: string, variables?: object, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, cacheControl: response.headers.get('cache-control'), body: JSON.parse(await response.text()) };
}

describe('planned execution answers exactly as graphql-js', () => {
  let planned: Gateway;
  let graphqlJs: Gateway;
  beforeAll(async () => {
    planned = await startTestGateway({}, { now: () => NOW });
    graphqlJs = await startTestGateway({ GRAPHQL_EXECUTOR: 'graphql-js' }, { now: () => NOW });
  });
  afterAll(() => Promise.all([planned.close(), graphqlJs.close()]));

  /** Asks both; expects the same answer, and the planned gateway's path. */
  async function both(query: string, variables: object | undefined, path: 'planned' | GraphqlJsReason, headers?: Record<string, string>): Promise<Answer> {
    expect(graphqlJs.executor).toBeUndefined();
    const before = JSON.stringify(planned.executor!.counts);
    const fromPlanned = await ask(planned, query, variables, headers);
    const fromGraphqlJs = await ask(graphqlJs, query, variables, headers);
    // Ids of the request and of the emulators' answers differ; every other byte must not.
    for (const answer of [fromPlanned, fromGraphqlJs]) {
      if (answer.body.extensions?.gateway) answer.body.extensions.gateway.requestId = '<request>';
      // A federated trace holds timings: present in both, compared as such.
      if (answer.body.extensions?.ftv1) answer.body.extensions.ftv1 = '<trace>';
      for (const error of answer.body.errors ?? []) {
        if (error.extensions?.upstreamRequestId) error.extensions.upstreamRequestId = '<upstream request>';
      }
    }
    expect(fromPlanned).toEqual(fromGraphqlJs);
    expect(JSON.stringify(fromPlanned.body)).toBe(JSON.stringify(fromGraphqlJs.body)); // key order too
    const counts = JSON.parse(before);
    if (path === 'planned') counts.planned++;
    else counts.graphqlJs[path]++;
    expect(planned.executor!.counts).toEqual(counts);
    return fromPlanned;
  }

  it('plans aliases, fragments, __typename, every metric, both report fields (again with the plans kept)', async () => {
    const query = `{
        __typename
        hourly: intervalInstanceReport(instanceId: "ccc-test", startTime: ${DAY_START}, endTime: ${DAY_START + 6 * HOUR_MS}, interval: HOURLY) { ...All }
        daily: intervalInstanceReport(instanceId: "ccc-test", startTime: ${DAY_START}, endTime: ${NOW}, interval: DAILY) { id statsTime inbound { id callsOffered } }
        combined: combinedIntervalReport(instanceIds: ["ccc-test", "ccc-demo-1"], startTime: ${DAY_START}, endTime: ${NOW}, interval: WEEKLY, timeZone: "Europe/Berlin") {
          __typename instanceIds id statsTime endTime closed interval
          overall { ...Overall id }
          inbound { handleRate: serviceLevel20 callsOffered }
        }
      }
      fragment All on IntervalReport { instanceId interval statsTime endTime closed __typename ${ALL_METRICS_SELECTION} }
      fragment Overall on OverallMetrics { totalCalls occupancyRate }`;
    await both(query, undefined, 'planned');
    // x-gateway-debug: executed again (not from the response cache), from the plans kept with the document.
    const answer = await both(query, undefined, 'planned', { 'x-gateway-debug': '1' });
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data.hourly.length).toBeGreaterThan(0);
    expect(answer.body.data.combined.length).toBeGreaterThan(0);
  });

  it('plans @include and @skip with variables, variables in arguments, ISO timestamps', async () => {
    const query = `query Report($id: ID!, $start: Timestamp, $interval: ReportInterval, $withInbound: Boolean!, $skipOutbound: Boolean!) {
      r: intervalInstanceReport(instanceId: $id, startTime: $start, endTime: ${NOW}, interval: $interval) {
        statsTime
        inbound @include(if: $withInbound) { callsOffered averageWaitTime }
        outbound @skip(if: $skipOutbound) { answerRate }
        ... on IntervalReport @include(if: $withInbound) { overall { totalCalls } }
      }
    }`;
    for (const [withInbound, skipOutbound] of [
      [true, true],
      [false, false],
    ]) {
      await both(query, { id: 'ccc-test', start: '2026-11-24T00:00:00+08:00', interval: 'DAILY', withInbound, skipOutbound }, 'planned');
    }
  });

  it('a partial answer (one field fails upstream) is graphql-js\'s: null at its path, the error, the same trace', async () => {
    const answer = await both(
      `{ ok: intervalInstanceReport(instanceId: "ccc-test", startTime: ${OPEN_START}, interval: HOURLY) { statsTime closed inbound { callsOffered } }
         missing: intervalInstanceReport(instanceId: "ccc-nope", interval: HOURLY) { statsTime } }`,
      undefined,
      'answer-had-errors',
      { 'x-gateway-debug': '1' },
    );
    expect(answer.body.data.missing).toBeNull();
    expect(answer.body.data.ok.length).toBeGreaterThan(0);
    expect(answer.body.errors).toEqual([expect.objectContaining({ path: ['missing'], extensions: expect.objectContaining({ code: 'NOT_FOUND' }) })]);
    // The open buckets of `ok` are counted once, though the operation ran twice.
    expect(answer.body.extensions.gateway.openBuckets).toBe(answer.body.data.ok.filter((r: any) => !r.closed).length);
  });

  it('bad arguments and bad variables are graphql-js\'s errors', async () => {
    await both(`{ r: intervalInstanceReport(instanceId: "ccc-test", startTime: ${NOW - HOUR_MS}, endTime: ${NOW - 2 * HOUR_MS}) { statsTime } }`, undefined, 'answer-had-errors');
    const refused = await both(
      `query($start: Timestamp) { intervalInstanceReport(instanceId: "ccc-test", startTime: $start) { statsTime } }`,
      { start: '2026-11-24' },
      'variables',
    );
    expect(refused.status).toBe(400);
  });

  it('leaves everything else to graphql-js: entities, instances, introspection, a __proto__ alias', async () => {
    await both(`{ callCenterInstance(id: "ccc-test") { id intervalReports(startTime: ${DAY_START}, endTime: ${NOW}) { statsTime } } }`, undefined, 'not-planned');
    await both(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on CallCenterInstance { id intervalReports(startTime: ${DAY_START}, endTime: ${NOW}) { inbound { callsOffered } } } } }`,
      { r: [{ __typename: 'CallCenterInstance', id: 'ccc-test' }] },
      'not-planned',
    );
    await both(`{ __schema { queryType { name } } }`, undefined, 'not-planned');
    // No operation of that name: Apollo has none to give the executor, graphql-js words the error.
    const unknown = await ask(planned, `query A { __typename }`, undefined, {});
    expect(unknown.status).toBe(200);
    const misnamed = await fetch(planned.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'query A { __typename }', operationName: 'B' }) });
    const misnamedByGraphqlJs = await fetch(graphqlJs.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'query A { __typename }', operationName: 'B' }) });
    expect([misnamed.status, await misnamed.text()]).toEqual([misnamedByGraphqlJs.status, await misnamedByGraphqlJs.text()]);
    expect(misnamed.status).toBe(400);
    // A router asking for a federated trace: the inline trace plugin hooks every field.
    const traced = await both(`{ r: intervalInstanceReport(instanceId: "ccc-test", startTime: ${DAY_START}, endTime: ${NOW}) { statsTime } }`, undefined, 'field-hooks', {
      'apollo-federation-include-trace': 'ftv1',
    });
    expect(traced.body.extensions.ftv1).toBe('<trace>');
    await both(`{ r: intervalInstanceReport(instanceId: "ccc-test", startTime: ${DAY_START}, endTime: ${NOW}) { __proto__: statsTime closed } }`, undefined, 'not-plannable');
  });
});
