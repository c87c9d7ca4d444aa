/**
 * Whole responses, kept in process memory (per replica, a bounded LRU).
 *
 * **Final answers.** A closed bucket never changes, so an operation whose every report bucket
 * was closed (and that had no error) has an answer that is final: the same document, variables
 * and permissions give the same bytes forever. Such answers are served again without parsing,
 * validating or executing anything, which is where nearly all of a warm request's time goes.
 * They are keyed by the raw request (permission key, operation name, text, variables).
 *
 * **Answers holding open buckets** (a dashboard "ending now") are keyed by the resolved plan
 * (./answerKeys.ts): polls with `endTime: Date.now()` in different milliseconds share one entry
 * while they read the same buckets. Such an entry is served until the earliest open snapshot it
 * holds is due for its background refresh (`PipelineTrace.openSnapshotRefreshAt`): then the next
 * request executes, which serves the snapshot while the pipeline refreshes it, and the answer
 * after the refresh is stored anew. So the cache never hides a refresh and never serves a
 * snapshot older than the pipeline would. Its `max-age` is counted down to the snapshot's TTL end
 * at each hit, so it stays what an executed answer would say.
 *
 * Errors, debug or traced answers and non-queries are never stored.
 *
 * The key includes the caller's permissions (not their identity): two callers allowed the same
 * instances share answers, a caller never gets an answer computed under wider permissions.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler, Response } from 'express';
import type { GraphQLSchema } from 'graphql';
import { LRUCache } from 'lru-cache';
import { answerKeyRecipe, normalizeEndpointLiterals, resolveAnswerKey, type AnswerKeyRecipe, type PlanFingerprint } from './answerKeys';
import type { Principal } from './auth/principal';
import { DEBUG_HEADER } from './debugExtensionsPlugin';
import { FEDERATION_TRACE_HEADER, isFinalCacheControl } from './httpCaching';
import { LOCALS_RAW_BODY } from './leanCachedAnswers';
import { answerContentType } from './answerMediaType';

/** A stored answer: its bytes, and the Cache-Control it was first sent with (served again as is). */
export interface CachedResponse {
  body: string;
  /** Final answers: the header served again as is. Open answers: the scope (`public`/`private`). */
  cacheControl: string;
  /** Answers holding open buckets: gone at this instant (gateway clock). */
  expiresAt?: number;
  /** ... and their max-age counts down to this instant (the earliest open snapshot's TTL end). */
  freshUntil?: number;
  /** For the request log line of a hit served without parsing the request. */
  operationName?: string;
  /** `body` in UTF-8, made at the first write (a hit then writes bytes, never encodes them again). */
  bytes?: Buffer;
}

export class ResponseCache {
  private readonly lru: LRUCache<string, CachedResponse>;

  constructor(maxBytes: number, private readonly now: () => number = Date.now) {
    // The body counts twice: its text, and its UTF-8 bytes made at the first write (`bytesOf`).
    this.lru = new LRUCache<string, CachedResponse>({ maxSize: maxBytes, sizeCalculation: (value, key) => 2 * value.body.length + value.cacheControl.length + key.length });
  }

  get(key: string): CachedResponse | undefined {
    const entry = this.lru.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= this.now()) {
      this.lru.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, response: CachedResponse): void {
    this.lru.set(key, response);
  }

  bytesOf(entry: CachedResponse): Buffer {
    return (entry.bytes ??= Buffer.from(entry.body, 'utf8'));
  }

  /** The Cache-Control to send with an entry now. */
  cacheControlOf(entry: CachedResponse): string {
    if (entry.freshUntil === undefined) return entry.cacheControl;
    return `${entry.cacheControl}, max-age=${Math.max(0, Math.floor((entry.freshUntil - this.now()) / 1000))}`;
  }
}

/** Unambiguous for any ids (JSON, not a join: ["a,b"] and ["a","b"] must differ). */
export function permissionKey(principal: Principal): string {
  return principal.instances === '*' ? '*' : JSON.stringify([...principal.instances].sort());
}

/**
 * Keys of answers holding open buckets: recipes per document (worked out once, from documents
 * that ran), and the planner that fingerprints a field as execution would.
 */
export class OpenAnswerKeys {
  /**
   * `operationName NUL text` -> recipe, or a marker: that document is not keyable. A text whose
   * inline endpoint literals were all verified is stored under its template instead (the text
   * with them blanked, ./answerKeys normalizeEndpointLiterals), so other literals find it.
   */
  private readonly recipes = new LRUCache<string, AnswerKeyRecipe | { notKeyable: true }>({ max: 2_000 });

  constructor(
    private readonly schema: GraphQLSchema,
    /** Plans fields for a caller at an instant; throws for a field that would fail. */
    private readonly fingerprintFor: (principal: Principal, now: number) => PlanFingerprint,
  ) {}

  /**
   * The key of a request whose document already ran: `unknown` (never ran here, or evicted),
   * `not_keyable`, or `keyable` with the key (undefined when this request cannot be keyed, e.g.
   * its variables do not coerce).
   */
  keyOf(request: OpenAnswerRequest, now: number): { state: 'unknown' | 'not_keyable' } | { state: 'keyable'; key: string | undefined } {
    const found = this.find(request);
    if (found === undefined) return { state: 'unknown' };
    if ('notKeyable' in found.recipe) return { state: 'not_keyable' };
    return { state: 'keyable', key: this.resolve(found.recipe, found.documentKey, found.literals, request, now) };
  }

  /** The key of a request whose document has just run (Apollo's parsed, validated document). */
  keyAfterRun(request: OpenAnswerRequest, document: Parameters<typeof answerKeyRecipe>[1], now: number): string | undefined {
    let found = this.find(request);
    if (found === undefined) {
      const recipe = answerKeyRecipe(this.schema, document, request.operationName, request.query);
      if (recipe === undefined) {
        this.recipes.set(recipeId(request.operationName, request.query), { notKeyable: true });
        return undefined;
      }
      const { template, literals } = normalizeEndpointLiterals(request.query);
      const templated = recipe.literalSlots > 0;
      const documentKey = templated ? template : request.query;
      this.recipes.set(recipeId(request.operationName, documentKey), recipe);
      found = { recipe, documentKey, literals: templated ? literals.map((l) => l.token) : undefined };
    }
    if ('notKeyable' in found.recipe) return undefined;
    return this.resolve(found.recipe, found.documentKey, found.literals, request, now);
  }

  private find(request: OpenAnswerRequest): { recipe: AnswerKeyRecipe | { notKeyable: true }; documentKey: string; literals?: string[] } | undefined {
    const exact = this.recipes.get(recipeId(request.operationName, request.query));
    if (exact !== undefined) return { recipe: exact, documentKey: request.query };
    const { template, literals } = normalizeEndpointLiterals(request.query);
    if (literals.length === 0) return undefined;
    const templated = this.recipes.get(recipeId(request.operationName, template));
    if (templated === undefined || 'notKeyable' in templated || templated.literalSlots !== literals.length) return undefined;
    return { recipe: templated, documentKey: template, literals: literals.map((l) => l.token) };
  }

  private resolve(recipe: AnswerKeyRecipe, documentKey: string, literals: string[] | undefined, request: OpenAnswerRequest, now: number): string | undefined {
    return resolveAnswerKey(
      this.schema,
      recipe,
      { permissionKey: permissionKey(request.principal), documentKey, variables: request.variables, literals },
      this.fingerprintFor(request.principal, now),
    );
  }
}

/** What the answer cache needs of a POSTed operation. */
export interface OpenAnswerRequest {
  principal: Principal;
  query: string;
  operationName: string | undefined;
  variables: Record<string, unknown> | undefined;
}

function recipeId(operationName: string | undefined, documentKey: string): string {
  return `${operationName ?? ''}\u0000${documentKey}`;
}

export function openAnswerRequestOf(principal: Principal, body: unknown): OpenAnswerRequest | undefined {
  const { query, variables, operationName } = (body ?? {}) as { query?: unknown; variables?: unknown; operationName?: unknown };
  if (typeof query !== 'string') return undefined;
  if (!validOperationName(operationName)) return undefined;
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) return undefined;
  return { principal, query, operationName: operationName ?? undefined, variables: (variables ?? undefined) as Record<string, unknown> | undefined };
}

/**
 * The lean path's key of a POST body (./leanCachedAnswers): the raw bytes as text, and the
 * caller's permission key. An alias of an answer stored under `responseCacheKey`.
 */
export function leanKeyOf(permission: string, rawBody: string): string {
  return `lean\u0000${permission}\u0000${rawBody}`;
}

/** Only bodies whose answer needs no step but the lookup get a lean alias (no APQ hash, no document id). */
export function leanAliasable(body: unknown): boolean {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  return Object.keys(body).every((k) => k === 'query' || k === 'variables' || k === 'operationName');
}

function parsedOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Absent, null, or a name an operation can have. Apollo refuses any other `operationName` (a
 * number: 400; `""`: no operation has that name), so a request carrying one must never be keyed
 * like the same request without it, which would serve it the answer of the latter.
 */
function validOperationName(operationName: unknown): operationName is string | null | undefined {
  return operationName === undefined || operationName === null || (typeof operationName === 'string' && operationName !== '');
}

/** The cache key of a POSTed operation, or undefined when it is not a candidate. */
export function responseCacheKey(principal: Principal, body: unknown): string | undefined {
  const { query, variables, operationName } = (body ?? {}) as { query?: unknown; variables?: unknown; operationName?: unknown };
  if (typeof query !== 'string' || !validOperationName(operationName)) return undefined;
  return `${permissionKey(principal)}\u0000${operationName ?? ''}\u0000${query}\u0000${variables === undefined ? '' : JSON.stringify(variables)}`;
}

/**
 * Serves a stored answer, or marks the request so the plugin may store its answer. `onHit` runs
 * (awaited) before a stored answer is sent: what Apollo would have done for the request and the
 * answer makes unnecessary (registering its APQ hash) happens there.
 */
export function serveCachedResponses(
  cache: ResponseCache,
  principalOf: (res: Response) => Principal,
  onHit?: (res: Response) => void | Promise<void>,
  openAnswers?: { keys: OpenAnswerKeys; now: () => number; onLookup?: (outcome: 'hit' | 'miss' | 'not_keyable') => void },
): RequestHandler {
  const send = async (res: Response, cached: CachedResponse, contentType: string) => {
    await onHit?.(res);
    res.setHeader('content-type', contentType);
    // Final answers: the immutable header the executed answer carried; open ones: max-age counted down.
    res.setHeader('cache-control', cache.cacheControlOf(cached));
    res.end(cache.bytesOf(cached));
  };
  return async (req, res, next) => {
    // Debug extensions and federated traces (ftv1) describe one execution: never replayed.
    if (req.method !== 'POST' || req.headers[DEBUG_HEADER] === '1' || req.headers[FEDERATION_TRACE_HEADER]) return next();
    const principal = principalOf(res);
    const key = responseCacheKey(principal, req.body);
    if (key === undefined) return next();
    // The Content-Type Apollo would give the answer (its 406 when Accept names none: Apollo answers).
    const contentType = answerContentType(req.headers.accept);
    if (contentType === null) return next();
    // Read raw by the lean path, which missed: the next identical bytes find the answer there.
    // Judged on the body as sent: the persisted-query step has rewritten req.body by now, and a
    // body with an APQ hash must keep the Express path (its hash is registered on hits).
    const raw = res.locals[LOCALS_RAW_BODY] as string | undefined;
    const leanKey = raw !== undefined && leanAliasable(parsedOrUndefined(raw)) ? leanKeyOf(permissionKey(principal), raw) : undefined;
    const cached = cache.get(key);
    if (cached !== undefined) {
      if (leanKey !== undefined && cached.expiresAt === undefined) cache.set(leanKey, cached);
      return send(res, cached, contentType);
    }
    res.locals.responseCacheKey = key;
    if (leanKey !== undefined) res.locals.leanResponseCacheKey = leanKey;
    if (openAnswers) {
      const request = openAnswerRequestOf(principal, req.body);
      if (request) {
        res.locals.openAnswerRequest = request;
        const found = openAnswers.keys.keyOf(request, openAnswers.now());
        if (found.state === 'keyable') {
          const entry = found.key === undefined ? undefined : cache.get(found.key);
          openAnswers.onLookup?.(entry ? 'hit' : found.key === undefined ? 'not_keyable' : 'miss');
          if (entry) return send(res, entry, contentType);
        } else openAnswers.onLookup?.(found.state === 'not_keyable' ? 'not_keyable' : 'miss');
      }
    }
    next();
  };
}

/** What the response-cache step saw of a request, for the plugin (through the GraphQL context). */
export interface ResponseCacheRequest {
  /** Answers holding open buckets are keyed by the resolved plan of this request. */
  open?: OpenAnswerRequest;
  /** A final answer is also stored under this key (the lean path's alias of the raw body). */
  leanKey?: string;
  /** The instant execution plans with (the key must be resolved at the same instant). */
  executedAt: number;
}

export function responseCacheRequestOf(res: Response, executedAt: number): ResponseCacheRequest {
  return {
    open: res.locals.openAnswerRequest as OpenAnswerRequest | undefined,
    leanKey: res.locals.leanResponseCacheKey as string | undefined,
    executedAt,
  };
}

/**
 * Stores final answers: a query, no errors, report buckets read, every one of them closed, and
 * the final (immutable) Cache-Control on the answer. The header is checked, not assumed from the
 * trace: it is what every later hit is served with, so an answer httpCachingPlugin judged
 * anything but final (an open snapshot behind a closed bucket, a per-execution answer) must not
 * be replayed as if it were.
 */
export function responseCachePlugin<
  TContext extends {
    responseCacheKey?: string;
    cacheRequest?: ResponseCacheRequest;
    trace: { bucketsRequested: number; openBuckets: number; openSnapshotExpiresAt?: number; openSnapshotRefreshAt?: number };
  },
>(cache: ResponseCache, openAnswers?: { keys: OpenAnswerKeys; now: () => number; openTtlMs: number }): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue, operation, document, request }) {
          const key = contextValue.responseCacheKey;
          if (!key || operation?.operation !== 'query' || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          const { trace } = contextValue;
          if (result.errors || !result.data || trace.bucketsRequested === 0) return;
          // Set by httpCachingPlugin, which runs before this plugin (createGateway lists it first).
          const cacheControl = response.http.headers.get('cache-control');
          if (!cacheControl) return;
          // Only the data: per-execution extensions (traces, debug facts) are not part of the answer.
          const body = `${JSON.stringify({ data: result.data })}\n`;
          const cacheRequest = contextValue.cacheRequest;
          const operationName = request?.operationName ?? undefined;
          if (trace.openBuckets === 0 && isFinalCacheControl(cacheControl)) {
            const entry: CachedResponse = { body, cacheControl, operationName };
            cache.set(key, entry);
            if (cacheRequest?.leanKey) cache.set(cacheRequest.leanKey, entry);
            return;
          }
          // An answer holding open snapshots: keyed by its plan, until the first is due for refresh.
          const open = cacheRequest?.open;
          const refreshAt = trace.openSnapshotRefreshAt ?? -Infinity;
          const scope = /^(public|private), max-age=\d+$/.exec(cacheControl)?.[1];
          if (!openAnswers || !open || !cacheRequest || !document || scope === undefined || !(refreshAt > openAnswers.now())) return;
          const openKey = openAnswers.keys.keyAfterRun(open, document, cacheRequest.executedAt);
          if (openKey === undefined) return;
          cache.set(openKey, {
            body,
            cacheControl: scope,
            operationName,
            expiresAt: Math.min(refreshAt, cacheRequest.executedAt + openAnswers.openTtlMs),
            freshUntil: Math.min(trace.openSnapshotExpiresAt ?? -Infinity, cacheRequest.executedAt + openAnswers.openTtlMs),
          });
        },
      };
    },
  };
}
