/**
 * GraphQL Playground in a real browser (headless Chromium, see test/helpers/chromium.ts): served
 * by the gateway at /playground, with the example tabs, the docs pane listing the schema, and an
 * example that runs. Every request the page makes is recorded: none may leave the machine (no
 * CDN, no Google web font), and none may be blocked by the page's Content-Security-Policy.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../src/config/paths';
import type { Gateway } from '../../src/server/createGateway';
import { collectProblems, externalRequests, launchChromium } from '../helpers/chromium';
import { startTestGateway } from '../helpers/gateway';

const SCREENSHOT = join(PROJECT_ROOT, 'test', 'artifacts', 'playground.png');
const WAIT_MS = 15_000;

jest.setTimeout(60_000);

describe('GraphQL Playground in headless Chromium', () => {
  let gateway: Gateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const requests: { method: string; url: string }[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    gateway = await startTestGateway();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    context.on('request', (request) => requests.push({ method: request.method(), url: request.url() }));
    context.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
    page = await context.newPage();
    await collectProblems(page, problems);
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gateway?.close();
  });

  it('loads Playground with the example tabs, lists the schema in the docs pane, runs the seed example, all from the gateway', async () => {
    const origin = new URL(gateway.url).origin;
    const response = await page.goto(`${origin}/playground`, { waitUntil: 'load', timeout: WAIT_MS });
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toContain('text/html');

    // The three examples as named tabs, the seed example open in the editor.
    for (const name of ['SeedExample', 'HourlyDashboard', 'DailySummary']) {
      await page.getByText(name, { exact: true }).first().waitFor({ timeout: WAIT_MS });
    }
    await page.locator('.CodeMirror', { hasText: 'query SeedExample' }).first().waitFor({ timeout: WAIT_MS });

    // The docs pane lists the schema, which Playground learned by introspection.
    await page.getByText('Docs', { exact: true }).click();
    const rootFields = page.locator('.doc-root .field-name');
    await rootFields.filter({ hasText: 'intervalInstanceReport' }).waitFor({ timeout: WAIT_MS });
    expect(await rootFields.allTextContents()).toEqual(
      expect.arrayContaining(['intervalInstanceReport', 'combinedIntervalReport', 'callCenterInstance']),
    );

    // Run the example with the play button: data comes back, no errors.
    await page.locator('[title="Execute Query (Ctrl-Enter)"]').click();
    const result = page.locator('.CodeMirror', { hasText: '"data"' }).first();
    await result.filter({ hasText: '"intervalInstanceReport"' }).waitFor({ timeout: WAIT_MS });
    await result.filter({ hasText: '"callsOffered"' }).waitFor({ timeout: WAIT_MS });
    expect(await result.textContent()).not.toContain('"errors"');

    mkdirSync(join(PROJECT_ROOT, 'test', 'artifacts'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });

    // Nothing left the machine: page, bundle, introspection and the query all went to the gateway.
    expect(externalRequests(requests.map((r) => r.url))).toEqual([]);
    const assets = requests.filter((r) => r.url.startsWith(`${origin}/graphql/explorer/assets/`)).map((r) => new URL(r.url).pathname);
    expect(assets).toEqual(
      expect.arrayContaining([
        '/graphql/explorer/assets/graphql-playground.js',
        '/graphql/explorer/assets/graphql-playground.css',
        '/graphql/explorer/assets/playground.js',
      ]),
    );
    // Introspection, then the query.
    expect(requests.filter((r) => r.method === 'POST' && r.url === gateway.url).length).toBeGreaterThanOrEqual(2);
    expect(problems).toEqual([]);
  });
});
