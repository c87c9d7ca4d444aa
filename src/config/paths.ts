import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The package root, whether running from `src/` (tests) or `dist/src/` (built). */
function findProjectRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`package.json not found above ${from}`);
    dir = parent;
  }
  return dir;
}

export const PROJECT_ROOT = findProjectRoot(__dirname);
