/**
 * The fast paths (response cache and its lean path, the plan-keyed answer cache, the planned
 * executor) against plain graphql-js execution with no cache: random report documents, variables
 * and callers, each sent twice to gateway A (every fast path on; the second send with other
 * milliseconds in its range ends, so it may be answered from the entry of the first) and to
 * gateway B (GRAPHQL_EXECUTOR=graphql-js, RESPONSE_CACHE_MAX_BYTES=0: no response cache, no
 * answer cache, no lean path). Both run the built-in emulator on the same frozen clock; every
 * answer must be the same bytes (ids of requests aside) with the same status, Content-Type,
 * Cache-Control and Vary. A's cache lives across runs, so a run also meets entries stored by
 * earlier runs for other callers, variables and documents: a wrong answer served from a cache
 * shows up as a difference.
 *
 * A fixed seed runs first, then a random one (printed by fast-check on failure: rerun with
 * FAST_PATHS_SEED=<seed>).
 */
import fc from 'fast-check';
import http from 'node:http';
import { HOUR_MS } from '../../src/reports/intervals';
import { METRICS } from '../../src/reports/metrics';
import type { Gateway } from '../../src/server/createGateway';
import { SECRET, sign } from '../auth/tokens';
import { startTestGateway } from '../helpers/gateway';

/** 2026-11-26 11:30:12.345 in Shanghai: the current hour and day are open. */
const NOW = Date.UTC(2026, 10, 26, 3, 30, 12, 345);
const RUNS = Number(process.env.FAST_PATHS_RUNS ?? 80);

interface Reply {
  status: number;
  contentType: string | undefined;
  cacheControl: string | undefined;
  vary: string | undefined;
  body: string;
}

function post(url: string, body: string, headers: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c) => chunks.push(c));
        response.on('end', () =>
          resolve({
            status: response.statusCode!,
            contentType: response.headers['content-type'],
            cacheControl: response.headers['cache-control'],
            vary: response.headers.vary,
            // Ids of the request and of the emulator's answers differ between gateways; every other byte must not.
            body: Buffer.concat(chunks)
              .toString()
              .replace(/"(requestId|upstreamRequestId)":"[^"]*"/g, '"$1":"<id>"'),
          }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

// ---- documents ---------------------------------------------------------------------------

/** A range end: inline or a variable; `jitter` ends move by some milliseconds on the second send. */
interface Endpoint {
  value: number | string;
  jitter: boolean;
  asVariable: boolean;
  /** How an inline literal is spelled (`endTime :  1764…`, a string with an escape, ...). */
  spelling: 'plain' | 'spaced' | 'string' | 'escaped' | 'block' | 'zeroPaddedOnSecondSend';
}

interface ReportField {
  kind: 'intervalInstanceReport' | 'combinedIntervalReport' | 'intervalReports' | 'summary';
  alias?: string;
  instances: string[];
  instanceAsVariable: boolean;
  /** A list variable sent as its single item (GraphQL coerces it to a list of one). */
  listAsSingle: boolean;
  interval?: string;
  intervalAsVariable: boolean;
  timeZone?: { value: string; asVariable: boolean; spelling: ZoneSpelling };
  emptyIntervals?: string;
  start?: Endpoint;
  end?: Endpoint;
  selection: string;
  directive?: { name: 'include' | 'skip'; value: boolean; asVariable: boolean };
  /** The field again (same response name and arguments) with more in it: graphql-js merges them. */
  duplicate: boolean;
}

interface Case {
  fields: ReportField[];
  /** Another operation in the document, and which one the request names (or none). */
  otherOperation: boolean;
  /** '' and 5: names Apollo refuses (never keyed like the request without them). */
  operationName: 'Main' | 'Other' | null | '' | 5;
  token: 'wide' | 'narrow' | 'narrowReordered' | 'none';
  /** A third send: the first request from another caller. */
  otherToken: 'wide' | 'narrow' | 'narrowReordered' | 'none';
  /** The second send flips the values of its directive variables (not part of any plan). */
  flipDirectives: boolean;
  accept: string | null;
  comment: string | null;
  secondJitter: number;
  rootTypename: boolean;
}

const INSTANCES = ['ccc-test', 'ccc-demo-1'];
/** ccc-demo-2: the narrow tokens may not read it; ccc-unknown: upstream answers NotExists.InstanceId (a partial answer). */
const RARE_INSTANCES = ['ccc-demo-2', 'ccc-unknown'];
/** Mostly valid (spellings of one zone among them); a few rejected (half-hour offset, unknown). */
const ZONES = ['Asia/Shanghai', 'asia/shanghai', 'ASIA/SHANGHAI', 'PRC', 'Asia/Chongqing', 'UTC', 'Etc/UTC', 'utc', 'Etc/GMT-8', 'Europe/Berlin', 'Europe/Berlin', 'Asia/Kolkata', 'Mars/Olympus'];
/** Weighted choice: mostly the first (valid) values, so that most answers are stored and served again. */
const weighted = <T>(common: T[], rare: T[]) => fc.oneof({ arbitrary: fc.constantFrom(...common), weight: 20 }, { arbitrary: fc.constantFrom(...rare), weight: 1 });
const INTERVALS = ['HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY', 'TOTAL'];
const metric = (group: keyof typeof METRICS, i: number) => METRICS[group][i % METRICS[group].length].name;

const selectionArb = fc
  .record({
    scalars: fc.subarray(['statsTime', 'endTime', 'closed', 'interval', 'id', '__typename', 'idAlias: id'], { minLength: 1 }),
    inbound: fc.option(fc.subarray([metric('inbound', 0), metric('inbound', 3), metric('inbound', 7), 'id', '__typename'], { minLength: 1 }), { nil: undefined }),
    overall: fc.option(fc.subarray([metric('overall', 0), metric('overall', 5), 'id'], { minLength: 1 }), { nil: undefined }),
    outbound: fc.option(fc.subarray([metric('outbound', 1), metric('outbound', 2)], { minLength: 1 }), { nil: undefined }),
    wrap: fc.constantFrom('none', 'inline', 'inlineTyped', 'fragment'),
  })
  ;

const endpointArb = (kind: 'start' | 'end') =>
  fc.record({
    value: kind === 'start'
      ? weighted<number | string>([NOW - 3 * HOUR_MS, NOW - 30 * HOUR_MS, NOW - 9 * 24 * HOUR_MS, NOW - 40 * 24 * HOUR_MS, '2026-11-20T00:00:00+08:00'], [1_764_000_000, NOW + HOUR_MS])
      : weighted<number | string>([NOW, NOW, NOW - 2 * HOUR_MS, NOW + 2 * HOUR_MS, '2026-11-26T11:00:00+08:00'], [NOW - 48 * HOUR_MS, 1_764_000_000_000_000]),
    jitter: fc.boolean(),
    asVariable: fc.boolean(),
    // A leading zero does not parse: the second send must get Apollo's syntax error, not the first's answer.
    spelling: weighted<Endpoint['spelling']>(['plain', 'plain', 'spaced', 'string', 'escaped', 'block', 'zeroPaddedOnSecondSend'], ['zeroPaddedOnSecondSend']),
  });

const fieldArb: fc.Arbitrary<ReportField> = fc.record({
  kind: fc.constantFrom<ReportField['kind']>('intervalInstanceReport', 'intervalInstanceReport', 'combinedIntervalReport', 'intervalReports', 'summary'),
  alias: fc.option(fc.constantFrom('a', 'b', 'report', 'c1'), { nil: undefined }),
  instances: fc.array(weighted(INSTANCES, RARE_INSTANCES), { minLength: 1, maxLength: 3 }),
  instanceAsVariable: fc.boolean(),
  listAsSingle: weighted([false], [true]),
  interval: fc.option(weighted(INTERVALS, ['DAYLY']), { nil: undefined }),
  intervalAsVariable: fc.boolean(),
  timeZone: fc.option(
    fc.record({
      value: weighted(ZONES.slice(0, -2), [...ZONES.slice(-2), `endTime: ${NOW} `, 'startTime: "x"']),
      asVariable: fc.boolean(),
      spelling: fc.constantFrom<ZoneSpelling>('plain', 'plain', 'escapedSlash', 'unicode', 'block'),
    }),
    { nil: undefined },
  ),
  emptyIntervals: fc.option(fc.constantFrom('OMIT', 'ZERO'), { nil: undefined }),
  start: fc.option(endpointArb('start'), { nil: undefined, freq: 4 }),
  end: fc.option(endpointArb('end'), { nil: undefined, freq: 4 }),
  selection: selectionArb.map(renderSelectionParts),
  directive: fc.option(fc.record({ name: fc.constantFrom<'include' | 'skip'>('include', 'skip'), value: fc.boolean(), asVariable: fc.boolean() }), { nil: undefined, freq: 3 }),
  duplicate: weighted([false, false, true], [true]),
});

const caseArb: fc.Arbitrary<Case> = fc.record({
  fields: fc.array(fieldArb, { minLength: 1, maxLength: 3 }),
  otherOperation: weighted([false], [true]),
  operationName: weighted<Case['operationName']>(['Main', 'Main', 'Main', null], ['Other', '', 5]),
  token: weighted<Case['token']>(['wide', 'wide', 'narrow', 'narrowReordered'], ['none']),
  otherToken: weighted<Case['token']>(['wide', 'narrow', 'narrowReordered'], ['none']),
  flipDirectives: weighted([false, false, true], [true]),
  // Apollo Client's default Accept among them: Apollo answers it as application/graphql-response+json.
  accept: weighted<string | null>([null, null, '*/*', 'application/graphql-response+json,application/json;q=0.9'], ['application/json', 'text/html', 'application/graphql-response+json;q=0.5, application/json']),
  comment: weighted<string | null>([null], [`# endTime: ${NOW}\n`, '# startTime: 1\n', '#\u00a0endTime: 0,\n']),
  secondJitter: fc.integer({ min: 1, max: 5_000 }),
  rootTypename: fc.boolean(),
});

/** Selection parts of a report: its own fields, or wrapped in an inline or named fragment. */
function renderSelectionParts(s: { scalars: string[]; inbound?: string[]; overall?: string[]; outbound?: string[]; wrap: string }): string {
  const inner = [
    ...s.scalars,
    s.inbound && `inbound { ${s.inbound.join(' ')} }`,
    s.overall && `ov: overall { ${s.overall.join(' ')} }`,
    s.outbound && `outbound { ... on OutboundMetrics { ${s.outbound.join(' ')} } }`,
  ]
    .filter(Boolean)
    .join(' ');
  if (s.wrap === 'inline') return `... { ${inner} }`;
  if (s.wrap === 'inlineTyped') return `... on __TYPE__ { ${inner} }`;
  if (s.wrap === 'fragment') return `...F__TYPE__ FRAGMENT(${inner})`;
  return inner;
}

type ZoneSpelling = 'plain' | 'escapedSlash' | 'unicode' | 'block';
/** A string literal, spelled in one of GraphQL's ways (the same value). */
function spellString(value: string, spelling: ZoneSpelling): string {
  if (spelling === 'escapedSlash') return JSON.stringify(value).replace('/', '\\/');
  if (spelling === 'unicode') return JSON.stringify(value).replace(/[a-z]/, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (spelling === 'block') return `"""${value}"""`;
  return JSON.stringify(value);
}

interface Rendered {
  query: string;
  variables: Record<string, unknown>;
  operationName?: unknown;
}

/** The document and variables of a case; `jitter` ms are added to the jittered range ends. */
function render(c: Case, jitter: number, flip = false): Rendered {
  const variables: Record<string, unknown> = {};
  const definitions: string[] = [];
  const fragments: string[] = [];
  let n = 0;
  const variable = (type: string, value: unknown) => {
    const name = `v${n++}`;
    definitions.push(`$${name}: ${type}`);
    variables[name] = value;
    return `$${name}`;
  };
  const endpoint = (e: Endpoint): string => {
    const value = typeof e.value === 'number' && e.jitter ? e.value + jitter : e.value;
    if (e.asVariable) return variable('Timestamp', value);
    if (typeof value === 'string') return e.spelling === 'block' ? `"""${value}"""` : e.spelling === 'escaped' ? `"${value.replace('T', '\\u0054')}"` : `"${value}"`;
    if (e.spelling === 'zeroPaddedOnSecondSend' && jitter > 0) return `0${value}`;
    if (e.spelling === 'string') return `"${new Date(value).toISOString()}"`.replace(/\.\d{3}Z/, `.${String(value % 1000).padStart(3, '0')}Z`);
    return String(value);
  };
  const body = (f: ReportField, type: string) => {
    let selection = f.selection.replace('__TYPE__', type);
    const fragment = /^\.\.\.F(\w+) FRAGMENT\((.*)\)$/.exec(selection);
    if (fragment) {
      selection = `...F${fragment[1]}_${fragments.length}`;
      fragments.push(`fragment F${fragment[1]}_${fragments.length} on ${fragment[1]} { ${fragment[2]} }`);
    }
    return selection;
  };
  const fieldText = (f: ReportField): string => {
    const args: string[] = [];
    const sep = () => (f.start?.spelling === 'spaced' ? ' :  ' : ': ');
    if (f.start) args.push(`startTime${sep()}${endpoint(f.start)}`);
    if (f.end) args.push(`endTime${f.end.spelling === 'spaced' ? ' :\t' : ': '}${endpoint(f.end)}`);
    if (f.interval && f.kind !== 'summary') args.push(`interval: ${f.intervalAsVariable ? variable('ReportInterval', f.interval) : f.interval}`);
    if (f.timeZone) args.push(`timeZone: ${f.timeZone.asVariable ? variable('String', f.timeZone.value) : spellString(f.timeZone.value, f.timeZone.spelling)}`);
    if (f.emptyIntervals && f.kind !== 'summary') args.push(`emptyIntervals: ${f.emptyIntervals}`);
    const directive = f.directive ? ` @${f.directive.name}(if: ${f.directive.asVariable ? variable('Boolean!', f.directive.value !== flip) : f.directive.value})` : '';
    const alias = f.alias ? `${f.alias}${n}: ` : '';
    if (f.kind === 'combinedIntervalReport') {
      const ids = f.instanceAsVariable ? variable('[ID!]!', f.listAsSingle ? f.instances[0] : f.instances) : JSON.stringify(f.instances);
      return `${alias}combinedIntervalReport(instanceIds: ${ids}, ${args.join(', ')})${directive} { instanceIds ${body(f, 'CombinedIntervalReport')} }`;
    }
    const id = f.instanceAsVariable ? variable('ID!', f.instances[0]) : JSON.stringify(f.instances[0]);
    if (f.kind === 'intervalInstanceReport') {
      return `${alias}intervalInstanceReport(instanceId: ${id}${args.length ? ', ' : ''}${args.join(', ')})${directive} { instanceId ${body(f, 'IntervalReport')} }`;
    }
    const inner = `${f.alias ? `${f.alias}: ` : ''}${f.kind}${args.length ? `(${args.join(', ')})` : ''}${directive} { ${body(f, 'IntervalReport')} }`;
    return `i${n}: callCenterInstance(id: ${id}) { id __typename ${inner} }`;
  };
  const selections = c.fields
    .map((f) => {
      const text = fieldText(f);
      // Directives on an inline fragment, and a merged twin of the field.
      return f.duplicate ? `${text}\n  ${text.replace(' { ', ' { __typename ... @skip(if: false) { id } ... @include(if: false) { id } ')}` : text;
    })
    .join('\n  ');
  const main = `query Main${definitions.length ? `(${definitions.join(', ')})` : ''} {\n  ${c.rootTypename ? '__typename ' : ''}${selections}\n}`;
  const other = c.otherOperation ? `\nquery Other { __typename t: intervalInstanceReport(instanceId: "ccc-test", startTime: ${NOW - 5 * HOUR_MS}, interval: HOURLY) { statsTime inbound { ${metric('inbound', 0)} } } }` : '';
  const query = `${c.comment ?? ''}${main}${other}\n${fragments.join('\n')}`;
  return { query, variables, operationName: c.operationName ?? undefined };
}

// ---- the property ------------------------------------------------------------------------

describe('fast paths answer exactly as graphql-js without caches', () => {
  let fast: Gateway;
  let plain: Gateway;
  const tokens: Record<Case['token'], string | undefined> = { wide: undefined, narrow: undefined, narrowReordered: undefined, none: undefined };
  beforeAll(async () => {
    const auth = { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET };
    fast = await startTestGateway(auth, { now: () => NOW });
    plain = await startTestGateway({ ...auth, GRAPHQL_EXECUTOR: 'graphql-js', RESPONSE_CACHE_MAX_BYTES: '0' }, { now: () => NOW });
    tokens.wide = await sign({ sub: 'diff-wide', ccc_instances: '*' });
    tokens.narrow = await sign({ sub: 'diff-narrow', ccc_instances: ['ccc-test', 'ccc-demo-1', 'ccc-unknown'] });
    tokens.narrowReordered = await sign({ sub: 'diff-narrow-2', ccc_instances: ['ccc-unknown', 'ccc-demo-1', 'ccc-test'] });
  });
  afterAll(() => Promise.all([fast.close(), plain.close()]));
  /** How many of A's answers were whole (stored) answers, and how many came from a cache: the property must meet both. */
  const tally = { whole: 0, cachedBefore: 0 };
  const cachedCount = async () => {
    const text = await (await fetch(fast.url.replace('/graphql', '/metrics'))).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith('ccc_gateway_operations_total{') && l.includes('operation="cached"'))
      .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
  };

  const send = (gateway: Gateway, c: Case, rendered: Rendered) => {
    const headers: Record<string, string> = {};
    if (c.token !== 'none') headers.authorization = `Bearer ${tokens[c.token]}`;
    if (c.accept) headers.accept = c.accept;
    const body = JSON.stringify({ query: rendered.query, variables: rendered.variables, ...(rendered.operationName !== undefined ? { operationName: rendered.operationName } : {}) });
    return post(gateway.url, body, headers);
  };

  const property = fc.asyncProperty(caseArb, fc.constantFrom<'firstFirst' | 'jitteredFirst' | 'interleaved'>('firstFirst', 'jitteredFirst', 'interleaved'), async (c, order) => {
    const first = render(c, 0);
    const second = render(c, c.secondJitter, c.flipDirectives);
    const results: Record<string, Reply> = {};
    const steps: [string, Gateway, Rendered][] =
      order === 'firstFirst'
        ? [['A1', fast, first], ['A2', fast, second], ['B1', plain, first], ['B2', plain, second]]
        : order === 'jitteredFirst'
          ? [['A2', fast, second], ['A1', fast, first], ['B1', plain, first], ['B2', plain, second]]
          : [['A1', fast, first], ['B1', plain, first], ['B2', plain, second], ['A2', fast, second], ['A1again', fast, first]];
    for (const [name, gateway, rendered] of steps) results[name] = await send(gateway, c, rendered);
    // The same request from another caller, after A stored the first caller's answer.
    const other = { ...c, token: c.otherToken };
    results.A1other = await send(fast, other, first);
    results.B1other = await send(plain, other, first);
    if (results.A1.status === 200 && !results.A1.body.includes('"errors"')) tally.whole++;
    const context = `\n${first.query}\nvariables ${JSON.stringify(first.variables)} / ${JSON.stringify(second.variables)} operationName ${first.operationName} token ${c.token} accept ${c.accept}`;
    expect({ ...results.A1, context }).toEqual({ ...results.B1, context });
    expect({ ...results.A2, context }).toEqual({ ...results.B2, context });
    if (results.A1again) expect({ ...results.A1again, context }).toEqual({ ...results.B1, context });
    expect({ ...results.A1other, context: `${context} other token ${c.otherToken}` }).toEqual({ ...results.B1other, context: `${context} other token ${c.otherToken}` });
  });

  it('with a fixed seed', async () => {
    const before = await cachedCount();
    await fc.assert(property, { seed: Number(process.env.FAST_PATHS_SEED ?? 20261201), numRuns: RUNS });
    // The property is about caches: with this seed many answers are whole and many are served from them.
    expect(tally.whole).toBeGreaterThan(RUNS / 4);
    expect((await cachedCount()) - before).toBeGreaterThan(RUNS / 4);
    // ... and many of the executed ones took the planned executor.
    expect(fast.executor!.counts.planned).toBeGreaterThan(RUNS / 4);
  }, 120_000);

  it('with a random seed (printed on failure)', async () => {
    await fc.assert(property, { numRuns: RUNS });
  }, 120_000);
});

/**
 * The same property on a clock that moves between requests (seconds, the refresh point of open
 * snapshots, their TTL, the settle delay, an hour): a stored open answer must stop being served
 * exactly when execution would answer otherwise. Background refreshes (stale-while-revalidate)
 * are awaited after every request, in both gateways, so both pipelines see the same history.
 */
describe('fast paths answer exactly as graphql-js without caches, on a moving clock', () => {
  let clock = NOW;
  let fast: Gateway;
  let plain: Gateway;
  let token: string;
  beforeAll(async () => {
    const auth = { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET };
    fast = await startTestGateway(auth, { now: () => clock });
    plain = await startTestGateway({ ...auth, GRAPHQL_EXECUTOR: 'graphql-js', RESPONSE_CACHE_MAX_BYTES: '0' }, { now: () => clock });
    token = await sign({ sub: 'diff-clock', ccc_instances: '*' });
  });
  afterAll(() => Promise.all([fast.close(), plain.close()]));

  const ask = async (gateway: Gateway, rendered: Rendered) => {
    const body = JSON.stringify({ query: rendered.query, variables: rendered.variables, ...(rendered.operationName !== undefined ? { operationName: rendered.operationName } : {}) });
    const reply = await post(gateway.url, body, { authorization: `Bearer ${token}` });
    await gateway.pipeline.refreshesSettled();
    return reply;
  };

  it('with a fixed seed and a random one', async () => {
    // A few documents, asked again and again while the clock moves.
    const property = fc.asyncProperty(
      fc.array(caseArb, { minLength: 2, maxLength: 4 }),
      fc.array(fc.record({ doc: fc.nat(), step: fc.constantFrom(0, 0, 1_000, 7_000, 14_999, 15_001, 29_000, 31_000, 9 * 60_000, 61 * 60_000), jitter: fc.integer({ min: 0, max: 999 }) }), { minLength: 4, maxLength: 12 }),
      async (cases, steps) => {
        for (const { doc, step, jitter } of steps) {
          clock += step;
          const rendered = render(cases[doc % cases.length], jitter);
          const [a, b] = [await ask(fast, rendered), await ask(plain, rendered)];
          const context = `\nclock ${new Date(clock).toISOString()}\n${rendered.query}\nvariables ${JSON.stringify(rendered.variables)}`;
          expect({ ...a, context }).toEqual({ ...b, context });
        }
      },
    );
    await fc.assert(property, { seed: Number(process.env.FAST_PATHS_SEED ?? 20261201), numRuns: Math.ceil(RUNS / 4) });
    await fc.assert(property, { numRuns: Math.ceil(RUNS / 4) });
  }, 120_000);
});
