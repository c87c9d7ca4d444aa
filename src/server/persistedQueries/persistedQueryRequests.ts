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
 * A text with its hash is checked and registered here too (and then runs as a plain text), so a
 * registration happens even when the response cache answers the request. Apollo's own APQ
 * handling is left with malformed `persistedQuery` extensions only (its errors).
 */
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { Request, RequestHandler, Response } from 'express';
import { createHash } from 'node:crypto';
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
  if (req.method === 'GET' || req.method === 'HEAD') {
    const { query, documentId, extensions } = req.query as Record<string, unknown>;
    let parsed: unknown = extensions;
    if (typeof extensions === 'string') {
      try {
        parsed = JSON.parse(extensions);
      } catch {
        return undefined; // Apollo answers the malformed parameter
      }
    }
    return { query, documentId, extensions: isObject(parsed) ? parsed : undefined };
  }
  if (!isObject(req.body)) return undefined;
  const { query, documentId, extensions } = req.body;
  return { query, documentId, extensions: isObject(extensions) ? extensions : undefined };
}

/** Replaces an id by the operation's text: what follows receives a plain operation. */
function runText(req: Request, params: OperationParams, text: string): void {
  const extensions = params.extensions && { ...params.extensions };
  if (extensions) delete extensions.persistedQuery;
  const hasExtensions = extensions !== undefined && Object.keys(extensions).length > 0;
  if (req.method === 'GET' || req.method === 'HEAD') {
    // Apollo's Express integration reads GET parameters from req.url (and Express 5's req.query
    // is parsed from it on each read).
    const [path, search = ''] = req.url.split('?', 2);
    const url = new URLSearchParams(search);
    url.delete('documentId');
    url.set('query', text);
    if (hasExtensions) url.set('extensions', JSON.stringify(extensions));
    else url.delete('extensions');
    req.url = `${path}?${url.toString()}`;
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

/** An APQ hash in the form the protocol defines: version 1, lower-case hex SHA-256. */
const isApqHash = (hash: string, persisted: Record<string, unknown> | undefined) => persisted?.version === 1 && /^[0-9a-f]{64}$/.test(hash);

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
    const persisted = isObject(params.extensions?.persistedQuery) ? params.extensions.persistedQuery : undefined;
    const hash = typeof persisted?.sha256Hash === 'string' ? persisted.sha256Hash : undefined;
    const documentId = typeof params.documentId === 'string' ? params.documentId : undefined;

    if (typeof params.query === 'string' && params.query !== '') {
      const text = params.query;
      if (safelist && !safelist.allows(text)) return refuse(res, `This operation is not in the safelist. ${HOW_TO_ADD}`);
      if (hash !== undefined && isApqHash(hash, persisted) && safelist?.textOf(hash) === undefined) {
        if (sha256Hex(text) !== hash) return mismatch(res);
        // Registered here, not by Apollo: the response cache may answer this request without
        // Apollo ever seeing it, and the client's next request would again be unknown.
        try {
          await registered.set(`apq:${hash}`, text);
        } catch {
          // the cache's own fallbacks failed too: the client sends the text again next time
        }
        runText(req, params, text);
      } else if (safelist && (documentId !== undefined || hash !== undefined)) {
        runText(req, params, text); // a manifest id with its text: the text runs
      }
      return next(); // anything else about the extension (version, ...) is Apollo's to answer
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
    if (documentId === undefined && hash !== undefined && isApqHash(hash, persisted)) {
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
    next(); // Apollo answers what it makes of it (documentId: "must contain a query"; bad hashes)
  };
}
