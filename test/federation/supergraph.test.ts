/**
 * Federation proven with real peers: this gateway (a real HTTP subgraph on the built-in emulator)
 * and a separate `teams` subgraph are composed with @apollo/composition and served by
 * @apollo/gateway in this process, every hop over HTTP. A query through the router that reaches
 * 10 instances from 50 teams must cost one `_entities` fetch, one DataLoader batch and exactly
 * the planned upstream calls.
 */
import { composeServices } from '@apollo/composition';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import type { Logger } from '@apollo/utils.logger';
import { parse } from 'graphql';
import { DateTime } from 'luxon';
import { readFileSync } from 'node:fs';
import { SCHEMA_FILE } from '../../src/graphql/printSchema';
import { HOUR_MS } from '../../src/reports/intervals';
import type { Gateway } from '../../src/server/createGateway';
import { graphql, startTestGateway, type GraphQLAnswer } from '../helpers/gateway';
import { startTeamsSubgraph, type TeamsSubgraph } from './teamsSubgraph';

const ZONE = 'Asia/Shanghai';
const NOW = DateTime.fromISO('2026-11-26T11:30:00', { zone: ZONE }).toMillis();
// A closed 12-day range: 288 hourly buckets, more than one upstream call (240 hours) each.
const START = DateTime.fromISO('2026-11-10T00:00:00', { zone: ZONE }).toMillis();
const END = DateTime.fromISO('2026-11-22T00:00:00', { zone: ZONE }).toMillis();
const HOURS = (END - START) / HOUR_MS;
const HOURLY_BUCKETS_PER_CALL = 240; // upstream: an Hourly span of at most 10 days
const INSTANCES = Array.from({ length: 10 }, (_, i) => `ccc-sim-${i + 1}`);

const ROUTER_QUERY = `{
  teams {
    id name
    callCenter { id intervalReports(startTime: ${START}, endTime: ${END}, interval: HOURLY) { statsTime inbound { callsOffered } } }
  }
}`;

const SILENT: Logger = { debug() {}, info() {}, warn() {}, error() {} };

interface SubgraphExchange {
  subgraph: string;
  query: string;
  variables?: Record<string, unknown>;
  response: GraphQLAnswer;
}

async function post(url: string, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<GraphQLAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLAnswer;
}

function compose(reportsSdl: string, teams: TeamsSubgraph, reportsUrl: string) {
  return composeServices([
    { name: 'ccc-reports', typeDefs: parse(reportsSdl), url: reportsUrl },
    { name: 'teams', typeDefs: parse(teams.sdl), url: teams.url },
  ]);
}

describe('supergraph: ccc-reports + teams through @apollo/gateway', () => {
  let reports: Gateway;
  let teams: TeamsSubgraph;
  let router: ApolloServer;
  let routerUrl: string;
  let runningSdl: string;
  /** Every subgraph request the router made, with the subgraph's whole answer (extensions too). */
  const exchanges: SubgraphExchange[] = [];

  beforeAll(async () => {
    reports = await startTestGateway({}, { now: () => NOW });
    teams = await startTeamsSubgraph();
    const sdl = await graphql(reports, '{ _service { sdl } }');
    runningSdl = sdl.data._service.sdl;

    const composed = compose(runningSdl, teams, reports.url);
    if (composed.errors) throw new Error(`composition failed: ${composed.errors.map((e) => e.message).join('; ')}`);

    const gateway = new ApolloGateway({
      supergraphSdl: composed.supergraphSdl,
      logger: SILENT,
      buildService: ({ name, url }) =>
        new RemoteGraphQLDataSource({
          url,
          // The subgraph adds its pipeline facts to `extensions.gateway` only when asked; the
          // router does not pass subgraph extensions on to its client, so capture them here.
          willSendRequest({ request }) {
            request.http?.headers.set('x-gateway-debug', '1');
          },
          didReceiveResponse({ request, response }) {
            // A copy: the router then merges into the entities it received (adds `__typename`).
            exchanges.push({ subgraph: name, query: request.query!, variables: structuredClone(request.variables), response: structuredClone(response) as GraphQLAnswer });
            return response;
          },
        }),
    });
    router = new ApolloServer({ gateway, logger: SILENT });
    ({ url: routerUrl } = await startStandaloneServer(router, { listen: { port: 0, host: '127.0.0.1' } }));
  });

  afterAll(async () => {
    await router?.stop();
    await teams?.close();
    await reports?.close();
  });

  it('composes with no errors, from the running subgraph and from schema/schema.graphql', () => {
    const fromService = compose(runningSdl, teams, reports.url);
    expect(fromService.errors).toBeUndefined();
    expect(fromService.supergraphSdl).toMatch(/@join__type\(graph: CCC_REPORTS, key: "id"\)/);
    expect(fromService.supergraphSdl).toMatch(/@join__type\(graph: TEAMS, key: "id", resolvable: false\)/);

    const fromFile = compose(readFileSync(SCHEMA_FILE, 'utf8'), teams, reports.url);
    expect(fromFile.errors).toBeUndefined();
    // The committed file is what a registry would get: it must give the same supergraph.
    expect(fromFile.supergraphSdl).toBe(fromService.supergraphSdl);
  });

  it('gives every team its instance series, with one _entities fetch, one batch and the planned upstream calls', async () => {
    reports.memory.clear();
    reports.emulator!.resetStats();
    exchanges.length = 0;

    const answer = await post(routerUrl, ROUTER_QUERY);
    expect(answer.errors).toBeUndefined();
    const routed: { id: string; name: string; callCenter: { id: string; intervalReports: { statsTime: number; inbound: { callsOffered: number } }[] } }[] =
      answer.data.teams;
    expect(routed).toHaveLength(50);

    // Upstream: exactly the plan, 10 instances x ceil(288 / 240) calls, each instance's range once.
    const callsPerInstance = Math.ceil(HOURS / HOURLY_BUCKETS_PER_CALL);
    expect(HOURS).toBe(288);
    expect(reports.emulator!.stats.callsReceived).toBe(INSTANCES.length * callsPerInstance);
    const byInstance = new Map<string, number>();
    for (const call of reports.emulator!.stats.log) {
      expect(call).toMatchObject({ code: 'OK', interval: 'Hourly' });
      byInstance.set(call.instanceId!, (byInstance.get(call.instanceId!) ?? 0) + 1);
    }
    expect(Object.fromEntries(byInstance)).toEqual(Object.fromEntries(INSTANCES.map((id) => [id, callsPerInstance])));

    // Router -> subgraphs: one fetch to teams, one `_entities` fetch to ccc-reports with all 50
    // representations, answered in ONE DataLoader batch of the 10 distinct ranges.
    expect(exchanges.map((e) => e.subgraph)).toEqual(['teams', 'ccc-reports']);
    expect(teams.requests).toBe(1);
    const entities = exchanges[1];
    expect(entities.query).toMatch(/_entities\(representations:/);
    expect((entities.variables!.representations as unknown[]).length).toBe(50);
    expect(entities.response.extensions?.gateway).toMatchObject({
      batches: 1,
      batchSizes: [INSTANCES.length],
      upstreamCalls: INSTANCES.length * callsPerInstance,
      upstreamBuckets: INSTANCES.length * HOURS,
    });

    // Every team has its instance's data: the same series as a direct query to the subgraph,
    // so teams sharing an instance have identical series, and instances differ.
    const direct = await graphql(
      reports,
      `{ ${INSTANCES.map(
        (id, i) => `i${i}: callCenterInstance(id: "${id}") { id intervalReports(startTime: ${START}, endTime: ${END}, interval: HOURLY) { statsTime inbound { callsOffered } } }`,
      ).join('\n')} }`,
      undefined,
      { 'x-gateway-debug': '1' },
    );
    expect(direct.errors).toBeUndefined();
    // Closed buckets are cached for good: the direct query costs no upstream call.
    expect(direct.extensions?.gateway).toMatchObject({ batches: 1, upstreamCalls: 0 });
    expect(reports.emulator!.stats.callsReceived).toBe(INSTANCES.length * callsPerInstance);
    const series = new Map(INSTANCES.map((id, i) => [id, direct.data[`i${i}`].intervalReports]));
    for (const [id, reportsOf] of series) {
      expect(reportsOf.length).toBeGreaterThan(100); // night hours are absent
      expect(reportsOf.length).toBeLessThanOrEqual(HOURS);
      expect(reportsOf.every((r: { statsTime: number }) => r.statsTime >= START && r.statsTime < END)).toBe(true);
      expect(direct.data[`i${INSTANCES.indexOf(id)}`].id).toBe(id);
    }
    expect(new Set([...series.values()].map((s) => JSON.stringify(s))).size).toBe(INSTANCES.length);
    for (const [i, team] of routed.entries()) {
      const expectedId = INSTANCES[i % INSTANCES.length];
      expect(team).toMatchObject({ id: `team-${i + 1}`, name: `Team ${i + 1}`, callCenter: { id: expectedId } });
      expect(team.callCenter.intervalReports).toEqual(series.get(expectedId));
    }
  });

  it('answers the exact _entities operation the router sent in one batch when replayed directly', async () => {
    exchanges.length = 0;
    const warmRouted = await post(routerUrl, ROUTER_QUERY);
    expect(warmRouted.errors).toBeUndefined();
    const sent = exchanges.find((e) => e.subgraph === 'ccc-reports')!;
    const callsBefore = reports.emulator!.stats.callsReceived;

    // Cold replay: the same operation and 50 representations, straight to the subgraph.
    reports.memory.clear();
    const replay = await post(reports.url, sent.query, sent.variables, { 'x-gateway-debug': '1' });
    expect(replay.errors).toBeUndefined();
    expect(replay.data).toEqual(sent.response.data);
    expect(replay.extensions?.gateway).toMatchObject({ batches: 1, batchSizes: [INSTANCES.length], upstreamCalls: INSTANCES.length * Math.ceil(HOURS / HOURLY_BUCKETS_PER_CALL) });
    expect(reports.emulator!.stats.callsReceived - callsBefore).toBe(INSTANCES.length * Math.ceil(HOURS / HOURLY_BUCKETS_PER_CALL));
  });

  // @apollo/subgraph's `_entities` resolver calls every `__resolveReference` synchronously inside
  // one `representations.map`: a reference resolver that *throws* fails the whole non-null
  // `_entities` field (`data: null`, error path `["_entities"]`), so one bad id would blank every
  // entity of the router's fetch. Only a rejected *promise* (an `async` resolver) fails its own
  // list item (`["_entities", 1]`).
  it('fails only the entity whose representation carries an invalid id, with BAD_USER_INPUT', async () => {
    const answer = await post(
      reports.url,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on CallCenterInstance { id intervalReports(startTime: ${START}, endTime: ${END}, interval: HOURLY) { statsTime } } } }`,
      {
        r: [
          { __typename: 'CallCenterInstance', id: 'ccc-sim-1' },
          { __typename: 'CallCenterInstance', id: 'bad id!' },
          { __typename: 'CallCenterInstance', id: 'ccc-sim-2' },
        ],
      },
      { 'x-gateway-debug': '1' },
    );
    expect(answer.errors).toHaveLength(1);
    expect(answer.errors![0]).toMatchObject({ path: ['_entities', 1], extensions: { code: 'BAD_USER_INPUT' } });
    expect(answer.errors![0].message).toMatch(/not a call center instance id/);
    expect(answer.data._entities[1]).toBeNull();
    expect(answer.data._entities[0]).toMatchObject({ id: 'ccc-sim-1', intervalReports: expect.any(Array) });
    expect(answer.data._entities[2]).toMatchObject({ id: 'ccc-sim-2', intervalReports: expect.any(Array) });
    expect(answer.data._entities[0].intervalReports.length).toBeGreaterThan(100);
    // The two good entities still share one batch.
    expect(answer.extensions?.gateway).toMatchObject({ batches: 1, batchSizes: [2] });
  });
});
