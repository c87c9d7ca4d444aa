/**
 * The explorer's HTML: our own small template around GraphiQL's UMD build.
 *
 * Asset URLs are relative to the page, so the explorer also works behind a proxy that mounts the
 * gateway under a path prefix. The Content-Security-Policy only lets the page load from and talk
 * to its own origin: even a future dependency that tried to reach a CDN could not.
 */
import type { ExplorerAsset } from './assets';
import type { ExplorerTab } from './operations';

export const EXPLORER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // React, emotion and CodeMirror set inline styles.
  "style-src 'self' 'unsafe-inline'",
  // GraphiQL's CSS embeds its fonts (Roboto, Fira Code) and icons as data: URLs.
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'self'",
].join('; ');

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that is safe inside a <script> element (no `</script>`, no `<!--`, no U+2028/2029 surprises). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export interface PageOptions {
  title: string;
  /** Prefix of asset URLs, relative to the page (`graphql/explorer/assets/`). */
  assetBase: string;
  /** The GraphQL endpoint, relative to the page (`graphql`). */
  endpoint: string;
  assets: ExplorerAsset[];
  tabs: ExplorerTab[];
}

/** An asset's URL, relative to the page, versioned so that browsers can keep it for good; HTML-escaped. */
export function assetHref(assetBase: string, asset: ExplorerAsset): string {
  return escapeHtml(`${assetBase}${asset.name}?v=${encodeURIComponent(asset.version)}`);
}

export function renderExplorerPage({ title, assetBase, endpoint, assets, tabs }: PageOptions): string {
  const href = (asset: ExplorerAsset) => assetHref(assetBase, asset);
  const styles = assets.filter((a) => a.name.endsWith('.css'));
  const scripts = assets.filter((a) => a.name.endsWith('.js'));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
${styles.map((a) => `<link rel="stylesheet" href="${href(a)}">`).join('\n')}
<style>html, body, #graphiql { height: 100%; margin: 0; overflow: hidden; }</style>
</head>
<body>
<div id="graphiql">Loading the GraphQL explorer&hellip;</div>
<noscript>The GraphQL explorer needs JavaScript. The endpoint itself takes POST requests with a JSON body.</noscript>
<script id="explorer-config" type="application/json">${scriptJson({ endpoint, tabs })}</script>
${scripts.map((a) => `<script src="${href(a)}"></script>`).join('\n')}
</body>
</html>
`;
}
