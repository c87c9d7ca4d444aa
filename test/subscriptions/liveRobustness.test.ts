/**
 * Live report subscriptions when things go wrong: a consumer that stops reading is disconnected
 * with 1013 and a reason once SUBSCRIPTION_QUEUE_MAX updates wait for it (never buffered without
 * limit); an upstream failure reaches subscribers as an error event and polling goes on; a replica
 * shutting down closes its subscriptions (1001) and a retrying client resubscribes on another.
 */
import { DateTime } from 'luxon';
import type { Gateway } from '../../src/server/createGateway';
import { METRICS } from '../../src/reports/metrics';
import { startTestGateway } from '../helpers/gateway';
import { subscribe, type TestSubscriber } from '../helpers/subscribers';

const START = DateTime.fromISO('2026-11-26T11:10:00', { zone: 'Asia/Shanghai' }).toMillis();
const LIVE = `subscription($id: ID!) { intervalReportUpdates(instanceId: $id) { id statsTime closed overall { totalCalls } } }`;

async function counter(gateway: Gateway, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await gateway.metrics.registry.getSingleMetric(name)!.get();
  return metric.values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((n, v) => n + v.value, 0);
}

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('live report subscriptions: robustness', () => {
  const clock = { now: START };
  const gateways: Gateway[] = [];
  const subscribers: TestSubscriber[] = [];
  const start = async (env: Record<string, string> = {}) => {
    const g = await startTestGateway(env, { now: () => clock.now, livePollIntervalMs: 50 });
    gateways.push(g);
    return g;
  };
  beforeEach(() => {
    clock.now = START;
  });
  afterEach(async () => {
    await Promise.all(subscribers.splice(0).map((s) => s.dispose()));
    await Promise.all(gateways.splice(0).map((g) => g.close()));
  });

  it('disconnects a consumer that stops reading with 1013 once its queue is full', async () => {
    const gateway = await start({ SUBSCRIPTION_QUEUE_MAX: '2', MAX_ALIASES: '200', CACHE_SETTLE_DELAY_MS: '0' });
    // About 100 kB per update (every inbound metric, 100 times), so that a stalled reader's socket
    // buffers fill after some updates and the gateway's queue for it starts to grow. How many
    // depends on the kernel's loopback buffers (autotuned up to several MB each way), hence up to
    // 180 updates (about 18 MB) before the test gives up: 45 were not always enough on this machine.
    const inbound = METRICS.inbound.map((m) => m.name).join(' ');
    const heavy = `subscription($id: ID!) { intervalReportUpdates(instanceId: $id) { statsTime ${Array.from({ length: 100 }, (_, i) => `g${i}: inbound { ...I }`).join(' ')} } }
      fragment I on InboundMetrics { ${inbound} }`;
    const stalled = subscribe(gateway.url, heavy, { id: 'ccc-test' });
    const healthy = subscribe(gateway.url, LIVE, { id: 'ccc-test' });
    subscribers.push(stalled, healthy);
    await Promise.all([stalled.waitFor(() => true), healthy.waitFor(() => true)]);
    expect(stalled.events[0].result.errors).toBeUndefined();
    // The stalled client stops reading its socket; the clock moves a minute at a time (each poll
    // has new numbers) until the gateway gives up on it.
    (stalled.socket() as unknown as { _socket: { pause(): void } })._socket.pause();
    let minutes = 0;
    while ((await counter(gateway, 'ccc_gateway_live_disconnects_total', { reason: 'slow-consumer' })) === 0) {
      if (++minutes > 180) throw new Error('the stalled consumer was never disconnected');
      clock.now += 60_000;
      await healthy.waitFor(() => true, { from: healthy.events.length });
    }
    // The reader resumes: it finds what was sent, then the close frame with its reason.
    (stalled.socket() as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await stalled.closed()).toEqual({ code: 1013, reason: expect.stringContaining('slow consumer') });
    expect(stalled.events.length).toBeLessThan(minutes + 1);
    // The healthy subscriber on the same series is unaffected.
    clock.now += 60_000;
    await healthy.waitFor(() => true, { from: healthy.events.length });
    expect(healthy.closes).toHaveLength(0);
  }, 60_000);

  it('sends an upstream failure as an error event and resumes with the next successful poll', async () => {
    const gateway = await start({ UPSTREAM_MAX_ATTEMPTS: '1' });
    const live = subscribe(gateway.url, LIVE, { id: 'ccc-test' });
    subscribers.push(live);
    const first = (await live.waitFor(() => true)).result.data.intervalReportUpdates;
    gateway.emulator!.options.failures = { rate: 1, codes: ['ServiceUnavailable'], seed: 1 };
    // Two TTLs later the open snapshot may no longer be served: the poll has to go upstream.
    clock.now += 61_000;
    const failed = await live.waitFor((e) => e.result.errors !== undefined, { from: 1 });
    expect(failed.result.data).toEqual({ intervalReportUpdates: null });
    expect(failed.result.errors?.[0].extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(live.completed).toBe(false);
    gateway.emulator!.options.failures = { rate: 0, codes: ['ServiceUnavailable'], seed: 1 };
    const recovered = await live.waitFor((e) => e.result.data?.intervalReportUpdates != null, { from: live.events.indexOf(failed) + 1 });
    expect(recovered.result.data.intervalReportUpdates).toMatchObject({ id: first.id, closed: false });
    expect(recovered.result.data.intervalReportUpdates.overall.totalCalls).toBeGreaterThan(first.overall.totalCalls);
  });

  it('closes subscriptions with 1001 on shutdown; a retrying client resubscribes on another replica', async () => {
    const [a, b] = [await start(), await start()];
    let target = a;
    const live = subscribe(() => target.url, LIVE, { id: 'ccc-test' }, { retryAttempts: 3 });
    subscribers.push(live);
    const first = (await live.waitFor(() => true)).result.data.intervalReportUpdates;
    expect(a.live.hub.stats.subscribers).toBe(1);
    target = b;
    await a.close();
    expect(a.live.hub.stats).toEqual({ subscribers: 0, series: 0, polling: 0 });
    expect(await live.closed()).toEqual({ code: 1001, reason: 'Going away' });
    const again = await live.waitFor(() => true, { from: 1 });
    expect(again.result.data.intervalReportUpdates).toEqual(first);
    expect(b.live.hub.stats.subscribers).toBe(1);
    gateways.splice(gateways.indexOf(a), 1);
  });

  it('terminates a connection that stops answering keepalive pings', async () => {
    const gateway = await start({ SUBSCRIPTION_KEEPALIVE_MS: '200' });
    const live = subscribe(gateway.url, LIVE, { id: 'ccc-test' });
    subscribers.push(live);
    await live.waitFor(() => true);
    expect(gateway.live.hub.stats.subscribers).toBe(1);
    (live.socket() as unknown as { _socket: { pause(): void } })._socket.pause();
    await waitUntil(() => gateway.live.hub.stats.subscribers === 0);
    live.socket()!.terminate(); // a paused socket would hold its close handshake for 30 s
  });
});
