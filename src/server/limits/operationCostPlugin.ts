/**
 * Rejects an operation whose report fields would read more upstream buckets than the budget,
 * before any of them runs (so before any upstream call).
 *
 * Cost = upstream buckets each report field reads (instances x buckets, planned exactly as
 * execution will plan them), summed over the operation. Under `_entities` the selection is priced
 * once per representation, each with its own instance (and so its own zone), and summed; so is
 * the selection under a field that lists entities (`Query.callCenterInstances`), once per entity
 * it will return: those are listed first (`EntityLists.load`, the listing execution then reuses),
 * and the operation is priced with them.
 * Fields whose arguments are invalid cost 0 here; execution rejects them with their own error.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import {
  getArgumentValues,
  getVariableValues,
  getNamedType,
  GraphQLError,
  isObjectType,
  Kind,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type SelectionSetNode,
} from 'graphql';

/** Cost of one execution of a report field, from its (coerced) arguments; undefined if not a report field. */
export type FieldCost = (parentType: string, fieldName: string, args: Record<string, unknown>, parentArgs?: Record<string, unknown>) => number | undefined;

/**
 * Which representations cost the same: a key shared by representations whose selections read the
 * same number of buckets (for call centers: their zone), or undefined for one that cannot be
 * priced (invalid, forbidden). Each class is priced once, so 5,000 representations of one zone
 * cost one walk, not 5,000.
 */
export type RepresentationClass = (representation: unknown) => string | undefined;

/**
 * Fields returning entities that are known only once listed (Query.callCenterInstances): their
 * selection costs what it costs under `_entities` with the listed entities as representations.
 */
export interface EntityLists {
  isList(parentType: string, fieldName: string): boolean;
  /** The representations the field will return for these arguments. */
  load(fieldName: string, args: Record<string, unknown>): Promise<readonly unknown[]>;
}

/**
 * Total cost of `_entities`: each representation at its class's price. One that cannot be priced
 * (it fails before reading anything, or it is forbidden) is charged as the costliest of the
 * others: adding it never makes an operation cheaper, and it cannot hide the others' cost.
 */
export function entitiesCost(representations: readonly unknown[], classOf: RepresentationClass, priceOf: (representation: unknown) => number): number {
  const classes = new Map<string, { count: number; price: number }>();
  let unpriced = 0;
  for (const representation of representations) {
    const key = classOf(representation);
    if (key === undefined) {
      unpriced++;
      continue;
    }
    const known = classes.get(key);
    if (known) known.count++;
    else classes.set(key, { count: 1, price: priceOf(representation) });
  }
  let total = 0;
  let costliest = 0;
  for (const { count, price } of classes.values()) {
    total += count * price;
    costliest = Math.max(costliest, price);
  }
  return total + unpriced * costliest;
}

export function operationCostPlugin<TContext>(options: {
  maxCost: number;
  fieldCost: (context: TContext) => FieldCost;
  /** Default: every representation is its own class (priced one by one). */
  representationClass?: (context: TContext) => RepresentationClass;
  entityLists?: (context: TContext) => EntityLists;
}): ApolloServerPlugin<TContext & object> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request, schema, contextValue }) {
          const fragments = new Map<string, FragmentDefinitionNode>();
          for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
          // Arguments are read as execution will see them: variables coerced by their types
          // (a Timestamp variable given as an ISO string becomes epoch milliseconds).
          const coerced = operation ? getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {}) : undefined;
          if (!coerced || 'errors' in coerced) return; // execution reports bad variables itself
          const variables = coerced.coerced;
          const cost = options.fieldCost(contextValue);
          let classOf: RepresentationClass;
          if (options.representationClass) classOf = options.representationClass(contextValue);
          else {
            let next = 0;
            classOf = () => String(next++);
          }
          const lists = options.entityLists?.(contextValue);
          /** Listed entities by field and arguments; a walk that meets one not yet listed asks for it. */
          const listed = new Map<string, readonly unknown[]>();
          const toList = new Map<string, () => Promise<readonly unknown[]>>();

          // Cost of one execution of a selection set. `visited`: fragments already spread into
          // this field's selection. Execution collects a fragment once per selection set however
          // often it is spread, and so does the cost (re-walking every spread would also be
          // exponential in a chain of fragments).
          const costOf = (set: SelectionSetNode, type: GraphQLObjectType | null, parentArgs?: Record<string, unknown>, visited: Set<string> = new Set()): number => {
            let sum = 0;
            for (const selection of set.selections) {
              if (selection.kind === Kind.INLINE_FRAGMENT) {
                const target = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type;
                if (target && isObjectType(target)) sum += costOf(selection.selectionSet, target, parentArgs, visited);
                continue;
              }
              if (selection.kind === Kind.FRAGMENT_SPREAD) {
                if (visited.has(selection.name.value)) continue;
                visited.add(selection.name.value);
                const fragment = fragments.get(selection.name.value);
                const target = fragment && schema.getType(fragment.typeCondition.name.value);
                if (fragment && target && isObjectType(target)) sum += costOf(fragment.selectionSet, target, parentArgs, visited);
                continue;
              }
              const field = type?.getFields()[selection.name.value];
              if (!field) continue;
              let args: Record<string, unknown> = {};
              try {
                args = getArgumentValues(field, selection, variables);
              } catch {
                continue; // invalid arguments fail at execution with their own message
              }
              // Abstract types (the `_Entity` union of `_entities`): only fragments name fields.
              const named = getNamedType(field.type);
              const childType = isObjectType(named) ? named : null;
              const children = selection.selectionSet;
              if (field.name === '_entities' && Array.isArray(args.representations)) {
                // The selection once per representation, that one as the parent: its own instance.
                if (children) sum += entitiesCost(args.representations, classOf, (r) => costOf(children, childType, { ...args, representations: [r] }));
                continue;
              }
              if (lists && type && lists.isList(type.name, field.name)) {
                const key = `${field.name}:${JSON.stringify(args)}`;
                const entities = listed.get(key);
                if (entities === undefined) toList.set(key, () => lists.load(field.name, args));
                else if (children) sum += entitiesCost(entities, classOf, (r) => costOf(children, childType, { representations: [r] }));
                continue;
              }
              try {
                sum += cost(type!.name, field.name, args, parentArgs) ?? 0;
              } catch {
                // Arguments that fail validation cost nothing here: execution rejects them with
                // their own error, before any upstream call.
              }
              if (children) sum += costOf(children, childType, args);
            }
            return sum;
          };
          const root = operation?.operation === 'query' ? schema.getQueryType() : operation?.operation === 'mutation' ? schema.getMutationType() : null;
          let total = operation && root ? costOf(operation.selectionSet, root) : 0;
          if (toList.size > 0 && operation && root) {
            // A listing that fails lists nothing here: execution answers that field with the
            // error, and nothing under it runs.
            await Promise.all([...toList].map(async ([key, load]) => listed.set(key, await load().catch(() => []))));
            total = costOf(operation.selectionSet, root);
          }
          if (total > options.maxCost) {
            throw new GraphQLError(
              `The operation would read ${total} upstream report buckets; at most ${options.maxCost} are allowed per operation. Narrow the ranges, use fewer instances or aliases, or a coarser interval.`,
              { extensions: { code: 'OPERATION_TOO_EXPENSIVE', cost: total, maxCost: options.maxCost, http: { status: 400 } } },
            );
          }
        },
      };
    },
  };
}
