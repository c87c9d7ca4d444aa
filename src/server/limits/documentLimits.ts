/**
 * Bounds what parsing and validating a GraphQL document may cost, before Apollo Server does
 * either: a document within MAX_DOCUMENT_BYTES is rejected in a few milliseconds of CPU at most,
 * however it is built.
 *
 * Why before Apollo rather than as Apollo validation rules: Apollo Server validates with
 * graphql-js's specified rules and ours in ONE pass, so a limit reported by our rule does not stop
 * OverlappingFieldsCanBeMergedRule, whose work is quadratic in the fields sharing a response name
 * (16 kB of `callCenterInstance(id: "x") { id }` repeated without aliases costs it 100-300 ms of CPU).
 * So the shape is checked first, here, and only a bounded document reaches Apollo:
 *
 * - tokens and bracket nesting: one pass of graphql-js's own lexer, before its recursive parser;
 * - depth, aliases, directives: GraphQL Armor's rules (`@escape.tech/graphql-armor-max-*`);
 * - field merging: `fieldMergeBudgetRule` below, the one bound Armor has no rule for.
 *
 * Verdicts are remembered (by the document's text), so a dashboard repeating its query pays for
 * the check once, as it pays for Apollo's parse once.
 */
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import type { RequestHandler, Response } from 'express';
import { nextTurn } from './turnTaking';
import { validateInSteps } from './validationInSteps';
import {
  GraphQLError,
  isInterfaceType,
  isObjectType,
  Kind,
  Lexer,
  parse,
  Source,
  specifiedRules,
  TokenKind,
  TypeInfo,
  ValidationContext,
  type GraphQLFormattedError,
  type ASTVisitFn,
  type DocumentNode,
  type OperationDefinitionNode,
  type FieldNode,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';
import { LRUCache } from 'lru-cache';
import { graphqlParamsOf } from '../graphqlParams';

export interface DocumentLimits {
  maxTokens: number;
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
}

/**
 * Field-merging work allowed per operation (see fieldMergeBudgetRule). A real operation needs a
 * few hundred at most (a field per metric; a fragment repeating a field adds one); 16 kB of
 * repeated fields would need millions.
 */
export const MAX_FIELD_MERGE_COMPARISONS = 5_000;
/** Selections after fragment expansion (the bench's 50 x 82-metric operation has 4,300). */
export const MAX_EXPANDED_SELECTIONS = 20_000;
/**
 * Validation errors Apollo reports before it stops validating (graphql-js's default is 100). Each
 * error costs a location scan of the document and, for unknown names, a "Did you mean" search:
 * 100 of them cost more than the rest of validation.
 */
export const MAX_VALIDATION_ERRORS = 10;

// Read once: graphql's index exposes these through getters, slow in a loop over 2,000 tokens.
const { FIELD, INLINE_FRAGMENT } = Kind;
const { BRACE_L, BRACE_R, BRACKET_L, BRACKET_R, PAREN_L, PAREN_R, EOF } = TokenKind;

const tooExpensive = (message: string, extensions: Record<string, unknown> = {}) =>
  new GraphQLError(message, { extensions: { code: 'OPERATION_TOO_EXPENSIVE', ...extensions, http: { status: 400 } } });

/**
 * Armor reports a limit as `Syntax Error: ...`: it is not one. Reported through the validation
 * context (not thrown: a throw from a rule escapes `validate`), with our code.
 */
function armorRejection(limit: string, value: number) {
  return (context: ValidationContext | null, error: GraphQLError) => {
    context?.reportError(tooExpensive(`${error.message.replace(/^Syntax Error: /, '')} (${limit})`, { [limitName(limit)]: value }));
  };
}

const limitName = (envVar: string) => envVar.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

const widestTypes = new WeakMap<GraphQLSchema, number>();

/** Most fields of any object or interface type of the schema (introspection types included). */
function widestType(schema: GraphQLSchema): number {
  let widest = widestTypes.get(schema);
  if (widest === undefined) {
    widest = 0;
    for (const type of Object.values(schema.getTypeMap())) {
      if (isObjectType(type) || isInterfaceType(type)) widest = Math.max(widest, Object.keys(type.getFields()).length);
    }
    widestTypes.set(schema, widest);
  }
  return widest;
}

/**
 * Bounds OverlappingFieldsCanBeMergedRule's work before it runs. That rule compares every pair of
 * fields that share a response name at the same response path (fragments merged in), and every
 * pair of fragments spread into one selection set; this walk counts those pairs, merging the same
 * way, and stops at the budget. The walk itself is bounded by MAX_EXPANDED_SELECTIONS.
 *
 * It also refuses a selection with more distinct response names than any type has fields plus
 * the aliases allowed: such a selection cannot be valid, and graphql-js would collect and
 * type-check every one of its (up to MAX_TOKENS) fields before saying so.
 */
export function fieldMergeBudgetRule(
  maxAliases: number,
  maxComparisons = MAX_FIELD_MERGE_COMPARISONS,
  maxSelections = MAX_EXPANDED_SELECTIONS,
): ValidationRule {
  return (context) => ({
    OperationDefinition(operation) {
      // + `__typename`, `__schema`, `__type`.
      const maxResponseNames = widestType(context.getSchema()) + maxAliases + 3;
      let comparisons = 0;
      let selections = 0;
      // Each entry: the selection sets of all fields sharing one response path.
      const pending: SelectionSetNode[][] = [[operation.selectionSet]];
      while (pending.length > 0) {
        const sets = pending.pop()!;
        const byResponseName = new Map<string, FieldNode[]>();
        const fragments = new Set<string>();
        for (let i = 0; i < sets.length; i++) {
          for (const selection of sets[i].selections) {
            if (++selections > maxSelections) {
              context.reportError(tooExpensive(`The operation expands to more than ${maxSelections} selections once its fragments are spread.`, { maxSelections }));
              return false;
            }
            if (selection.kind === FIELD) {
              const name = selection.alias?.value ?? selection.name.value;
              const fields = byResponseName.get(name);
              if (fields) fields.push(selection);
              else byResponseName.set(name, [selection]);
            } else if (selection.kind === INLINE_FRAGMENT) {
              sets.push(selection.selectionSet);
            } else if (!fragments.has(selection.name.value)) {
              fragments.add(selection.name.value);
              const fragment = context.getFragment(selection.name.value);
              if (fragment) sets.push(fragment.selectionSet);
            }
          }
        }
        if (byResponseName.size > maxResponseNames) {
          context.reportError(
            tooExpensive(
              `A selection asks for ${byResponseName.size} different fields; no type here has more than ${maxResponseNames - maxAliases - 3} fields, and at most ${maxAliases} aliases are allowed.`,
              { maxResponseNames },
            ),
          );
          return false;
        }
        // Fragment pairs, fields against each fragment, and same-named field pairs.
        comparisons += (fragments.size * (fragments.size - 1)) / 2 + byResponseName.size * fragments.size;
        for (const fields of byResponseName.values()) {
          comparisons += (fields.length * (fields.length - 1)) / 2;
          const children: SelectionSetNode[] = [];
          for (const field of fields) if (field.selectionSet) children.push(field.selectionSet);
          if (children.length > 0) pending.push(children);
        }
        if (comparisons > maxComparisons) {
          context.reportError(
            tooExpensive(
              `The operation repeats fields or fragments so often that checking them would take more than ${maxComparisons} comparisons; select each field once per selection set (use aliases for different arguments).`,
              { maxFieldMergeComparisons: maxComparisons },
            ),
          );
          return false;
        }
      }
      return undefined;
    },
  });
}

export function documentLimitRules(limits: DocumentLimits): ValidationRule[] {
  return [
    // Introspection (`__schema`) is deep by nature and reads no data; graphql-js's own
    // MaxIntrospectionDepthRule bounds it. Fragments add no depth of their own.
    maxDepthRule({ n: limits.maxDepth, flattenFragments: true, ignoreIntrospection: true, propagateOnRejection: false, onReject: [armorRejection('MAX_QUERY_DEPTH', limits.maxDepth)] }),
    // 1,000 aliases of `__typename` are 1,000 aliases too (Armor lets `__typename` through by default).
    maxAliasesRule({ n: limits.maxAliases, allowList: [], propagateOnRejection: false, onReject: [armorRejection('MAX_ALIASES', limits.maxAliases)] }),
    maxDirectivesRule({ n: limits.maxDirectives, propagateOnRejection: false, onReject: [armorRejection('MAX_DIRECTIVES', limits.maxDirectives)] }),
    fieldMergeBudgetRule(limits.maxAliases),
  ];
}

/**
 * Brackets (`{`, `[`, `(`) one document may nest: the selection depth limit, plus room for the
 * operation's braces, arguments, list and object literals, and introspection's `ofType` chains.
 * graphql-js parses recursively: 1,000 nested `{a: ` exhaust its stack, and well before that,
 * printing such a literal in an error message costs more than validating a whole real operation.
 */
export const nestingLimit = (limits: Pick<DocumentLimits, 'maxDepth'>) => limits.maxDepth + 24;

/**
 * One pass of graphql-js's own lexer counting tokens and bracket nesting, before the recursive
 * parser sees the document. A lexical error is left to Apollo's parse, which reports it.
 */
function scanTokens(source: string, limits: DocumentLimits): GraphQLError | undefined {
  const maxNesting = nestingLimit(limits);
  const lexer = new Lexer(new Source(source));
  let tokens = 0;
  let nesting = 0;
  try {
    for (let token = lexer.advance(); token.kind !== EOF; token = lexer.advance()) {
      if (++tokens > limits.maxTokens) {
        return tooExpensive(`The document has more than ${limits.maxTokens} tokens (MAX_TOKENS).`, { maxTokens: limits.maxTokens });
      }
      if (token.kind === BRACE_L || token.kind === BRACKET_L || token.kind === PAREN_L) {
        if (++nesting > maxNesting) {
          return tooExpensive(`The document nests brackets more than ${maxNesting} levels deep (MAX_QUERY_DEPTH + 24).`, { maxNesting });
        }
      } else if (token.kind === BRACE_R || token.kind === BRACKET_R || token.kind === PAREN_R) {
        nesting--;
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

type OperationVisit = ASTVisitFn<OperationDefinitionNode>;

/**
 * The token and nesting scan, then the parse: a limit error, or the document, or the syntax error.
 * `noLocation`: for checks that report no positions (cheaper); a document whose errors reach a
 * caller needs its locations.
 */
export function parseWithinLimits(
  source: string,
  limits: DocumentLimits,
  noLocation: boolean,
): { limitError: GraphQLError } | { document: DocumentNode } | { syntaxError: GraphQLError } {
  const scanned = scanTokens(source, limits);
  if (scanned) return { limitError: scanned };
  try {
    return { document: parse(source, { maxTokens: limits.maxTokens, noLocation }) };
  } catch (error) {
    // Out of stack cannot happen after the nesting check; kept so that it could never be a 500.
    if (error instanceof RangeError) return { limitError: tooExpensive('The document is nested too deeply to parse.') };
    if (error instanceof GraphQLError) return { syntaxError: error };
    throw error;
  }
}

/** The limit errors of a parsed document, or none. */
export function limitErrorsOf(schema: GraphQLSchema, document: DocumentNode, rules: ValidationRule[]): GraphQLError[] {
  // Each limit rule works from an OperationDefinition node (walking its selections and fragments
  // itself), so it is called on each operation directly: a full `visit` of the document with
  // graphql-js's TypeInfo would cost more than the rules.
  const errors: GraphQLError[] = [];
  const context = new ValidationContext(schema, document, new TypeInfo(schema), (error) => errors.push(error));
  const visitors = rules.map((rule) => rule(context));
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    for (const visitor of visitors) {
      const handler = (visitor as { OperationDefinition?: OperationVisit | { enter?: OperationVisit } }).OperationDefinition;
      const enter = typeof handler === 'function' ? handler : handler?.enter;
      enter?.call(visitor, definition, undefined, undefined, [], []);
    }
  }
  return errors;
}

/**
 * The limit errors of a document, or none. Syntax errors other than the token limit are left to
 * Apollo, which reports them as GRAPHQL_PARSE_FAILED as usual.
 */
export function documentLimitErrors(schema: GraphQLSchema, source: string, limits: DocumentLimits, rules = documentLimitRules(limits)): GraphQLError[] {
  const parsed = parseWithinLimits(source, limits, true);
  if ('limitError' in parsed) return [parsed.limitError];
  if ('syntaxError' in parsed) return [];
  return limitErrorsOf(schema, parsed.document, rules);
}

export type FormatError = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

/** A document's refusal: the status and the errors of the answer. */
interface Refusal {
  status: number;
  errors: GraphQLFormattedError[];
}

/** Limit errors as this step answers them: OPERATION_TOO_EXPENSIVE and its details, 400. */
function limitRefusal(errors: GraphQLError[]): Refusal {
  return {
    status: 400,
    errors: errors.map((e) => {
      const { http: _http, ...extensions } = e.extensions;
      return { message: e.message, extensions };
    }),
  };
}

/**
 * Rule slices of graphql-js's validation for a large document, one turn each: the worst document
 * the limits let through takes 5 to 12 ms to validate in one pass, about a quarter of that per
 * slice (./validationInSteps.ts).
 */
export const VALIDATION_STEPS = 4;

/**
 * Everything a large document costs before execution, over one parse, in turns of its own
 * (./turnTaking.ts) so that no step holds the event loop for long: the token scan and the parse,
 * then the limits, then Apollo's validation in slices of the rules, with the answers Apollo gives
 * (400, GRAPHQL_PARSE_FAILED or GRAPHQL_VALIDATION_FAILED, through the same formatError).
 */
export async function largeDocumentRefusal(
  schema: GraphQLSchema,
  query: string,
  limits: DocumentLimits,
  rules: ValidationRule[],
  formatError: FormatError,
  /** Awaited before each step (the bench passes one that measures the steps). */
  between: () => Promise<void> = nextTurn,
): Promise<Refusal | undefined> {
  const asApollo = (error: GraphQLError, code: string) => {
    const wrapped = new GraphQLError(error.message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      originalError: error,
      extensions: { ...error.extensions, code },
    });
    return formatError(wrapped.toJSON(), wrapped);
  };
  await between();
  const parsed = parseWithinLimits(query, limits, false);
  if ('limitError' in parsed) return limitRefusal([parsed.limitError]);
  if ('syntaxError' in parsed) return { status: 400, errors: [asApollo(parsed.syntaxError, 'GRAPHQL_PARSE_FAILED')] };
  await between();
  const limitErrors = limitErrorsOf(schema, parsed.document, rules);
  if (limitErrors.length > 0) return limitRefusal(limitErrors);
  const errors = await validateInSteps(schema, parsed.document, specifiedRules, { maxErrors: MAX_VALIDATION_ERRORS, steps: VALIDATION_STEPS, between });
  return errors.length > 0 ? { status: 400, errors: errors.map((e) => asApollo(e, 'GRAPHQL_VALIDATION_FAILED')) } : undefined;
}

/**
 * A caller's large new documents are checked one at a time, in arrival order. Without this, a
 * caller with ten connections has ten documents in their turns at once, all admitted by the
 * refused-request budget before the first of them is refused (and charged): the budget would
 * allow as many refusals a second as the caller has connections. Other callers' documents do not
 * wait for this caller's.
 */
export class CallerQueues {
  private readonly tails = new Map<string, Promise<void>>();

  /** `previous` resolves when the caller's earlier documents are done; call `release` when this one is. */
  enter(caller: string | undefined): { previous: Promise<void>; release: () => void } {
    if (caller === undefined) return { previous: Promise.resolve(), release: () => undefined };
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const previous = this.tails.get(caller) ?? Promise.resolve();
    const tail = previous.then(() => mine);
    this.tails.set(caller, tail);
    void tail.then(() => {
      if (this.tails.get(caller) === tail) this.tails.delete(caller);
    });
    return { previous, release };
  }
}

/**
 * Documents shorter than this cost well under a millisecond to check and validate: they need no
 * turn of their own. Real operations of this project's clients are 200 to 4,000 characters.
 */
export const LARGE_DOCUMENT_CHARS = 2_048;

/**
 * Express step: answers OPERATION_TOO_EXPENSIVE (400) for a document over the limits, before
 * Apollo parses or validates it; a large new document is also parsed and validated here, in a
 * turn of its own (see below).
 */
export function rejectCostlyDocuments(
  schema: GraphQLSchema,
  limits: DocumentLimits,
  /**
   * Apollo's `formatError`: a large new document is parsed and validated here, in its turns, and
   * refused here when invalid, with the answer Apollo would give.
   */
  formatError?: FormatError,
  /**
   * The refused-request budget's second look (./rejectionBudget.ts): a large document that waited
   * for the same caller's previous one is checked against the budget again before its own turns.
   */
  admit?: (res: Response) => Promise<boolean>,
): RequestHandler {
  const rules = documentLimitRules(limits);
  const oneAtATime = new CallerQueues();
  // The verdict on up to 1,000 recent documents (of up to MAX_DOCUMENT_BYTES each): a dashboard
  // repeating its query, or an attacker repeating theirs, pays for the check once.
  const verdicts = new LRUCache<string, Refusal | 'pass'>({ max: 1_000 });
  return (req, res, next) => {
    // The document Apollo will read (GET: from the raw URL, however many parameters precede it).
    const { query } = graphqlParamsOf(req);
    if (typeof query !== 'string') return next();
    const answer = (verdict: Refusal | 'pass') => {
      if (verdict === 'pass') return next();
      res.status(verdict.status).json({ errors: verdict.errors });
    };
    const cached = verdicts.get(query);
    if (cached) return answer(cached);
    if (query.length < LARGE_DOCUMENT_CHARS || !formatError) {
      const errors = documentLimitErrors(schema, query, limits, rules);
      const verdict = errors.length > 0 ? limitRefusal(errors) : 'pass';
      verdicts.set(query, verdict);
      return answer(verdict);
    }
    // A large document not seen lately takes turns of its own (./turnTaking.ts) for all of its
    // synchronous cost: the limits, and the parsing and validation Apollo would otherwise do later,
    // in one piece, where a burst of them would run back to back again. Valid: Apollo parses and
    // validates it once more (then keeps it in its own store).
    // One at a time per caller (see CallerQueues).
    const caller = res.locals.callerKey as string | undefined;
    const done = oneAtATime.enter(caller);
    done.previous
      .then(async () => {
        if (admit && caller !== undefined && !(await admit(res))) return done.release();
        // The same text may have been checked while this one waited.
        const verdict = verdicts.get(query) ?? (await largeDocumentRefusal(schema, query, limits, rules, formatError)) ?? 'pass';
        verdicts.set(query, verdict);
        // A refusal lets the next one in once it has been sent, and so charged to the budget.
        if (verdict === 'pass') done.release();
        else res.once('finish', done.release).once('close', done.release);
        answer(verdict);
      })
      .catch((error: unknown) => {
        done.release();
        next(error);
      });
  };
}
