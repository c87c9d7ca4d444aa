/**
 * Explorers that work offline: GraphiQL and GraphQL Playground, served with every asset by the
 * gateway itself (no CDN, no outside web font).
 *
 * Apollo Server's own landing pages (Apollo Sandbox, its Playground plugin) load their JavaScript
 * from public CDNs. GraphiQL 3 ships a UMD build (`graphiql.min.js` + `graphiql.min.css`, fonts
 * embedded) that only needs React and ReactDOM, which ship UMD builds too. GraphQL Playground
 * (unmaintained since 2020, but what many teams know) ships a prebuilt bundle; see ./playground.
 *
 * Mounted at the root, BEFORE Apollo's middleware. It answers:
 * - `GET <endpoint>` when the client prefers text/html (a browser) and sends no `?query=`: the
 *   explorer EXPLORER_UI names. Everything else (POST, GET with `?query=`, JSON clients) falls
 *   through to Apollo.
 * - `GET /graphiql` and `GET /playground`: each explorer, whatever EXPLORER_UI says.
 * - `GET <endpoint>/explorer/assets/<name>`: the assets of both, with long cache headers when
 *   the URL carries the current `?v=`, ETags, and gzip.
 * Apollo's own landing page is disabled (ApolloServerPluginLandingPageDisabled) in createGateway.
 */
import { Kind, parse } from 'graphql';
import express, { type Request, type Response, type Router } from 'express';
import { posix } from 'node:path';
import { AssetStore, explorerAssets } from './assets';
import { exampleTabs, loadExampleOperations, type ExampleOperation, EXAMPLE_INSTANCE_ID } from './operations';
import { EXPLORER_CSP, renderExplorerPage } from './page';
import { playgroundAssets, renderPlaygroundPage } from './playground';

export const EXPLORER_ASSET_PATH = '/explorer/assets';

const ONE_YEAR_S = 365 * 24 * 3600;

export type ExplorerUi = 'graphiql' | 'playground';

export interface ExplorerOptions {
  now: () => number;
  /** Time zone of an instance: the examples' day boundaries. */
  zoneFor: (instanceId: string) => string;
  /** What a browser's GET on the endpoint shows (default GraphiQL). */
  ui?: ExplorerUi;
  /** Path of the GraphQL endpoint (default `/graphql`). */
  endpointPath?: string;
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

/**
 * `to` relative to the page at `from` (both absolute paths), so that a page keeps working behind
 * a proxy that mounts the gateway under a path prefix: `/playground` -> `graphql`,
 * `/playground/` -> `../graphql`, `/graphql/` -> `.`.
 */
export function relativeUrl(from: string, to: string): string {
  const dir = from.endsWith('/') ? from : posix.dirname(from);
  const relative = posix.relative(dir, to) || '.';
  return to.endsWith('/') && !relative.endsWith('/') ? `${relative}/` : relative;
}

export function createExplorerRouter(options: ExplorerOptions): Router {
  const operations = options.operations ?? loadExampleOperations(undefined, options.warn);
  const endpointPath = options.endpointPath ?? '/graphql';
  const graphiql = explorerAssets();
  const playground = playgroundAssets();
  if (playground.length === 0) {
    options.warn?.('explorer: GraphQL Playground is not available (neither dist/vendor/graphql-playground-react, copied by `npm run build`, nor the graphql-playground-react package)');
  }
  const store = new AssetStore([...graphiql, ...playground]);
  const router = express.Router();

  const sendPage = (ui: ExplorerUi) => (req: Request, res: Response) => {
    const pagePath = req.originalUrl.split('?')[0];
    const assetBase = relativeUrl(pagePath, `${endpointPath}${EXPLORER_ASSET_PATH}/`);
    const endpoint = relativeUrl(pagePath, endpointPath);
    const tabs = exampleTabs(operations, options.now(), options.zoneFor(EXAMPLE_INSTANCE_ID));
    res.setHeader('content-security-policy', EXPLORER_CSP);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    // The example ranges are computed per render.
    res.setHeader('cache-control', 'no-store');
    res.vary('Accept');
    if (ui === 'playground' && playground.length === 0) {
      res.status(503).type('text/plain').send('GraphQL Playground is not installed here: run `npm run build` (it copies the bundle into dist/vendor), or use /graphiql.');
      return;
    }
    const html =
      ui === 'playground'
        ? // Playground speaks only the legacy subscriptions-transport-ws protocol: its tabs leave subscriptions out.
          renderPlaygroundPage({ title: 'ccc-report-gateway · GraphQL Playground', assetBase, endpoint, assets: playground, tabs: tabs.filter((tab) => !isSubscription(tab.query)) })
        : renderExplorerPage({ title: 'ccc-report-gateway · GraphiQL', assetBase, endpoint, assets: graphiql, tabs });
    res.status(200);
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(html);
  };

  router.get(endpointPath, (req, res, next) => (wantsExplorerPage(req) ? sendPage(options.ui ?? 'graphiql')(req, res) : next()));
  router.get('/graphiql', sendPage('graphiql'));
  router.get('/playground', sendPage('playground'));

  router.get(`${endpointPath}${EXPLORER_ASSET_PATH}/:name`, async (req: Request, res: Response, next) => {
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
  router.use(`${endpointPath}/explorer`, (_req: Request, res: Response) => {
    res.status(404).type('text/plain').send('Not found');
  });

  return router;
}

/** Whether a tab's document is a subscription (GraphiQL runs it over WebSocket; Playground cannot). */
function isSubscription(query: string): boolean {
  try {
    return parse(query).definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === 'subscription');
  } catch {
    return false;
  }
}
