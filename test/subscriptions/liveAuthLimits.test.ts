/**
 * Subscriptions under AUTH_MODE=jwt: the token travels in connection_init and is checked like an
 * HTTP request's; each subscription is checked against the token's instances; an expiring token
 * closes the connection with 4403 (a client with fresh connectionParams reconnects); the per-caller
 * limit and the operation limits apply to subscription documents.
 */
import { DateTime } from 'luxon';
import type { Gateway } from '../../src/server/createGateway';
import { sign, SECRET } from '../auth/tokens';
import { startTestGateway } from '../helpers/gateway';
import { subscribe, type TestSubscriber } from '../helpers/subscribers';

const START = DateTime.fromISO('2026-11-26T11:30:00', { zone: 'Asia/Shanghai' }).toMillis();
const LIVE = `subscription($id: ID!) { intervalReportUpdates(instanceId: $id) { id statsTime closed } }`;

describe('live report subscriptions: authentication and limits', () => {
  let gateway: Gateway;
  const subscribers: TestSubscriber[] = [];
  const open = (id: string, params?: Record<string, unknown> | (() => Promise<Record<string, unknown>>), options: { retryAttempts?: number } = {}) => {
    const s = subscribe(gateway.url, LIVE, { id }, { connectionParams: params, ...options });
    subscribers.push(s);
    return s;
  };
  const bearer = async (claims: Record<string, unknown> = {}, expiresIn = 3600) => ({ authorization: `Bearer ${await sign({ ccc_instances: ['ccc-test', 'ccc-demo-1'], ...claims }, undefined, { expiresIn })}` });

  beforeAll(async () => {
    gateway = await startTestGateway(
      { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_TOLERANCE_S: '0', MAX_SUBSCRIPTIONS_PER_CALLER: '2', OPERATION_MAX_COST: '30' },
      { now: () => START, livePollIntervalMs: 100 },
    );
  });
  afterEach(async () => {
    await Promise.all(subscribers.splice(0).map((s) => s.dispose()));
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('closes a connection without a valid token with 4401 and the reason', async () => {
    const none = open('ccc-test');
    expect(await none.closed()).toEqual({ code: 4401, reason: expect.stringContaining('a bearer token is required') });
    const forged = open('ccc-test', { authorization: `Bearer ${(await sign({ ccc_instances: '*' })).slice(0, -4)}AAAA` });
    expect(await forged.closed()).toEqual({ code: 4401, reason: expect.stringContaining('invalid bearer token') });
    for (const s of [none, forged]) expect(s.events).toHaveLength(0);
  });

  it('serves the instances of the claim and refuses others with FORBIDDEN', async () => {
    const params = await bearer();
    const allowed = open('ccc-test', params);
    const other = open('ccc-demo-2', params);
    expect((await allowed.waitFor(() => true)).result.data.intervalReportUpdates.closed).toBe(false);
    const refused = await other.waitFor(() => true);
    expect(refused.result.errors?.[0]).toMatchObject({ message: 'not allowed to read call center instance ccc-demo-2', extensions: { code: 'FORBIDDEN' } });
    await other.ended();
    expect(other.completed).toBe(true);
  });

  it('takes the token from the upgrade request\'s Authorization header too (routers propagate headers)', async () => {
    const { authorization } = await bearer();
    const s = subscribe(gateway.url, LIVE, { id: 'ccc-test' }, { wsOptions: { headers: { authorization } } });
    subscribers.push(s);
    expect((await s.waitFor(() => true)).result.data.intervalReportUpdates.closed).toBe(false);
  });

  it('closes the connection with 4403 when the token expires; fresh connectionParams reconnect', async () => {
    let tokens = 0;
    const s = open(
      'ccc-test',
      async () => {
        tokens++;
        return bearer({}, tokens === 1 ? 2 : 3600);
      },
      { retryAttempts: 1 },
    );
    await s.waitFor(() => true);
    const close = await s.closed(10_000);
    expect(close).toEqual({ code: 4403, reason: expect.stringContaining('bearer token expired') });
    // The client retried with a new token and subscribed again: the current bucket once more.
    const again = await s.waitFor(() => true, { from: 1 });
    expect(again.result.data.intervalReportUpdates).toEqual(s.events[0].result.data.intervalReportUpdates);
    expect(tokens).toBe(2);
  });

  it('allows MAX_SUBSCRIPTIONS_PER_CALLER at once per caller, on any number of connections', async () => {
    const params = await bearer({ sub: 'limited-caller' });
    const [one, two] = [open('ccc-test', params), open('ccc-demo-1', params)];
    await Promise.all([one.waitFor(() => true), two.waitFor(() => true)]);
    const three = open('ccc-test', params);
    await three.ended();
    expect((three.error as { extensions?: Record<string, unknown> }[])[0]).toMatchObject({
      message: expect.stringContaining('MAX_SUBSCRIPTIONS_PER_CALLER'),
      extensions: { code: 'RATE_LIMITED', maxSubscriptionsPerCaller: 2 },
    });
    // Another caller is not affected.
    const elsewhere = open('ccc-test', await bearer({ sub: 'another-caller' }));
    await elsewhere.waitFor(() => true);
    // Completing one frees its place.
    await one.dispose();
    await waitUntil(() => gateway.live.server.openSubscriptions('sub:limited-caller') === 1);
    const four = open('ccc-test', params);
    expect((await four.waitFor(() => true)).result.errors).toBeUndefined();
  });

  it('applies the operation cost and document limits to subscription documents', async () => {
    const params = await bearer({ ccc_instances: '*' });
    // A month of days for 2 instances reads about 2 x 26 upstream buckets: over OPERATION_MAX_COST=30.
    const costly = subscribe(gateway.url, `subscription { combinedIntervalReportUpdates(instanceIds: ["ccc-test", "ccc-demo-1"], interval: MONTHLY) { id } }`, {}, { connectionParams: params });
    const deep = subscribe(gateway.url, `subscription { intervalReportUpdates(instanceId: "ccc-test") { ${'a: id '.repeat(60)} } }`, {}, { connectionParams: params });
    subscribers.push(costly, deep);
    await Promise.all([costly.ended(), deep.ended()]);
    expect((costly.error as { extensions?: Record<string, unknown> }[])[0].extensions).toMatchObject({ code: 'OPERATION_TOO_EXPENSIVE', maxCost: 30 });
    expect((deep.error as { extensions?: Record<string, unknown> }[])[0].extensions).toMatchObject({ code: 'OPERATION_TOO_EXPENSIVE' });
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
