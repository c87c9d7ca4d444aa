/**
 * The persisted-query step of the endpoint, for GET and POST, before the response cache, the
 * document limits and Apollo: a request that names its operation by id leaves this step carrying
 * the operation's text, so everything after it sees an ordinary request. That is why the response
 * cache serves hashed POSTs too, and why the limits are applied to every request, not only to
 * the one that registered a hash.
 *
 *  - `apq` (no safelist): a registered APQ hash becomes its text; an unknown one is answered
 *    PERSISTED_QUERY_NOT_FOUND (the client sends the text with the hash next; Apollo checks they
 *    match and registers it).
 *  - `safelist`: see ./safelist.ts; every text, listed or registered, is checked against the list.
 *
 * A text with its APQ hash is checked here (safelist, hash matches text) but registered only once
 * the text is known to be a valid operation within the limits: by Apollo, which registers after
 * parsing, validating and the cost check (the document limits and size limit come before it), or,
 * when the response cache answers the request, then (an answer is stored only for a text that
 * ran without errors). Registering earlier let anyone fill the APQ cache (Redis) with junk texts
 * under their valid hashes. Apollo does not await its write (it is sent before execution starts);
 * a hash-only request that still misses gets PERSISTED_QUERY_NOT_FOUND and the client sends the
 * text again, as the protocol intends.
 *
 * A malformed `persistedQuery` extension (a version other than 1, a sha256Hash that is not 64
 * lower-case hex digits) is answered here with 400 BAD_REQUEST and a message saying what is
 * expected: Apollo's own answers to these carry no code (they reached callers as
 * INTERNAL_SERVER_ERROR). Upper case is refused rather than folded: the protocol's hash is the
 * lower-case hex digest (Apollo's link sends that, Apollo Server compares it exactly), and one
 * spelling per text keeps one registration per text.
 *
 * Parameters are read as Apollo reads them (../graphqlParams.ts): a GET's from the raw URL.
 */
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { Request, RequestHandler, Response } from 'express';
import { createHash } from 'node:crypto';
import { graphqlParamsOf, rewriteGetParams } from '../graphqlParams';
import { HOW_TO_ADD, NOT_IN_SAFELIST, type Safelist } from './safelist';

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

interface OperationParams {
  query?: unknown;
  documentId?: unknown;
  extensions?: Record<string, unknown>;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** The parameters of a GraphQL-over-HTTP request (GET: the URL; POST: the JSON body). */
function paramsOf(req: Request): OperationParams | undefined {
  const { query, documentId, extensions, malformedJson } = graphqlParamsOf(req);
  if (malformedJson) return undefined; // Apollo answers the malformed parameter
  if (req.method !== 'GET' && req.method !== 'HEAD' && !isObject(req.body)) return undefined;
  return { query, documentId, extensions: isObject(extensions) ? extensions : undefined };
}

/** Replaces an id by the operation's text: what follows receives a plain operation. */
function runText(req: Request, params: OperationParams, text: string): void {
  const extensions = params.extensions && { ...params.extensions };
  if (extensions) delete extensions.persistedQuery;
  const hasExtensions = extensions !== undefined && Object.keys(extensions).length > 0;
  if (req.method === 'GET' || req.method === 'HEAD') {
    // Apollo's Express integration reads GET parameters from req.url.
    rewriteGetParams(req, { documentId: undefined, query: text, extensions: hasExtensions ? JSON.stringify(extensions) : undefined });
  } else {
    const body: Record<string, unknown> = { ...(req.body as Record<string, unknown>), query: text };
    delete body.documentId;
    if (hasExtensions) body.extensions = extensions;
    else delete body.extensions;
    req.body = body;
  }
}

function refuse(res: Response, message: string): void {
  res.status(403).json({ errors: [{ message, extensions: { code: NOT_IN_SAFELIST } }] });
}

/** Apollo's answer to an unknown hash (the same body and status its own lookup sends). */
function notFound(res: Response): void {
  res.status(200).json({ errors: [{ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }] });
}

/** Apollo's answer to a hash that is not the text's (status and message as its own check sends). */
function mismatch(res: Response): void {
  res.status(400).json({ errors: [{ message: 'provided sha does not match query', extensions: { code: 'BAD_REQUEST' } }] });
}

function badRequest(res: Response, message: string): void {
  res.status(400).json({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] });
}

export const UNSUPPORTED_VERSION = 'persistedQuery.version must be 1 (the automatic persisted queries protocol has no other version).';
export const MALFORMED_HASH =
  'persistedQuery.sha256Hash must be 64 lowercase hex characters: the SHA-256 of the query text, as Apollo Client\'s persisted-query link sends it.';

/** An APQ hash in the form the protocol defines: lower-case hex SHA-256. */
const isApqHash = (hash: string) => /^[0-9a-f]{64}$/.test(hash);

/** Set on a request carrying a text with its (checked) APQ hash: registers it (see the module comment). */
const PENDING_REGISTRATION = 'persistedQueryRegistration';

/**
 * Registers the APQ hash of a request answered by the response cache: Apollo never saw it, and
 * the answer proves the text ran. Awaited before the answer is sent, so the client's next,
 * hash-only request finds it. Nothing to do for any other request.
 */
export async function registerAnsweredPersistedQuery(res: Response): Promise<void> {
  const register = res.locals[PENDING_REGISTRATION] as (() => Promise<void>) | undefined;
  if (register) await register();
}

export interface PersistedQueryRequestsOptions {
  /** PERSISTED_QUERIES=safelist: only its operations run. */
  safelist?: Safelist;
  /** The APQ cache Apollo registers hashes in (keys with Apollo's `apq:` prefix). */
  registered: KeyValueCache<string>;
}

export function persistedQueryRequests({ safelist, registered }: PersistedQueryRequestsOptions): RequestHandler {
  return async (req, res, next) => {
    const params = paramsOf(req);
    if (!params) return next();
    // Truthy, as Apollo tests it: anything else it would try to read as the extension.
    const extension = params.extensions?.persistedQuery;
    let hash: string | undefined;
    if (extension) {
      if (!isObject(extension) || extension.version !== 1) return badRequest(res, UNSUPPORTED_VERSION);
      hash = typeof extension.sha256Hash === 'string' ? extension.sha256Hash : undefined;
      // A manifest id may carry codegen's `sha256:` prefix (safelist); any other must be an APQ hash.
      const listed = hash !== undefined && safelist?.textOf(hash) !== undefined;
      if (!listed && (hash === undefined || !isApqHash(hash))) return badRequest(res, MALFORMED_HASH);
    }
    const documentId = typeof params.documentId === 'string' ? params.documentId : undefined;

    if (typeof params.query === 'string' && params.query !== '') {
      const text = params.query;
      if (safelist && !safelist.allows(text)) return refuse(res, `This operation is not in the safelist. ${HOW_TO_ADD}`);
      if (hash !== undefined && safelist?.textOf(hash) === undefined) {
        if (sha256Hex(text) !== hash) return mismatch(res);
        // Left with its extension: Apollo registers the hash once the text has passed the limits,
        // parsed and validated. Should the response cache answer instead, it registers it then.
        const key = `apq:${hash}`;
        res.locals[PENDING_REGISTRATION] = async () => {
          try {
            await registered.set(key, text);
          } catch {
            // the cache's own fallbacks failed too: the client sends the text again next time
          }
        };
      } else if (safelist && (documentId !== undefined || hash !== undefined)) {
        runText(req, params, text); // a manifest id with its text: the text runs
      }
      return next(); // with its hash (checked): Apollo registers it once it has validated the text
    }
    const id = documentId ?? hash;
    if (id === undefined) return next(); // Apollo answers "must contain a query"
    if (safelist) {
      const listed = safelist.textOf(id);
      if (listed !== undefined) {
        runText(req, params, listed);
        return next();
      }
    }
    if (documentId === undefined && hash !== undefined && isApqHash(hash)) {
      let text: string | undefined;
      try {
        text = await registered.get(`apq:${hash}`);
      } catch {
        text = undefined; // the cache's own fallbacks failed too: a miss
      }
      if (text === undefined) return notFound(res);
      // Checked again on every use: an operation removed from the manifest stops at the next deploy.
      if (sha256Hex(text) === hash && (!safelist || safelist.allows(text))) {
        runText(req, params, text);
        return next();
      }
    }
    if (safelist) return refuse(res, `No operation with id ${JSON.stringify(id.slice(0, 80))} is in the safelist. ${HOW_TO_ADD}`);
    next(); // Apollo answers what it makes of it (documentId: "must contain a query")
  };
}
