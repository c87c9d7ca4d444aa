/**
 * The federation glue, in one place: type-graphql builds the schema, Apollo's subgraph library
 * turns it into a Federation 2 subgraph (adds `_service`, `_entities`, `_Any`, and the `@link`).
 */
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { parse, type GraphQLSchema } from 'graphql';
import { buildSchema, createResolversMap, type BuildSchemaOptions } from 'type-graphql';
import { CACHE_CONTROL_LINK, withCacheControlHints } from './cacheControlHints';

// Federation 2.4: the first version whose composition and routers (Apollo Router) accept subgraph subscriptions.
const FEDERATION_LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.4", import: ["@key", "@composeDirective"]) ${CACHE_CONTROL_LINK}`;

export async function buildFederatedSchema(
  {
    queryDescription,
    subscriptionDescription,
    ...options
  }: Omit<BuildSchemaOptions, 'skipCheck'> & {
    /** Description of the `Query` type, which type-graphql has no option for. */
    queryDescription?: string;
    /** Description of the `Subscription` type, likewise. */
    subscriptionDescription?: string;
  },
  /** `__resolveReference`s, and plain resolvers that replace type-graphql's for hot fields. */
  extraResolvers: GraphQLResolverMap<unknown>,
): Promise<GraphQLSchema> {
  const schema = await buildSchema({ ...options, skipCheck: true });
  if (queryDescription) schema.getQueryType()!.description = queryDescription;
  const subscriptionType = schema.getSubscriptionType();
  if (subscriptionDescription && subscriptionType) subscriptionType.description = subscriptionDescription;
  const resolvers = createResolversMap(schema) as GraphQLResolverMap<unknown>;
  for (const [typeName, extra] of Object.entries(extraResolvers)) {
    resolvers[typeName] = { ...(resolvers[typeName] as object), ...(extra as object) } as never;
  }
  return buildSubgraphSchema([
    { typeDefs: withCacheControlHints(parse(`${FEDERATION_LINK}\n${printSchemaWithDirectives(schema)}`)), resolvers },
  ]);
}
