/**
 * Report operations executed from a plan made once per operation instead of field by field
 * (GRAPHQL_EXECUTOR=planned, the default); every other operation, and every answer that is not
 * exactly a successful plain one, is graphql-js's own.
 *
 * Why: an executed report answer is thousands of buckets x up to 82 metric fields, and graphql-js
 * spends most of it on the walk itself: per field, an argument map (`getArgumentValues` even for
 * fields without arguments), a resolve info, a completion dispatch, and result objects without a
 * prototype, which V8 keeps as dictionaries (slower to build and to `JSON.stringify`). Here the
 * fields of each selection are collected once per operation (by graphql-js's own
 * `collectFields`/`collectSubfields`: `@include`/`@skip`, fragments, aliases and field merging
 * are its rules), and each bucket is read through that list: a property read or the field's own
 * resolver, the type's own `serialize`, an assignment.
 *
 * Exactly graphql-js's answer, by construction:
 *  - the plan serves only answers without any error. Anything else (a resolver that throws or
 *    rejects, a null in a non-null field, a value a scalar refuses, variables graphql-js
 *    refuses) is executed again by graphql-js with the same context: the operation's DataLoader
 *    already holds every range the first run read, or its rejection, so nothing is fetched
 *    twice, and the errors, their paths and the partial data are graphql-js's own. The
 *    operation's count of open buckets, the one figure resolvers add to, is put back first;
 *  - only queries whose root selects nothing but report fields (`intervalInstanceReport`,
 *    `combinedIntervalReport`, `__typename`) are planned. Federation (`_entities`, `_service`),
 *    instances, the archive, introspection and everything else run on graphql-js unchanged;
 *  - what the plan does not do the way graphql-js would (an object type with `isTypeOf`, an
 *    abstract type, a resolver below the root returning a promise, a source property that is a
 *    method, a list that is not an array) sends the document to graphql-js, and it stays there;
 *  - an operation where a plugin listens to every field (Apollo marks the context with a symbol
 *    and wraps the resolvers, e.g. the inline trace a federation router asks for) runs on
 *    graphql-js, which calls those hooks.
 *
 * Apollo Server's pipeline is unchanged around it (parse, validation, document limits, cost,
 * error formatting, HTTP caching, the response cache): the executor replaces only the call to
 * graphql-js's `execute`, through Apollo's gateway interface (`load` gives the schema and an
 * executor). Nothing is compiled and nothing is kept per document but one verdict (planned or
 * graphql-js) in a bounded LRU: a plan lives for one operation.
 */
import type { GatewayExecutor, GatewayGraphQLRequestContext, GatewayInterface } from '@apollo/server-gateway-interface';
import {
  execute,
  getArgumentValues,
  getVariableValues,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLLeafType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
// graphql-js's own field collection (16.x, internal module of the pinned version): the planned
// answer must select exactly what graphql-js would.
import { collectFields, collectSubfields } from 'graphql/execution/collectFields';
import type { Path } from 'graphql/jsutils/Path';
import { LRUCache } from 'lru-cache';

/** Root fields a planned operation may select (the report types). */
export const PLANNED_ROOT_FIELDS: ReadonlySet<string> = new Set(['intervalInstanceReport', 'combinedIntervalReport', '__typename']);

/** Verdicts kept (documents x operation names); a verdict is one small entry. */
const VERDICTS = 1_000;

/** Why an operation ran on graphql-js. */
export type GraphqlJsReason = 'not-planned' | 'field-hooks' | 'variables' | 'answer-had-errors' | 'not-plannable';

export interface PlannedExecutionOptions {
  /**
   * The operation's count of open buckets, which resolvers add to: read before a planned run and
   * put back before a graphql-js re-run, so the re-run does not count them twice.
   */
  openBuckets?: { read(context: unknown): number | undefined; restore(context: unknown, value: number): void };
}

/** Operations executed by each path since the start (tests, benchmarks). */
export interface ExecutionCounts {
  planned: number;
  graphqlJs: Record<GraphqlJsReason, number>;
}

type Result = ExecutionResult<Record<string, unknown>>;

/** The planned answer would not be graphql-js's: an error somewhere (run graphql-js for it). */
const HAD_ERRORS = Symbol('answer had errors');
/** The plan cannot do what graphql-js would for this document: graphql-js, now and later. */
const NOT_PLANNABLE = Symbol('not plannable');

/** One selected field of an object type, as the plan reads it. */
interface FieldPlan {
  key: string;
  fieldName: string;
  fieldNodes: readonly FieldNode[];
  /** Undefined for `__typename`. */
  def: GraphQLField<unknown, unknown> | undefined;
  type: GraphQLOutputType;
  /** A leaf (possibly non-null): serialized inline, the hot case. */
  leaf: GraphQLLeafType | undefined;
  nonNull: boolean;
}

interface ObjectPlan {
  type: GraphQLObjectType;
  fields: FieldPlan[];
  /** Reads one source object into its answer object (see completeObject). */
  build: Builder;
}

/** One operation's execution state (what graphql-js calls its execution context). */
interface Run {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  operation: OperationDefinitionNode;
  variableValues: Record<string, unknown>;
  context: unknown;
  plans: Map<GraphQLObjectType, Map<readonly FieldNode[], ObjectPlan>>;
  /**
   * Plans of one field node, kept with the document (Apollo keeps a parsed document per query
   * text) when the operation has no variables: then `@include`/`@skip` and arguments are the
   * same every time, so is what collectSubfields gives.
   */
  kept: Map<GraphQLObjectType, Map<FieldNode, ObjectPlan>> | undefined;
}

/** See Run.kept: per document, gone with it. */
const keptPlans = new WeakMap<DocumentNode, Map<GraphQLObjectType, Map<FieldNode, ObjectPlan>>>();

function keptPlansOf(document: DocumentNode, operation: OperationDefinitionNode): Run['kept'] {
  if (operation.variableDefinitions?.length) return undefined;
  let kept = keptPlans.get(document);
  if (!kept) keptPlans.set(document, (kept = new Map()));
  return kept;
}

export class PlannedExecutor {
  /** Per document and operation name: planned (true) or graphql-js (false). */
  private readonly verdicts = new LRUCache<string, boolean>({ max: VERDICTS });
  readonly counts: ExecutionCounts = {
    planned: 0,
    graphqlJs: { 'not-planned': 0, 'field-hooks': 0, variables: 0, 'answer-had-errors': 0, 'not-plannable': 0 },
  };

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly options: PlannedExecutionOptions = {},
  ) {}

  readonly execute: GatewayExecutor = async (requestContext) => {
    const { operation, context } = requestContext;
    // No operation by that name (or none named in a document with several): graphql-js words it.
    if (!operation) return this.graphqlJs(requestContext, 'not-planned');
    const key = `${requestContext.queryHash}:${requestContext.operationName ?? ''}`;
    let planned = this.verdicts.get(key);
    if (planned === undefined) {
      planned = isPlannedOperation(operation, requestContext.document);
      this.verdicts.set(key, planned);
    }
    if (!planned) return this.graphqlJs(requestContext, 'not-planned');
    if (hasFieldHooks(context)) return this.graphqlJs(requestContext, 'field-hooks');
    const coerced = getVariableValues(this.schema, operation.variableDefinitions ?? [], requestContext.request.variables ?? {});
    if (coerced.errors) return this.graphqlJs(requestContext, 'variables');

    const openBefore = this.options.openBuckets?.read(context);
    try {
      const data = await executePlanned({
        schema: this.schema,
        fragments: fragmentsOf(requestContext.document),
        operation,
        variableValues: coerced.coerced,
        context,
        plans: new Map(),
        kept: keptPlansOf(requestContext.document, operation),
      });
      this.counts.planned++;
      return { data };
    } catch (reason) {
      if (reason === NOT_PLANNABLE) this.verdicts.set(key, false);
      // Anything else thrown (a resolver's error, a scalar refusing a value, HAD_ERRORS) is an
      // answer with errors: graphql-js's own, from the same context.
      if (openBefore !== undefined) this.options.openBuckets!.restore(context, openBefore);
      return this.graphqlJs(requestContext, reason === NOT_PLANNABLE ? 'not-plannable' : 'answer-had-errors');
    }
  };

  /** What Apollo Server's own execution does for a document without @defer (graphql 16). */
  private async graphqlJs(requestContext: GatewayGraphQLRequestContext, reason: GraphqlJsReason): Promise<Result> {
    this.counts.graphqlJs[reason]++;
    return (await execute({
      schema: this.schema,
      document: requestContext.document,
      contextValue: requestContext.context,
      variableValues: requestContext.request.variables,
      operationName: requestContext.request.operationName,
    })) as Result;
  }
}

/** A query whose root selects only report fields, through fragments too (whatever the variables). */
export function isPlannedOperation(operation: OperationDefinitionNode, document: DocumentNode): boolean {
  if (operation.operation !== 'query') return false;
  const fragments = fragmentsOf(document);
  const visited = new Set<string>();
  const rootOnlyReports = (selectionSet: SelectionSetNode): boolean =>
    selectionSet.selections.every((selection) => {
      if (selection.kind === Kind.FIELD) return PLANNED_ROOT_FIELDS.has(selection.name.value);
      if (selection.kind === Kind.INLINE_FRAGMENT) return rootOnlyReports(selection.selectionSet);
      if (visited.has(selection.name.value)) return true;
      visited.add(selection.name.value);
      const fragment = fragments[selection.name.value];
      return fragment !== undefined && rootOnlyReports(fragment.selectionSet);
    });
  return rootOnlyReports(operation.selectionSet);
}

function fragmentsOf(document: DocumentNode): Record<string, FragmentDefinitionNode> {
  const fragments: Record<string, FragmentDefinitionNode> = Object.create(null);
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  return fragments;
}

/**
 * Apollo Server, when a plugin returns `willResolveField` for this operation, defines a symbol on
 * the context (its per-field dispatcher) and wraps the schema's resolvers to call it. Our context
 * has no symbol keys of its own, so any symbol means a plugin wants every field: graphql-js.
 */
function hasFieldHooks(context: unknown): boolean {
  return typeof context === 'object' && context !== null && Object.getOwnPropertySymbols(context).length > 0;
}

async function executePlanned(run: Run): Promise<Record<string, unknown>> {
  const rootType = run.schema.getQueryType()!;
  const rootFields = collectFields(run.schema, run.fragments, run.variableValues, rootType, run.operation.selectionSet);
  const keys: string[] = [];
  const values: unknown[] = [];
  const fields: (FieldPlan | undefined)[] = [];
  const pending: Promise<unknown>[] = [];
  try {
    for (const [key, fieldNodes] of rootFields) {
      const plan = fieldPlan(rootType, key, fieldNodes);
      keys.push(key);
      fields.push(plan);
      if (!plan) continue; // graphql-js skips a field it does not know (validation refuses it first)
      if (!plan.def) {
        values.push(rootType.name);
        continue;
      }
      const path: Path = { prev: undefined, key, typename: rootType.name };
      const value = resolveField(run, plan, rootType, undefined, path);
      if (isPromiseLike(value)) pending.push(value as Promise<unknown>);
      values.push(value);
    }
  } catch (error) {
    // Resolvers already started settle on their own; nobody waits, nothing is left unhandled.
    void Promise.allSettled(pending);
    throw error;
  }
  const resolved = pending.length ? await Promise.all(values) : values;
  const data: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    const plan = fields[i];
    if (!plan) continue;
    data[keys[i]] = plan.def ? completeValue(run, plan.type, plan.fieldNodes, resolved[i], { prev: undefined, key: keys[i], typename: rootType.name }) : resolved[i];
  }
  return data;
}

function fieldPlan(parentType: GraphQLObjectType, key: string, fieldNodes: readonly FieldNode[]): FieldPlan | undefined {
  // An alias `__proto__` is an ordinary key in graphql-js's prototype-less result objects, and
  // would set the prototype of ours.
  if (key === '__proto__') throw NOT_PLANNABLE;
  const fieldName = fieldNodes[0].name.value;
  if (fieldName === '__typename') return { key, fieldName, fieldNodes, def: undefined, type: parentType, leaf: undefined, nonNull: true };
  if (fieldName === '__schema' || fieldName === '__type') throw NOT_PLANNABLE;
  const def = parentType.getFields()[fieldName];
  if (!def) return undefined;
  const nonNull = isNonNullType(def.type);
  const named = nonNull ? (def.type as { ofType: GraphQLOutputType }).ofType : def.type;
  return { key, fieldName, fieldNodes, def, type: def.type, leaf: isLeafType(named) ? named : undefined, nonNull };
}

function objectPlan(run: Run, type: GraphQLObjectType, fieldNodes: readonly FieldNode[]): ObjectPlan {
  if (run.kept && fieldNodes.length === 1) {
    let byNode = run.kept.get(type);
    if (!byNode) run.kept.set(type, (byNode = new Map()));
    let plan = byNode.get(fieldNodes[0]);
    if (!plan) byNode.set(fieldNodes[0], (plan = planObject(run, type, fieldNodes)));
    return plan;
  }
  let byNodes = run.plans.get(type);
  if (!byNodes) run.plans.set(type, (byNodes = new Map()));
  let plan = byNodes.get(fieldNodes);
  if (!plan) byNodes.set(fieldNodes, (plan = planObject(run, type, fieldNodes)));
  return plan;
}

function planObject(run: Run, type: GraphQLObjectType, fieldNodes: readonly FieldNode[]): ObjectPlan {
  // graphql-js would ask isTypeOf (possibly asynchronously) before completing the object.
  if (type.isTypeOf) throw NOT_PLANNABLE;
  const fields: FieldPlan[] = [];
  for (const [key, nodes] of collectSubfields(run.schema, run.fragments, run.variableValues, type, fieldNodes)) {
    const field = fieldPlan(type, key, nodes);
    if (field) fields.push(field);
  }
  return { type, fields, build: builderFor(fields) };
}

function resolveField(run: Run, field: FieldPlan, parentType: GraphQLObjectType, source: unknown, path: Path): unknown {
  const def = field.def!;
  const args = def.args.length === 0 ? {} : getArgumentValues(def, field.fieldNodes[0], run.variableValues);
  const info: GraphQLResolveInfo = {
    fieldName: def.name,
    fieldNodes: field.fieldNodes,
    returnType: def.type,
    parentType,
    path,
    schema: run.schema,
    fragments: run.fragments,
    rootValue: undefined,
    operation: run.operation,
    variableValues: run.variableValues,
  };
  if (def.resolve) return def.resolve(source, args, run.context, info);
  // graphql-js's defaultFieldResolver would call a method: not done here.
  const value = (source as Record<string, unknown>)[field.fieldName];
  if (typeof value === 'function') throw NOT_PLANNABLE;
  return value;
}

function completeValue(run: Run, type: GraphQLOutputType, fieldNodes: readonly FieldNode[], value: unknown, path: Path): unknown {
  if (value instanceof Error) throw HAD_ERRORS;
  if (isNonNullType(type)) {
    const completed = completeValue(run, type.ofType, fieldNodes, value, path);
    if (completed === null) throw HAD_ERRORS;
    return completed;
  }
  if (value === null || value === undefined) return null;
  if (isListType(type)) {
    if (!Array.isArray(value)) throw NOT_PLANNABLE;
    const items = new Array(value.length);
    for (let i = 0; i < value.length; i++) items[i] = completeValue(run, type.ofType, fieldNodes, value[i], { prev: path, key: i, typename: undefined });
    return items;
  }
  if (isLeafType(type)) return serializeLeaf(type, value);
  if (isObjectType(type)) {
    if (typeof value !== 'object') throw NOT_PLANNABLE;
    return completeObject(run, objectPlan(run, type, fieldNodes), value as Record<string, unknown>, path);
  }
  throw NOT_PLANNABLE; // interfaces and unions: graphql-js resolves the runtime type
}

function serializeLeaf(type: GraphQLLeafType, value: unknown): unknown {
  if (typeof value === 'object' && value instanceof Error) throw HAD_ERRORS;
  const serialized = type.serialize(value); // a refusal throws: graphql-js reports it
  if (serialized === null || serialized === undefined) throw HAD_ERRORS;
  return serialized;
}

/**
 * One object (a bucket, a metric group): the hot path. Its fields are read by a small function
 * made for the selection's shape (response keys, field names, kinds): one object literal, each
 * leaf a named property read and the type's own `serialize`, so V8 builds every answer object
 * with one hidden class and reads each metric through a monomorphic access, which a loop over
 * `source[name]` with keys assigned one by one does not get. Shapes are few (one per selection
 * of an object type); the functions are kept in a bounded LRU.
 */
function completeObject(run: Run, plan: ObjectPlan, source: Record<string, unknown>, path: Path): Record<string, unknown> {
  return plan.build(source, path, run, plan, HELPERS);
}

type Builder = (source: Record<string, unknown>, path: Path, run: Run, plan: ObjectPlan, helpers: typeof HELPERS) => Record<string, unknown>;

/** Shapes kept compiled (one per selection shape of an object type; a builder is a few KB). */
const BUILDERS = 500;
const builders = new LRUCache<string, Builder>({ max: BUILDERS });

type FieldKind = 'typename' | 'leaf' | 'nonNullLeaf' | 'other';

function kindOf(field: FieldPlan): FieldKind {
  if (field.def === undefined) return 'typename';
  if (field.leaf !== undefined && field.def.resolve === undefined) return field.nonNull ? 'nonNullLeaf' : 'leaf';
  return 'other';
}

function builderFor(fields: readonly FieldPlan[]): Builder {
  // Keys and names are GraphQL names: no `:` or `,` in them, so this spelling is unambiguous.
  const shape = fields.map((field) => `${field.key}:${field.fieldName}:${kindOf(field)}`).join(',');
  let build = builders.get(shape);
  if (!build) {
    // Keys and names are GraphQL names (the parser's /[_A-Za-z][_0-9A-Za-z]*/), written as JSON
    // string literals all the same; `__proto__` never gets here (fieldPlan).
    const properties = fields.map((field, i) => {
      const key = JSON.stringify(field.key);
      const name = JSON.stringify(field.fieldName);
      switch (kindOf(field)) {
        case 'typename':
          return `${key}: plan.type.name`;
        case 'leaf':
          return `${key}: helpers.leaf(source[${name}], plan.fields[${i}].leaf, false)`;
        case 'nonNullLeaf':
          return `${key}: helpers.leaf(source[${name}], plan.fields[${i}].leaf, true)`;
        default:
          return `${key}: helpers.other(run, plan, ${i}, source, path)`;
      }
    });
    build = new Function('source', 'path', 'run', 'plan', 'helpers', `"use strict";\nreturn {\n${properties.join(',\n')}\n};`) as Builder;
    builders.set(shape, build);
  }
  return build;
}

/** A leaf read off its source as graphql-js's default resolver and completion would. */
function leaf(value: unknown, type: GraphQLLeafType, nonNull: boolean): unknown {
  if (value === null || value === undefined) {
    if (nonNull) throw HAD_ERRORS;
    return null;
  }
  // graphql-js's defaultFieldResolver would call a method: not done here.
  if (typeof value === 'function') throw NOT_PLANNABLE;
  return serializeLeaf(type, value);
}

/** Any other field: `__typename` aside, a resolver or an object, a list, a leaf with a resolver. */
function other(run: Run, plan: ObjectPlan, index: number, source: Record<string, unknown>, path: Path): unknown {
  const field = plan.fields[index];
  let value: unknown;
  if (field.def!.resolve === undefined) {
    value = source[field.fieldName];
    if (typeof value === 'function') throw NOT_PLANNABLE;
  } else {
    value = resolveField(run, field, plan.type, source, { prev: path, key: field.key, typename: plan.type.name });
    if (isPromiseLike(value)) {
      void Promise.resolve(value).catch(() => undefined);
      throw NOT_PLANNABLE; // below the root, graphql-js would wait: left to it
    }
  }
  return completeValue(run, field.type, field.fieldNodes, value, { prev: path, key: field.key, typename: plan.type.name });
}

const HELPERS = { leaf, other };

function isPromiseLike(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * The schema and the executor for `new ApolloServer({ gateway })`: Apollo's gateway interface,
 * here without any routing, only execution.
 */
export function plannedExecutionGateway(schema: GraphQLSchema, executor: PlannedExecutor): GatewayInterface {
  return {
    onSchemaLoadOrUpdate(callback) {
      // The schema never changes; Apollo reads it before `load` resolves. A subgraph has no
      // supergraph SDL: an empty one, which no plugin of ours reads.
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => undefined;
    },
    async load() {
      return { executor: executor.execute };
    },
    async stop() {},
  };
}
