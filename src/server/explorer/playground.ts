/**
 * GraphQL Playground, served offline like GraphiQL: its prebuilt bundle
 * (`graphql-playground-react`'s `build/static/js/middleware.js`, which defines the global
 * `GraphQLPlayground.init(element, options)` and carries its own React 16), our own HTML around it,
 * and a small script that starts it with the example tabs.
 *
 * Where the bundle comes from: `dist/vendor/graphql-playground-react/`, where `npm run build`
 * copies it (scripts/vendor-playground.js), so that production installs need not install the
 * package and its ~300 dependencies; else, in development and tests, the devDependency itself.
 *
 * Not used from `graphql-playground-html` (`renderPlaygroundPage`): its page links Google's web
 * fonts and loads the bundle from a CDN by default. Our page loads nothing from outside; the
 * fonts it asks for (Open Sans, Source Code Pro) are used when installed and fall back to system
 * fonts otherwise.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PROJECT_ROOT } from '../../config/paths';
import type { ExplorerAsset } from './assets';
import { assetHref, escapeHtml, scriptJson, type PageOptions } from './page';

export const PLAYGROUND_PACKAGE = 'graphql-playground-react';
export const PLAYGROUND_VENDOR_DIR = join(PROJECT_ROOT, 'dist', 'vendor', PLAYGROUND_PACKAGE);

/** The folder holding the package's files (package.json, build/...), or undefined when neither copy exists. */
export function playgroundPackageDir(): string | undefined {
  if (existsSync(join(PLAYGROUND_VENDOR_DIR, 'package.json'))) return PLAYGROUND_VENDOR_DIR;
  try {
    return dirname(require.resolve(`${PLAYGROUND_PACKAGE}/package.json`, { paths: [PROJECT_ROOT] }));
  } catch {
    return undefined;
  }
}

/**
 * Playground settings that differ from its defaults. Schema polling is off: by default it
 * re-introspects every 2 s on localhost, for a schema that only changes with a deployment.
 * Credentials stay on the same origin (the gateway uses none; no cookie goes elsewhere).
 */
export const PLAYGROUND_SETTINGS = {
  'schema.polling.enable': false,
  'request.credentials': 'same-origin',
  'editor.fontFamily': "'Source Code Pro', Consolas, Menlo, 'DejaVu Sans Mono', monospace",
  'general.betaUpdates': false,
};

/**
 * The page's own script (no inline script under the page's Content-Security-Policy). Playground
 * wants absolute endpoint URLs; the page hands it a URL relative to itself (so a path prefix of a
 * proxy in front is kept). Tabs given to `init` replace Playground's stored workspace on every
 * load, so the examples always carry ranges computed now.
 */
export const PLAYGROUND_BOOTSTRAP_JS = String.raw`(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('explorer-config').textContent);
  var endpoint = new URL(config.endpoint, window.location.href).href;
  GraphQLPlayground.init(document.getElementById('playground'), {
    endpoint: endpoint,
    settings: config.settings,
    tabs: config.tabs.map(function (tab) {
      return { endpoint: endpoint, name: tab.name, query: tab.query, variables: tab.variables };
    }),
  });
})();
`;

const JS = 'text/javascript; charset=utf-8';

/** Playground's assets, or none when the bundle is not available (the page then says why). */
export function playgroundAssets(packageDir: string | undefined = playgroundPackageDir()): ExplorerAsset[] {
  const bootstrap = Buffer.from(PLAYGROUND_BOOTSTRAP_JS, 'utf8');
  const own: ExplorerAsset = {
    name: 'playground.js',
    contentType: JS,
    version: createHash('sha256').update(bootstrap).digest('hex').slice(0, 12),
    load: async () => bootstrap,
  };
  if (!packageDir) return [];
  const version = (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
  const file = (name: string, contentType: string, relativePath: string): ExplorerAsset => ({
    name,
    contentType,
    version,
    load: () => readFile(join(packageDir, relativePath)),
  });
  return [
    file('graphql-playground.css', 'text/css; charset=utf-8', 'build/static/css/middleware.css'),
    file('graphql-playground-favicon.png', 'image/png', 'build/favicon.png'),
    // 2.35 MB (minified, with its own React 16); 0.67 MB gzipped on the wire.
    file('graphql-playground.js', JS, 'build/static/js/middleware.js'),
    own,
  ];
}

/** The Playground page: the same options as the GraphiQL page (./page.ts). */
export function renderPlaygroundPage({ title, assetBase, endpoint, assets, tabs }: PageOptions): string {
  const byName = new Map(assets.map((a) => [a.name, a]));
  const href = (name: string) => assetHref(assetBase, byName.get(name)!);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="${href('graphql-playground-favicon.png')}">
<link rel="stylesheet" href="${href('graphql-playground.css')}">
<style>html { font-family: 'Open Sans', system-ui, sans-serif; overflow: hidden; } body { margin: 0; background: #172a3a; color: #fff; } #playground { height: 100vh; }</style>
</head>
<body>
<div id="playground">Loading GraphQL Playground&hellip;</div>
<noscript>GraphQL Playground needs JavaScript. The endpoint itself takes POST requests with a JSON body.</noscript>
<script id="explorer-config" type="application/json">${scriptJson({ endpoint, settings: PLAYGROUND_SETTINGS, tabs })}</script>
<script src="${href('graphql-playground.js')}"></script>
<script src="${href('playground.js')}"></script>
</body>
</html>
`;
}
