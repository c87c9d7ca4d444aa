/**
 * Rejects an operation whose report fields would read more upstream buckets than the budget,
 * before any of them runs (so before any upstream call).
 *
 * Cost = upstream buckets each report field reads (instances x buckets, planned exactly as
 * execution will plan them), times how often the field runs: the number of entity
 * representations under `_entities`, 1 elsewhere. Fields whose arguments are invalid cost 0
 * here; execution rejects them with their own error.
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

export function operationCostPlugin<TContext>(options: { maxCost: number; fieldCost: (context: TContext) => FieldCost }): ApolloServerPlugin<TContext & object> {
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
          let total = 0;

          // `visited`: fragments already spread into this field's selection. Execution collects a
          // fragment once per selection set however often it is spread, and so does the cost
          // (re-walking every spread would also be exponential in a chain of fragments).
          const walk = (
            set: SelectionSetNode,
            type: GraphQLObjectType | null,
            multiplier: number,
            parentArgs?: Record<string, unknown>,
            visited: Set<string> = new Set(),
          ) => {
            for (const selection of set.selections) {
              if (selection.kind === Kind.INLINE_FRAGMENT) {
                const target = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type;
                if (target && isObjectType(target)) walk(selection.selectionSet, target, multiplier, parentArgs, visited);
                continue;
              }
              if (selection.kind === Kind.FRAGMENT_SPREAD) {
                if (visited.has(selection.name.value)) continue;
                visited.add(selection.name.value);
                const fragment = fragments.get(selection.name.value);
                const target = fragment && schema.getType(fragment.typeCondition.name.value);
                if (fragment && target && isObjectType(target)) walk(fragment.selectionSet, target, multiplier, parentArgs, visited);
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
              let fieldMultiplier = multiplier;
              if (field.name === '_entities' && Array.isArray(args.representations)) fieldMultiplier *= args.representations.length;
              try {
                total += fieldMultiplier * (cost(type!.name, field.name, args, parentArgs) ?? 0);
              } catch {
                // Arguments that fail validation cost nothing here: execution rejects them with
                // their own error, before any upstream call.
              }
              // Abstract types (the `_Entity` union of `_entities`): only fragments name fields.
              const named = getNamedType(field.type);
              if (selection.selectionSet) walk(selection.selectionSet, isObjectType(named) ? named : null, fieldMultiplier, args);
            }
          };
          const root = operation?.operation === 'query' ? schema.getQueryType() : operation?.operation === 'mutation' ? schema.getMutationType() : null;
          if (operation && root) walk(operation.selectionSet, root, 1);
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
