/**
 * Answers holding open buckets, cached by the resolved plan (real HTTP, the built-in emulator, a
 * test clock): dashboard polls with `endTime: Date.now()` share one entry while they read the same
 * buckets; anything that changes what is read (instance, interval, zone, permissions, another
 * variable) never shares it; the entry ends when its open snapshot is due for refresh, which then
 * runs in the background while the snapshot is served (stale-while-revalidate).
 */
import { DAY_MS, HOUR_MS } from '../../src/reports/intervals';
import { DEFAULT_REFRESH_AHEAD_FRACTION } from '../../src/reports/ReportPipeline';
import type { Gateway } from '../../src/server/createGateway';
import { SECRET, sign } from '../auth/tokens';
import { startTestGateway } from '../helpers/gateway';

const NOW = Date.UTC(2026, 10, 26, 3, 30); // 11:30 in Shanghai
const TTL = 30_000;
const DASHBOARD = `query Dashboard($id: ID!, $s: Timestamp, $e: Timestamp, $interval: ReportInterval = HOURLY, $zone: String, $empty: EmptyIntervals) {
  intervalInstanceReport(instanceId: $id, startTime: $s, endTime: $e, interval: $interval, timeZone: $zone, emptyIntervals: $empty) {
    id statsTime closed inbound { callsOffered }
  }
}`;

async function post(gateway: Gateway, query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { response, text: await response.text() };
}

async function metric(gateway: Gateway, series: string): Promise<number> {
  const text = await (await fetch(gateway.url.replace('/graphql', '/metrics'))).text();
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.split(' ').at(-1)) : 0;
}
const HITS = 'ccc_gateway_operations_total{operation="cached",outcome="ok"}';

describe('answers holding open buckets, keyed by the resolved plan', () => {
  let gateway: Gateway;
  let clock = NOW;
  beforeAll(async () => {
    gateway = await startTestGateway({ CACHE_OPEN_TTL_MS: String(TTL), CACHE_SETTLE_DELAY_MS: String(10 * 60_000) }, { now: () => clock });
  });
  afterAll(() => gateway.close());
  beforeEach(async () => {
    await gateway.pipeline.refreshesSettled();
  });

  /** The dashboard as a client polls it: the last 7 days, ending at the poll's own millisecond. */
  const poll = (variables: Record<string, unknown> = {}, headers?: Record<string, string>) =>
    post(gateway, DASHBOARD, { id: 'ccc-demo-1', s: clock - 7 * DAY_MS, e: clock, ...variables }, headers);

  it('serves polls ending at different milliseconds of one hour from one entry, without executing', async () => {
    clock = NOW;
    const first = await poll();
    expect(JSON.parse(first.text).data.intervalInstanceReport.at(-1).closed).toBe(false);
    const hits = await metric(gateway, HITS);
    const calls = gateway.emulator!.stats.callsReceived;
    for (const ms of [1, 2_345, 9_999]) {
      clock = NOW + ms;
      const again = await poll();
      expect(again.text).toBe(first.text);
      // max-age counts down to the snapshot's TTL end, as an executed answer's would.
      expect(again.response.headers.get('cache-control')).toBe(`public, max-age=${Math.floor((TTL - ms) / 1000)}`);
    }
    expect(await metric(gateway, HITS)).toBe(hits + 3);
    expect(gateway.emulator!.stats.callsReceived).toBe(calls);
    expect(await metric(gateway, 'ccc_gateway_open_answer_cache_total{outcome="hit"}')).toBeGreaterThanOrEqual(3);
  });

  it('never shares an entry across instance, interval, zone or another variable', async () => {
    clock = NOW + 1_000;
    const base = await poll();
    const hits = await metric(gateway, HITS);
    const variants = [{ id: 'ccc-demo-2' }, { interval: 'DAILY' }, { zone: 'UTC' }, { empty: 'ZERO' }, { s: clock - 6 * DAY_MS }];
    const texts = new Set([base.text]);
    for (const variables of variants) {
      const answer = await poll(variables);
      expect(JSON.parse(answer.text).errors).toBeUndefined();
      texts.add(answer.text);
    }
    expect(await metric(gateway, HITS)).toBe(hits); // every variant executed
    expect(texts.size).toBe(variants.length + 1);
    // Each variant has its own entry now.
    for (const variables of variants) await poll(variables);
    expect(await metric(gateway, HITS)).toBe(hits + variants.length);
  });

  it('moves to a new entry when the range gains a bucket (a new hour)', async () => {
    clock = NOW + 2_000;
    await poll();
    const hits = await metric(gateway, HITS);
    clock = NOW - (NOW % HOUR_MS) + HOUR_MS + 1; // 04:00:00.001: a new open hour
    const next = JSON.parse((await poll()).text);
    expect(await metric(gateway, HITS)).toBe(hits);
    expect(next.data.intervalInstanceReport.at(-1).statsTime).toBe(NOW - (NOW % HOUR_MS) + HOUR_MS);
  });

  it('ends an entry when its open snapshot is due: the next poll executes, serves the snapshot and refreshes it in the background', async () => {
    clock = NOW + 3 * HOUR_MS; // a fresh hour of its own
    const first = await poll({ id: 'ccc-demo-3' });
    const calls = gateway.emulator!.stats.callsReceived;
    clock += TTL * DEFAULT_REFRESH_AHEAD_FRACTION - 1;
    const hits = await metric(gateway, HITS);
    expect((await poll({ id: 'ccc-demo-3' })).text).toBe(first.text);
    expect(await metric(gateway, HITS)).toBe(hits + 1);

    // Due: upstream is slow now; the poll returns the previous snapshot before upstream answers.
    clock += 1;
    gateway.emulator!.options.latencyMs = 1_500;
    const during = await poll({ id: 'ccc-demo-3' });
    expect(gateway.pipeline.refreshesUnderWay).toBe(1); // the poll was answered while upstream was still at it
    expect(await metric(gateway, HITS)).toBe(hits + 1); // executed (the entry had ended) ...
    expect(during.text).toBe(first.text); // ... from the same snapshot
    await gateway.pipeline.refreshesSettled();
    gateway.emulator!.options.latencyMs = 0;
    expect(gateway.emulator!.stats.callsReceived).toBe(calls + 1); // one refresh, of the open hour
    const after = await poll({ id: 'ccc-demo-3' });
    expect(after.response.headers.get('cache-control')).toBe(`public, max-age=${TTL / 1000}`);
  });

  it('a failing refresh keeps serving the snapshot (never past 2x the TTL), is counted, and heals', async () => {
    clock = NOW + 5 * HOUR_MS;
    await poll({ id: 'ccc-demo-4' });
    const fetchedAt = clock;
    gateway.emulator!.options.failures = { rate: 1, codes: ['ServiceUnavailable'], seed: 1 };
    const failedBefore = await metric(gateway, 'ccc_gateway_open_refreshes_total{outcome="failed"}');
    clock = fetchedAt + TTL; // due and TTL old
    const stale = await poll({ id: 'ccc-demo-4' });
    expect(JSON.parse(stale.text).errors).toBeUndefined();
    expect(stale.response.headers.get('cache-control')).toBe('public, max-age=0');
    await gateway.pipeline.refreshesSettled();
    expect(await metric(gateway, 'ccc_gateway_open_refreshes_total{outcome="failed"}')).toBe(failedBefore + 1);

    clock = fetchedAt + 2 * TTL; // the bound: the poll waits for upstream, and gets its error
    const failed = JSON.parse((await poll({ id: 'ccc-demo-4' })).text);
    expect(failed.errors[0].extensions.code).toBe('UPSTREAM_UNAVAILABLE');

    gateway.emulator!.options.failures = { rate: 0, codes: ['ServiceUnavailable'], seed: 1 };
    const healed = await poll({ id: 'ccc-demo-4' });
    expect(JSON.parse(healed.text).errors).toBeUndefined();
    expect(healed.response.headers.get('cache-control')).toBe(`public, max-age=${TTL / 1000}`);
  });

  it('serves polls with an inline literal endTime from one entry too', async () => {
    clock = NOW + 6 * HOUR_MS;
    const text = (end: number) => `{ intervalInstanceReport(instanceId: "ccc-demo-5", interval: HOURLY, startTime: ${NOW}, endTime: ${end}) { statsTime closed inbound { callsOffered } } }`;
    const first = await post(gateway, text(clock), {});
    const hits = await metric(gateway, HITS);
    clock += 1_234;
    const again = await post(gateway, text(clock), {});
    expect(again.text).toBe(first.text);
    expect(await metric(gateway, HITS)).toBe(hits + 1);
  });

  it('does not key documents it cannot analyse: they always execute', async () => {
    clock = NOW + 7 * HOUR_MS;
    const withService = `query Q($e: Timestamp) { _service { sdl } intervalInstanceReport(instanceId: "ccc-demo-5", interval: HOURLY, startTime: ${clock - DAY_MS}, endTime: $e) { statsTime } }`;
    await post(gateway, withService, { e: clock });
    const hits = await metric(gateway, HITS);
    await post(gateway, withService, { e: clock + 1 });
    await post(gateway, withService, { e: clock });
    expect(await metric(gateway, HITS)).toBe(hits);
  });
});

describe('answers holding open buckets, with authentication', () => {
  let gateway: Gateway;
  const clock = NOW;
  beforeAll(async () => {
    gateway = await startTestGateway({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET }, { now: () => clock });
  });
  afterAll(() => gateway.close());

  it('keys by permissions: callers with other rights never share an entry, and a forbidden caller gets no answer', async () => {
    const wide = await sign({ ccc_instances: '*' });
    const narrow = await sign({ ccc_instances: ['ccc-demo-1'] });
    const other = await sign({ ccc_instances: ['ccc-demo-2'] });
    const as = (token: string) => ({ authorization: `Bearer ${token}` });
    const variables = { id: 'ccc-demo-1', s: clock - DAY_MS, e: clock };
    const first = await post(gateway, DASHBOARD, variables, as(wide));
    expect(first.response.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
    const hits = await metric(gateway, HITS);
    await post(gateway, DASHBOARD, { ...variables, e: clock - 1 }, as(narrow)); // allowed, but other rights: executed
    expect(await metric(gateway, HITS)).toBe(hits);
    const denied = JSON.parse((await post(gateway, DASHBOARD, variables, as(other))).text);
    expect(denied.errors[0].extensions.code).toBe('FORBIDDEN');
    expect(await metric(gateway, HITS)).toBe(hits);
    await post(gateway, DASHBOARD, { ...variables, e: clock - 2 }, as(wide));
    expect(await metric(gateway, HITS)).toBe(hits + 1);
  });
});
