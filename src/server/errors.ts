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

/** Messages of graphql-js's ValuesOfCorrectTypeRule (argument values, not document structure). */
const BAD_ARGUMENT_VALUE = /^(Expected value of type|Value ".*" does not exist in ".*" enum|Enum ".*" cannot represent|Field ".*" of required type ".*" was not provided|Field ".*" is not defined by type)/;

/** Longest operation name echoed back in a message; names are identifiers, not payloads. */
const MAX_ECHOED_OPERATION_NAME = 100;
const ECHOED_OPERATION_NAME = /(Unknown operation named ")(.*)(")/s;
/** graphql-js's suggestions, in validation and in variable coercion messages alike. */
const SUGGESTIONS = / ?Did you mean [^?]*\?/g;

export interface ErrorFormatterOptions {
  /**
   * Production: no "Did you mean ...?" in messages (they enumerate the schema to a caller who
   * cannot introspect it).
   */
  hideSchemaDetails?: boolean;
}

/**
 * The formatter Apollo calls for every error: `formatGatewayError` decides the code and the
 * message, then what is echoed from the request is bounded (an operation name of a megabyte is
 * not sent back) and, in production, suggestions are dropped.
 */
export function createErrorFormatter(logger: Logger, options: ErrorFormatterOptions = {}) {
  const format = formatGatewayError(logger);
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const result = format(formatted, error);
    let message = result.message.replace(ECHOED_OPERATION_NAME, (_all, before: string, name: string, after: string) =>
      name.length > MAX_ECHOED_OPERATION_NAME ? `${before}${name.slice(0, MAX_ECHOED_OPERATION_NAME)}…${after}` : `${before}${name}${after}`,
    );
    if (options.hideSchemaDetails) message = message.replace(SUGGESTIONS, '');
    return message === result.message ? result : { ...result, message };
  };
}

function formatGatewayError(logger: Logger) {
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
    // Apollo reports every validation-phase error as GRAPHQL_VALIDATION_FAILED. Two kinds carry a
    // more useful code of their own: a scalar rejecting a literal (BAD_USER_INPUT) and the
    // depth/alias limits (OPERATION_TOO_EXPENSIVE); their own code wins.
    if (error instanceof GraphQLError && error.originalError instanceof GraphQLError) {
      const own = error.originalError.extensions.code;
      if (own === 'BAD_USER_INPUT' || own === 'OPERATION_TOO_EXPENSIVE') {
        return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: { ...error.originalError.extensions, code: own } };
      }
    }
    // A literal argument of the wrong type or an unknown enum value (`interval: YEARLY`) fails
    // graphql's ValuesOfCorrectType rule: the caller's bad input, not a malformed document.
    if (formatted.extensions?.code === 'GRAPHQL_VALIDATION_FAILED' && BAD_ARGUMENT_VALUE.test(formatted.message)) {
      return { message: formatted.message, locations: formatted.locations, extensions: { code: 'BAD_USER_INPUT' } };
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
