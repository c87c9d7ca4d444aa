/**
 * Checks `_entities` representations when their variables are coerced, before anything runs.
 *
 * Federation's `_Any` scalar accepts any JSON. Left as it is, `[5]` or an unknown `__typename`
 * fails inside @apollo/subgraph's resolver with a plain Error (INTERNAL_SERVER_ERROR), and
 * `{ id: 5 }` or `{ id: {} }` reaches the reference resolver as a number or an object. A router
 * always sends objects with a known `__typename` and string key fields, so anything else is the
 * caller's mistake: BAD_USER_INPUT, HTTP 400, for the whole request.
 */
import { GraphQLError, isObjectType, valueFromASTUntyped, type GraphQLScalarType, type GraphQLSchema } from 'graphql';

/** Entity type name -> its key fields (each must be a string in a representation). */
export type EntityKeyFields = Record<string, readonly string[]>;

const badRepresentation = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });

export function checkRepresentation(value: unknown, keyFields: EntityKeyFields): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRepresentation('A representation must be an object such as {"__typename": "CallCenterInstance", "id": "ccc-test"}.');
  }
  const representation = value as Record<string, unknown>;
  const typename = representation.__typename;
  if (typeof typename !== 'string' || !Object.hasOwn(keyFields, typename)) {
    throw badRepresentation(`A representation's __typename must be one of ${Object.keys(keyFields).join(', ')}.`);
  }
  for (const field of keyFields[typename]) {
    if (typeof representation[field] !== 'string') {
      throw badRepresentation(`A ${typename} representation needs "${field}" as a string, not ${describe(representation[field])}.`);
    }
  }
  return representation;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value === 'undefined' ? 'missing' : `a ${typeof value}`;
}

/** Makes the schema's `_Any` scalar check every representation (values and literals alike). */
export function guardEntityRepresentations(schema: GraphQLSchema, keyFields: EntityKeyFields): void {
  for (const typename of Object.keys(keyFields)) {
    if (!isObjectType(schema.getType(typename))) throw new Error(`${typename} is not an object type of the schema`);
  }
  const any = schema.getType('_Any') as GraphQLScalarType | undefined;
  if (!any) throw new Error('the schema has no _Any scalar: not a federation subgraph');
  // Our subgraph schema has its own `_Any` instance (built from SDL), so this changes nothing
  // for other schemas in the process.
  any.parseValue = (value) => checkRepresentation(value, keyFields);
  any.parseLiteral = (node, variables) => checkRepresentation(valueFromASTUntyped(node, variables), keyFields);
}
