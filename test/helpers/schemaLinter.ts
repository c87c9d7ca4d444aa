/**
 * The schema linter `npm test` runs (test/graphql/schemaLint.test.ts): graphql-schema-linter's
 * description and naming rules over the committed subgraph SDL, run in-process through its
 * programmatic API, so `npm test` stays the one command and a failure names the type or field.
 *
 * The subgraph SDL applies `@link`, `@key` and `@composeDirective` without defining them (a router
 * knows them), and the linter builds a schema, so it would fail on unknown directives. The
 * definitions are taken from what @apollo/subgraph itself adds to the SDL and appended as a second
 * source file; whatever the linter reports in that file is federation's (`_Service`, `_Any`,
 * `link__*`, `federation__*`), not ours, and is left out. Excluding by origin rather than by a list
 * of names keeps working when a federation version adds definitions.
 */
import { buildSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { GraphQLError, Kind, parse, print, type ASTVisitor, type DefinitionNode, type ValidationContext } from 'graphql';
import { Configuration } from 'graphql-schema-linter/lib/configuration';
import { Schema } from 'graphql-schema-linter/lib/schema';
import { SourceMap } from 'graphql-schema-linter/lib/source_map';
import { validateSchemaDefinition } from 'graphql-schema-linter/lib/validator';

/** The rules run, by graphql-schema-linter's names (plus the custom rules below). */
export const SCHEMA_LINT_RULES = [
  // Descriptions: every type, field, argument, enum value and input field says what it is.
  'types-have-descriptions',
  'fields-have-descriptions',
  'arguments-have-descriptions',
  'enum-values-have-descriptions',
  'input-object-values-have-descriptions',
  'descriptions-are-capitalized',
  'deprecations-have-a-reason',
  // Naming: types PascalCase (custom rule, the built-in only checks the first letter), fields
  // camelCase, arguments and input fields camelCase, enum values UPPER_CASE.
  'types-are-capitalized',
  'fields-are-camel-cased',
  'input-object-values-are-camel-cased',
  'enum-values-all-caps',
  'defined-types-are-used',
] as const;
// Left out on purpose: the `*-sorted-alphabetically` rules (fields are in reading order: id,
// interval, statsTime, ...) and the Relay connection rules (the API has no connections).

const PASCAL_CASE = /^[A-Z][A-Za-z0-9]*$/;

/** Every named type (scalars, enums, unions and inputs too, not only objects) is PascalCase. */
function TypesArePascalCased(context: ValidationContext): ASTVisitor {
  const check = (node: { name: { value: string } } & DefinitionNode) => {
    if (!PASCAL_CASE.test(node.name.value)) {
      context.reportError(lintError('types-are-pascal-cased', `The type \`${node.name.value}\` is not PascalCase.`, node));
    }
  };
  return {
    ScalarTypeDefinition: check,
    ObjectTypeDefinition: check,
    InterfaceTypeDefinition: check,
    UnionTypeDefinition: check,
    EnumTypeDefinition: check,
    InputObjectTypeDefinition: check,
  };
}

function lintError(ruleName: string, message: string, node: DefinitionNode): GraphQLError {
  return Object.assign(new GraphQLError(message, { nodes: [node] }), { ruleName });
}

const CUSTOM_RULES = [TypesArePascalCased];

export interface SchemaLintProblem {
  rule: string;
  message: string;
  /** Line in the linted SDL (1-based). */
  line: number;
}

const SDL_FILE = 'schema.graphql';
const FEDERATION_FILE = 'federation-definitions.graphql';

/** Definitions @apollo/subgraph adds to `sdl` (directives and types it does not define itself). */
function federationDefinitions(sdl: string): string {
  const ownNames = new Set(
    parse(sdl).definitions.flatMap((d) => ('name' in d && d.name ? [d.name.value] : [])),
  );
  const full = parse(printSchemaWithDirectives(buildSubgraphSchema([{ typeDefs: parse(sdl) }])));
  const added = full.definitions.filter(
    (d) => d.kind !== Kind.SCHEMA_DEFINITION && d.kind !== Kind.SCHEMA_EXTENSION && 'name' in d && d.name && !ownNames.has(d.name.value),
  );
  return added.map((d) => print(d)).join('\n\n');
}

/** Lints a subgraph SDL; returns the problems in `sdl` itself (federation's are left out). */
export function lintSubgraphSchema(sdl: string): SchemaLintProblem[] {
  // The linter's SourceMap joins its files with '\n' and maps each line back to its file.
  const sourceMap = new SourceMap({ [SDL_FILE]: sdl.trimEnd(), [FEDERATION_FILE]: federationDefinitions(sdl) });
  const schema = new Schema(sourceMap.getCombinedSource(), sourceMap);
  const configuration = new Configuration(schema, { rules: [...SCHEMA_LINT_RULES] });
  const unknown = configuration.validate();
  if (unknown.length > 0) throw new Error(`schema linter configuration: ${unknown.map((i) => i.message).join('; ')}`);
  const rules = [...configuration.getRules(), ...CUSTOM_RULES];
  if (rules.length !== SCHEMA_LINT_RULES.length + CUSTOM_RULES.length) {
    throw new Error(`schema linter: expected ${SCHEMA_LINT_RULES.length} built-in rules, found ${rules.length - CUSTOM_RULES.length}`);
  }
  const errors = validateSchemaDefinition(schema, rules, configuration);
  return errors
    .map((error) => ({ rule: error.ruleName ?? 'graphql', message: error.message, line: error.locations?.[0]?.line ?? 0 }))
    .filter((problem) => sourceMap.getOriginalPathForLine(problem.line) !== FEDERATION_FILE);
}
