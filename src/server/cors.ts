/**
 * CORS for browser apps served from another origin (a dashboard on https://ops.example.com
 * calling the gateway on https://gateway.example.com), with the `cors` package.
 *
 * Only the GraphQL endpoint takes part: probes and metrics are not for browsers.
 *
 * Allowed origins come from CORS_ORIGINS (see src/config/corsOrigins.ts): exact origins, or an
 * origin whose port is `*` (`http://localhost:*`: a frontend dev server picks its port). An
 * origin that is not listed gets no CORS header at all, and its preflight a 403, so the browser
 * refuses to hand the answer to the page.
 * `Vary: Origin` goes on every answer of the endpoint, allowed or not, so that a shared cache
 * never serves one origin's answer (with or without `Access-Control-Allow-Origin`) to another.
 */
import cors from 'cors';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { originMatcher, type CorsConfig } from '../config/corsOrigins';
import { DEBUG_HEADER } from './debugExtensionsPlugin';
import { REQUEST_ID_HEADER } from './observability/requestLogging';

/**
 * Request headers a browser client may send cross-origin. `content-type` (JSON is not a "simple"
 * type), `authorization` (bearer tokens), Apollo's CSRF-prevention headers (a GET needs one of
 * them), the client's request id and the gateway's debug switch.
 */
export const CORS_ALLOWED_HEADERS = [
  'content-type',
  'authorization',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  REQUEST_ID_HEADER,
  DEBUG_HEADER,
];

/** Response headers a page may read besides the CORS-safelisted ones. */
export const CORS_EXPOSED_HEADERS = [REQUEST_ID_HEADER, 'retry-after', 'www-authenticate', 'etag'];

/** How long a browser may reuse a preflight answer (Chromium caps it at 2 hours). */
export const CORS_MAX_AGE_S = 600;

/** The endpoint's CORS step; undefined when no origin is allowed (then nothing changes). */
export function corsForEndpoint(config: CorsConfig): RequestHandler | undefined {
  if (config.origins.length === 0) return undefined;
  const allowed = originMatcher(config.origins);
  const handler = cors({
    origin: (origin, callback) => callback(null, origin !== undefined && allowed(origin)),
    credentials: config.credentials,
    methods: ['GET', 'POST'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    maxAge: CORS_MAX_AGE_S,
  });
  return (req: Request, res: Response, next: NextFunction) => {
    res.vary('Origin');
    const origin = req.headers.origin;
    const preflight = req.method === 'OPTIONS' && origin !== undefined && req.headers['access-control-request-method'] !== undefined;
    if (preflight && !allowed(origin)) {
      // No CORS headers: the browser blocks the request. The status and text are for whoever reads devtools.
      res.status(403).type('text/plain').send('Origin not allowed (CORS_ORIGINS)');
      return;
    }
    handler(req, res, next);
  };
}
