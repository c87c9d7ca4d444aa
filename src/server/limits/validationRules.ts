/**
 * Validation rules that bound an operation's shape before anything runs: nesting depth and the
 * number of aliases (1,000 aliases of one report field is one request asking for 1,000 reports).
 */
import { GraphQLError, Kind, type ASTVisitor, type FragmentDefinitionNode, type SelectionSetNode, type ValidationContext } from 'graphql';

const tooExpensive = (message: string) => new GraphQLError(message, { extensions: { code: 'OPERATION_TOO_EXPENSIVE' } });

export function maxDepthRule(maxDepth: number) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    // Each fragment's depth is computed once: re-walking a fragment at every spread is
    // exponential (a 1 kB chain of fragments spreading the next one twice would take seconds).
    const fragmentDepths = new Map<string, number>();
    const depthOf = (set: SelectionSetNode, seen: Set<string>): number => {
      let deepest = 0;
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          // Introspection (`__schema`, `__type`) is deep by nature and reads no data; it has its
          // own switch (EXPLORER).
          if (selection.name.value.startsWith('__')) continue;
          deepest = Math.max(deepest, selection.selectionSet ? 1 + depthOf(selection.selectionSet, seen) : 1);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          deepest = Math.max(deepest, depthOf(selection.selectionSet, seen));
        } else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          // Cycles are reported by graphql's own NoFragmentCycles rule; here they just stop.
          if (!fragment || seen.has(name)) continue;
          let depth = fragmentDepths.get(name);
          if (depth === undefined) {
            depth = depthOf(fragment.selectionSet, new Set(seen).add(name));
            fragmentDepths.set(name, depth);
          }
          deepest = Math.max(deepest, depth);
        }
      }
      return deepest;
    };
    return {
      OperationDefinition(node) {
        const depth = depthOf(node.selectionSet, new Set());
        if (depth > maxDepth) {
          context.reportError(tooExpensive(`The operation is nested ${depth} levels deep; at most ${maxDepth} are allowed.`));
        }
      },
    };
  };
}

export function maxAliasesRule(maxAliases: number) {
  return (context: ValidationContext): ASTVisitor => {
    let aliases = 0;
    return {
      Field(node) {
        if (node.alias) aliases++;
      },
      Document: {
        leave() {
          if (aliases > maxAliases) {
            context.reportError(tooExpensive(`The document uses ${aliases} aliases; at most ${maxAliases} are allowed.`));
          }
        },
      },
    };
  };
}
