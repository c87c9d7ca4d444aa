/**
 * An explorer that works offline: GraphiQL, served with every asset by the gateway itself.
 *
 * Why GraphiQL and not GraphQL Playground: Apollo Server's default landing page (Apollo Sandbox)
 * and the Playground page both load their JavaScript from public CDNs. Playground's React build
 * could be served locally, but its npm package cannot be installed from the registry reachable
 * here (`graphql-playground-react` depends on `redux-localstorage@^1.0.0-rc5`, which is not
 * there), and it is unmaintained. GraphiQL 3 ships a UMD build (`graphiql.min.js` +
 * `graphiql.min.css`, fonts embedded) that only needs React and ReactDOM, which ship UMD builds too.
 *
 * Mounted on the GraphQL path BEFORE Apollo's middleware. It answers:
 * - `GET <mount>` when the client prefers text/html (a browser) and sends no `?query=`: the page.
 *   Everything else (POST, GET with `?query=`, JSON clients) falls through to Apollo.
 * - `GET <mount>/explorer/assets/<name>`: the assets, with long cache headers when the URL
 *   carries the current `?v=`, ETags, and gzip.
 * Apollo's own landing page is disabled (ApolloServerPluginLandingPageDisabled) in createGateway.
 */
import express, { type Request, type Response, type Router } from 'express';
import { basename } from 'node:path';
import { AssetStore } from './assets';
import { exampleTabs, loadExampleOperations, type ExampleOperation, EXAMPLE_INSTANCE_ID } from './operations';
import { EXPLORER_CSP, renderExplorerPage } from './page';

export const EXPLORER_ASSET_PATH = '/explorer/assets';

const ONE_YEAR_S = 365 * 24 * 3600;

export interface ExplorerOptions {
  now: () => number;
  /** Time zone of an instance: the examples' day boundaries. */
  zoneFor: (instanceId: string) => string;
  /** Where the example operations come from (default: `schema/operations`, read once, now). */
  operations?: ExampleOperation[];
  warn?: (message: string) => void;
}

/**
 * True for a browser navigating to the endpoint: GET, no `query` parameter, and text/html
 * preferred over every type Apollo answers with (the same negotiation Apollo does for its own
 * landing page).
 */
export function wantsExplorerPage(req: Request): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (new URLSearchParams(req.originalUrl.split('?')[1] ?? '').has('query')) return false;
  return req.accepts(['application/json', 'application/graphql-response+json', 'multipart/mixed', 'text/html']) === 'text/html';
}

export function createExplorerRouter(options: ExplorerOptions): Router {
  const operations = options.operations ?? loadExampleOperations(undefined, options.warn);
  const store = new AssetStore();
  const router = express.Router();

  router.get('/', (req: Request, res: Response, next) => {
    if (!wantsExplorerPage(req)) return next();
    // Relative asset URLs: `/graphql` -> `graphql/explorer/assets/...`, `/graphql/` -> `explorer/assets/...`.
    const trailingSlash = req.originalUrl.split('?')[0].endsWith('/');
    const assetBase = `${trailingSlash ? '' : `${basename(req.baseUrl)}/`}${EXPLORER_ASSET_PATH.slice(1)}/`;
    const html = renderExplorerPage({
      title: 'ccc-report-gateway · GraphiQL',
      assetBase,
      assets: store.assets,
      tabs: exampleTabs(operations, options.now(), options.zoneFor(EXAMPLE_INSTANCE_ID)),
    });
    res.status(200);
    res.setHeader('content-type', 'text/html; charset=utf-8');
    // The example ranges are computed per render.
    res.setHeader('cache-control', 'no-store');
    res.setHeader('content-security-policy', EXPLORER_CSP);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('vary', 'accept');
    res.end(html);
  });

  router.get(`${EXPLORER_ASSET_PATH}/:name`, async (req: Request, res: Response, next) => {
    const asset = store.find(String(req.params.name));
    if (!asset) return next();
    try {
      const loaded = await store.get(asset);
      const useGzip = req.acceptsEncodings('gzip', 'identity') === 'gzip';
      const body = useGzip ? await loaded.gzipped : loaded.body;
      res.status(200);
      res.setHeader('content-type', asset.contentType);
      res.setHeader('x-content-type-options', 'nosniff');
      // Versioned URL (what the page links): cache for good. Anything else: revalidate by ETag.
      const current = req.query.v === asset.version;
      res.setHeader('cache-control', current ? `public, max-age=${ONE_YEAR_S}, immutable` : 'no-cache');
      res.setHeader('etag', loaded.etag);
      res.setHeader('vary', 'accept-encoding');
      if (req.fresh) {
        res.status(304).end();
        return;
      }
      if (useGzip) res.setHeader('content-encoding', 'gzip');
      res.setHeader('content-length', String(body.length));
      res.end(body);
    } catch (err) {
      next(err);
    }
  });

  // Anything else under /explorer is not a GraphQL request: do not hand it to Apollo.
  router.use('/explorer', (_req: Request, res: Response) => {
    res.status(404).type('text/plain').send('Not found');
  });

  return router;
}
