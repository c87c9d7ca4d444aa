/**
 * The schema linter (graphql-schema-linter, see test/helpers/schemaLinter.ts) over the committed
 * subgraph SDL: every type, field, argument, enum value and input field has a description, and
 * names follow GraphQL's conventions. Federation's own definitions are not ours and not linted.
 */
import { readFileSync } from 'node:fs';
import { SCHEMA_FILE } from '../../src/graphql/printSchema';
import { lintSubgraphSchema } from '../helpers/schemaLinter';

const FEDERATED = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\n';

/** A small subgraph that passes every rule; the cases below break one thing each. */
const CLEAN = `${FEDERATED}
"""Root of all queries."""
type Query {
  """A thing by id."""
  thing(
    """Its id."""
    id: ID!
  ): Thing
}

"""A thing."""
type Thing @key(fields: "id") {
  """Its id."""
  id: ID!
  """Its colour."""
  colour: Colour
}

"""A colour."""
enum Colour {
  """Red."""
  DARK_RED
}
`;

describe('schema linter', () => {
  it('finds nothing in the committed subgraph SDL (npm run schema writes it)', () => {
    const problems = lintSubgraphSchema(readFileSync(SCHEMA_FILE, 'utf8'));
    expect(problems.map((p) => `${p.rule}: ${p.message} (line ${p.line})`)).toEqual([]);
  });

  it('passes a clean fixture, federation definitions included (they are not linted)', () => {
    expect(lintSubgraphSchema(CLEAN)).toEqual([]);
  });

  it.each([
    ['a field without a description', CLEAN.replace('"""Its colour."""\n', ''), 'fields-have-descriptions', 'Thing.colour'],
    ['an argument without a description', CLEAN.replace('"""Its id."""\n    id: ID!', 'id: ID!'), 'arguments-have-descriptions', '`id` argument of `thing`'],
    ['a type without a description', CLEAN.replace('"""A thing."""\n', ''), 'types-have-descriptions', 'Thing'],
    ['the Query type without a description', CLEAN.replace('"""Root of all queries."""\n', ''), 'types-have-descriptions', 'Query'],
    ['an enum value without a description', CLEAN.replace('"""Red."""\n', ''), 'enum-values-have-descriptions', 'Colour.DARK_RED'],
    ['an input field without a description', `${CLEAN}\n"""Filter."""\ninput ThingFilter { colour: Colour }\n"""Uses it."""\ntype Extra { """Filtered."""\nthings("""Filter."""\nfilter: ThingFilter): [Thing] }\n`, 'input-object-values-have-descriptions', 'ThingFilter.colour'],
    ['a snake_case field', CLEAN.replace('colour: Colour', 'the_colour: Colour'), 'fields-are-camel-cased', 'Thing.the_colour'],
    ['a snake_case argument', CLEAN.replace('id: ID!\n  ): Thing', 'thing_id: ID!\n  ): Thing'), 'input-object-values-are-camel-cased', 'thing_id'],
    ['a lower-case enum value', CLEAN.replace('DARK_RED', 'darkRed'), 'enum-values-all-caps', 'Colour.darkRed'],
    ['a type not in PascalCase', CLEAN.replace(/Colour/g, 'Colour_Name'), 'types-are-pascal-cased', 'Colour_Name'],
  ])('reports %s', (_, sdl, rule, subject) => {
    const problems = lintSubgraphSchema(sdl);
    expect(problems).toEqual(expect.arrayContaining([expect.objectContaining({ rule, message: expect.stringContaining(subject) })]));
  });

  it('reports a problem at its line in the linted SDL', () => {
    const sdl = CLEAN.replace('"""Its colour."""\n', '');
    const [problem] = lintSubgraphSchema(sdl);
    expect(sdl.split('\n')[problem.line - 1]).toContain('colour: Colour');
  });
});
