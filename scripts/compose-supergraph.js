#!/usr/bin/env node
/**
 * Composes a supergraph locally, without rover (whose composition plugin is downloaded from
 * Apollo's servers on first use): `@apollo/composition`, the library rover and the router use.
 *
 *   npm run compose -- schema/schema.graphql=https://ccc-reports.internal/graphql \
 *                      ../teams/schema.graphql=https://teams.internal/graphql > supergraph.graphql
 *
 * Each argument is `<SDL file>=<routing URL>`; the subgraph is named after the file's folder
 * (`schema/schema.graphql` of this project is named `ccc-reports`). Composition errors and hints
 * go to stderr; the exit code is 1 when composition fails.
 */
'use strict';
const { readFileSync } = require('node:fs');
const { basename, dirname, resolve } = require('node:path');
const { composeServices } = require('@apollo/composition');
const { parse } = require('graphql');

const args = process.argv.slice(2);
if (args.length === 0 || args.some((a) => !a.includes('='))) {
  console.error('usage: compose-supergraph <sdl-file>=<routing-url> [<sdl-file>=<routing-url> ...]');
  process.exit(2);
}
const ownSchema = resolve(__dirname, '..', 'schema', 'schema.graphql');
const services = args.map((arg) => {
  const [file, url] = [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)];
  const path = resolve(file);
  const name = path === ownSchema ? 'ccc-reports' : basename(dirname(path));
  return { name, url, typeDefs: parse(readFileSync(path, 'utf8')) };
});
const result = composeServices(services);
for (const hint of result.hints ?? []) console.error(`hint: ${hint.definition.code}: ${hint.message}`);
if (result.errors) {
  for (const error of result.errors) console.error(`error: ${error.message}`);
  process.exit(1);
}
process.stdout.write(`${result.supergraphSdl.trim()}\n`);
