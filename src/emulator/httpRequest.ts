/**
 * Reads what an RPC-style call carries: the path, the decoded URL query (where
 * `@alicloud/openapi-core` puts the parameters), and the body, whose x-www-form-urlencoded
 * parameters are accepted too (other SDKs and hand-made requests send them there).
 */
import type { IncomingMessage } from 'node:http';

/** Bodies beyond this are refused: report parameters are a few hundred bytes. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface ReceivedRequest {
  method: string;
  path: string;
  /** Decoded URL query parameters (first value of a repeated name). */
  query: Map<string, string>;
  body: Buffer;
  /** URL query merged over the form body's parameters. */
  params: Map<string, string>;
  headers: IncomingMessage['headers'];
}

export class BodyTooLargeError extends Error {}

export async function readRequest(req: IncomingMessage): Promise<ReceivedRequest> {
  const body = await readBody(req);
  const url = req.url ?? '/';
  const questionMark = url.indexOf('?');
  const path = questionMark < 0 ? url : url.slice(0, questionMark);
  const query = firstValues(new URLSearchParams(questionMark < 0 ? '' : url.slice(questionMark + 1)));
  const params = new Map<string, string>();
  const contentType = req.headers['content-type'] ?? '';
  if (contentType.startsWith('application/x-www-form-urlencoded') && body.length > 0) {
    for (const [key, value] of firstValues(new URLSearchParams(body.toString('utf8')))) params.set(key, value);
  }
  for (const [key, value] of query) params.set(key, value);
  return { method: req.method ?? 'GET', path, query, body, params, headers: req.headers };
}

function firstValues(search: URLSearchParams): Map<string, string> {
  const values = new Map<string, string>();
  for (const [key, value] of search) if (!values.has(key)) values.set(key, value);
  return values;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
