/**
 * One log line per HTTP request, and the request id every other log line of the request carries.
 *
 * The request id is the caller's `x-request-id` when it is a sane token (`[A-Za-z0-9._-]`, 1 to
 * 128 characters: no spaces, quotes or control characters to forge log fields or headers), else
 * a fresh UUID. It is echoed in the `x-request-id` response header and available to later
 * handlers through `requestIdOf(res)`, with a child logger through `requestLoggerOf(res)`.
 *
 * The line holds method, path (without the query string: a GET /graphql carries the query and
 * its variables there), status, duration and the GraphQL operation name when known. Never a
 * header, never a body or variables.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { sanitizeOperationName } from './metrics';

export const REQUEST_ID_HEADER = 'x-request-id';
const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;
const LOCALS_REQUEST_ID = 'requestId';
const LOCALS_LOGGER = 'logger';
/** Handlers that know the operation name better than the request body may set it here. */
export const LOCALS_OPERATION_NAME = 'operationName';

export interface RequestLoggingOptions {
  logger: Logger;
  /**
   * Paths logged at `debug` instead of `info` (probes and scrapes arrive every few seconds).
   * Default: `/healthz`, `/readyz`, `/metrics`.
   */
  quietPaths?: readonly string[];
}

/** The caller's request id if it is a sane token, else undefined. */
export function acceptRequestId(value: unknown): string | undefined {
  return typeof value === 'string' && SANE_REQUEST_ID.test(value) ? value : undefined;
}

export function requestLogging(options: RequestLoggingOptions): RequestHandler {
  const quiet = new Set(options.quietPaths ?? ['/healthz', '/readyz', '/metrics']);
  return (req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    const requestId = acceptRequestId(req.headers[REQUEST_ID_HEADER]) ?? randomUUID();
    res.locals[LOCALS_REQUEST_ID] = requestId;
    // The child logger is made when a handler asks for one (requestLoggerOf): a pino child with
    // redaction costs more than the rest of a cached answer's bookkeeping, and most requests
    // log nothing but their line. The line itself carries the same requestId binding.
    let logger: Logger | undefined;
    const loggerOf = () => (logger ??= options.logger.child({ requestId }));
    res.locals[LOCALS_LOGGER] = loggerOf;
    res.setHeader(REQUEST_ID_HEADER, requestId);

    let logged = false;
    const done = () => {
      if (logged) return;
      logged = true;
      const path = pathOf(req);
      const line: Record<string, unknown> = {
        method: req.method,
        path,
        status: res.statusCode,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
      };
      const operationName = operationNameOf(req, res);
      if (operationName) line.operationName = operationName;
      if (!res.writableFinished) line.aborted = true;
      const level = quiet.has(path) ? 'debug' : 'info';
      if (!options.logger.isLevelEnabled(level)) return;
      loggerOf()[level](line, 'request');
    };
    res.once('finish', done);
    res.once('close', done);
    next();
  };
}

/** The request id assigned by `requestLogging`, or a fresh one if it did not run. */
export function requestIdOf(res: Response): string {
  const id = res.locals[LOCALS_REQUEST_ID];
  if (typeof id === 'string') return id;
  const fresh = randomUUID();
  res.locals[LOCALS_REQUEST_ID] = fresh;
  return fresh;
}

/** The request's child logger (with `requestId`), or `fallback` if `requestLogging` did not run. */
export function requestLoggerOf(res: Response, fallback: Logger): Logger {
  const loggerOf = res.locals[LOCALS_LOGGER] as (() => Logger) | undefined;
  return loggerOf ? loggerOf() : fallback;
}

function pathOf(req: Request): string {
  const url = req.originalUrl ?? req.url ?? '';
  const query = url.indexOf('?');
  return (query === -1 ? url : url.slice(0, query)).slice(0, 256);
}

/** From `res.locals.operationName`, a JSON POST body, or a GET's query string; only a GraphQL name. */
function operationNameOf(req: Request, res: Response): string | undefined {
  const candidates: unknown[] = [res.locals[LOCALS_OPERATION_NAME]];
  const body: unknown = req.body;
  if (body && typeof body === 'object' && !Array.isArray(body)) candidates.push((body as Record<string, unknown>).operationName);
  // Express 5 parses the query string lazily; only GraphQL GETs carry operationName there.
  if (req.method === 'GET' && req.url.includes('operationName=')) candidates.push((req.query as Record<string, unknown>).operationName);
  for (const candidate of candidates) {
    if (typeof candidate === 'string' && candidate.length > 0) {
      const name = sanitizeOperationName(candidate);
      if (name !== 'anonymous') return name;
    }
  }
  return undefined;
}
