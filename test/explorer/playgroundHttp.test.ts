/**
 * GraphQL Playground over plain HTTP: the /playground page and its assets, EXPLORER_UI (what a
 * browser's GET /graphql shows), /graphiql, and how the bundle reaches production: copied out of
 * the devDependency at build time, so that `npm ci --omit=dev` never installs Playground's tree.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { loadConfig } from '../../src/config/config';
import { PROJECT_ROOT } from '../../src/config/paths';
import type { Gateway } from '../../src/server/createGateway';
import { relativeUrl } from '../../src/server/explorer';
import { PLAYGROUND_PACKAGE, playgroundAssets } from '../../src/server/explorer/playground';
import { BROWSER_ACCEPT, get, linkedAssets, pageConfig } from '../helpers/explorerPage';
import { graphql, startTestGateway } from '../helpers/gateway';

const NOW = Date.parse('2026-05-06T10:30:15.123+08:00');

describe('EXPLORER_UI configuration', () => {
  it('defaults to GraphiQL, accepts playground, and refuses anything else naming the variable', () => {
    expect(loadConfig({}).explorerUi).toBe('graphiql');
    expect(loadConfig({ EXPLORER_UI: 'playground' }).explorerUi).toBe('playground');
    expect(loadConfig({ EXPLORER_UI: '' }).explorerUi).toBe('graphiql'); // empty = unset
    expect(() => loadConfig({ EXPLORER_UI: 'sandbox' })).toThrow(/EXPLORER_UI/);
  });
});

describe('relative URLs of the pages', () => {
  it('resolve from each page to the endpoint and its assets, with or without a trailing slash', () => {
    expect(relativeUrl('/playground', '/graphql')).toBe('graphql');
    expect(relativeUrl('/playground/', '/graphql')).toBe('../graphql');
    expect(relativeUrl('/graphql', '/graphql')).toBe('graphql');
    expect(relativeUrl('/graphql/', '/graphql')).toBe('.');
    expect(relativeUrl('/playground', '/graphql/explorer/assets/')).toBe('graphql/explorer/assets/');
    expect(relativeUrl('/graphql/', '/graphql/explorer/assets/')).toBe('explorer/assets/');
  });
});

describe('Playground page (explorer on, EXPLORER_UI default)', () => {
  let gateway: Gateway;
  let origin: string;
  beforeAll(async () => {
    gateway = await startTestGateway({}, { now: () => NOW });
    origin = new URL(gateway.url).origin;
  });
  afterAll(() => gateway.close());

  it('serves /playground with local assets only, the example tabs named and filled, polling off', async () => {
    const res = await get(`${origin}/playground`, { accept: BROWSER_ACCEPT });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['content-security-policy']).toContain("connect-src 'self'");
    const html = res.body.toString('utf8');
    // No CDN and no web font: nothing outside the gateway is named in the page at all.
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/fonts\.googleapis|cdn\.jsdelivr|unpkg/);
    const assets = linkedAssets(html, `${origin}/playground`);
    expect(assets.map((u) => new URL(u).pathname)).toEqual([
      '/graphql/explorer/assets/graphql-playground-favicon.png',
      '/graphql/explorer/assets/graphql-playground.css',
      '/graphql/explorer/assets/graphql-playground.js',
      '/graphql/explorer/assets/playground.js',
    ]);
    for (const url of assets) expect(new URL(url).origin).toBe(origin);

    const config = pageConfig(html);
    expect(new URL(config.endpoint, `${origin}/playground`).href).toBe(gateway.url);
    expect(config.settings).toMatchObject({ 'schema.polling.enable': false });
    expect(config.tabs.map((t) => t.name)).toEqual(['SeedExample', 'HourlyDashboard', 'DailySummary', 'CallCenterInstances']);
    expect(config.tabs.map((t) => /query (\w+)/.exec(t.query)?.[1])).toEqual(['SeedExample', 'HourlyDashboard', 'DailySummary', 'CallCenterInstances']);
    expect(JSON.parse(config.tabs[0].variables)).toEqual({
      instanceId: 'ccc-test',
      startTime: '2026-05-05T00:00:00+08:00',
      endTime: '2026-05-05T23:59:59.999+08:00',
    });
    // The same examples as GraphiQL's, but for subscriptions (Playground speaks only the legacy
    // subscriptions-transport-ws protocol; GraphiQL runs them over graphql-ws).
    const graphiql = pageConfig((await get(gateway.url, { accept: BROWSER_ACCEPT })).body.toString('utf8'));
    expect(graphiql.tabs.filter((t) => !/^subscription /m.test(t.query))).toEqual(config.tabs);
    expect(graphiql.tabs.map((t) => t.name)).toContain('LiveWallboard');
  });

  it('links the same assets and endpoint from /playground/', async () => {
    const res = await get(`${origin}/playground/`, { accept: BROWSER_ACCEPT });
    expect(res.status).toBe(200);
    const html = res.body.toString('utf8');
    expect(new URL(linkedAssets(html, `${origin}/playground/`)[2]).pathname).toBe('/graphql/explorer/assets/graphql-playground.js');
    expect(new URL(pageConfig(html).endpoint, `${origin}/playground/`).href).toBe(gateway.url);
  });

  it('serves every Playground asset with its content type, long cache headers, ETag and gzip', async () => {
    const html = (await get(`${origin}/playground`)).body.toString('utf8');
    for (const url of linkedAssets(html, `${origin}/playground`)) {
      const plain = await get(url);
      expect(plain.status).toBe(200);
      const expectedType = url.includes('.css') ? 'text/css; charset=utf-8' : url.includes('.png') ? 'image/png' : 'text/javascript; charset=utf-8';
      expect(plain.headers['content-type']).toBe(expectedType);
      expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(plain.body.length).toBeGreaterThan(100);
      const zipped = await get(url, { 'accept-encoding': 'gzip' });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
      expect((await get(url, { 'if-none-match': String(plain.headers.etag) })).status).toBe(304);
    }
    const bundle = await get(`${gateway.url}/explorer/assets/graphql-playground.js`);
    expect(bundle.body.toString('utf8')).toContain('GraphQLPlayground');
  });

  it('keeps GET /graphql on GraphiQL and serves GraphiQL at /graphiql too, talking to /graphql', async () => {
    const endpointPage = (await get(gateway.url, { accept: BROWSER_ACCEPT })).body.toString('utf8');
    expect(endpointPage).toContain('graphiql.min.js');
    const res = await get(`${origin}/graphiql`, { accept: BROWSER_ACCEPT });
    expect(res.status).toBe(200);
    const html = res.body.toString('utf8');
    expect(html).toContain('graphiql.min.js');
    expect(new URL(linkedAssets(html, `${origin}/graphiql`)[0]).pathname).toBe('/graphql/explorer/assets/graphiql.min.css');
    expect(new URL(pageConfig(html).endpoint, `${origin}/graphiql`).href).toBe(gateway.url);
  });
});

describe('EXPLORER_UI=playground', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ EXPLORER_UI: 'playground' }, { now: () => NOW });
  });
  afterAll(() => gateway.close());

  it('shows Playground on a browser GET /graphql, talking to the page itself', async () => {
    const res = await get(gateway.url, { accept: BROWSER_ACCEPT });
    expect(res.status).toBe(200);
    const html = res.body.toString('utf8');
    expect(html).toContain('graphql-playground.js');
    expect(html).not.toContain('graphiql.min.js');
    expect(new URL(pageConfig(html).endpoint, gateway.url).href).toBe(gateway.url);
    expect(new URL(linkedAssets(html, gateway.url)[2]).pathname).toBe('/graphql/explorer/assets/graphql-playground.js');
  });

  it('leaves GraphiQL at /graphiql, and JSON clients and POST to Apollo', async () => {
    const graphiql = await get(`${new URL(gateway.url).origin}/graphiql`, { accept: BROWSER_ACCEPT });
    expect(graphiql.body.toString('utf8')).toContain('graphiql.min.js');
    const json = await get(gateway.url, { accept: 'application/json' });
    expect(String(json.headers['content-type'])).not.toContain('text/html');
    expect(await graphql(gateway, '{ __typename }')).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('explorer off', () => {
  it('serves neither /playground nor /graphiql nor their assets', async () => {
    const gateway = await startTestGateway({ EXPLORER: 'false', EXPLORER_UI: 'playground' });
    try {
      const origin = new URL(gateway.url).origin;
      for (const url of [`${origin}/playground`, `${origin}/graphiql`]) {
        const res = await get(url, { accept: BROWSER_ACCEPT });
        expect(res.status).toBe(404);
        expect(res.body.toString('utf8')).not.toContain('GraphQLPlayground');
      }
      // Under the endpoint, Apollo answers (a GET without a query).
      const asset = await get(`${gateway.url}/explorer/assets/graphql-playground.js`);
      expect(asset.status).toBe(400);
      expect(String(asset.headers['content-type'])).not.toContain('javascript');
      const page = await get(gateway.url, { accept: BROWSER_ACCEPT });
      expect(String(page.headers['content-type'])).not.toContain('text/html');
    } finally {
      await gateway.close();
    }
  });
});

describe('Playground in production installs', () => {
  const packageJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8'));

  it('is a devDependency only: `npm ci --omit=dev` does not install its React 16 tree', () => {
    expect(packageJson.devDependencies[PLAYGROUND_PACKAGE]).toMatch(/^\d+\.\d+\.\d+$/);
    expect(packageJson.dependencies[PLAYGROUND_PACKAGE]).toBeUndefined();
  });

  it('`npm run build` copies the prebuilt bundle into dist/vendor, which the gateway serves unchanged', async () => {
    expect(packageJson.scripts.build).toContain('node scripts/vendor-playground.js');
    const target = mkdtempSync(join(tmpdir(), 'playground-vendor-'));
    try {
      execFileSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'vendor-playground.js'), target], { stdio: 'pipe' });
      const installed = dirname(require.resolve(`${PLAYGROUND_PACKAGE}/package.json`));
      const copied = playgroundAssets(target).filter((a) => a.name !== 'playground.js');
      expect(copied.map((a) => a.name).sort()).toEqual(['graphql-playground-favicon.png', 'graphql-playground.css', 'graphql-playground.js']);
      const original = playgroundAssets(installed);
      for (const asset of copied) {
        const same = original.find((a) => a.name === asset.name)!;
        expect(asset.version).toBe(same.version);
        expect((await asset.load()).equals(await same.load())).toBe(true);
      }
      // Its licence travels with it; source maps (8 MB) do not.
      expect(readFileSync(join(target, 'LICENSE'), 'utf8')).toContain('MIT');
      const bundleBytes = statSync(join(target, 'build/static/js/middleware.js')).size;
      expect(bundleBytes).toBeLessThan(3 * 1024 * 1024);
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });

  it('the Dockerfile builds with the script and ships dist/ (with dist/vendor) to the runtime image', () => {
    const lines = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8').split('\n').map((l) => l.trim());
    const copyScripts = lines.indexOf('COPY scripts ./scripts');
    const build = lines.indexOf('RUN npm run build');
    expect(copyScripts).toBeGreaterThan(-1);
    expect(build).toBeGreaterThan(copyScripts);
    expect(lines).toContain('COPY --from=build /app/dist ./dist');
  });
});
