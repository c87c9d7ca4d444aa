/**
 * Whole responses over closed ranges, kept in process memory.
 *
 * A closed bucket never changes, so an operation whose every report bucket was closed (and that
 * had no error) has an answer that is final: the same document, variables and permissions give
 * the same bytes forever. Such answers are served again without parsing, validating or executing
 * anything, which is where nearly all of a warm request's time goes. Anything touching an open
 * bucket, an error, a debug request or a non-query is never stored.
 *
 * The key includes the caller's permissions (not their identity): two callers allowed the same
 * instances share answers, a caller never gets an answer computed under wider permissions.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler, Response } from 'express';
import { LRUCache } from 'lru-cache';
import type { Principal } from './auth/principal';
import { DEBUG_HEADER } from './debugExtensionsPlugin';
import { FEDERATION_TRACE_HEADER, isFinalCacheControl } from './httpCaching';

/** A stored answer: its bytes, and the Cache-Control it was first sent with (served again as is). */
export interface CachedResponse {
  body: string;
  cacheControl: string;
}

export class ResponseCache {
  private readonly lru: LRUCache<string, CachedResponse>;

  constructor(maxBytes: number) {
    this.lru = new LRUCache<string, CachedResponse>({ maxSize: maxBytes, sizeCalculation: (value, key) => value.body.length + value.cacheControl.length + key.length });
  }

  get(key: string): CachedResponse | undefined {
    return this.lru.get(key);
  }

  set(key: string, response: CachedResponse): void {
    this.lru.set(key, response);
  }
}

/** Unambiguous for any ids (JSON, not a join: ["a,b"] and ["a","b"] must differ). */
function permissionKey(principal: Principal): string {
  return principal.instances === '*' ? '*' : JSON.stringify([...principal.instances].sort());
}

/** The cache key of a POSTed operation, or undefined when it is not a candidate. */
export function responseCacheKey(principal: Principal, body: unknown): string | undefined {
  const { query, variables, operationName } = (body ?? {}) as { query?: unknown; variables?: unknown; operationName?: unknown };
  if (typeof query !== 'string') return undefined;
  return `${permissionKey(principal)}\u0000${typeof operationName === 'string' ? operationName : ''}\u0000${query}\u0000${variables === undefined ? '' : JSON.stringify(variables)}`;
}

/**
 * Serves a stored answer, or marks the request so the plugin may store its answer. `onHit` runs
 * (awaited) before a stored answer is sent: what Apollo would have done for the request and the
 * answer makes unnecessary (registering its APQ hash) happens there.
 */
export function serveCachedResponses(cache: ResponseCache, principalOf: (res: Response) => Principal, onHit?: (res: Response) => void | Promise<void>): RequestHandler {
  return async (req, res, next) => {
    // Debug extensions and federated traces (ftv1) describe one execution: never replayed.
    if (req.method !== 'POST' || req.headers[DEBUG_HEADER] === '1' || req.headers[FEDERATION_TRACE_HEADER]) return next();
    const key = responseCacheKey(principalOf(res), req.body);
    if (key === undefined) return next();
    const cached = cache.get(key);
    if (cached !== undefined) {
      await onHit?.(res);
      res.setHeader('content-type', 'application/json; charset=utf-8');
      // Final answers only, so this is the immutable header the executed answer carried.
      res.setHeader('cache-control', cached.cacheControl);
      res.end(cached.body);
      return;
    }
    res.locals.responseCacheKey = key;
    next();
  };
}

/**
 * Stores final answers: a query, no errors, report buckets read, every one of them closed, and
 * the final (immutable) Cache-Control on the answer. The header is checked, not assumed from the
 * trace: it is what every later hit is served with, so an answer httpCachingPlugin judged
 * anything but final (an open snapshot behind a closed bucket, a per-execution answer) must not
 * be replayed as if it were.
 */
export function responseCachePlugin<TContext extends { responseCacheKey?: string; trace: { bucketsRequested: number; openBuckets: number } }>(
  cache: ResponseCache,
): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue, operation }) {
          const key = contextValue.responseCacheKey;
          if (!key || operation?.operation !== 'query' || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          const { trace } = contextValue;
          if (result.errors || !result.data || trace.bucketsRequested === 0 || trace.openBuckets > 0) return;
          // Set by httpCachingPlugin, which runs before this plugin (createGateway lists it first).
          const cacheControl = response.http.headers.get('cache-control');
          if (!cacheControl || !isFinalCacheControl(cacheControl)) return;
          // Only the data: per-execution extensions (traces, debug facts) are not part of the answer.
          cache.set(key, { body: `${JSON.stringify({ data: result.data })}\n`, cacheControl });
        },
      };
    },
  };
}
