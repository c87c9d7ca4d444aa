/**
 * HTTP caching over real HTTP: Cache-Control derived from what the answer holds, the same headers
 * from the response cache, strong ETags and 304s for GET.
 */
import { createHash } from 'node:crypto';
import { DAY_MS, HOUR_MS } from '../../src/reports/intervals';
import type { Gateway } from '../../src/server/createGateway';
import { FINAL_ANSWER_MAX_AGE_S } from '../../src/server/httpCaching';
import { SECRET, sign } from '../auth/tokens';
import { startTestGateway } from '../helpers/gateway';

const NOW = Date.UTC(2026, 10, 26, 3, 30);
const DAY = NOW - (NOW % DAY_MS);
const FINAL = `public, max-age=${FINAL_ANSWER_MAX_AGE_S}, immutable`;

const report = (instanceId: string, start: number, end?: number) =>
  `intervalInstanceReport(instanceId: "${instanceId}", interval: HOURLY, startTime: ${start}${end === undefined ? '' : `, endTime: ${end}`}) { statsTime closed inbound { callsOffered } }`;

async function post(url: string, query: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
  return { response, body: (await response.json()) as any };
}

function getUrl(url: string, query: string): string {
  return `${url}?query=${encodeURIComponent(query)}`;
}

/** A strong ETag of the exact body bytes: their length and SHA-1 (Express's own strong format). */
function strongEtagOf(bytes: Buffer): string {
  return `"${bytes.length.toString(16)}-${createHash('sha1').update(bytes).digest('base64').slice(0, 27)}"`;
}

describe('Cache-Control (auth off: public)', () => {
  let gateway: Gateway;
  let clock = NOW;
  beforeAll(async () => {
    gateway = await startTestGateway({ CACHE_OPEN_TTL_MS: '30000', CACHE_SETTLE_DELAY_MS: String(10 * 60_000) }, { now: () => clock });
  });
  afterAll(() => gateway.close());
  beforeEach(() => {
    clock = NOW;
  });

  it('marks an answer of closed buckets only as immutable for a year', async () => {
    const { response, body } = await post(gateway.url, `{ ${report('ccc-test', DAY - 3 * DAY_MS, DAY - DAY_MS)} }`);
    expect(body.errors).toBeUndefined();
    expect(body.data.intervalInstanceReport.every((b: any) => b.closed)).toBe(true);
    expect(response.headers.get('cache-control')).toBe(FINAL);
    expect(response.headers.get('vary')).toMatch(/\bAccept\b/);
    expect(response.headers.get('vary')).not.toMatch(/Authorization/);
  });

  it('gives an open answer the seconds until its earliest open snapshot is refetched', async () => {
    const query = `{ ${report('ccc-sim-open-ttl', DAY)} }`;
    const first = await post(gateway.url, query);
    expect(first.body.data.intervalInstanceReport.at(-1).closed).toBe(false);
    expect(first.response.headers.get('cache-control')).toBe('public, max-age=30'); // fetched now, CACHE_OPEN_TTL_MS 30 s
    clock = NOW + 12_345; // the same snapshot, 12.345 s older
    const later = await post(gateway.url, query);
    expect(later.response.headers.get('cache-control')).toBe('public, max-age=17'); // floor(17.655)
    clock = NOW + 30_000; // TTL old: served while its refresh runs (stale-while-revalidate), fresh for 0 s
    expect((await post(gateway.url, query)).response.headers.get('cache-control')).toBe('public, max-age=0');
    await gateway.pipeline.refreshesSettled(); // the snapshot is refetched: a fresh 30 s
    expect((await post(gateway.url, query)).response.headers.get('cache-control')).toBe('public, max-age=30');
  });

  it('counts an open bucket closing (end + settle delay) as a refetch too', async () => {
    // 03:09:50: the 02:00 bucket is still settling and closes at 03:10:00, before its 30 s TTL ends.
    clock = Date.UTC(2026, 10, 26, 3, 9, 50);
    const query = `{ ${report('ccc-sim-closing', Date.UTC(2026, 10, 26, 1), Date.UTC(2026, 10, 26, 3))} }`;
    const { response, body } = await post(gateway.url, query);
    expect(body.data.intervalInstanceReport.map((b: any) => b.closed)).toEqual([true, false]);
    expect(response.headers.get('cache-control')).toBe('public, max-age=10');
  });

  it('never lets an answer with an error or partial data be stored', async () => {
    const partial = await post(gateway.url, `{ ok: ${report('ccc-test', DAY - 3 * DAY_MS, DAY - DAY_MS)} bad: ${report('not a valid id', DAY - 3 * DAY_MS, DAY - DAY_MS)} }`);
    expect(partial.body.data.ok).toEqual(expect.any(Array));
    expect(partial.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(partial.response.headers.get('cache-control')).toBe('no-store');

    const invalid = await post(gateway.url, '{ noSuchField }');
    expect(invalid.response.status).toBe(400);
    expect(invalid.response.headers.get('cache-control')).toBe('no-store');

    const malformed = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('cache-control')).toBe('no-store');
  });

  it('asks caches to revalidate answers that hold no report (they change with a deploy)', async () => {
    const { response } = await post(gateway.url, '{ _service { sdl } }');
    expect(response.headers.get('cache-control')).toBe('public, no-cache');
  });

  it('never marks a debug answer (per-execution facts) as storable', async () => {
    const { response, body } = await post(gateway.url, `{ ${report('ccc-test', DAY - 3 * DAY_MS, DAY - DAY_MS)} }`, { 'x-gateway-debug': '1' });
    expect(body.extensions?.gateway).toBeDefined();
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('never marks an answer carrying a federated trace (apollo-federation-include-trace) as storable', async () => {
    const query = `{ ${report('ccc-test', DAY - 3 * DAY_MS, DAY - DAY_MS)} }`;
    const traced = await post(gateway.url, query, { 'apollo-federation-include-trace': 'ftv1' });
    expect(traced.body.extensions?.ftv1).toEqual(expect.any(String)); // this run's timings
    expect(traced.response.headers.get('cache-control')).toBe('no-store');
    // GET too (a router may send its query plan's fetches as GET).
    const tracedGet = await fetch(getUrl(gateway.url, query), { headers: { 'apollo-require-preflight': 'true', 'apollo-federation-include-trace': 'ftv1' } });
    expect(tracedGet.headers.get('cache-control')).toBe('no-store');
    // The same operation without a trace is final.
    expect((await post(gateway.url, query)).response.headers.get('cache-control')).toBe(FINAL);
  });

  it('serves the same Cache-Control and Vary from the response cache as when executed', async () => {
    const query = `{ ${report('ccc-demo-3', DAY - 5 * DAY_MS, DAY - 4 * DAY_MS)} }`;
    const executed = await post(gateway.url, query);
    const hitsBefore = await cachedOperations(gateway);
    const cached = await post(gateway.url, query);
    expect(await cachedOperations(gateway)).toBe(hitsBefore + 1);
    expect(cached.body).toEqual(executed.body);
    for (const header of ['cache-control', 'vary', 'content-type']) expect(cached.response.headers.get(header)).toBe(executed.response.headers.get(header));
    expect(cached.response.headers.get('cache-control')).toBe(FINAL);
  });

  describe('GET', () => {
    const closed = `{ ${report('ccc-demo-2', DAY - 3 * DAY_MS, DAY - DAY_MS)} }`;
    const preflight = { 'apollo-require-preflight': 'true' };

    it('gets a strong ETag: the hash of the body bytes', async () => {
      const response = await fetch(getUrl(gateway.url, closed), { headers: preflight });
      const bytes = Buffer.from(await response.arrayBuffer());
      expect(response.status).toBe(200);
      expect(response.headers.get('etag')).toBe(strongEtagOf(bytes));
      expect(response.headers.get('cache-control')).toBe(FINAL);
    });

    it('answers a matching If-None-Match with 304, no body, and the caching headers', async () => {
      const first = await fetch(getUrl(gateway.url, closed), { headers: preflight });
      const etag = first.headers.get('etag')!;
      await first.arrayBuffer();
      for (const ifNoneMatch of [etag, `W/${etag}`, `"stale", ${etag}`, '*']) {
        // Node's fetch (undici) adds `cache-control: no-cache` to conditional requests: said here
        // explicitly, because a 304 must not depend on it (Express's `fresh` would answer 200).
        const again = await fetch(getUrl(gateway.url, closed), { headers: { ...preflight, 'if-none-match': ifNoneMatch, 'cache-control': 'no-cache' } });
        expect({ ifNoneMatch, status: again.status }).toEqual({ ifNoneMatch, status: 304 });
        expect(await again.text()).toBe('');
        expect(again.headers.get('etag')).toBe(etag);
        expect(again.headers.get('cache-control')).toBe(FINAL);
        expect(again.headers.get('vary')).toMatch(/\bAccept\b/);
      }
      const changed = await fetch(getUrl(gateway.url, closed), { headers: { ...preflight, 'if-none-match': '"something-else"' } });
      expect(changed.status).toBe(200);
      expect(Buffer.from(await changed.arrayBuffer())).toHaveLength(Number.parseInt(etag.slice(1, etag.indexOf('-')), 16));
    });

    it('revalidates an open answer to 304 while its snapshot is unchanged, with the remaining max-age', async () => {
      const open = `{ ${report('ccc-sim-open-get', DAY)} }`;
      const first = await fetch(getUrl(gateway.url, open), { headers: preflight });
      await first.arrayBuffer();
      expect(first.headers.get('cache-control')).toBe('public, max-age=30');
      clock = NOW + 20_000;
      const revalidated = await fetch(getUrl(gateway.url, open), { headers: { ...preflight, 'if-none-match': first.headers.get('etag')! } });
      expect(revalidated.status).toBe(304);
      expect(revalidated.headers.get('cache-control')).toBe('public, max-age=10');
    });

    it('keeps CSRF prevention on: a GET without a preflight-forcing header is refused, and not stored', async () => {
      const response = await fetch(getUrl(gateway.url, closed));
      expect(response.status).toBe(400);
      expect(await response.text()).toMatch(/CSRF/i);
      expect(response.headers.get('cache-control')).toBe('no-store');
    });
  });
});

describe('Cache-Control (auth on: private)', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET }, { now: () => NOW });
  });
  afterAll(() => gateway.close());

  it('marks answers private and varying on Authorization, executed or from the response cache', async () => {
    const as = { authorization: `Bearer ${await sign({ ccc_instances: '*' })}` };
    const query = `{ ${report('ccc-test', DAY - 3 * DAY_MS, DAY - DAY_MS)} }`;
    const executed = await post(gateway.url, query, as);
    expect(executed.response.headers.get('cache-control')).toBe(`private, max-age=${FINAL_ANSWER_MAX_AGE_S}, immutable`);
    expect(executed.response.headers.get('vary')).toMatch(/\bAuthorization\b/);
    const hitsBefore = await cachedOperations(gateway);
    const cached = await post(gateway.url, query, as);
    expect(await cachedOperations(gateway)).toBe(hitsBefore + 1);
    expect(cached.response.headers.get('cache-control')).toBe(executed.response.headers.get('cache-control'));
    expect(cached.response.headers.get('vary')).toBe(executed.response.headers.get('vary'));

    const open = await post(gateway.url, `{ ${report('ccc-test', NOW - 2 * HOUR_MS)} }`, as);
    expect(open.response.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
  });

  it('sends no-store with a refusal (no token)', async () => {
    const { response } = await post(gateway.url, '{ __typename }');
    expect(response.status).toBe(401);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });
});

async function cachedOperations(gateway: Gateway): Promise<number> {
  const text = await (await fetch(gateway.url.replace('/graphql', '/metrics'))).text();
  const line = text.split('\n').find((l) => l.startsWith('ccc_gateway_operations_total{operation="cached",outcome="ok"}'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}
