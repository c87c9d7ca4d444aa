/** Keys of answers by the resolved plan: what shares a key, what never does, what is not keyed at all. */
import { parse, type GraphQLSchema } from 'graphql';
import { buildGatewaySchema } from '../../src/graphql/schema';
import { DAY_MS, HOUR_MS } from '../../src/reports/intervals';
import { InstanceReports } from '../../src/reports/InstanceReports';
import { readPlanFingerprint } from '../../src/reports/planFingerprint';
import { answerKeyRecipe, normalizeEndpointLiterals, resolveAnswerKey } from '../../src/server/answerKeys';
import { createPrincipal, type Principal } from '../../src/server/auth/principal';
import { permissionKey } from '../../src/server/responseCache';

const NOW = Date.UTC(2026, 10, 26, 3, 30);
const EVERYONE = createPrincipal('a', '*');

let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await buildGatewaySchema();
});

function keyOf(text: string, variables: Record<string, unknown> | undefined, options: { now?: number; principal?: Principal; operationName?: string } = {}) {
  const now = options.now ?? NOW;
  const principal = options.principal ?? EVERYONE;
  const recipe = answerKeyRecipe(schema, parse(text), options.operationName, text);
  if (!recipe) return undefined;
  const { template, literals } = normalizeEndpointLiterals(text);
  const templated = recipe.literalSlots > 0;
  const planner = new InstanceReports(undefined as never, { zoneFor: () => 'Asia/Shanghai', maxBucketsPerField: 20_000, maxInstancesPerField: 100 }, now, (id) => principal.canRead(id));
  const documentKey = templated ? template : text;
  return resolveAnswerKey(schema, recipe, { permissionKey: permissionKey(principal), documentKey, variables, literals: templated ? literals.map((l) => l.token) : undefined }, (request) =>
    readPlanFingerprint(planner.planBounds(request), request.interval),
  );
}

const DASHBOARD = `query D($id: ID!, $s: Timestamp, $e: Timestamp, $i: ReportInterval = HOURLY) {
  intervalInstanceReport(instanceId: $id, startTime: $s, endTime: $e, interval: $i) { id statsTime inbound { callsOffered } }
}`;
const vars = (now: number, extra: Record<string, unknown> = {}) => ({ id: 'ccc-test', s: now - 7 * DAY_MS, e: now, ...extra });

describe('answer keys by the resolved plan', () => {
  it('gives polls ending at any millisecond of one hour one key, and a new hour another', () => {
    const key = keyOf(DASHBOARD, vars(NOW));
    expect(key).toBeDefined();
    expect(keyOf(DASHBOARD, vars(NOW + 1), { now: NOW + 1 })).toBe(key);
    expect(keyOf(DASHBOARD, vars(NOW + 29 * 60_000 - 1), { now: NOW + 29 * 60_000 - 1 })).toBe(key);
    expect(keyOf(DASHBOARD, vars(NOW + 30 * 60_000), { now: NOW + 30 * 60_000 })).not.toBe(key); // 04:00: a new bucket
    // Start times inside one hour: the same first bucket after widening.
    expect(keyOf(DASHBOARD, { ...vars(NOW), s: NOW - 7 * DAY_MS - 60_000 })).toBe(key);
    expect(keyOf(DASHBOARD, { ...vars(NOW), s: NOW - 7 * DAY_MS - 31 * 60_000 })).not.toBe(key);
  });

  it('keys every other variable and argument exactly', () => {
    const key = keyOf(DASHBOARD, vars(NOW));
    const others = [
      vars(NOW, { id: 'ccc-demo-1' }),
      vars(NOW, { i: 'DAILY' }),
      vars(NOW, { i: 'HOURLY' }), // the default spelled out: another raw request, another key (conservative)
    ];
    for (const v of others) expect(keyOf(DASHBOARD, v)).not.toBe(key);
    expect(keyOf(DASHBOARD.replace('interval: $i)', 'interval: $i, timeZone: "UTC")'), vars(NOW))).not.toBe(key);
    expect(keyOf(DASHBOARD, vars(NOW), { principal: createPrincipal('b', new Set(['ccc-test'])) })).not.toBe(key);
    expect(keyOf(DASHBOARD, vars(NOW), { operationName: 'D' })).not.toBe(key);
  });

  it('keys a range end through the plan, and any other variable (an @include condition) as sent', () => {
    const text = `query ($s: Timestamp, $e: Timestamp, $show: Boolean!) {
      a: intervalInstanceReport(instanceId: "ccc-test", startTime: $s, endTime: $e, interval: HOURLY) @include(if: $show) { statsTime }
    }`;
    const base = { s: NOW - DAY_MS, e: NOW, show: true };
    expect(keyOf(text, { ...base, e: NOW - 1 })).toBe(keyOf(text, base));
    expect(keyOf(text, { ...base, show: false })).not.toBe(keyOf(text, base));
  });

  it('follows the instance of callCenterInstance(id:) through fragments, and TOTAL ends rounded to the hour', () => {
    const text = `query ($id: ID!, $e: Timestamp) { callCenterInstance(id: $id) { ...Reports } }
      fragment Reports on CallCenterInstance { id summary(startTime: ${NOW - DAY_MS}, endTime: $e) { statsTime endTime } ... on CallCenterInstance { intervalReports(endTime: $e, interval: HOURLY) { id } } }`;
    const key = keyOf(text, { id: 'ccc-test', e: NOW });
    expect(key).toBeDefined();
    expect(keyOf(text, { id: 'ccc-test', e: NOW + 60_000 }, { now: NOW + 60_000 })).toBe(key);
    expect(keyOf(text, { id: 'ccc-demo-1', e: NOW })).not.toBe(key);
    // A future end: the hourly range stops at now, yet TOTAL's period (its id and endTime) follows the end.
    expect(keyOf(text, { id: 'ccc-test', e: NOW + 3 * HOUR_MS })).not.toBe(keyOf(text, { id: 'ccc-test', e: NOW + 2 * HOUR_MS }));
  });

  it('resolves inline literal range ends too, and only literals the document confirms', () => {
    const literal = (end: number | string, start = NOW - 7 * DAY_MS) =>
      `{ intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, startTime: ${start}, endTime: ${typeof end === 'string' ? JSON.stringify(end) : end}) { statsTime } }`;
    const key = keyOf(literal(NOW), undefined);
    expect(key).toBeDefined();
    expect(keyOf(literal(NOW + 5_000), undefined, { now: NOW + 5_000 })).toBe(key);
    expect(keyOf(literal('2026-11-26T11:31:00+08:00'), undefined, { now: NOW + 60_000 })).toBe(key); // the same hour, as ISO text
    expect(keyOf(literal(NOW + 40 * 60_000), undefined, { now: NOW + 40 * 60_000 })).not.toBe(key); // next hour
    expect(keyOf(literal(NOW, NOW - 6 * DAY_MS), undefined)).not.toBe(key);
    // A scan match the document does not confirm (in a comment): the text is keyed as it is.
    const commented = (end: number) => `# endTime: 5\n${literal(end)}`;
    const recipe = answerKeyRecipe(schema, parse(commented(NOW)), undefined, commented(NOW));
    expect(recipe?.literalSlots).toBe(0);
    expect(keyOf(commented(NOW), undefined)).not.toBe(keyOf(commented(NOW + 1), undefined, { now: NOW + 1 }));
  });

  it('does not key what it cannot analyse or what would fail', () => {
    const notKeyable = [
      `{ _service { sdl } intervalInstanceReport(instanceId: "ccc-test") { statsTime } }`,
      `{ __schema { queryType { name } } intervalInstanceReport(instanceId: "ccc-test") { statsTime } }`,
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on CallCenterInstance { intervalReports { statsTime } } } }`,
      `query A { intervalInstanceReport(instanceId: "ccc-test") { statsTime } } query B { intervalInstanceReport(instanceId: "ccc-demo-1") { statsTime } }`,
      `subscription { intervalInstanceReport(instanceId: "ccc-test") { statsTime } }`,
      `{ callCenterInstance(id: "ccc-test") { id } }`, // no report: nothing to key by a plan
    ];
    for (const text of notKeyable) expect(keyOf(text, {}, { operationName: text.startsWith('query A') ? 'A' : undefined })).toBeUndefined();
    // Variables that do not coerce, a field that would fail (forbidden, bad zone, a start in the future): not keyed.
    expect(keyOf(DASHBOARD, { ...vars(NOW), e: 'not a time' })).toBeUndefined();
    expect(keyOf(DASHBOARD, vars(NOW), { principal: createPrincipal('c', new Set(['ccc-demo-1'])) })).toBeUndefined();
    expect(keyOf(DASHBOARD.replace('interval: $i)', 'interval: $i, timeZone: "Nowhere/Zone")'), vars(NOW))).toBeUndefined();
    expect(keyOf(DASHBOARD, { ...vars(NOW), s: NOW + HOUR_MS, e: NOW + 2 * HOUR_MS })).toBeUndefined();
  });
});

describe('InstanceReports.planBounds', () => {
  it('gives the first and last target of the full plan, for every interval and zone', () => {
    const intervals = ['HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY', 'TOTAL'] as const;
    const zones = [null, 'UTC', 'America/New_York', 'Europe/Berlin', 'Asia/Shanghai'];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let compared = 0;
    for (let i = 0; i < 400; i++) {
      const now = NOW + Math.floor(random() * 40 * DAY_MS);
      const planner = new InstanceReports(undefined as never, { zoneFor: () => 'Asia/Shanghai', maxBucketsPerField: 100_000, maxInstancesPerField: 100 }, now);
      const interval = intervals[i % intervals.length];
      const startTime = now - Math.floor(random() * 120 * DAY_MS);
      const endTime = random() < 0.3 ? undefined : startTime + Math.floor(random() * 130 * DAY_MS);
      const request = { instanceIds: ['ccc-test'], interval, startTime, endTime, timeZone: zones[i % zones.length] };
      let targets;
      try {
        targets = planner.plan(request).plans[0].targets;
      } catch {
        continue;
      }
      const bounds = planner.planBounds(request);
      expect(bounds.first?.statsTime).toBe(targets[0]?.statsTime);
      expect(bounds.last?.end).toBe(targets.at(-1)?.end);
      if (interval !== 'TOTAL') expect(bounds.last?.statsTime).toBe(targets.at(-1)?.statsTime);
      compared++;
    }
    expect(compared).toBeGreaterThan(300);
  });
});
