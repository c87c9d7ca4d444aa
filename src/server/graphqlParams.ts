/**
 * The GraphQL-over-HTTP parameters of a request, read exactly as Apollo Server reads them, for
 * every step in front of Apollo (persisted queries and the safelist, the size, nesting and
 * document limits). A step that read the request differently from Apollo could be walked around:
 * it would check one document while Apollo ran another.
 *
 *  - POST: the JSON body's `query`, `operationName`, `variables`, `extensions` (and `documentId`,
 *    the persisted-document id the safelist step reads).
 *  - GET (and HEAD): the URL's search string as Apollo's Express integration takes it
 *    (`url.parse(req.url).search`), read with `URLSearchParams`, as Apollo does: every parameter,
 *    however many there are. Express's `req.query` is not used: its default parser (`qs`, or
 *    `querystring` in 'simple' mode) stops after 1,000 parameters, so `query=` placed after 1,000
 *    padding parameters was invisible to the checks and ran anyway.
 *  - A GraphQL parameter given twice in the URL (`query=a&query=b`) is refused here with
 *    400 BAD_REQUEST (`refuseRepeatedGraphqlParams`): Apollo refuses it too, but only after the
 *    steps before it had seen an array and let the request through.
 *
 * Express's own `req.query` is set to the same reading (`parseUrlQuery`, the app's 'query
 * parser'), so anything else that reads it sees what Apollo sees.
 */
import type { Request, RequestHandler } from 'express';
// Apollo's Express integration takes the search string with the legacy parser; so do we, so that
// its escaping and its cut at `#` are the same.
import { parse as parseLegacyUrl } from 'node:url';

/** The parameters Apollo (and the persisted-document step) read from a GET URL. */
export const GRAPHQL_GET_PARAMS = ['query', 'operationName', 'variables', 'extensions', 'documentId'] as const;

export interface GraphqlParams {
  query: unknown;
  operationName: unknown;
  documentId: unknown;
  /** POST: the body's value. GET: the parameter parsed as JSON; undefined when absent or not JSON. */
  variables: unknown;
  /** POST: the body's value. GET: the parameter parsed as JSON; undefined when absent or not JSON. */
  extensions: unknown;
  /** GET: `variables` or `extensions` is not JSON (Apollo answers that with its own 400). */
  malformedJson: boolean;
}

const NONE: GraphqlParams = Object.freeze({
  query: undefined,
  operationName: undefined,
  documentId: undefined,
  variables: undefined,
  extensions: undefined,
  malformedJson: false,
});

const isGet = (req: Request) => req.method === 'GET' || req.method === 'HEAD';

/** The URL's search parameters, as Apollo's Express integration reads them. */
export function searchParamsOf(url: string): URLSearchParams {
  return new URLSearchParams(parseLegacyUrl(url).search ?? '');
}

/** The GraphQL parameters present more than once in a GET URL. */
export function repeatedGraphqlParams(url: string): string[] {
  const params = searchParamsOf(url);
  return GRAPHQL_GET_PARAMS.filter((name) => params.getAll(name).length > 1);
}

function parseJson(value: string | null): { value: unknown; malformed: boolean } {
  if (value === null) return { value: undefined, malformed: false };
  try {
    return { value: JSON.parse(value) as unknown, malformed: false };
  } catch {
    return { value: undefined, malformed: true };
  }
}

/** The last reading of each request, with the URL it was read from (steps may rewrite `req.url`). */
const readings = new WeakMap<Request, { url: string; params: GraphqlParams }>();

function fromUrl(url: string): GraphqlParams {
  const search = searchParamsOf(url);
  const variables = parseJson(search.get('variables'));
  const extensions = parseJson(search.get('extensions'));
  return {
    query: search.get('query') ?? undefined,
    operationName: search.get('operationName') ?? undefined,
    documentId: search.get('documentId') ?? undefined,
    variables: variables.value,
    extensions: extensions.value,
    malformedJson: variables.malformed || extensions.malformed,
  };
}

/** The GraphQL parameters of a request (see the module comment). */
export function graphqlParamsOf(req: Request): GraphqlParams {
  if (isGet(req)) {
    const last = readings.get(req);
    if (last?.url === req.url) return last.params;
    const params = fromUrl(req.url);
    readings.set(req, { url: req.url, params });
    return params;
  }
  const body: unknown = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return NONE;
  const { query, operationName, documentId, variables, extensions } = body as Record<string, unknown>;
  return { query, operationName, documentId, variables, extensions, malformedJson: false };
}

/**
 * Replaces GraphQL parameters of a GET URL (a string sets it, undefined removes it), keeping
 * every other parameter as it was. What follows, Apollo included, reads the new URL.
 */
export function rewriteGetParams(req: Request, changes: Partial<Record<(typeof GRAPHQL_GET_PARAMS)[number], string | undefined>>): void {
  const params = searchParamsOf(req.url);
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) params.delete(name);
    else params.set(name, value);
  }
  const queryAt = req.url.indexOf('?');
  req.url = `${queryAt === -1 ? req.url : req.url.slice(0, queryAt)}?${params.toString()}`;
}

/** First step of the endpoint after body parsing: a GraphQL parameter twice in the URL is a 400. */
export function refuseRepeatedGraphqlParams(): RequestHandler {
  return (req, res, next) => {
    if (!isGet(req) || !req.url.includes('?')) return next();
    const repeated = repeatedGraphqlParams(req.url);
    if (repeated.length === 0) return next();
    res.status(400).json({
      errors: [
        {
          message: `The URL gives ${repeated.map((name) => `'${name}'`).join(', ')} more than once; each GraphQL parameter may appear only once.`,
          extensions: { code: 'BAD_REQUEST', repeatedParameters: repeated },
        },
      ],
    });
  };
}

/**
 * Express's 'query parser' for `req.query`: the same reading as above (URLSearchParams, no cap
 * on the number of parameters, strings only: the first value of a repeated name, as
 * `URLSearchParams.get` gives it, never an array or a nested object).
 */
export function parseUrlQuery(search: string): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(search)) {
    // defineProperty: a parameter named `__proto__` is an ordinary key, not the prototype.
    if (!Object.prototype.hasOwnProperty.call(query, name)) Object.defineProperty(query, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return query;
}
