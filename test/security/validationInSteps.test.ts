/**
 * Large documents are validated in steps, a slice of the rules each, with the event loop free
 * between them (src/server/limits/validationInSteps.ts). The answer must be graphql-js's own:
 * the same errors, in the same order, cut at the same place.
 */
import { buildSchema, parse, specifiedRules, validate, type DocumentNode, type GraphQLError, type GraphQLSchema } from 'graphql';
import { loadConfig } from '../../src/config/config';
import { buildGatewaySchema } from '../../src/graphql/schema';
import { documentLimitErrors } from '../../src/server/limits/documentLimits';
import { validateInSteps } from '../../src/server/limits/validationInSteps';
import { hostileDocuments } from '../helpers/hostileDocuments';

const shape = (errors: readonly GraphQLError[]) => errors.map((e) => ({ message: e.message, locations: e.locations }));

async function expectSameAsValidate(schema: GraphQLSchema, document: DocumentNode, maxErrors = 10) {
  const expected = shape(validate(schema, document, specifiedRules, { maxErrors }));
  for (const steps of [1, 2, 4, 7, specifiedRules.length]) {
    let pauses = 0;
    const errors = await validateInSteps(schema, document, specifiedRules, { maxErrors, steps, between: async () => void pauses++ });
    expect({ steps, errors: shape(errors) }).toEqual({ steps, errors: expected });
    // A pause before each slice of the rules (and one more when the single pass has to decide).
    expect(pauses).toBeGreaterThanOrEqual(Math.ceil(specifiedRules.length / Math.ceil(specifiedRules.length / steps)));
  }
  return expected;
}

describe('validation in steps gives graphql-js validate’s answer', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await buildGatewaySchema();
  });

  it('for every hostile document the limits let through to validation', async () => {
    const limits = loadConfig({}).operationLimits;
    let compared = 0;
    for (const hostile of hostileDocuments()) {
      if (documentLimitErrors(schema, hostile.query, limits).length > 0) continue; // refused before validation
      let document: DocumentNode;
      try {
        document = parse(hostile.query);
      } catch {
        continue; // a syntax error never reaches validation
      }
      await expectSameAsValidate(schema, document);
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(3);
  });

  it('with errors from several rules at one node, in the pass’s order, and cut at maxErrors', async () => {
    // Unknown fields, unknown and wrong arguments, a missing sub-selection, an unused variable and
    // fragment, a duplicate operation name: several rules report at the same nodes.
    const query = `query Q($unused: Int, $id: ID!) {
      nope1 nope2(a: 1)
      intervalInstanceReport(instanceId: 5, interval: YEARLY, bogus: true) { inbound statTime closed(x: 1) }
      callCenterInstance { id ...Missing }
      ...Unused
    }
    query Q { __typename @skip(if: true) @skip(if: false) }
    fragment Unused on Query { nope3 }
    fragment Never on NoSuchType { id }`;
    const document = parse(query);
    const all = await expectSameAsValidate(schema, document, 100);
    expect(all.length).toBeGreaterThan(12);
    const cut = await expectSameAsValidate(schema, document, 10);
    expect(cut).toHaveLength(11);
    expect(cut[10].message).toMatch(/Too many validation errors/);
    await expectSameAsValidate(schema, document, 3);
  });

  it('a valid document: no errors', async () => {
    const document = parse('query Q($id: ID!) { callCenterInstance(id: $id) { id summary { statsTime inbound { callsOffered } } } }');
    expect(await expectSameAsValidate(schema, document)).toEqual([]);
  });

  it('stops where the single pass would when the shared fragment-work budget runs out', async () => {
    // 250 operations, each spreading a different link of one chain of 250 fragments: each
    // operation's fragments and variable usages are collected anew, over graphql-js's budget of
    // 50,000 units of fragment work.
    const small = buildSchema('type Query { a: Int }');
    const fragments = Array.from({ length: 250 }, (_, i) => `fragment F${i} on Query { a ${i < 249 ? `...F${i + 1}` : ''} }`).join('\n');
    const operations = Array.from({ length: 250 }, (_, i) => `query O${i} { ...F${i} }`).join('\n');
    const expected = await expectSameAsValidate(small, parse(`${operations}\n${fragments}`));
    expect(expected.at(-1)?.message).toBe('Validation aborted.');
  });
});
