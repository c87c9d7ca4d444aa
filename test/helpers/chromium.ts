/**
 * Headless Chromium for browser tests (Debian package `chromium`; another binary with
 * CHROMIUM_PATH): Playwright cannot download its own browsers here.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Host names that stay on this machine. */
export const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install the Debian package chromium (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Collects what goes wrong in a page: uncaught errors, console errors, and Content-Security-Policy
 * violations (a blocked request never shows up as a request, so listen for the violation itself).
 */
export async function collectProblems(page: Page, problems: string[]): Promise<void> {
  await page.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (event) => {
      console.error('CSP violation: ' + event.violatedDirective + ' ' + event.blockedURI);
    });`,
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
}

/** The recorded URLs that left the machine (data: and blob: URLs never do). */
export function externalRequests(urls: string[]): string[] {
  return urls.filter((url) => {
    const parsed = new URL(url);
    if (parsed.protocol === 'data:' || parsed.protocol === 'blob:') return false;
    return !LOCAL_HOSTS.has(parsed.hostname);
  });
}
