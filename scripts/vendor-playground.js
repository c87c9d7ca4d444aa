#!/usr/bin/env node
/**
 * Copies GraphQL Playground's prebuilt browser bundle out of the `graphql-playground-react`
 * devDependency into `dist/vendor/graphql-playground-react/` (part of `npm run build`).
 *
 * Why: the package declares about 300 dependencies (React 16, redux, codemirror, graphql 15...)
 * that only its own build needed; its `build/` folder is self-contained. A production install
 * (`npm ci --omit=dev`, the Docker image) therefore never installs the package: it gets these
 * four files (2.4 MB, under 1 MB gzipped on the wire), which the gateway serves at /playground.
 * Source maps (8 MB) are left out.
 *
 *   node scripts/vendor-playground.js [targetFolder]
 */
'use strict';
const { copyFileSync, mkdirSync } = require('node:fs');
const { dirname, join, resolve } = require('node:path');

const PACKAGE = 'graphql-playground-react';
/** Paths inside the package; the gateway looks them up at the same paths under the vendor folder. */
const FILES = ['package.json', 'LICENSE', 'build/static/js/middleware.js', 'build/static/css/middleware.css', 'build/favicon.png'];

const projectRoot = resolve(__dirname, '..');
// A folder as argument: tests copy into a temporary one.
const target = resolve(process.argv[2] ?? join(projectRoot, 'dist', 'vendor', PACKAGE));

let source;
try {
  source = dirname(require.resolve(`${PACKAGE}/package.json`, { paths: [projectRoot] }));
} catch {
  console.error(`vendor-playground: ${PACKAGE} is not installed (it is a devDependency: build with \`npm ci\`, not \`npm ci --omit=dev\`)`);
  process.exit(1);
}

for (const file of FILES) {
  mkdirSync(dirname(join(target, file)), { recursive: true });
  copyFileSync(join(source, file), join(target, file));
}
const { version } = require(join(target, 'package.json'));
console.log(`vendor-playground: ${PACKAGE} ${version} -> ${target}`);
