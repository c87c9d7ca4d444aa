/**
 * HTTP caching that routers, CDNs and browsers understand: `Cache-Control` derived from what an
 * answer holds, and strong `ETag`s with `304 Not Modified` for GET.
 *
 * Cache-Control comes from the operation's PipelineTrace, not from per-field hints: Apollo's
 * cache-control plugin hooks every field resolver (it cost 45-70% of throughput here), while the
 * trace already knows, once per operation, whether every bucket read was closed and when the
 * earliest open snapshot it read will be refetched.
 *
 *  - errors (partial data included), no data, or a per-execution answer (debug extensions, or a
 *    federated trace asked for with `apollo-federation-include-trace`: it times this run): `no-store`
 *  - report buckets read, every one closed (final, never changes): `max-age=31536000, immutable`
 *  - any open bucket: `max-age` = whole seconds until the earliest open snapshot read is
 *    refetched (its CACHE_OPEN_TTL_MS ends or its bucket closes), floored, at least 0
 *  - fields from the instance listing (`name`, `status`, ...: ListInstances, cached for
 *    INSTANCE_DIRECTORY_TTL_MS) count as an open snapshot that expires with the listing: never
 *    `immutable`, so never in the response cache either
 *  - no report bucket at all (introspection, `_service`, `callCenterInstance { id }`): `no-cache`:
 *    such answers follow the deployed schema, not data, and change with a deploy without notice,
 *    so caches may keep them but must revalidate (a GET revalidation is a 304, see below)
 *  - `private` when authentication is on (answers depend on the caller's permissions; shared
 *    caches must not keep them), `public` otherwise.
 *
 * Every response of the endpoint starts as `no-store` (401, 413, 429, malformed requests, HTTP
 * errors Apollo answers before any plugin runs); the plugin replaces it for executed operations,
 * the response cache serves the header stored with its entry.
 *
 * ETags: a GET answer sent with `res.send` (Apollo's, and a future GET path of the response
 * cache: set `ETag` first to reuse a stored one) gets a strong ETag, the hash of its exact body
 * bytes, and a matching `If-None-Match` gets a bodiless 304 that keeps Cache-Control, ETag and
 * Vary. Matching follows RFC 9110 §13.1.2 (a list, `*`, `W/` tags compared weakly), not
 * Express's `req.fresh`, which never answers 304 to a request carrying `Cache-Control:
 * no-cache`: fetch implementations (undici, so Node's own fetch and routers built on it) add
 * exactly that to every conditional request, and a 304 from the origin is the validation such a
 * request asks for. POSTs are left as they were (Express's default weak ETag on executed answers,
 * none on response-cache hits): nothing revalidates a POST.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler, Response } from 'express';
import { createHash } from 'node:crypto';
import { DEBUG_HEADER } from './debugExtensionsPlugin';

/** A year: the conventional longest freshness (RFC 2616 capped Expires at one year). */
export const FINAL_ANSWER_MAX_AGE_S = 31_536_000;

export type CacheScope = 'public' | 'private';

/** What an answer held, as far as caching is concerned (from the response and its PipelineTrace). */
export interface AnswerFacts {
  hasErrors: boolean;
  hasData: boolean;
  /** The answer carries per-execution facts (debug extension, federated trace): never to be replayed. */
  perExecution: boolean;
  /** Upstream buckets the operation read (0: the answer holds no report at all). */
  bucketsRequested: number;
  /** Report buckets served open. */
  openBuckets: number;
  /** Earliest refetch of an open snapshot read (epoch ms), Infinity when none. */
  openSnapshotExpiresAt: number;
}

export interface CachePolicyOptions {
  scope: CacheScope;
  /** CACHE_OPEN_TTL_MS: no open answer is ever cacheable for longer. */
  openTtlMs: number;
}

export function finalAnswerCacheControl(scope: CacheScope): string {
  return `${scope}, max-age=${FINAL_ANSWER_MAX_AGE_S}, immutable`;
}

/** Whether a Cache-Control value is the one final answers get (`immutable`). */
export function isFinalCacheControl(value: string): boolean {
  return value.split(',').some((directive) => directive.trim().toLowerCase() === 'immutable');
}

/**
 * A router asking for a federated trace (ftv1) of this execution: the answer carries timings of
 * this one run, so it is per-execution like a debug answer (Apollo's inline-trace plugin adds the
 * trace for the value `ftv1`; any value is treated alike, as the response cache does).
 */
export const FEDERATION_TRACE_HEADER = 'apollo-federation-include-trace';

/** The Cache-Control value of one answer at `now` (the gateway's clock). */
export function cacheControlFor(facts: AnswerFacts, now: number, options: CachePolicyOptions): string {
  if (facts.hasErrors || !facts.hasData || facts.perExecution) return 'no-store';
  if (facts.bucketsRequested === 0) return `${options.scope}, no-cache`;
  if (facts.openBuckets === 0 && facts.openSnapshotExpiresAt === Infinity) return finalAnswerCacheControl(options.scope);
  // Capped at the open TTL: an open bucket with no snapshot behind it (nothing read yet) must
  // not make the answer look longer-lived than any snapshot could be.
  const expiresAt = Math.min(facts.openSnapshotExpiresAt, now + options.openTtlMs);
  return `${options.scope}, max-age=${Math.max(0, Math.floor((expiresAt - now) / 1000))}`;
}

/** Sets Cache-Control on every executed operation's response, from its trace. */
export function httpCachingPlugin<TContext extends { trace: Omit<AnswerFacts, 'hasErrors' | 'hasData' | 'perExecution'> }>(
  options: CachePolicyOptions & { now: () => number },
): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue, request }) {
          if (response.body.kind !== 'single') {
            response.http.headers.set('cache-control', 'no-store');
            return;
          }
          const result = response.body.singleResult;
          const { trace } = contextValue;
          const value = cacheControlFor(
            {
              hasErrors: result.errors !== undefined && result.errors.length > 0,
              hasData: result.data !== undefined && result.data !== null,
              perExecution: request.http?.headers.get(DEBUG_HEADER) === '1' || Boolean(request.http?.headers.get(FEDERATION_TRACE_HEADER)),
              bucketsRequested: trace.bucketsRequested,
              openBuckets: trace.openBuckets,
              openSnapshotExpiresAt: trace.openSnapshotExpiresAt,
            },
            options.now(),
            options,
          );
          response.http.headers.set('cache-control', value);
        },
      };
    },
  };
}

/**
 * First step of the endpoint: `no-store` until something knows better, and Vary. The answer's
 * Content-Type follows `Accept` (application/graphql-response+json or application/json), and with
 * authentication on the answer depends on the token: a browser's private cache must not hand one
 * user's answer to the next user of the same browser. `res.vary` appends (CORS adds `Origin`).
 */
export function graphqlResponseHeaders(options: { authOn: boolean }): RequestHandler {
  const vary = options.authOn ? 'Accept, Authorization' : 'Accept';
  return (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    res.vary(vary);
    next();
  };
}

/**
 * Strong ETags and 304s for GET: wraps `res.send` of GET (and HEAD) requests only, so POST, the
 * hot path, pays nothing but a method check. The ETag is the length and SHA-1 of the exact body
 * bytes (Express's own strong format); a 2xx whose ETag matches `If-None-Match` becomes a 304,
 * and Express then drops the body and Content-Type/Length and keeps every other header.
 * An ETag already set (a stored one) is used as is, so a body is never hashed twice.
 */
export function strongEtagsForGet(): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const send = res.send;
    res.send = function sendWithEtag(this: Response, body?: unknown) {
      if ((typeof body === 'string' || Buffer.isBuffer(body)) && this.statusCode >= 200 && this.statusCode < 300) {
        const existing = this.getHeader('ETag');
        const etag = typeof existing === 'string' ? existing : strongEtag(body);
        this.setHeader('ETag', etag);
        const ifNoneMatch = req.headers['if-none-match'];
        if (ifNoneMatch !== undefined && ifNoneMatchMatches(ifNoneMatch, etag)) this.status(304);
      }
      return send.call(this, body);
    };
    next();
  };
}

/** `"<length in hex>-<SHA-1 in base64, 27 characters>"` of the body bytes (Express's strong ETag). */
export function strongEtag(body: string | Buffer): string {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return `"${bytes.length.toString(16)}-${createHash('sha1').update(bytes).digest('base64').slice(0, 27)}"`;
}

/**
 * RFC 9110 §13.1.2: true when `If-None-Match` names the current representation: `*`, or any tag
 * of the list equal to `etag` under weak comparison (opaque tags equal, `W/` ignored on both).
 * Tags are quoted strings that may themselves hold commas, so the list is read tag by tag.
 */
export function ifNoneMatchMatches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch.trim() === '*') return true;
  const current = opaqueTag(etag);
  if (current === undefined) return false;
  for (const match of ifNoneMatch.matchAll(/(?:W\/)?"([^"]*)"/g)) {
    if (match[1] === current) return true;
  }
  return false;
}

function opaqueTag(etag: string): string | undefined {
  const match = /^(?:W\/)?"([^"]*)"$/.exec(etag.trim());
  return match?.[1];
}
