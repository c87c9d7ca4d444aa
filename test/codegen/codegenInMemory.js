/**
 * Runs GraphQL Code Generator with `codegen.yml` in memory (nothing is written) and prints, as
 * JSON on stdout: the files it would write and the schema it reads (sorted, printed).
 *
 * A separate Node process, not an import into the jest test: `@graphql-codegen/cli` requires the
 * ESM-only `yargs`, which plain Node 20.19+ loads (require(esm)) but jest's module runtime does
 * not before Node 24.9.
 */
'use strict';
const { join } = require('node:path');
const { CodegenContext, generate, loadCodegenConfig } = require('@graphql-codegen/cli');
const { lexicographicSortSchema, printSchema } = require('graphql');

const ROOT = join(__dirname, '..', '..');

async function main() {
  const loaded = await loadCodegenConfig({ configFilePath: join(ROOT, 'codegen.yml') });
  if (!loaded || loaded.isEmpty) throw new Error('codegen.yml not found or empty');
  const config = { ...loaded.config, cwd: ROOT, silent: true };
  const outputs = await generate(config, false);
  const schema = await new CodegenContext({ config }).loadSchema(config.schema);
  return {
    files: outputs.map((o) => ({ filename: o.filename, content: o.content })),
    schema: printSchema(lexicographicSortSchema(schema)),
  };
}

main().then(
  (result) => process.stdout.write(JSON.stringify(result)),
  (error) => {
    process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
    process.exitCode = 1;
  },
);
