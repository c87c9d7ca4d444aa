/**
 * Malformed HTTP requests get GraphQL-shaped JSON errors with a 4xx status: never Express's HTML
 * error page (which would carry a stack trace), never a 500 for the caller's mistake.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../logger';
import { requestIdOf } from '../observability';
import { graphqlParamsOf } from '../graphqlParams';

/**
 * How deeply `variables` and `extensions` may nest. Nothing in this schema needs more than 3
 * (`_entities` representations); JSON nested 10,000 deep would overflow the stack of every
 * recursive consumer downstream (JSON.stringify in the response cache key, graphql coercion).
 */
export const MAX_JSON_DEPTH = 32;

function sendError(res: Parameters<RequestHandler>[1], status: number, code: string, message: string, extensions: Record<string, unknown> = {}): void {
  res.status(status).json({ errors: [{ message, extensions: { code, ...extensions } }] });
}

/** Depth of a parsed JSON value, stopping as soon as it exceeds `limit` (iterative: no recursion to overflow). */
export function jsonDepthExceeds(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** Rejects `variables` or `extensions` nested deeper than MAX_JSON_DEPTH (POST bodies and GET parameters). */
export function rejectDeeplyNestedInput(maxDepth = MAX_JSON_DEPTH): RequestHandler {
  return (req, res, next) => {
    // As Apollo will read them (GET: parsed from the raw URL; not JSON: Apollo answers that itself).
    const params = graphqlParamsOf(req);
    for (const name of ['variables', 'extensions'] as const) {
      if (jsonDepthExceeds(params[name], maxDepth)) {
        return sendError(res, 400, 'BAD_USER_INPUT', `\`${name}\` is nested more than ${maxDepth} levels deep.`, { maxDepth });
      }
    }
    next();
  };
}

/** body-parser's error types (https://github.com/expressjs/body-parser#errors) and what to tell the caller. */
function describeBodyError(error: { type?: string; status?: number; limit?: number; length?: number; charset?: string; encoding?: string }): { status: number; message: string } | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return { status: 400, message: 'The request body is not a JSON object: send {"query": "...", "variables": {...}} with content-type application/json.' };
    case 'entity.too.large':
      return { status: 413, message: `The request body is ${error.length ?? 'too many'} bytes; at most ${error.limit} are allowed.` };
    case 'entity.verify.failed':
    case 'request.aborted':
    case 'request.size.invalid':
      return { status: 400, message: 'The request body could not be read completely.' };
    case 'charset.unsupported':
      return { status: 415, message: `The charset ${JSON.stringify(error.charset ?? '')} is not supported; send UTF-8 JSON.` };
    case 'encoding.unsupported':
      return { status: 415, message: `The content encoding ${JSON.stringify(error.encoding ?? '')} is not supported.` };
    default:
      return undefined;
  }
}

/**
 * After every route: an unknown path (GET /nope, POST /graphq) is a JSON 404 `NOT_FOUND` in the
 * same shape as the other refusals, naming the endpoint, instead of Express's HTML "Cannot GET".
 */
export function jsonNotFound(endpointPath: string): RequestHandler {
  return (req, res) => {
    const path = req.path.length > 200 ? `${req.path.slice(0, 199)}…` : req.path;
    sendError(res, 404, 'NOT_FOUND', `Nothing is served at ${req.method} ${path}: the GraphQL endpoint is ${endpointPath}.`);
  };
}

/**
 * Last Express error handler: body-parser's errors become BAD_REQUEST with their 4xx status;
 * anything else is a bug, logged in full and answered as a generic JSON 500.
 */
export function jsonErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (res.headersSent) return next(error);
    const described = error && typeof error === 'object' ? describeBodyError(error as { type?: string }) : undefined;
    if (described) return sendError(res, described.status, 'BAD_REQUEST', described.message);
    const status = (error as { status?: unknown } | null)?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return sendError(res, status, 'BAD_REQUEST', 'The request is malformed.');
    }
    logger.error({ err: error, requestId: requestIdOf(res) }, 'unexpected error handling a request');
    sendError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
  };
}
