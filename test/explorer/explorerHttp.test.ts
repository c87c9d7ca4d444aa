/**
 * The offline explorer over plain HTTP: which requests get the page, the assets and their
 * headers, the EXPLORER switch (with introspection), and the example variables.
 */
import { gunzipSync } from 'node:zlib';
import { loadConfig } from '../../src/config/config';
import { exampleRange, exampleTabs, exampleVariables, loadExampleOperations } from '../../src/server/explorer/operations';
import type { Gateway } from '../../src/server/createGateway';
import { BROWSER_ACCEPT, get, linkedAssets, pageConfig } from '../helpers/explorerPage';
import { graphql, startTestGateway } from '../helpers/gateway';
import { subscribe } from '../helpers/subscribers';

const INTROSPECTION = '{ __schema { queryType { name } } }';

describe('EXPLORER configuration', () => {
  it('is on by default, off by default in production, and EXPLORER overrides both ways', () => {
    expect(loadConfig({}).explorer).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).explorer).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', CCC_EMULATOR: 'true', AUTH_ALLOW_OFF_IN_PRODUCTION: 'true' }).explorer).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', CCC_EMULATOR: 'true', AUTH_ALLOW_OFF_IN_PRODUCTION: 'true', EXPLORER: 'true' }).explorer).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development', EXPLORER: 'false' }).explorer).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', CCC_EMULATOR: 'true', AUTH_ALLOW_OFF_IN_PRODUCTION: 'true', EXPLORER: '' }).explorer).toBe(false); // empty = unset
  });

  it('rejects a value that is not a boolean, naming the variable', () => {
    expect(() => loadConfig({ EXPLORER: 'maybe' })).toThrow(/EXPLORER/);
  });
});

describe('example operations', () => {
  // 2026-05-06 10:30:15.123 in Shanghai.
  const NOW = Date.parse('2026-05-06T10:30:15.123+08:00');
  const ZONE = 'Asia/Shanghai';

  it('reads schema/operations, seed example first', () => {
    const operations = loadExampleOperations();
    expect(operations.map((o) => o.name).slice(0, 3)).toEqual(['SeedExample', 'HourlyDashboard', 'DailySummary']);
    const seed = operations[0];
    expect(seed.variableNames).toEqual(['instanceId', 'startTime', 'endTime']);
  });

  it('computes ranges at render time in the instance time zone', () => {
    expect(exampleRange('SeedExample', NOW, ZONE)).toEqual(['2026-05-05T00:00:00+08:00', '2026-05-05T23:59:59.999+08:00']);
    expect(exampleRange('HourlyDashboard', NOW, ZONE)).toEqual(['2026-04-29T10:00:00+08:00', '2026-05-06T10:30:15+08:00']);
    expect(exampleRange('DailySummary', NOW, ZONE)).toEqual(['2026-04-07T00:00:00+08:00', '2026-05-06T10:30:15+08:00']);
    expect(exampleRange('SomethingElse', NOW, ZONE)).toEqual(['2026-05-06T00:00:00+08:00', '2026-05-06T10:30:15+08:00']);
    // Another zone moves the day boundaries.
    expect(exampleRange('SeedExample', NOW, 'UTC')).toEqual(['2026-05-05T00:00:00Z', '2026-05-05T23:59:59.999Z']);
  });

  it('fills only the variables an operation declares', () => {
    const op = { name: 'X', query: 'query X($id: ID!) { __typename }', variableNames: ['id', 'unrelated'] };
    expect(exampleVariables(op, NOW, ZONE)).toEqual({ id: 'ccc-test' });
  });

  it('falls back to one working tab when no example file exists', () => {
    expect(loadExampleOperations('/nonexistent/operations')).toEqual([]);
    const tabs = exampleTabs([], NOW, ZONE);
    expect(tabs).toHaveLength(1);
    expect(JSON.parse(tabs[0].variables!)).toEqual({ instanceId: 'ccc-test' });
  });
});

describe('explorer enabled (default)', () => {
  const NOW = Date.parse('2026-05-06T10:30:15.123+08:00');
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startTestGateway({}, { now: () => NOW });
  });
  afterAll(() => gateway.close());

  it('serves the GraphiQL page to a browser, with the examples and local assets only', async () => {
    const res = await get(gateway.url, { accept: BROWSER_ACCEPT });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['content-security-policy']).toContain("connect-src 'self'");
    const html = res.body.toString('utf8');
    const assets = linkedAssets(html, gateway.url);
    expect(assets.map((u) => new URL(u).pathname)).toEqual([
      '/graphql/explorer/assets/graphiql.min.css',
      '/graphql/explorer/assets/react.production.min.js',
      '/graphql/explorer/assets/react-dom.production.min.js',
      '/graphql/explorer/assets/graphiql.min.js',
      '/graphql/explorer/assets/explorer.js',
    ]);
    for (const url of assets) expect(new URL(url).origin).toBe(new URL(gateway.url).origin);
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);

    const { tabs } = pageConfig(html);
    expect(tabs.map((t) => /query (\w+)/.exec(t.query)?.[1])).toEqual(['SeedExample', 'HourlyDashboard', 'DailySummary', 'CallCenterInstances']);
    expect(JSON.parse(tabs[0].variables)).toEqual({
      instanceId: 'ccc-test',
      startTime: '2026-05-05T00:00:00+08:00',
      endTime: '2026-05-05T23:59:59.999+08:00',
    });
    expect(JSON.parse(tabs[1].variables)).toEqual({
      instanceId: 'ccc-test',
      startTime: '2026-04-29T10:00:00+08:00',
      endTime: '2026-05-06T10:30:15+08:00',
    });
    expect(JSON.parse(tabs[2].variables)).toEqual({
      instanceId: 'ccc-test',
      startTime: '2026-04-07T00:00:00+08:00',
      endTime: '2026-05-06T10:30:15+08:00',
    });
  });

  it('preloads examples whose variables run as they are against the embedded emulator', async () => {
    const html = (await get(gateway.url, { accept: BROWSER_ACCEPT })).body.toString('utf8');
    for (const tab of pageConfig(html).tabs) {
      if (/^subscription /m.test(tab.query)) {
        // Subscriptions run over WebSocket: the first event is the current bucket.
        const live = subscribe(gateway.url, tab.query, JSON.parse(tab.variables));
        const first = await live.waitFor(() => true);
        await live.dispose();
        expect(first.result.errors).toBeUndefined();
        expect(first.result.data.intervalReportUpdates.closed).toBe(false);
        // Over HTTP it is refused with a pointer to the WebSocket endpoint.
        const overHttp = await graphql(gateway, tab.query, JSON.parse(tab.variables));
        expect(overHttp.errors?.[0]).toMatchObject({ message: expect.stringContaining('WebSocket'), extensions: { code: 'BAD_REQUEST' } });
        continue;
      }
      const answer = await graphql(gateway, tab.query, JSON.parse(tab.variables));
      expect(answer.errors).toBeUndefined();
      // Reports, or (the instance picker) the emulator's listed instances.
      const rows = answer.data.intervalInstanceReport ?? answer.data.callCenterInstances ?? answer.data.callCenterInstance.intervalReports;
      expect(rows.length).toBeGreaterThan(0);
    }
  });

  it('links assets relative to the page, also with a trailing slash', async () => {
    const res = await get(`${gateway.url}/`, { accept: BROWSER_ACCEPT });
    expect(res.status).toBe(200);
    const assets = linkedAssets(res.body.toString('utf8'), `${gateway.url}/`);
    expect(new URL(assets[0]).pathname).toBe('/graphql/explorer/assets/graphiql.min.css');
  });

  it('serves every asset with its content type, long cache headers, ETag and gzip', async () => {
    const html = (await get(gateway.url, { accept: BROWSER_ACCEPT })).body.toString('utf8');
    for (const url of linkedAssets(html, gateway.url)) {
      const plain = await get(url);
      expect(plain.status).toBe(200);
      expect(plain.headers['content-type']).toBe(url.includes('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8');
      expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(plain.headers['x-content-type-options']).toBe('nosniff');
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.body.length).toBeGreaterThan(100);

      const zipped = await get(url, { 'accept-encoding': 'gzip, deflate, br' });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.headers.vary).toContain('accept-encoding');
      expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);

      const revalidated = await get(url, { 'if-none-match': String(plain.headers.etag) });
      expect(revalidated.status).toBe(304);
    }
  });

  it('serves the GraphiQL bundle that defines the GraphiQL global, and its source maps', async () => {
    const js = await get(`${gateway.url}/explorer/assets/graphiql.min.js`);
    expect(js.body.toString('utf8')).toContain('window.GraphiQL =');
    // Without the page's ?v=, an asset is revalidated rather than cached for good.
    expect(js.headers['cache-control']).toBe('no-cache');
    const map = await get(`${gateway.url}/explorer/assets/graphiql.min.js.map`);
    expect(map.status).toBe(200);
    expect(map.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('answers 404 for an unknown asset instead of handing it to Apollo', async () => {
    for (const path of ['/explorer/assets/nope.js', '/explorer/assets/..%2F..%2Fpackage.json', '/explorer/assets/a/b', '/explorer']) {
      const res = await get(`${gateway.url}${path}`);
      expect(res.status).toBe(404);
    }
  });

  it('leaves POST, GET with ?query= and JSON clients to Apollo', async () => {
    expect(await graphql(gateway, '{ __typename }')).toEqual({ data: { __typename: 'Query' } });

    const getQuery = await get(`${gateway.url}?query=${encodeURIComponent('{ __typename }')}`, {
      accept: BROWSER_ACCEPT,
      'apollo-require-preflight': 'true',
    });
    expect(String(getQuery.headers['content-type'])).not.toContain('text/html');
    expect(JSON.parse(getQuery.body.toString('utf8'))).toEqual({ data: { __typename: 'Query' } });

    const json = await get(gateway.url, { accept: 'application/json' });
    expect(String(json.headers['content-type'])).not.toContain('text/html');
    const anything = await get(gateway.url, { accept: '*/*' });
    expect(String(anything.headers['content-type'])).not.toContain('text/html');
  });

  it('allows introspection', async () => {
    expect(await graphql(gateway, INTROSPECTION)).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
  });
});

describe('explorer in production', () => {
  it('is off by default: no page, no assets, introspection rejected, queries still served', async () => {
    const gateway = await startTestGateway({ NODE_ENV: 'production', CCC_EMULATOR: 'true', AUTH_ALLOW_OFF_IN_PRODUCTION: 'true' });
    try {
      const page = await get(gateway.url, { accept: BROWSER_ACCEPT });
      expect(String(page.headers['content-type'])).not.toContain('text/html');
      expect(page.body.toString('utf8')).not.toContain('graphiql');
      expect(page.status).toBe(400); // Apollo: a GET without a query

      const asset = await get(`${gateway.url}/explorer/assets/graphiql.min.js`);
      expect(asset.status).not.toBe(200);
      expect(String(asset.headers['content-type'])).not.toContain('javascript');

      const introspection = await graphql(gateway, INTROSPECTION);
      expect(introspection.data).toBeUndefined();
      expect(introspection.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(introspection.errors?.[0].message).toMatch(/introspection/i);

      expect(await graphql(gateway, '{ __typename }')).toEqual({ data: { __typename: 'Query' } });
    } finally {
      await gateway.close();
    }
  });

  it('EXPLORER=true turns the page and introspection on', async () => {
    const gateway = await startTestGateway({ NODE_ENV: 'production', CCC_EMULATOR: 'true', AUTH_ALLOW_OFF_IN_PRODUCTION: 'true', EXPLORER: 'true' });
    try {
      const page = await get(gateway.url, { accept: BROWSER_ACCEPT });
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.body.toString('utf8')).toContain('graphiql.min.js');
      expect(await graphql(gateway, INTROSPECTION)).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
    } finally {
      await gateway.close();
    }
  });

  it('EXPLORER=false turns both off outside production too', async () => {
    const gateway = await startTestGateway({ EXPLORER: 'false' });
    try {
      const page = await get(gateway.url, { accept: BROWSER_ACCEPT });
      expect(String(page.headers['content-type'])).not.toContain('text/html');
      expect((await graphql(gateway, INTROSPECTION)).errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    } finally {
      await gateway.close();
    }
  });
});
