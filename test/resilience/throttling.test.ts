/**
 * Throttling is not an outage (issue 10, section 3). Under 30% randomly injected
 * `Throttling.User`, every operation succeeds: throttled calls are retried until their deadline
 * (not only UPSTREAM_MAX_ATTEMPTS times), the upstream concurrency backs off and recovers, and
 * the circuit breaker, which only counts 5xx answers, timeouts and network errors, stays closed.
 */
import type { Gateway } from '../../src/server/createGateway';
import type { SchedulerEvent } from '../../src/reports/UpstreamScheduler';
import { graphql, type GraphQLAnswer } from '../helpers/gateway';
import { startTestGateway } from '../helpers/gateway';
import { DAY_MS, eventually, HOURLY_FIELD, NOW, scrape, setFailures, sleep, TODAY } from './support';

const CONCURRENCY = 4;
const BURSTS = 10;
const PER_BURST = 20;
/**
 * The issue spaces the bursts 11 s apart, to straddle the breaker's 10 s rolling window. Scaled
 * down tenfold to keep the suite fast: a 1 s rolling window and bursts 1.1 s apart (from start
 * to start) keep the same relation, so each burst is judged by a window of its own.
 */
const ROLLING_WINDOW_MS = 1_000;
const BURST_SPACING_MS = 1_100;

function throttlingGateway(env: Record<string, string> = {}, rollingWindowMs = ROLLING_WINDOW_MS): Promise<Gateway> {
  return startTestGateway(
    { UPSTREAM_CONCURRENCY: String(CONCURRENCY), CACHE_SETTLE_DELAY_MS: String(10 * 60_000), ...env },
    { now: () => NOW, emulator: { latencyMs: 20 }, breaker: { rollingWindowMs } },
  );
}

/** One cold closed day of a fresh instance: one upstream call. */
const coldDay = (tag: string) => `{ ${HOURLY_FIELD('r', `ccc-sim-${tag}`, TODAY - 3 * DAY_MS, TODAY - 2 * DAY_MS)} }`;
/** Hours with traffic of that day, all closed (quiet hours are absent, as upstream answers). */
const complete = (answer: GraphQLAnswer) =>
  Array.isArray(answer.data?.r) &&
  answer.data.r.length > 0 &&
  answer.data.r.every((b: { statsTime: number; closed: boolean }) => b.closed && b.statsTime >= TODAY - 3 * DAY_MS && b.statsTime < TODAY - 2 * DAY_MS);

describe('throttling is not an outage', () => {
  const gateways: Gateway[] = [];
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((g) => g.close()));
  });

  it('ten bursts of 20 cold operations under 30% Throttling.User: 0 failures, breaker closed, concurrency backs off and recovers', async () => {
    const g = await throttlingGateway({ UPSTREAM_MAX_ATTEMPTS: '3', UPSTREAM_DEADLINE_MS: '10000' });
    gateways.push(g);
    const limits: SchedulerEvent[] = [];
    g.pipeline.scheduler.observe((event) => event.type === 'limit' && limits.push(event));
    const circuit: string[] = [];
    setFailures(g, 0.3, ['Throttling.User'], 3);
    g.emulator!.resetStats();

    const answers: GraphQLAnswer[] = [];
    for (let burst = 0; burst < BURSTS; burst++) {
      const started = Date.now();
      answers.push(...(await Promise.all(Array.from({ length: PER_BURST }, (_, i) => graphql(g, coldDay(`throttle-${burst}-${i}`))))));
      circuit.push(String((await scrape(g)).sum('ccc_gateway_circuit_state')));
      await sleep(Math.max(0, BURST_SPACING_MS - (Date.now() - started)));
    }

    expect(answers).toHaveLength(BURSTS * PER_BURST);
    const failures = answers.filter((a) => a.errors !== undefined);
    expect(failures.map((a) => a.errors)).toEqual([]);
    for (const answer of answers) expect(complete(answer)).toBe(true);

    const stats = g.emulator!.stats;
    const throttled = stats.byCode['Throttling.User'] ?? 0;
    expect(stats.byCode.OK).toBe(BURSTS * PER_BURST);
    expect(throttled).toBeGreaterThan(BURSTS * PER_BURST * 0.2); // the faults really were injected
    const metrics = await scrape(g);
    expect(metrics.sum('ccc_gateway_upstream_throttled_total')).toBe(throttled);
    // The breaker never left "closed".
    expect(circuit.every((state) => state === '0')).toBe(true);
    expect(metrics.sum('ccc_gateway_circuit_transitions_total', { to: 'open' })).toBe(0);
    expect(metrics.sum('ccc_gateway_circuit_state')).toBe(0);
    // Adaptive concurrency: it backed off, and climbed back.
    expect(limits.some((e) => e.type === 'limit' && e.reason === 'throttled')).toBe(true);
    expect(limits.some((e) => e.type === 'limit' && e.reason === 'recovered')).toBe(true);

    // Throttling over: a few calls bring the limit back to UPSTREAM_CONCURRENCY (gauge and state).
    setFailures(g, 0, ['Throttling.User']);
    for (let round = 0; round < 10 && g.pipeline.scheduler.concurrencyLimit < CONCURRENCY; round++) {
      const calm = await Promise.all(Array.from({ length: PER_BURST }, (_, i) => graphql(g, coldDay(`calm-${round}-${i}`))));
      expect(calm.filter((a) => a.errors)).toEqual([]);
    }
    expect(g.pipeline.scheduler.concurrencyLimit).toBe(CONCURRENCY);
    expect((await scrape(g)).sum('ccc_gateway_upstream_concurrency_limit')).toBe(CONCURRENCY);
    const lowest = Math.min(...limits.map((e) => (e.type === 'limit' ? e.limit : CONCURRENCY)));
    expect(lowest).toBeLessThan(CONCURRENCY);
  }, 120_000);

  it('a throttled call is retried beyond UPSTREAM_MAX_ATTEMPTS while its deadline allows, and then succeeds', async () => {
    const g = await throttlingGateway({ UPSTREAM_MAX_ATTEMPTS: '2', UPSTREAM_DEADLINE_MS: '15000' });
    gateways.push(g);
    setFailures(g, 1, ['Throttling.User']);
    g.emulator!.resetStats();
    const pending = graphql(g, coldDay('patient'));
    // Twice the attempt budget, all throttled; then upstream lets the call through.
    expect(await eventually(async () => (g.emulator!.stats.byCode['Throttling.User'] ?? 0) >= 4, 14_000, 10)).toBe(true);
    setFailures(g, 0, ['Throttling.User']);
    const answer = await pending;
    expect(answer.errors).toBeUndefined();
    expect(complete(answer)).toBe(true);
    expect(g.emulator!.stats.byCode.OK).toBe(1);
  }, 30_000);

  it('throttling alone never opens the breaker, however long it lasts; 5xx answers still do', async () => {
    const windowMs = 3_000;
    const g = await throttlingGateway({ UPSTREAM_MAX_ATTEMPTS: '3', UPSTREAM_DEADLINE_MS: '800', CIRCUIT_RESET_MS: '60000' }, windowMs);
    gateways.push(g);
    setFailures(g, 1, ['Throttling.User']);
    g.emulator!.resetStats();
    // Every attempt throttled until the deadline: the operations fail, as UPSTREAM_THROTTLED
    // (the adaptive concurrency soon lets one call at a time through, each for its 800 ms).
    const throttled = await Promise.all(Array.from({ length: 4 }, (_, i) => graphql(g, coldDay(`always-throttled-${i}`))));
    for (const answer of throttled) {
      expect(answer.data.r).toBeNull();
      expect(answer.errors?.[0].extensions?.code).toBe('UPSTREAM_THROTTLED');
    }
    const afterThrottling = await scrape(g);
    // More than twice the breaker's volume threshold (10) of failed attempts, all throttled...
    expect(g.emulator!.stats.byCode['Throttling.User']).toBeGreaterThanOrEqual(20);
    expect(g.emulator!.stats.callsReceived).toBe(g.emulator!.stats.byCode['Throttling.User']);
    // ...and it is still closed.
    expect(afterThrottling.sum('ccc_gateway_circuit_transitions_total', { to: 'open' })).toBe(0);
    expect(afterThrottling.sum('ccc_gateway_circuit_state')).toBe(0);

    // Once the throttled attempts have left the rolling window, the same volume of 5xx answers opens it.
    await sleep(windowMs + 200);
    setFailures(g, 1, ['ServiceUnavailable']);
    const unavailable = await Promise.all(Array.from({ length: 8 }, (_, i) => graphql(g, coldDay(`unavailable-${i}`))));
    for (const answer of unavailable) expect(answer.errors?.[0].extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    const afterOutage = await scrape(g);
    expect(afterOutage.sum('ccc_gateway_circuit_transitions_total', { to: 'open' })).toBe(1);
    expect(afterOutage.sum('ccc_gateway_circuit_state')).toBe(2);
  }, 30_000);
});
