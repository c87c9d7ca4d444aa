/**
 * The same live reports over Server-Sent Events (`graphql-sse`, distinct connections) at
 * /graphql/stream, with the real graphql-sse client: the current bucket, then its update; the
 * token in the Authorization header (401 without it); FORBIDDEN for another instance; an expiring
 * token ends the stream with an UNAUTHENTICATED event; the subscription limit counts both transports.
 */
import { createClient, type Client } from 'graphql-sse';
import { DateTime } from 'luxon';
import type { Gateway } from '../../src/server/createGateway';
import { sign, SECRET } from '../auth/tokens';
import { startTestGateway } from '../helpers/gateway';
import { subscribe as subscribeWs } from '../helpers/subscribers';

const START = DateTime.fromISO('2026-11-26T11:20:00', { zone: 'Asia/Shanghai' }).toMillis();
const LIVE = `subscription($id: ID!) { intervalReportUpdates(instanceId: $id) { id statsTime closed overall { totalCalls } } }`;

interface Stream {
  events: any[];
  error?: unknown;
  done: boolean;
  dispose(): void;
}

describe('live report subscriptions over Server-Sent Events', () => {
  const clock = { now: START };
  let gateway: Gateway;
  const clients: Client[] = [];
  const disposers: (() => void)[] = [];
  const bearer = async (claims: Record<string, unknown> = {}, expiresIn = 3600) =>
    `Bearer ${await sign({ ccc_instances: ['ccc-test'], ...claims }, undefined, { expiresIn })}`;

  function stream(authorization: string | undefined, variables: Record<string, unknown> = { id: 'ccc-test' }): Stream {
    const client = createClient({
      url: `${gateway.url}/stream`,
      headers: authorization ? { authorization } : {},
      retryAttempts: 0,
      singleConnection: false,
    });
    clients.push(client);
    const s: Stream = { events: [], done: false, dispose: () => undefined };
    s.dispose = client.subscribe(
      { query: LIVE, variables },
      {
        next: (event) => s.events.push(event),
        error: (error) => {
          s.error = error;
        },
        complete: () => {
          s.done = true;
        },
      },
    );
    disposers.push(s.dispose);
    return s;
  }
  const until = async (condition: () => boolean, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  beforeAll(async () => {
    gateway = await startTestGateway(
      { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_TOLERANCE_S: '0', MAX_SUBSCRIPTIONS_PER_CALLER: '2' },
      { now: () => clock.now, livePollIntervalMs: 100 },
    );
  });
  afterEach(() => {
    for (const dispose of disposers.splice(0)) dispose();
    for (const client of clients.splice(0)) client.dispose();
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('streams the current bucket, then its update', async () => {
    const s = stream(await bearer());
    await until(() => s.events.length >= 1);
    const first = s.events[0].data.intervalReportUpdates;
    expect(first.closed).toBe(false);
    clock.now += 5 * 60_000;
    await until(() => s.events.length >= 2);
    const update = s.events[1].data.intervalReportUpdates;
    expect(update.id).toBe(first.id);
    expect(update.overall.totalCalls).toBeGreaterThan(first.overall.totalCalls);
  });

  it('refuses a request without a token (401) and another instance (FORBIDDEN)', async () => {
    const anonymous = await fetch(`${gateway.url}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: LIVE, variables: { id: 'ccc-test' } }),
    });
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const other = stream(await bearer(), { id: 'ccc-demo-2' });
    await until(() => other.events.length >= 1 || other.error !== undefined);
    expect(other.events[0].errors[0].extensions.code).toBe('FORBIDDEN');
  });

  it('ends the stream with an UNAUTHENTICATED event when the token expires', async () => {
    const s = stream(await bearer({}, 2));
    await until(() => s.events.length >= 1);
    await until(() => s.done || s.error !== undefined, 10_000);
    const last = s.events[s.events.length - 1];
    expect(last.errors[0]).toMatchObject({ message: expect.stringContaining('expired'), extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('completes the streams when the replica shuts down', async () => {
    const own = gateway;
    gateway = await startTestGateway({}, { now: () => clock.now, livePollIntervalMs: 100 });
    try {
      const s = stream(undefined);
      await until(() => s.events.length >= 1);
      await gateway.close();
      await until(() => s.done || s.error !== undefined);
      expect(gateway.live.hub.stats.subscribers).toBe(0);
    } finally {
      gateway = own;
    }
  });

  it('counts WebSocket and SSE subscriptions together against MAX_SUBSCRIPTIONS_PER_CALLER', async () => {
    const authorization = await bearer({ sub: 'both-transports' });
    const overWs = subscribeWs(gateway.url, LIVE, { id: 'ccc-test' }, { connectionParams: { authorization } });
    disposers.push(() => void overWs.dispose());
    await overWs.waitFor(() => true);
    const overSse = stream(authorization);
    await until(() => overSse.events.length >= 1);
    const third = await fetch(`${gateway.url}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization },
      body: JSON.stringify({ query: LIVE, variables: { id: 'ccc-test' } }),
    });
    expect(third.status).toBe(400);
    expect((await third.json()).errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', maxSubscriptionsPerCaller: 2 });
  });
});
