import type { RequestHandler } from 'express';
import { graphqlParamsOf } from '../graphqlParams';

/**
 * Rejects a GraphQL document longer than `maxBytes` before it is parsed: parsing and validating
 * a huge document is work an attacker gets for free.
 */
export function rejectOversizedDocuments(maxBytes: number): RequestHandler {
  return (req, res, next) => {
    // The document Apollo will read (GET: from the raw URL, however many parameters precede it).
    const { query } = graphqlParamsOf(req);
    if (typeof query === 'string' && Buffer.byteLength(query) > maxBytes) {
      res.status(413).json({
        errors: [
          {
            message: `The GraphQL document is ${Buffer.byteLength(query)} bytes; at most ${maxBytes} are allowed.`,
            extensions: { code: 'OPERATION_TOO_EXPENSIVE', maxDocumentBytes: maxBytes },
          },
        ],
      });
      return;
    }
    next();
  };
}
