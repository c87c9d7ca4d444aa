/**
 * The offline explorer in a real browser: headless Chromium (Debian package `chromium`; another
 * binary with CHROMIUM_PATH) loads GraphiQL from the gateway, runs the preloaded example, and
 * shows data. Every request the page makes is recorded: none may leave the machine.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../src/config/paths';
import type { Gateway } from '../../src/server/createGateway';
import { collectProblems, externalRequests, launchChromium } from '../helpers/chromium';
import { startTestGateway } from '../helpers/gateway';

const ARTIFACTS = join(PROJECT_ROOT, 'test', 'artifacts');
const SCREENSHOT = join(ARTIFACTS, 'explorer.png');
const WAIT_MS = 15_000;

jest.setTimeout(60_000);

describe('explorer in headless Chromium', () => {
  let gateway: Gateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const requests: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    gateway = await startTestGateway();
    browser = await launchChromium();
    // A fresh context: empty storage, so GraphiQL starts from the page's example tabs.
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    context.on('request', (request) => requests.push(request.url()));
    context.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
    page = await context.newPage();
    // Errors and Content-Security-Policy violations (the page allows its own origin only) are failures too.
    await collectProblems(page, problems);
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gateway?.close();
  });

  it('loads GraphiQL with the example tabs, runs the seed example and shows data, all from the gateway', async () => {
    const response = await page.goto(gateway.url, { waitUntil: 'load', timeout: WAIT_MS });
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toContain('text/html');

    // GraphiQL rendered, with the three examples as tabs, the seed example active.
    await page.locator('.graphiql-container').waitFor({ timeout: WAIT_MS });
    const tabs = page.locator('.graphiql-tab');
    await tabs.nth(2).waitFor({ timeout: WAIT_MS });
    expect(await tabs.allTextContents()).toEqual(expect.arrayContaining([
      expect.stringContaining('SeedExample'),
      expect.stringContaining('HourlyDashboard'),
      expect.stringContaining('DailySummary'),
    ]));
    await page.locator('.graphiql-query-editor', { hasText: 'query SeedExample' }).waitFor({ timeout: WAIT_MS });
    await page.locator('.graphiql-editor-tool', { hasText: '"ccc-test"' }).first().waitFor({ timeout: WAIT_MS });

    // Run it with the execute button.
    await page.locator('button.graphiql-execute-button').click();
    const result = page.locator('.graphiql-response');
    await result.filter({ hasText: '"intervalInstanceReport"' }).waitFor({ timeout: WAIT_MS });
    await result.filter({ hasText: 'callsOffered' }).waitFor({ timeout: WAIT_MS });
    const text = (await result.textContent()) ?? '';
    expect(text).not.toContain('"errors"');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: SCREENSHOT });

    // Nothing left the machine: page, assets, the introspection and the query all went to the gateway.
    const origin = new URL(gateway.url).origin;
    expect(externalRequests(requests)).toEqual([]);
    expect(requests.filter((url) => url.startsWith(`${origin}/graphql/explorer/assets/`)).length).toBeGreaterThanOrEqual(5);
    expect(requests.filter((url) => url.split('?')[0] === gateway.url).length).toBeGreaterThanOrEqual(2); // page + POSTs
    expect(problems).toEqual([]);
  });

  it('fills every example tab with its own variables', async () => {
    await page.locator('.graphiql-tab', { hasText: 'HourlyDashboard' }).locator('button').first().click();
    await page.locator('.graphiql-query-editor', { hasText: 'query HourlyDashboard' }).waitFor({ timeout: WAIT_MS });
    const variables = page.locator('.graphiql-editor-tool', { hasText: '"startTime"' }).first();
    await variables.waitFor({ timeout: WAIT_MS });
    // Seven days back from now, from a whole hour, with the instance's offset.
    expect(await variables.textContent()).toMatch(/"startTime":\s*"\d{4}-\d{2}-\d{2}T\d{2}:00:00\+08:00"/);
    expect(problems).toEqual([]);
  });

  it('runs the LiveWallboard subscription over WebSocket under the page\'s CSP', async () => {
    await page.locator('.graphiql-tab', { hasText: 'LiveWallboard' }).locator('button').first().click();
    await page.locator('.graphiql-query-editor', { hasText: 'subscription LiveWallboard' }).waitFor({ timeout: WAIT_MS });
    // GraphiQL updates the operation name and parsed document it hands its fetcher a moment after
    // the editor shows the new tab (clicked at once, it runs the previous tab's operation name).
    await page.waitForTimeout(1_000);
    await page.locator('button.graphiql-execute-button').click();
    const result = page.locator('.graphiql-response');
    await result.filter({ hasText: '"intervalReportUpdates"' }).waitFor({ timeout: WAIT_MS });
    expect((await result.textContent()) ?? '').not.toContain('"errors"');
    expect(gateway.live.hub.stats.subscribers).toBe(1);
    // Stopping it completes the subscription on the gateway.
    await page.locator('button.graphiql-execute-button').click();
    for (const deadline = Date.now() + WAIT_MS; gateway.live.hub.stats.subscribers > 0 && Date.now() < deadline; ) await page.waitForTimeout(50);
    expect(gateway.live.hub.stats.subscribers).toBe(0);
    expect(externalRequests(requests)).toEqual([]);
    expect(problems).toEqual([]);
  });
});
