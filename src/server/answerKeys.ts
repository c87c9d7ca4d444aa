/**
 * Keys of whole answers by the resolved plan, not by the raw arguments.
 *
 * A dashboard polls "the last 7 days, ending now" with `endTime: Date.now()`: a different
 * millisecond every time, yet the same buckets for an hour. Keyed by its raw variables its answer
 * would never be reused; keyed by what the operation will read (for every report field: the
 * bucket grid's zone, first and last bucket start after widening, the end of the data read) it
 * is the same entry until a bucket is added or a snapshot is refreshed.
 *
 * Per document, a **recipe** is worked out once, from the document Apollo already parsed and
 * validated (never from a text nobody has run): which variables are *time endpoints* (used only
 * as `startTime`/`endTime` of report fields, directly), and every report field with what is
 * needed to plan it (its field definition and node, and for `intervalReports`/`summary` the
 * `callCenterInstance` field naming the instance). A request's key is then the document, the
 * operation name, the caller's permission key, the variables that are not time endpoints exactly
 * as sent, and one fingerprint per report field, from the same planning code execution uses.
 *
 * Inline literal endpoints (`endTime: 1764...`) are resolved too: a recipe made from a text whose
 * every `startTime:`/`endTime:` literal found by a plain scan (an integer or a string without
 * escapes) is verified against the parsed document to be exactly such an argument of a report
 * field is stored under the text with those literals blanked (`normalizeEndpointLiterals`), and
 * the literals become synthetic variables of the recipe. A text that blanks to the same template
 * differs only in those literal tokens, so it is the same document with other range ends.
 *
 * Correctness first: a document is keyable only if everything in it is known to depend on
 * nothing but its arguments and the report buckets (the report fields, `callCenterInstance`,
 * `id`, bucket and metric fields, `__typename`), it is one query operation, its directives are
 * `@include`/`@skip`, and every report field can be planned from the document and the variables
 * (an `_entities` parent, for example, cannot). Anything else is simply not keyed.
 */
import {
  getArgumentValues,
  getNamedType,
  getVariableValues,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
  type VariableDefinitionNode,
} from 'graphql';
import type { ReportRequest } from '../reports/InstanceReports';

/** Report fields, by parent type: each reads buckets through the pipeline. */
const REPORT_FIELDS: Record<string, ReadonlySet<string>> = {
  Query: new Set(['intervalInstanceReport', 'combinedIntervalReport']),
  CallCenterInstance: new Set(['intervalReports', 'summary']),
};
/** Fields whose value is fixed by their arguments and the buckets read (bucket and metric types: all). */
const ALLOWED_FIELDS: Record<string, ReadonlySet<string> | '*'> = {
  Query: new Set(['intervalInstanceReport', 'combinedIntervalReport', 'callCenterInstance']),
  CallCenterInstance: new Set(['id', 'intervalReports', 'summary']),
  IntervalReport: '*',
  CombinedIntervalReport: '*',
  InboundMetrics: '*',
  OutboundMetrics: '*',
  OverallMetrics: '*',
};
const ENDPOINT_ARGUMENTS = new Set(['startTime', 'endTime']);
const MAX_FRAGMENT_DEPTH = 16;

interface ReportFieldRecipe {
  field: GraphQLField<unknown, unknown>;
  node: FieldNode;
  /** intervalReports/summary: the `callCenterInstance` field whose `id` names the instance. */
  instance?: { field: GraphQLField<unknown, unknown>; node: FieldNode };
}

/** How to key one document's requests (see the module comment). */
export interface AnswerKeyRecipe {
  operationName: string | undefined;
  variableDefinitions: readonly VariableDefinitionNode[];
  /** Variables used only as startTime/endTime of report fields: keyed through the plans, not as sent. */
  endpointVariables: ReadonlySet<string>;
  reportFields: readonly ReportFieldRecipe[];
  /**
   * Inline endpoint literals turned into synthetic variables `#0`, `#1`, ... (names no document can
   * use), in text order; 0 when the recipe is for the exact text only.
   */
  literalSlots: number;
}

/** An inline endpoint literal: the report fields it is an argument of (by index), which argument, where it ends. */
interface EndpointLiteral {
  fields: number[];
  argument: string;
  end: number;
}

/**
 * `startTime:`/`endTime:` followed by an integer (as GraphQL writes one: no leading zero, which
 * would not parse, nor pad a text past MAX_DOCUMENT_BYTES) or a string without escapes, then a character
 * that ends a value in an argument list. Only a scan: a match counts only once a parsed document
 * has confirmed every match of its text (see `answerKeyRecipe`).
 */
const ENDPOINT_LITERAL = /\b(startTime|endTime)(\s*:\s*)(-?(?:0|[1-9]\d*)|"[^"\\\n\r]*")(?=[\s,)])/g;
/** Stands for a blanked literal in a template: never part of a GraphQL document. */
const BLANK = '\u0001';

/** The text with its endpoint literals blanked, and the literal tokens with their offsets. */
export function normalizeEndpointLiterals(text: string): { template: string; literals: { token: string; at: number }[] } {
  const literals: { token: string; at: number }[] = [];
  // A text holding the blank itself (in a comment, say) could share its template with a text
  // that has a literal there and the blank elsewhere: such texts are keyed as they are.
  if (text.includes(BLANK)) return { template: text, literals };
  const template = text.replace(ENDPOINT_LITERAL, (_match, name: string, colon: string, token: string, offset: number) => {
    literals.push({ token, at: offset + name.length + colon.length });
    return `${name}${colon}${BLANK}`;
  });
  return { template, literals };
}

/** A literal token's value as a variable carries it (Timestamp's parseValue takes both forms). */
function literalValue(token: string): number | string {
  return token.startsWith('"') ? token.slice(1, -1) : Number(token);
}

/** Plans one report field as execution would, or throws (the request is then not keyed). */
export type PlanFingerprint = (request: ReportRequest) => string;

/**
 * The recipe of a parsed, validated document for one operation name, or undefined when its
 * answers cannot be keyed safely.
 */
export function answerKeyRecipe(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined, text?: string): AnswerKeyRecipe | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  // One operation only: variable names belong to an operation, and fragments may be shared.
  if (operations.length !== 1) return undefined;
  const [operation] = operations;
  if (operation.operation !== 'query') return undefined;
  if (operationName !== undefined && operation.name?.value !== operationName) return undefined;
  if (operation.directives?.length) return undefined;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const queryType = schema.getQueryType();
  if (!queryType) return undefined;

  const reportFields: ReportFieldRecipe[] = [];
  /**
   * Inline endpoint literals of report fields, by the offset of their value in the text. One
   * literal can stand in several report fields (a fragment spread under two instances): each
   * of them takes the request's value.
   */
  const endpointLiterals = new Map<number, EndpointLiteral>();
  const endpointUses = new Set<string>();
  const exactUses = new Set<string>();
  const useAllVariables = (value: ValueNode) => {
    if (value.kind === Kind.VARIABLE) exactUses.add(value.name.value);
    else if (value.kind === Kind.LIST) value.values.forEach(useAllVariables);
    else if (value.kind === Kind.OBJECT) value.fields.forEach((f) => useAllVariables(f.value));
  };

  const walk = (selectionSet: SelectionSetNode, parentType: GraphQLNamedType, instance: ReportFieldRecipe['instance'], depth: number): boolean => {
    if (depth > MAX_FRAGMENT_DEPTH || !isObjectType(parentType)) return false;
    for (const selection of selectionSet.selections) {
      for (const directive of selection.directives ?? []) {
        if (directive.name.value !== 'include' && directive.name.value !== 'skip') return false;
        for (const arg of directive.arguments ?? []) useAllVariables(arg.value);
      }
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        const type = fragment && schema.getType(fragment.typeCondition.name.value);
        if (!fragment || !type || !walk(fragment.selectionSet, type, instance, depth + 1)) return false;
        continue;
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parentType;
        if (!type || !walk(selection.selectionSet, type, instance, depth + 1)) return false;
        continue;
      }
      const name = selection.name.value;
      if (name === '__typename') continue;
      const allowed = ALLOWED_FIELDS[parentType.name];
      if (!allowed || (allowed !== '*' && !allowed.has(name))) return false;
      const field = parentType.getFields()[name];
      if (!field) return false;
      const isReport = REPORT_FIELDS[parentType.name]?.has(name) === true;
      for (const arg of selection.arguments ?? []) {
        if (isReport && ENDPOINT_ARGUMENTS.has(arg.name.value) && arg.value.kind === Kind.VARIABLE) endpointUses.add(arg.value.name.value);
        else useAllVariables(arg.value);
        if (isReport && ENDPOINT_ARGUMENTS.has(arg.name.value) && (arg.value.kind === Kind.INT || arg.value.kind === Kind.STRING) && arg.value.loc) {
          const known = endpointLiterals.get(arg.value.loc.start);
          if (known) known.fields.push(reportFields.length);
          else endpointLiterals.set(arg.value.loc.start, { fields: [reportFields.length], argument: arg.name.value, end: arg.value.loc.end });
        }
      }
      if (isReport) {
        // A report field under an instance must know which one: only `callCenterInstance(id:)` says it here.
        if (parentType.name === 'CallCenterInstance' && !instance) return false;
        reportFields.push({ field, node: selection, instance: parentType.name === 'CallCenterInstance' ? instance : undefined });
      }
      if (selection.selectionSet) {
        const childInstance = parentType.name === 'Query' && name === 'callCenterInstance' ? { field, node: selection } : instance;
        if (!walk(selection.selectionSet, getNamedType(field.type), childInstance, depth)) return false;
      }
    }
    return true;
  };
  if (!walk(operation.selectionSet, queryType, undefined, 0)) return undefined;
  if (reportFields.length === 0) return undefined;
  const endpointVariables = new Set([...endpointUses].filter((name) => !exactUses.has(name)));
  const recipe: AnswerKeyRecipe = { operationName, variableDefinitions: operation.variableDefinitions ?? [], endpointVariables, reportFields, literalSlots: 0 };
  return text === undefined ? recipe : withLiteralSlots(recipe, text, endpointLiterals);
}

/**
 * The recipe with the text's endpoint literals as synthetic variables, when every literal the scan
 * finds is one of the document's report-field endpoint literals (same offset, same end); else the
 * recipe as is (for the exact text).
 */
function withLiteralSlots(recipe: AnswerKeyRecipe, text: string, endpointLiterals: Map<number, EndpointLiteral>): AnswerKeyRecipe {
  const { literals } = normalizeEndpointLiterals(text);
  if (literals.length === 0) return recipe;
  const slots = literals.map(({ token, at }) => {
    const found = endpointLiterals.get(at);
    return found && found.end === at + token.length ? found : undefined;
  });
  if (slots.some((slot) => slot === undefined)) return recipe;
  const fields = [...recipe.reportFields];
  const definitions = [...recipe.variableDefinitions];
  slots.forEach((slot, i) => {
    const name = `#${i}`;
    for (const index of slot!.fields) {
      const { field, node, instance } = fields[index];
      const args = (node.arguments ?? []).map((arg) =>
        arg.name.value === slot!.argument ? { ...arg, value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: name } } } : arg,
      );
      fields[index] = { field, node: { ...node, arguments: args } as FieldNode, instance };
    }
    definitions.push({
      kind: Kind.VARIABLE_DEFINITION,
      variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: name } },
      type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'Timestamp' } },
    } as VariableDefinitionNode);
  });
  return { ...recipe, reportFields: fields, variableDefinitions: definitions, endpointVariables: recipe.endpointVariables, literalSlots: slots.length };
}

/**
 * The key of one request under a recipe, or undefined when it cannot be keyed (variables or
 * arguments that do not coerce, a field that would fail to plan: execution then reports it).
 */
export function resolveAnswerKey(
  schema: GraphQLSchema,
  recipe: AnswerKeyRecipe,
  request: { permissionKey: string; documentKey: string; variables: Record<string, unknown> | undefined; literals?: readonly string[] },
  fingerprint: PlanFingerprint,
): string | undefined {
  const raw = request.variables ?? {};
  let inputs = raw;
  if (recipe.literalSlots > 0) {
    if (request.literals?.length !== recipe.literalSlots) return undefined;
    inputs = { ...raw };
    request.literals.forEach((token, i) => (inputs[`#${i}`] = literalValue(token)));
  }
  const coerced = getVariableValues(schema, recipe.variableDefinitions, inputs, { maxErrors: 1 });
  if (coerced.errors) return undefined;
  const variables = coerced.coerced;
  // As [name, value] pairs, not an object: `exact["__proto__"] = value` would set a prototype
  // (dropped by JSON.stringify), and `$__proto__` is a variable name GraphQL allows.
  const exact = Object.entries(raw).filter(([name]) => !recipe.endpointVariables.has(name));
  const parts: string[] = [request.permissionKey, recipe.operationName ?? '', request.documentKey, exact.length === 0 ? '' : JSON.stringify(exact)];
  try {
    for (const { field, node, instance } of recipe.reportFields) {
      const args = getArgumentValues(field, node, variables) as Record<string, any>;
      let instanceIds: readonly string[];
      if (instance) {
        const id = (getArgumentValues(instance.field, instance.node, variables) as { id?: unknown }).id;
        if (typeof id !== 'string') return undefined;
        instanceIds = [id];
      } else if (node.name.value === 'combinedIntervalReport') {
        if (!Array.isArray(args.instanceIds)) return undefined;
        instanceIds = args.instanceIds;
      } else {
        if (typeof args.instanceId !== 'string') return undefined;
        instanceIds = [args.instanceId];
      }
      const summary = node.name.value === 'summary';
      parts.push(
        fingerprint({
          instanceIds,
          interval: summary ? 'TOTAL' : args.interval,
          startTime: args.startTime,
          endTime: args.endTime,
          timeZone: args.timeZone,
          emptyIntervals: summary ? 'ZERO' : args.emptyIntervals,
        }),
      );
    }
  } catch {
    return undefined;
  }
  return parts.join('\u0000');
}
