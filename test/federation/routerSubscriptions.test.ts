/**
 * A real router in front of the subgraph's subscriptions: Hive Gateway's runtime (from npm, runs
 * offline) serves clients over `graphql-ws` and forwards each subscription to ccc-reports over
 * WebSocket (`@graphql-mesh/transport-ws`, `graphql-transport-ws` on the subgraph's `/graphql`), the
 * way Apollo Router's `subscription.mode.passthrough` does (docs/subscriptions.md).
 *
 * The supergraph has a second subgraph, `wallboards` (another team's), which extends
 * `CallCenterInstance` with `team` and `IntervalReport` with `callCenter` (an entity it keys by
 * `id instanceId`, both external: ccc-reports resolves them). Each pushed bucket is completed by
 * the router through `_entities` fetches: wallboards for `callCenter { team }`, then ccc-reports
 * again for `callCenter { name }`. The client's token travels in its `connection_init`; the router
 * propagates it to the subgraph's WebSocket (`connectionParams`) and to its HTTP entity fetches
 * (`Authorization`), and the subgraph checks it as for any caller.
 *
 * Subgraph and emulator run on a test clock; moving it changes the open hour's numbers.
 */
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { composeServices } from '@apollo/composition';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { DateTime } from 'luxon';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { HOUR_MS } from '../../src/reports/intervals';
import type { Gateway } from '../../src/server/createGateway';
import { sign, SECRET } from '../auth/tokens';
import { graphql, startTestGateway } from '../helpers/gateway';
import { subscribe, type TestSubscriber } from '../helpers/subscribers';

// Loaded untyped on purpose (see routerHttpCache.test.ts): graphql-yoga's declarations augment
// graphql's error extensions in a way the project's Apollo code does not satisfy.
interface GatewayRuntime {
  (req: http.IncomingMessage, res: http.ServerResponse): void;
  graphqlEndpoint: string;
  dispose(): Promise<void> | void;
}
// graphql-ws publishes its `ws` adapter only through package exports (see webSocketServer.ts).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { useServer } = require('graphql-ws/use/ws') as typeof import('graphql-ws/dist/use/ws');
const { createGatewayRuntime, getGraphQLWSOptions } = require('@graphql-hive/gateway-runtime') as {
  createGatewayRuntime(config: Record<string, unknown>): GatewayRuntime;
  getGraphQLWSOptions(runtime: GatewayRuntime, onContext: (ctx: { extra: { request: http.IncomingMessage; socket: unknown } }) => Record<string, unknown>): never;
};

const ZONE = 'Asia/Shanghai';
const START = DateTime.fromISO('2026-11-26T11:30:00', { zone: ZONE }).toMillis();
const HOUR_11 = DateTime.fromISO('2026-11-26T11:00:00', { zone: ZONE }).toMillis();

const WALLBOARDS_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.4", import: ["@key", "@external"])

  type CallCenterInstance @key(fields: "id") {
    id: ID!
    "The team that runs the instance's wallboards."
    team: String!
  }

  type IntervalReport @key(fields: "id instanceId") {
    id: ID! @external
    instanceId: ID! @external
    "The instance the bucket belongs to, as an entity."
    callCenter: CallCenterInstance!
  }
`;

const TEAMS: Record<string, string> = { 'ccc-test': 'Night shift', 'ccc-demo-1': 'Billing' };

interface WallboardsSubgraph {
  url: string;
  /** Representations the router asked this subgraph to resolve, by type. */
  resolved: { __typename: string; id: string }[];
  close(): Promise<void>;
}

async function startWallboardsSubgraph(): Promise<WallboardsSubgraph> {
  const resolved: WallboardsSubgraph['resolved'] = [];
  const schema = buildSubgraphSchema([
    {
      typeDefs: parse(WALLBOARDS_SDL),
      resolvers: {
        CallCenterInstance: {
          __resolveReference: (ref: { id: string }) => (resolved.push({ __typename: 'CallCenterInstance', id: ref.id }), ref),
          team: (instance: { id: string }) => TEAMS[instance.id] ?? 'Unassigned',
        },
        IntervalReport: {
          __resolveReference: (ref: { id: string; instanceId: string }) => (resolved.push({ __typename: 'IntervalReport', id: ref.id }), ref),
          callCenter: (report: { instanceId: string }) => ({ __typename: 'CallCenterInstance', id: report.instanceId }),
        },
      } as never,
    },
  ]);
  const server = new ApolloServer({ schema, plugins: [ApolloServerPluginInlineTraceDisabled()] });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { url, resolved, close: () => server.stop() };
}

/** Hive Gateway's runtime on a node HTTP server, with graphql-ws on its endpoint for clients. */
async function startRouter(supergraph: string): Promise<{ url: string; close(): Promise<void> }> {
  const runtime = createGatewayRuntime({
    supergraph,
    logging: false,
    transportEntries: {
      'ccc-reports': {
        // Entity fetches over HTTP carry the client's token as Authorization.
        headers: [['authorization', '{context.connectionParams.authorization}']],
        options: {
          subscriptions: {
            kind: 'ws',
            location: '/graphql',
            options: {
              // The subgraph reads the token from connection_init (one WebSocket per distinct token).
              connectionParams: { authorization: '{context.connectionParams.authorization}' },
              // Close the subgraph WebSocket as soon as its last subscription ends (default 3 s, a
              // timer that would outlive the test).
              lazyCloseTimeout: 0,
            },
          },
        },
      },
    },
  });
  const server = http.createServer(runtime);
  const wsServer = new WebSocketServer({ server, path: runtime.graphqlEndpoint });
  const cleanup = useServer(getGraphQLWSOptions(runtime, (ctx) => ({ req: ctx.extra.request, socket: ctx.extra.socket })), wsServer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}${runtime.graphqlEndpoint}`;
  // The runtime loads the supergraph on its first HTTP request; a WebSocket operation before that
  // finds no schema ("Expected null to be a GraphQL schema").
  const warmUp = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
  if (!warmUp.ok) throw new Error(`router not ready: ${warmUp.status} ${await warmUp.text()}`);
  return {
    url,
    async close() {
      await cleanup.dispose();
      await runtime.dispose();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const LIVE = `subscription($id: ID!) {
  intervalReportUpdates(instanceId: $id) {
    id statsTime closed overall { totalCalls }
    callCenter { id team name }
  }
}`;

describe('Hive Gateway in front of the subscriptions (graphql-ws to the subgraph)', () => {
  const clock = { now: START };
  let subgraph: Gateway;
  let wallboards: WallboardsSubgraph;
  let router: Awaited<ReturnType<typeof startRouter>>;
  const subscribers: TestSubscriber[] = [];
  const token = async (instances: string[]) => ({ authorization: `Bearer ${await sign({ ccc_instances: instances })}` });

  beforeAll(async () => {
    subgraph = await startTestGateway(
      { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, CACHE_SETTLE_DELAY_MS: '0' },
      // Polls every 100 ms of real time; freshness is judged on the test clock.
      { now: () => clock.now, livePollIntervalMs: 100 },
    );
    wallboards = await startWallboardsSubgraph();
    const sdl = (await graphql(subgraph, '{ _service { sdl } }', undefined, await token(['*']))).data._service.sdl as string;
    const composed = composeServices([
      { name: 'ccc-reports', typeDefs: parse(sdl), url: subgraph.url },
      { name: 'wallboards', typeDefs: parse(WALLBOARDS_SDL), url: wallboards.url },
    ]);
    if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('; '));
    router = await startRouter(composed.supergraphSdl!);
  });
  afterEach(async () => {
    await Promise.all(subscribers.splice(0).map((s) => s.dispose()));
  });
  afterAll(async () => {
    await router?.close();
    await wallboards?.close();
    await subgraph?.close();
  });

  it('pushes the current bucket, its changes, closed: true and the next bucket, each completed from both subgraphs', async () => {
    const live = subscribe(router.url, LIVE, { id: 'ccc-test' }, { connectionParams: await token(['ccc-test']) });
    subscribers.push(live);
    const first = await live.waitFor(() => true);
    expect(first.result.errors).toBeUndefined();
    const bucket = first.result.data.intervalReportUpdates;
    expect(bucket).toMatchObject({ statsTime: HOUR_11, closed: false, callCenter: { id: 'ccc-test', team: 'Night shift', name: 'Test call center' } });
    // The subscription reached the subgraph over WebSocket: one live subscriber there.
    expect(subgraph.live.hub.stats.subscribers).toBe(1);
    expect(wallboards.resolved).toContainEqual({ __typename: 'IntervalReport', id: bucket.id });

    // Same id as the subgraph's own query for that hour.
    const query = await graphql(subgraph, `{ intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, startTime: ${HOUR_11}) { id } }`, undefined, await token(['ccc-test']));
    expect(query.data.intervalInstanceReport).toEqual([{ id: bucket.id }]);

    // Five minutes later the open hour has grown: the same bucket again, through the router.
    clock.now = START + 5 * 60_000;
    const grown = (await live.waitFor(() => true, { from: 1 })).result.data.intervalReportUpdates;
    expect(grown).toMatchObject({ id: bucket.id, closed: false, callCenter: bucket.callCenter });
    expect(grown.overall.totalCalls).toBeGreaterThan(bucket.overall.totalCalls);

    // The hour ends (no settle delay): its closed: true version, then the next hour.
    clock.now = HOUR_11 + HOUR_MS + 60_000;
    const closed = await live.waitFor((e) => e.result.data?.intervalReportUpdates?.closed === true, { from: 2 });
    expect(closed.result.data.intervalReportUpdates).toMatchObject({ id: bucket.id, statsTime: HOUR_11 });
    const next = await live.waitFor((e) => e.result.data?.intervalReportUpdates?.statsTime === HOUR_11 + HOUR_MS, { from: live.events.indexOf(closed) + 1 });
    expect(next.result.data.intervalReportUpdates).toMatchObject({ closed: false, callCenter: { id: 'ccc-test', team: 'Night shift' } });
    expect(next.result.data.intervalReportUpdates.id).not.toBe(bucket.id);
    for (const event of live.events) expect(event.result.errors).toBeUndefined();

    // The client leaves: the router ends its subscription at the subgraph.
    await live.dispose();
    await until(() => subgraph.live.hub.stats.subscribers === 0);
  });

  it('refuses an instance outside the token\'s claim with the subgraph\'s FORBIDDEN, through the router', async () => {
    const refused = subscribe(router.url, LIVE, { id: 'ccc-demo-1' }, { connectionParams: await token(['ccc-test']) });
    subscribers.push(refused);
    const event = await refused.waitFor(() => true);
    expect(event.result.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    expect(event.result.errors?.[0].message).toContain('ccc-demo-1');
    await refused.ended();
  });

  it('keeps two clients\' subscriptions apart, each with its own instance\'s entity fields', async () => {
    const params = await token(['ccc-test', 'ccc-demo-1']);
    const a = subscribe(router.url, LIVE, { id: 'ccc-test' }, { connectionParams: params });
    const b = subscribe(router.url, LIVE, { id: 'ccc-demo-1' }, { connectionParams: params });
    subscribers.push(a, b);
    const [ea, eb] = await Promise.all([a.waitFor(() => true), b.waitFor(() => true)]);
    expect(ea.result.data.intervalReportUpdates.callCenter.team).toBe('Night shift');
    expect(eb.result.data.intervalReportUpdates.callCenter).toEqual({ id: 'ccc-demo-1', team: 'Billing', name: expect.any(String) });
    expect(subgraph.live.hub.stats.subscribers).toBe(2);
    // Both count against the token's caller at the subgraph (MAX_SUBSCRIPTIONS_PER_CALLER).
    expect(subgraph.live.server.openSubscriptions('sub:svc-reporting')).toBe(2);
  });

  it('accepts the handshake Apollo Router sends in passthrough mode (the docs\' router.yaml)', async () => {
    // apollo-router src/plugins/subscription/subgraph.rs: the propagated headers go on the upgrade
    // request, and connection_init carries { connectionParams: { token: <Authorization value> } }.
    const { authorization } = await token(['ccc-test']);
    const apollo = subscribe(subgraph.url, LIVE.replace('callCenter { id team name }', 'instanceId'), { id: 'ccc-test' }, {
      connectionParams: { connectionParams: { token: authorization } },
      wsOptions: { headers: { authorization } },
    });
    subscribers.push(apollo);
    const first = await apollo.waitFor(() => true);
    expect(first.result.errors).toBeUndefined();
    expect(first.result.data.intervalReportUpdates).toMatchObject({ instanceId: 'ccc-test', statsTime: expect.any(Number) });
  });
});

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
