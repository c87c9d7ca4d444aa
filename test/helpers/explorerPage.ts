/** Plain-HTTP helpers for the explorer pages (GraphiQL, Playground) and their assets. */
import http from 'node:http';

export const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** node:http, not fetch: fetch decompresses and sets its own Accept-Encoding. */
export function get(url: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** The asset URLs the page links, resolved against the page URL. */
export function linkedAssets(html: string, pageUrl: string): string[] {
  return [...html.matchAll(/(?:src|href)="([^"]+)"/g)]
    .map((m) => m[1].replace(/&#38;/g, '&'))
    .filter((u) => !u.startsWith('data:'))
    .map((u) => new URL(u, pageUrl).href);
}

export interface PageConfig {
  endpoint: string;
  tabs: { name: string; query: string; variables: string }[];
  settings?: Record<string, unknown>;
}

/** The JSON configuration the page hands its script. */
export function pageConfig(html: string): PageConfig {
  const match = /<script id="explorer-config" type="application\/json">(.*?)<\/script>/s.exec(html);
  if (!match) throw new Error('no explorer config in the page');
  return JSON.parse(match[1]);
}
