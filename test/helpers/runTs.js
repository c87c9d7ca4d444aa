/**
 * Lets `node -r ./test/helpers/runTs.js src/cli/x.ts` run a TypeScript entry point in a child
 * process, compiled on load by swc with the settings jest uses (decorator metadata included), so
 * a test can SIGKILL a real process running the real tool without building dist/ first.
 */
const { readFileSync } = require('node:fs');
const { transformSync } = require('@swc/core');

require.extensions['.ts'] = function compile(module, filename) {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    sourceMaps: 'inline',
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
require('reflect-metadata');
