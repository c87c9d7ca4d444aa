/**
 * The lean path of cached answers: a request the response cache can answer does no work beyond
 * authentication and the rate limit, its key, and the write.
 *
 * Measured on a closed-range repeat (`--cpu-prof`, 10 connections, docs/caching.md): through
 * Express every cached answer paid the router's dispatch over a dozen steps, body-parser (stream
 * plumbing, content-type and charset parsing, JSON.parse), the JSON re-serialization of its
 * variables for the key, and the UTF-8 encoding of the stored body on every write: together well
 * over half of the CPU per request, the write of the bytes itself being the largest single part.
 *
 * So the HTTP server sees every request first (`handle`). A POST to the endpoint with a plain
 * JSON body (content type `application/json`, UTF-8, a Content-Length within the body limit, no
 * content encoding) and none of the headers that ask for a per-execution answer is read here,
 * raw. The caller is admitted exactly as the endpoint's caller gate admits it (same
 * authentication, one token of the same rate limiter), and the answer is looked up:
 *
 *  - by the raw body bytes and the caller's permission key: an alias the response cache keeps for
 *    requests it answered before that carried nothing but `query`, `variables` and
 *    `operationName` (no persisted-query hash to register, no document id to resolve), so the
 *    same bytes get the same answer the Express path would give;
 *  - else, when the document is known to be keyed by its resolved plan (./answerKeys), by its plan
 *    (a dashboard ending now).
 *
 * A hit is written as the Express path writes it: the request id and its log line
 * (./observability/requestLogging, the same step), `ccc_gateway_operations_total{operation="cached"}`,
 * Cache-Control (counted down for open answers), the same Vary, the stored bytes (encoded once).
 * Anything else (a miss, a refused caller, a body that is not JSON) continues through Express with
 * the body already read and parsed (body-parser skips a finished request) and the admission
 * handed on, so it is neither authenticated nor counted twice, and a body that does not parse
 * gets body-parser's own error through the endpoint's error handler. A hit from a browser origin
 * runs the endpoint's own CORS step first (`cors` option), so its headers are the Express path's
 * (test/security/leanPathHostile.test.ts compares them origin by origin).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Admission } from './callerGate';
import { answerContentType } from './answerMediaType';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './limits/requestBody';
import { DEBUG_HEADER } from './debugExtensionsPlugin';
import { FEDERATION_TRACE_HEADER } from './httpCaching';
import { leanAliasable, leanKeyOf, openAnswerRequestOf, permissionKey, type CachedResponse, type OpenAnswerKeys, type ResponseCache } from './responseCache';
import { LOCALS_OPERATION_NAME } from './observability/requestLogging';

export interface LeanCachedAnswersOptions {
  endpointPath: string;
  maxBodyBytes: number;
  cache: ResponseCache;
  /**
   * Lookups by the resolved plan. Off with a safelist (PERSISTED_QUERIES=safelist): a plan-keyed
   * entry answers texts other than the one that ran (other literal range ends), and only the
   * Express path checks a text against the list.
   */
  openAnswers?: { keys: OpenAnswerKeys; now: () => number; maxDocumentBytes: number; onLookup?: (outcome: 'hit' | 'miss' | 'not_keyable') => void };
  /** The caller gate's admission (callerGate.admitCaller): authentication and one rate-limit token. */
  admit(authorization: string | undefined, clientAddress: string | undefined): Promise<Admission>;
  /** The budget of refused requests (./limits/rejectionBudget): a caller over it takes the Express path (429). */
  overRefusalBudget?: (callerKey: string) => Promise<boolean>;
  /** The app's request-logging step, run on hits (request id header, one log line). */
  logRequest: RequestHandler;
  onHit(): void;
  /** Vary as the endpoint's own step sets it (after CORS's `Origin`): `Accept[, Authorization]`. */
  vary: string;
  /** The endpoint's CORS step, when origins are allowed: run on hits as on the Express path. */
  cors?: RequestHandler;
}

const JSON_CONTENT_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;
const DIGITS = /^\d+$/;
/** Set on a request that continues through Express with its body already read (see `leanBodyErrors`). */
const LOCALS_BODY_ERROR = 'leanBodyError';
/** The raw body text of such a request: the response cache keeps an alias of its answer under it. */
export const LOCALS_RAW_BODY = 'leanRawBody';

type Locals = Record<string, unknown>;
type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function leanCachedAnswers(options: LeanCachedAnswersOptions): (req: IncomingMessage, res: ServerResponse, app: NodeHandler) => void {
  const eligible = (req: IncomingMessage): boolean => {
    const h = req.headers;
    if (req.method !== 'POST' || req.url !== options.endpointPath) return false;
    const type = h['content-type'];
    const length = h['content-length'];
    if (type === undefined || !JSON_CONTENT_TYPE.test(type)) return false;
    if (length === undefined || !DIGITS.test(length) || Number(length) > options.maxBodyBytes) return false;
    if (h['transfer-encoding'] !== undefined || h['content-encoding'] !== undefined) return false;
    if (h[DEBUG_HEADER] !== undefined || h[FEDERATION_TRACE_HEADER] !== undefined) return false;
    return true;
  };

  const serve = (req: IncomingMessage, res: ServerResponse, entry: CachedResponse, contentType: string) => {
    const locals = (res as unknown as { locals: Locals }).locals;
    if (entry.operationName) locals[LOCALS_OPERATION_NAME] = entry.operationName;
    options.logRequest(req as never, res as never, () => undefined);
    const write = () => {
      options.onHit();
      appendVary(res, options.vary);
      const bytes = options.cache.bytesOf(entry);
      res.setHeader('cache-control', options.cache.cacheControlOf(entry));
      res.setHeader('content-type', contentType);
      res.setHeader('content-length', bytes.length);
      res.end(bytes);
    };
    if (!options.cors) return write();
    // The endpoint's CORS step, as Express runs it (it only needs `vary` of Express's response).
    (res as unknown as { vary(field: string): void }).vary = (field) => appendVary(res, field);
    options.cors(req as never, res as never, write);
  };

  const handleBody = async (req: IncomingMessage, res: ServerResponse, app: NodeHandler, text: string) => {
    const locals: Locals = Object.create(null);
    (res as unknown as { locals: Locals }).locals = locals;
    let parsed: unknown;
    let parseError: unknown;
    const parse = () => {
      if (parsed !== undefined || parseError !== undefined) return parsed;
      try {
        parsed = parseJsonBody(text);
      } catch (error) {
        parseError = error;
      }
      return parsed;
    };
    const onward = () => {
      // Express continues with what body-parser would have produced.
      parse();
      if (parseError !== undefined) locals[LOCALS_BODY_ERROR] = parseError;
      else (req as IncomingMessage & { body?: unknown }).body = parsed;
      locals[LOCALS_RAW_BODY] = text;
      app(req, res);
    };
    const admission = await options.admit(req.headers.authorization, req.socket.remoteAddress);
    locals.admission = admission;
    if ('failure' in admission || !admission.allowed) return onward();
    if (options.overRefusalBudget && (await options.overRefusalBudget(admission.callerKey))) return onward();
    // The Content-Type Apollo would give the answer; an Accept naming none gets Apollo's 406.
    const contentType = answerContentType(req.headers.accept);
    if (contentType === null) return onward();
    const entry = options.cache.get(leanKeyOf(permissionKey(admission.principal), text));
    if (entry) return serve(req, res, entry, contentType);
    const open = options.openAnswers;
    // Only bodies that need no persisted-query step (no APQ hash to register, no document id).
    if (open && leanAliasable(parse())) {
      const request = openAnswerRequestOf(admission.principal, parse());
      // A plan-keyed entry answers texts other than the one that ran (other literal range ends,
      // ./answerKeys): the Express path refuses a document over MAX_DOCUMENT_BYTES before its lookup.
      if (request && Buffer.byteLength(request.query) > open.maxDocumentBytes) return onward();
      // Variables the Express path refuses (rejectDeeplyNestedInput) are never keyed here: the key
      // serializes them recursively, which JSON nested thousands deep would overflow (a 500).
      if (request && jsonDepthExceeds(request.variables, MAX_JSON_DEPTH)) return onward();
      const found = request && open.keys.keyOf(request, open.now());
      if (found?.state === 'keyable') {
        const hit = found.key === undefined ? undefined : options.cache.get(found.key);
        if (hit) {
          open.onLookup?.('hit');
          return serve(req, res, hit, contentType);
        }
      }
    }
    onward();
  };

  return (req, res, app) => {
    if (!eligible(req)) return app(req, res);
    const chunks: Buffer[] = [];
    let settled = false;
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      if (settled) return;
      settled = true;
      const decoded = chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
      // body-parser decodes with iconv-lite, which drops a leading byte order mark: so does this path.
      const text = decoded.charCodeAt(0) === 0xfeff ? decoded.slice(1) : decoded;
      handleBody(req, res, app, text).catch((error) => {
        // Not expected (admission catches authentication failures): Express's error handler answers.
        const locals: Locals = ((res as unknown as { locals?: Locals }).locals ??= Object.create(null));
        locals[LOCALS_BODY_ERROR] = error;
        app(req, res);
      });
    });
    req.once('error', (error) => {
      if (settled) return;
      settled = true;
      (res as unknown as { locals: Locals }).locals = Object.assign(Object.create(null), {
        [LOCALS_BODY_ERROR]: Object.assign(error, { type: 'request.aborted', status: 400 }),
      });
      app(req, res);
    });
  };
}

/** Appends fields to Vary unless present (what Express's `res.vary` does). */
function appendVary(res: ServerResponse, fields: string): void {
  const current = res.getHeader('vary');
  const list = typeof current === 'string' && current.length > 0 ? current.split(/\s*,\s*/) : [];
  const lower = new Set(list.map((f) => f.toLowerCase()));
  for (const field of fields.split(/\s*,\s*/)) {
    if (!lower.has(field.toLowerCase())) {
      list.push(field);
      lower.add(field.toLowerCase());
    }
  }
  res.setHeader('vary', list.join(', '));
}

/** body-parser's `json()` (strict) on a body already read: `{}` when empty, objects and arrays only. */
function parseJsonBody(text: string): unknown {
  if (text.length === 0) return {};
  const first = /^[\x20\x09\x0a\x0d]*(.)/.exec(text)?.[1];
  if (first !== '{' && first !== '[') throw bodyParseError('Unexpected token: the body is not a JSON object or array');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw bodyParseError((error as Error).message);
  }
}

function bodyParseError(message: string): Error {
  return Object.assign(new SyntaxError(message), { type: 'entity.parse.failed', status: 400, statusCode: 400, expose: true });
}

/**
 * Right after the endpoint's `express.json()`: a body the lean path read and could not parse
 * becomes the error body-parser would have raised, for the endpoint's error handler.
 */
export function leanBodyErrors(): RequestHandler {
  return (_req, res, next) => {
    const error = res.locals[LOCALS_BODY_ERROR];
    if (error !== undefined) return next(error);
    next();
  };
}
