/**
 * graphql-js's `validate`, cut into steps with a pause between them, with the same result.
 *
 * Why: validating the largest document the limits let through (about 2,000 tokens) runs the 27
 * specified rules in one synchronous pass of 5 to 12 ms; while it runs, nothing else in the process
 * is served. Each step here runs the whole document through a slice of the rules (so a step costs a
 * fraction of the pass, plus one walk of the document), and the caller yields the event loop between
 * steps (`between`), so other requests wait for one step at most.
 *
 * The same result, error for error and in the same order: every step counts the walk's enter and
 * leave events, and notes at which event each error was reported. The walk is the same in every
 * step, and within one event `validate` calls the rules in list order; so sorting the errors by
 * (event, step) gives the order of the single pass, and replaying that sequence applies
 * `maxErrors` ("Too many validation errors") and a rule's own abort ("Validation aborted.")
 * where the single pass would have stopped.
 */
import { GraphQLError, validate, type ASTVisitor, type DocumentNode, type GraphQLSchema, type ValidationContext, type ValidationRule } from 'graphql';

/** What one step saw: its errors and, when a rule aborted it, the event where that happened. */
interface StepResult {
  errors: { error: GraphQLError; event: number }[];
  abortedAt?: number;
  /** Of the context's fragment-work budget (graphql-js 16.12+: 50,000 per `validate`). */
  fragmentWorkSpent: number;
}

/** graphql-js's ValidationContext: fragment work allowed per `validate` (the steps' sum is compared with it). */
const FRAGMENT_WORK_BUDGET = 50_000;
const ABORTED_MESSAGE = 'Validation aborted.';
const TOO_MANY_MESSAGE = 'Too many validation errors, error limit reached. Validation aborted.';

function runStep(schema: GraphQLSchema, document: DocumentNode, rules: readonly ValidationRule[], maxErrors: number): StepResult {
  let event = 0;
  const result: StepResult = { errors: [], fragmentWorkSpent: 0 };
  // First in the list: it sees each enter and leave before the rules of the step do.
  const countEvents: ValidationRule = () => ({ enter: () => void event++, leave: () => void event++ }) as ASTVisitor;
  // The rules report through a view of the context that notes the event first (the view shares
  // the context's state through its prototype; caches it fills are shared by the step's rules).
  let noting: ValidationContext | undefined;
  const notingContext = (context: ValidationContext) =>
    (noting ??= Object.assign(Object.create(context) as ValidationContext, {
      reportError(error: GraphQLError) {
        result.errors.push({ error, event });
        context.reportError(error);
      },
    }));
  let original: ValidationContext | undefined;
  const errors = validate(
    schema,
    document,
    [countEvents, ...rules.map((rule) => (context: ValidationContext) => rule(notingContext((original = context))))],
    { maxErrors },
  );
  // The budget lives in the context (`_remainingFragmentWork`); the view spends it as its own.
  const remaining = (context: ValidationContext | undefined) => (context as unknown as { _remainingFragmentWork?: unknown } | undefined)?._remainingFragmentWork;
  const before = remaining(original);
  const after = remaining(noting);
  if (typeof before === 'number' && typeof after === 'number') result.fragmentWorkSpent = before - after;
  // `validate` ends its list with graphql-js's own abort error when a rule gave up (a work budget).
  if (errors.length > 0 && errors[errors.length - 1].message === ABORTED_MESSAGE && !result.errors.some((e) => e.error === errors[errors.length - 1])) {
    result.abortedAt = event;
  }
  return result;
}

/** The single pass's answer, from the steps' (in rule order). */
function replay(steps: StepResult[], maxErrors: number): GraphQLError[] {
  const items: { event: number; step: number; order: number; error?: GraphQLError }[] = [];
  steps.forEach((step, index) => {
    step.errors.forEach(({ error, event }, order) => items.push({ event, step: index, order, error }));
    // A rule's abort comes after what its step reported at that event.
    if (step.abortedAt !== undefined) items.push({ event: step.abortedAt, step: index, order: Infinity });
  });
  items.sort((a, b) => a.event - b.event || a.step - b.step || a.order - b.order);
  const errors: GraphQLError[] = [];
  for (const item of items) {
    if (!item.error) return [...errors, new GraphQLError(ABORTED_MESSAGE)];
    if (errors.length >= maxErrors) return [...errors, new GraphQLError(TOO_MANY_MESSAGE)];
    errors.push(item.error);
  }
  return errors;
}

/**
 * `validate(schema, document, rules, { maxErrors })` in `steps` slices of the rules, awaiting
 * `between()` before each slice.
 */
export async function validateInSteps(
  schema: GraphQLSchema,
  document: DocumentNode,
  rules: readonly ValidationRule[],
  options: { maxErrors: number; steps: number; between: () => Promise<void> },
): Promise<GraphQLError[]> {
  const size = Math.ceil(rules.length / Math.max(1, options.steps));
  const results: StepResult[] = [];
  for (let start = 0; start < rules.length; start += size) {
    await options.between();
    // Each step stops at maxErrors + 1 errors of its own: enough for the replay to know whether
    // the single pass would have stopped.
    results.push(runStep(schema, document, rules.slice(start, start + size), options.maxErrors));
  }
  // The single pass shares one fragment-work budget among all rules, and would have stopped where
  // it ran out; the steps each have their own. If the steps together spent as much (a document of
  // thousands of fragment spreads across many operations: the limits make that rare), only the
  // single pass can say where it would stop.
  if (results.reduce((sum, r) => sum + r.fragmentWorkSpent, 0) >= FRAGMENT_WORK_BUDGET) {
    await options.between();
    return [...validate(schema, document, rules, { maxErrors: options.maxErrors })];
  }
  return replay(results, options.maxErrors);
}
