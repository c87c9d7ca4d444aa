/**
 * Upstream capacity is shared fairly (issue 10, section 2): while caller A's operation waits for
 * 2,000 cold upstream calls, caller B's one-call operation is not queued behind them, and a call
 * another caller joins is still made once. Asserted as an order property, never as a duration:
 * B's call is dispatched after at most one of A's (the scheduler's dispatch events), and the
 * emulator receives it while hundreds of A's calls are still to come (its call log). The
 * wall-clock comparison (B alone vs during A) is `npm run bench:fairness`.
 */
import type { Gateway } from '../../src/server/createGateway';
import type { SchedulerEvent } from '../../src/reports/UpstreamScheduler';
import { HOUR_MS } from '../../src/reports/intervals';
import { SECRET, sign } from '../auth/tokens';
import { graphql, startTestGateway, type GraphQLAnswer } from '../helpers/gateway';
import { DAY_MS, eventually, NOW, TODAY } from './support';

const CONCURRENCY = 4;
const ALIASES = 20;
const INSTANCES_PER_ALIAS = 100; // 20 x 100 = 2,000 cold calls (one closed hour of one instance each)
const START = TODAY - 2 * DAY_MS + 10 * HOUR_MS;
const END = START + HOUR_MS;

const callerEnv = { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET };
const tokenFor = async (sub: string) => ({ authorization: `Bearer ${await sign({ sub, ccc_instances: '*' })}` });

const aInstance = (alias: number, i: number) => `ccc-sim-fair-a-${alias * INSTANCES_PER_ALIAS + i}`;
const BIG_OPERATION = `query Big(${Array.from({ length: ALIASES }, (_, k) => `$ids${k}: [ID!]!`).join(', ')}) {
  ${Array.from(
    { length: ALIASES },
    (_, k) => `a${k}: combinedIntervalReport(instanceIds: $ids${k}, interval: HOURLY, startTime: ${START}, endTime: ${END}) { statsTime closed }`,
  ).join('\n  ')}
}`;
const bigVariables = Object.fromEntries(
  Array.from({ length: ALIASES }, (_, k) => [`ids${k}`, Array.from({ length: INSTANCES_PER_ALIAS }, (_, i) => aInstance(k, i))]),
);
const oneCall = (instanceId: string) =>
  `{ r: intervalInstanceReport(instanceId: "${instanceId}", interval: HOURLY, startTime: ${START}, endTime: ${END}) { statsTime closed inbound { callsOffered } } }`;

describe('fair upstream scheduling per caller', () => {
  let g: Gateway;
  afterEach(async () => {
    await g?.close();
  });

  it("a one-call operation is not queued behind another caller's 2,000 cold calls; joined calls are still made once", async () => {
    g = await startTestGateway(
      {
        ...callerEnv,
        UPSTREAM_CONCURRENCY: String(CONCURRENCY),
        MAX_INSTANCES_PER_FIELD: String(INSTANCES_PER_ALIAS),
        CACHE_SETTLE_DELAY_MS: String(10 * 60_000),
      },
      { now: () => NOW, emulator: { latencyMs: 20 } },
    );
    const events: SchedulerEvent[] = [];
    g.pipeline.scheduler.observe((event) => events.push(event));
    const [a, b, c] = await Promise.all([tokenFor('caller-a'), tokenFor('caller-b'), tokenFor('caller-c')]);

    const big = graphql(g, BIG_OPERATION, bigVariables, a);
    big.catch(() => undefined); // awaited below; a failed assertion before must not crash the run
    // A's calls are queued (planning is synchronous per batch): the queue holds most of them.
    expect(await eventually(async () => g.pipeline.scheduler.queued >= 1_000, 30_000, 5)).toBe(true);

    const small: GraphQLAnswer = await graphql(g, oneCall('ccc-sim-fair-b'), undefined, b);
    expect(small.errors).toBeUndefined();
    expect(small.data.r).toHaveLength(1);
    const bDispatch = events.find((e) => e.type === 'dispatch' && e.callerKey === 'sub:caller-b');
    // Round robin over the two waiting callers: at most one of A's calls went before B's.
    expect(bDispatch).toMatchObject({ type: 'dispatch', waitingCallers: 2 });
    expect(bDispatch?.type === 'dispatch' && bDispatch.dispatchedWhileQueued).toBeLessThanOrEqual(1);
    // Upstream saw B's call long before the end of A's (first in, first out would put it last).
    const log = () => g.emulator!.stats.log;
    const bAt = log().findIndex((call) => call.instanceId === 'ccc-sim-fair-b');
    expect(bAt).toBeGreaterThanOrEqual(0);

    // Caller C needs a bucket A's operation has queued but not fetched yet: C joins that call
    // (no second upstream call), and it runs in C's turn instead of at the end of A's queue.
    const lastOfA = aInstance(ALIASES - 1, INSTANCES_PER_ALIAS - 1);
    expect(log().some((call) => call.instanceId === lastOfA)).toBe(false);
    const joined: GraphQLAnswer = await graphql(g, oneCall(lastOfA), undefined, c);
    expect(joined.errors).toBeUndefined();
    expect(joined.data.r).toHaveLength(1);
    const cDispatch = events.find((e) => e.type === 'dispatch' && e.callerKey === 'sub:caller-c');
    expect(cDispatch?.type === 'dispatch' && cDispatch.dispatchedWhileQueued).toBeLessThanOrEqual(1);
    const cAt = log().findIndex((call) => call.instanceId === lastOfA);

    const answer = await big;
    expect(answer.errors).toBeUndefined();
    for (let k = 0; k < ALIASES; k++) expect(answer.data[`a${k}`]).toEqual([{ statsTime: START, closed: true }]);
    const calls = log();
    expect(calls).toHaveLength(ALIASES * INSTANCES_PER_ALIAS + 1); // A's 2,000 (one shared with C) and B's
    expect(calls.filter((call) => call.instanceId === lastOfA)).toHaveLength(1);
    const aCallsAfter = (at: number) => calls.slice(at + 1).filter((call) => call.instanceId?.startsWith('ccc-sim-fair-a-')).length;
    expect(aCallsAfter(bAt)).toBeGreaterThanOrEqual(100);
    expect(aCallsAfter(cAt)).toBeGreaterThanOrEqual(100);
  }, 120_000);
});
