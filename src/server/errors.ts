/**
 * What callers see of an error. A GatewayError keeps its code, message and safe details; a
 * GraphQL error that already carries a code (validation, BAD_USER_INPUT from a scalar) passes as
 * it is; anything else is a bug or a library's exception, logged in full and answered with a
 * generic INTERNAL_SERVER_ERROR so no internal detail (or secret) reaches the caller.
 */
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { GatewayError } from '../reports/errors';
import type { Logger } from './logger';

export function createErrorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof GatewayError) {
      return {
        message: original.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { ...original.details, code: original.code },
      };
    }
    // A scalar that rejects a literal in the document fails validation; the caller's mistake is
    // still bad input, so the scalar's own code wins over GRAPHQL_VALIDATION_FAILED.
    if (error instanceof GraphQLError && error.originalError instanceof GraphQLError && error.originalError.extensions.code === 'BAD_USER_INPUT') {
      return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: { code: 'BAD_USER_INPUT' } };
    }
    const code = formatted.extensions?.code;
    if (code && code !== 'INTERNAL_SERVER_ERROR') {
      const { stacktrace: _drop, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    logger.error({ err: original, path: formatted.path }, 'unexpected error in operation');
    return {
      message: 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}
