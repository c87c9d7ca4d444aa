/**
 * What every subscription passes before it runs, whatever its transport (WebSocket or
 * Server-Sent Events): the same rules as an HTTP operation, in the same order (the caller's rate
 * limit, the safelist, MAX_DOCUMENT_BYTES, the token/depth/alias/directive/field-merging limits,
 * parsing and validation, the operation cost) and MAX_SUBSCRIPTIONS_PER_CALLER, counted per
 * caller on this replica across both transports. Refusals are GraphQL errors with the usual
 * `extensions.code`; an admitted subscription gets its execution arguments (with a context built
 * as an HTTP operation's, plus its live reports) and a `release` for the count.
 */
import { randomUUID } from 'node:crypto';
import {
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type FieldNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { GatewayContext } from '../../graphql/context';
import { liveFieldCost } from '../../graphql/liveFieldCost';
import type { LiveDropReason, LiveReportHub } from '../../reports/LiveReportHub';
import { LiveReports } from '../../reports/LiveReports';
import type { Principal } from '../auth/principal';
import {
  CallerQueues,
  documentLimitRules,
  LARGE_DOCUMENT_CHARS,
  limitErrorsOf,
  MAX_VALIDATION_ERRORS,
  parseWithinLimits,
  VALIDATION_STEPS,
  type DocumentLimits,
} from '../limits/documentLimits';
import { nextTurn } from '../limits/turnTaking';
import { validateInSteps } from '../limits/validationInSteps';
import type { CallerRateLimiter } from '../limits/rateLimit';
import { HOW_TO_ADD, NOT_IN_SAFELIST } from '../persistedQueries/safelist';
import type { LiveMetrics } from '../observability/liveMetrics';

type FormatError = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

export interface SubscriptionAdmissionOptions {
  schema: GraphQLSchema;
  hub: LiveReportHub;
  metrics: LiveMetrics;
  /** A subscription's operation context, built as HTTP operations build theirs. */
  createContext(principal: Principal, callerKey: string, requestId: string): GatewayContext;
  rateLimiter?: CallerRateLimiter;
  /**
   * REJECTED_REQUESTS_PER_MINUTE, shared with HTTP: refused documents are charged to the caller,
   * and a caller over the budget is refused before anything is parsed. Without it a client could
   * send hostile documents over one socket at the full rate limit, 50 times what HTTP lets through.
   */
  refusalBudget?: { overBudget(callerKey: string): Promise<boolean>; charge(callerKey: string): void };
  /** PERSISTED_QUERIES=safelist: only listed texts run, subscriptions included. */
  safelist?: { allows(text: string): boolean };
  documentLimits: DocumentLimits;
  maxDocumentBytes: number;
  maxCost: number;
  maxSubscriptionsPerCaller: number;
  formatError: FormatError;
}

export interface SubscriptionRequest {
  query?: unknown;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

export type Admission = { args: ExecutionArgs; release(): void } | { errors: GraphQLError[] };

export interface SubscriptionAdmission {
  admit(caller: { principal: Principal; callerKey: string }, request: SubscriptionRequest, transport: string, onDrop: (reason: LiveDropReason) => void): Promise<Admission>;
  refuse(code: string, message: string, extensions?: Record<string, unknown>): GraphQLError[];
  /** Errors as callers see them (the gateway's formatError). */
  format(errors: readonly GraphQLError[]): GraphQLFormattedError[];
  /** Subscriptions open for a caller on this replica. */
  openSubscriptions(callerKey: string): number;
}

export function createSubscriptionAdmission(options: SubscriptionAdmissionOptions): SubscriptionAdmission {
  const { schema, metrics } = options;
  const rules = documentLimitRules(options.documentLimits);
  const perCaller = new Map<string, number>();
  const largeDocuments = new CallerQueues();

  const refuse = (code: string, message: string, extensions: Record<string, unknown> = {}): GraphQLError[] => {
    metrics.refused(code);
    return [new GraphQLError(message, { extensions: { ...extensions, code } })];
  };
  const refused = (errors: GraphQLError[]) => ({ errors });

  return {
    refuse,
    format: (errors) => errors.map((error) => options.formatError(error.toJSON(), error)),
    openSubscriptions: (callerKey) => perCaller.get(callerKey) ?? 0,

    async admit(caller, request, transport, onDrop) {
      // A caller's large documents are checked one at a time, as over HTTP: several sent at once
      // (one socket carries any number) would all pass the budget before the first is charged.
      const large = typeof request.query === 'string' && request.query.length >= LARGE_DOCUMENT_CHARS;
      const turn = large ? largeDocuments.enter(caller.callerKey) : undefined;
      await turn?.previous;
      try {
        return await admitWithinBudget(caller, request, transport, onDrop, large);
      } finally {
        turn?.release();
      }
    },
  };

  async function admitWithinBudget(
    caller: { principal: Principal; callerKey: string },
    request: SubscriptionRequest,
    transport: string,
    onDrop: (reason: LiveDropReason) => void,
    large: boolean,
  ): Promise<Admission> {
    const budget = options.refusalBudget;
    if (budget && (await budget.overBudget(caller.callerKey))) {
      return refused(
        refuse('RATE_LIMITED', 'Too many refused operations from this caller (REJECTED_REQUESTS_PER_MINUTE); fix the subscription, then retry in a minute', {
          retryAfterMs: 60_000,
        }),
      );
    }
    const admission = await admitDocument(caller, request, transport, onDrop, large);
    // Charged as HTTP charges its 400s: refusals of the document, not of the caller's rate.
    if (budget && 'errors' in admission && admission.errors.some((error) => error.extensions.code !== 'RATE_LIMITED')) budget.charge(caller.callerKey);
    return admission;
  }

  async function admitDocument(
    { principal, callerKey }: { principal: Principal; callerKey: string },
    request: SubscriptionRequest,
    transport: string,
    onDrop: (reason: LiveDropReason) => void,
    large: boolean,
  ): Promise<Admission> {
    if (options.rateLimiter) {
      const decision = await options.rateLimiter.consume(callerKey);
      if (!decision.allowed) {
        return refused(refuse('RATE_LIMITED', `Rate limit exceeded; retry in ${Math.ceil(decision.retryAfterMs / 1000)} s`, { retryAfterMs: decision.retryAfterMs }));
      }
    }
    const query = request.query;
    if (typeof query !== 'string') return refused(refuse('BAD_REQUEST', 'The subscription has no query text (persisted queries are served over HTTP only)'));
    if (options.safelist && !options.safelist.allows(query)) return refused(refuse(NOT_IN_SAFELIST, `This subscription is not in the safelist. ${HOW_TO_ADD}`));
    const bytes = Buffer.byteLength(query);
    if (bytes > options.maxDocumentBytes) {
      return refused(refuse('OPERATION_TOO_EXPENSIVE', `The GraphQL document is ${bytes} bytes; at most ${options.maxDocumentBytes} are allowed.`, { maxDocumentBytes: options.maxDocumentBytes }));
    }
    // A large document is checked as over HTTP: the token scan and the parse, the limits, then
    // validation in slices of the rules, each in a turn of the event loop of its own
    // (../limits/turnTaking.ts), so that it holds the loop no longer than an HTTP request does.
    const between = large ? nextTurn : undefined;
    await between?.();
    const parsed = parseWithinLimits(query, options.documentLimits, false);
    if ('limitError' in parsed) {
      metrics.refused('OPERATION_TOO_EXPENSIVE');
      return refused([withoutHttp(parsed.limitError)]);
    }
    if ('syntaxError' in parsed) {
      metrics.refused('GRAPHQL_PARSE_FAILED');
      return refused([withCode(parsed.syntaxError, 'GRAPHQL_PARSE_FAILED')]);
    }
    const document = parsed.document;
    await between?.();
    const limitErrors = limitErrorsOf(schema, document, rules);
    if (limitErrors.length > 0) {
      metrics.refused('OPERATION_TOO_EXPENSIVE');
      return refused(limitErrors.map(withoutHttp));
    }
    const invalid = between
      ? await validateInSteps(schema, document, specifiedRules, { maxErrors: MAX_VALIDATION_ERRORS, steps: VALIDATION_STEPS, between })
      : validate(schema, document, specifiedRules, { maxErrors: MAX_VALIDATION_ERRORS });
    if (invalid.length > 0) {
      metrics.refused('GRAPHQL_VALIDATION_FAILED');
      return refused(invalid.map((error) => withCode(error, 'GRAPHQL_VALIDATION_FAILED')));
    }
    const operation = getOperationAST(document, request.operationName);
    if (!operation) return refused(refuse('BAD_REQUEST', 'The document has several operations and operationName names none of them'));
    if (operation.operation !== 'subscription') {
      return refused(refuse('BAD_REQUEST', `Only subscriptions are served over ${transport}; send ${operation.operation}s to POST /graphql`));
    }
    const variables = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {}, { maxErrors: MAX_VALIDATION_ERRORS });
    if ('errors' in variables && variables.errors) {
      metrics.refused('BAD_USER_INPUT');
      return refused(variables.errors.map((error) => withCode(error, 'BAD_USER_INPUT')));
    }
    const contextValue = options.createContext(principal, callerKey, randomUUID());
    contextValue.live = new LiveReports(options.hub, contextValue.reports, onDrop);
    const cost = subscriptionCost(schema, operation, document, variables.coerced, contextValue);
    if (cost > options.maxCost) {
      return refused(
        refuse(
          'OPERATION_TOO_EXPENSIVE',
          `The subscription would read ${cost} upstream report buckets; at most ${options.maxCost} are allowed per operation. Use fewer instances or a finer interval.`,
          { cost, maxCost: options.maxCost },
        ),
      );
    }
    const open = perCaller.get(callerKey) ?? 0;
    if (open >= options.maxSubscriptionsPerCaller) {
      return refused(
        refuse(
          'RATE_LIMITED',
          `At most ${options.maxSubscriptionsPerCaller} subscriptions may be open at once per caller on one gateway replica (MAX_SUBSCRIPTIONS_PER_CALLER); complete one before starting another`,
          { maxSubscriptionsPerCaller: options.maxSubscriptionsPerCaller },
        ),
      );
    }
    perCaller.set(callerKey, open + 1);
    let released = false;
    return {
      args: { schema, document, contextValue, variableValues: request.variables ?? undefined, operationName: request.operationName ?? undefined },
      release() {
        if (released) return;
        released = true;
        const left = (perCaller.get(callerKey) ?? 1) - 1;
        if (left > 0) perCaller.set(callerKey, left);
        else perCaller.delete(callerKey);
      },
    };
  }
}

/** The single root field of a subscription (through fragments), priced with its coerced arguments. */
function subscriptionCost(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  document: DocumentNode,
  variables: Record<string, unknown>,
  context: GatewayContext,
): number {
  const field = firstField(operation.selectionSet, document);
  const definition = field && schema.getSubscriptionType()?.getFields()[field.name.value];
  if (!field || !definition) return 0;
  try {
    return liveFieldCost(context.reports, definition.name, getArgumentValues(definition, field, variables)) ?? 0;
  } catch {
    return 0; // invalid arguments fail when the subscription starts, with their own error
  }
}

function firstField(set: SelectionSetNode, document: DocumentNode): FieldNode | undefined {
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if (!selection.name.value.startsWith('__')) return selection;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const found = firstField(selection.selectionSet, document);
      if (found) return found;
    } else {
      const fragment = document.definitions.find((d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value);
      if (fragment?.kind === Kind.FRAGMENT_DEFINITION) {
        const found = firstField(fragment.selectionSet, document);
        if (found) return found;
      }
    }
  }
  return undefined;
}

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, originalError: error, extensions: { ...error.extensions, code } });
}

/** Limit errors carry the HTTP status of their HTTP answer: not part of a streamed message. */
function withoutHttp(error: GraphQLError): GraphQLError {
  const { http: _http, ...extensions } = error.extensions;
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions });
}
