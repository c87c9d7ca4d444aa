/**
 * Records every GraphQL operation: its (bounded) name, outcome, duration, and what its
 * `PipelineTrace` says about batches and cache lookups.
 *
 * Name: the operation's name as resolved from the document, or (validation failed) as written in
 * it, or (unparsable) the `operationName` the client sent; bounded by `metrics.operationLabel`.
 *
 * Outcome: `ok` without errors; `partial` when the response carries errors and data with at least
 * one root field answered (a nullable report field failed, another answered); otherwise the first error's
 * `extensions.code` as the caller sees it (after `formatError`), e.g. `BAD_USER_INPUT`,
 * `GRAPHQL_VALIDATION_FAILED`, `UPSTREAM_UNAVAILABLE`.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { getOperationAST, GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { GatewayMetrics, OperationOutcome, TraceLike } from './metrics';

export interface OperationMetricsPluginOptions {
  /** False when the pipeline runs without cache (`CACHE_ENABLED=false`): no lookups to count. */
  cacheEnabled?: boolean;
  /** Milliseconds for the duration histogram (tests: a clock they move); `performance.now` by default. */
  clock?: () => number;
}

export function operationMetricsPlugin<TContext extends BaseContext & { trace?: TraceLike }>(
  metrics: Pick<GatewayMetrics, 'recordOperation' | 'recordTrace'>,
  options: OperationMetricsPluginOptions = {},
): ApolloServerPlugin<TContext> {
  const refused = async ({ error }: { error: Error }) => {
    const code = error instanceof GraphQLError ? error.extensions.code : undefined;
    metrics.recordOperation(undefined, typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR');
  };
  const clock = options.clock ?? (() => performance.now());
  return {
    // Refused before the operation was read (authentication or rate limit in the context
    // function, a malformed HTTP request): counted as `anonymous` with the error's code, not timed.
    contextCreationDidFail: refused,
    invalidRequestWasReceived: refused,
    async requestDidStart() {
      const started = clock();
      return {
        async willSendResponse({ response, contextValue, operationName, request, document }) {
          const seconds = (clock() - started) / 1000;
          const result = response.body.kind === 'single' ? response.body.singleResult : response.body.initialResult;
          // Resolved name; else, when validation failed, the name in the parsed document; else
          // (unparsable) what the client sent.
          const name =
            operationName ?? (document ? getOperationAST(document, request.operationName)?.name?.value : undefined) ?? request.operationName;
          metrics.recordOperation(name, outcomeOf(result.data, result.errors), seconds);
          if (contextValue?.trace) metrics.recordTrace(contextValue.trace, { cacheEnabled: options.cacheEnabled });
        },
      };
    },
  };
}

export function outcomeOf(data: unknown, errors: readonly GraphQLFormattedError[] | undefined): OperationOutcome {
  if (!errors || errors.length === 0) return 'ok';
  // Report fields are nullable: a failed one is `null` beside the others. Partial only when some
  // root field did answer; `{ report: null }` plus an error is that error, not a partial success.
  if (data !== null && typeof data === 'object' && Object.values(data).some((value) => value !== null && value !== undefined)) {
    return 'partial';
  }
  const code = errors[0].extensions?.code;
  return typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
}
