/**
 * The explorer's static assets, every one served by the gateway itself from node_modules: the
 * page must work on a network without internet access, so nothing comes from a CDN (GraphiQL's
 * CSS embeds its fonts as data: URLs, so there is no external font either).
 *
 * Files are read, hashed and gzipped lazily, on their first request: a gateway whose explorer
 * nobody opens pays nothing, and one that serves it pays once.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { BOOTSTRAP_JS } from './bootstrap';

const gzipAsync = promisify(gzip);

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const JSON_MAP = 'application/json; charset=utf-8';

/**
 * A package's directory. Through its package.json, because react and react-dom declare "exports"
 * that do not list their `umd/` files: `require.resolve('react/umd/...')` fails with
 * ERR_PACKAGE_PATH_NOT_EXPORTED, `require.resolve('react/package.json')` does not.
 */
function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`));
}

function packageVersion(name: string): string {
  return (require(`${name}/package.json`) as { version: string }).version;
}

export interface ExplorerAsset {
  /** File name under `<mount>/explorer/assets/`. */
  name: string;
  contentType: string;
  /** Goes into the page's `?v=`: a request carrying it may be cached for good. */
  version: string;
  load(): Promise<Buffer>;
}

export interface LoadedAsset {
  body: Buffer;
  gzipped: Promise<Buffer>;
  etag: string;
}

function fileAsset(name: string, contentType: string, pkg: string, relativePath: string): ExplorerAsset {
  return {
    name,
    contentType,
    version: packageVersion(pkg),
    load: () => readFile(join(packageDir(pkg), relativePath)),
  };
}

/** The assets, in the order the page loads them (graphiql's UMD build expects React and ReactDOM as globals). */
export function explorerAssets(): ExplorerAsset[] {
  const bootstrap = Buffer.from(BOOTSTRAP_JS, 'utf8');
  return [
    fileAsset('react.production.min.js', JS, 'react', 'umd/react.production.min.js'),
    fileAsset('react-dom.production.min.js', JS, 'react-dom', 'umd/react-dom.production.min.js'),
    // graphiql.min.js is the webpack UMD build (about 3.5 MB, despite its name not minified):
    // gzip brings it under 1 MB on the wire.
    fileAsset('graphiql.min.js', JS, 'graphiql', 'graphiql.min.js'),
    fileAsset('graphiql.min.css', CSS, 'graphiql', 'graphiql.min.css'),
    // Referenced by the two files above (`sourceMappingURL`); browsers fetch them only with devtools open.
    fileAsset('graphiql.min.js.map', JSON_MAP, 'graphiql', 'graphiql.min.js.map'),
    fileAsset('graphiql.min.css.map', JSON_MAP, 'graphiql', 'graphiql.min.css.map'),
    {
      name: 'explorer.js',
      contentType: JS,
      version: createHash('sha256').update(bootstrap).digest('hex').slice(0, 12),
      load: async () => bootstrap,
    },
  ];
}

/** Lazily loaded, memoized asset contents. A failed load is retried on the next request. */
export class AssetStore {
  private readonly byName = new Map<string, ExplorerAsset>();
  private readonly loaded = new Map<string, Promise<LoadedAsset>>();

  constructor(readonly assets: ExplorerAsset[] = explorerAssets()) {
    for (const asset of assets) this.byName.set(asset.name, asset);
  }

  find(name: string): ExplorerAsset | undefined {
    return this.byName.get(name);
  }

  get(asset: ExplorerAsset): Promise<LoadedAsset> {
    let entry = this.loaded.get(asset.name);
    if (!entry) {
      entry = asset.load().then((body) => {
        let gzipped: Promise<Buffer> | undefined;
        return {
          body,
          etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
          // Compressed on first demand only: most clients of a dev tool want gzip, but not all.
          get gzipped() {
            gzipped ??= gzipAsync(body);
            return gzipped;
          },
        };
      });
      entry.catch(() => this.loaded.delete(asset.name));
      this.loaded.set(asset.name, entry);
    }
    return entry;
  }
}
