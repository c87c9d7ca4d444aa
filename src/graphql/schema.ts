import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { assertInstanceId } from '../reports/InstanceReports';
import { bucketIdentityResolvers } from './bucketResolvers';
import { guardEntityRepresentations } from './entityRepresentations';
import { buildFederatedSchema } from './federation';
import { ArchiveResolver } from './resolvers/ArchiveResolver';
import { CallCenterInstanceResolver } from './resolvers/CallCenterInstanceResolver';
import { IntervalReportResolver } from './resolvers/IntervalReportResolver';
import { LiveReportResolver } from './resolvers/LiveReportResolver';
import { CallCenterInstance } from './types/CallCenterInstance';

let built: Promise<GraphQLSchema> | undefined;

const UNUSED_PUBSUB = {
  publish(): void {
    throw new Error('no subscription uses type-graphql topics');
  },
  subscribe(): AsyncIterable<unknown> {
    throw new Error('no subscription uses type-graphql topics');
  },
};

/** The gateway's subgraph schema. Built once per process: type-graphql metadata is global. */
export function buildGatewaySchema(): Promise<GraphQLSchema> {
  built ??= buildFederatedSchema(
    {
      resolvers: [IntervalReportResolver, CallCenterInstanceResolver, ArchiveResolver, LiveReportResolver],
      orphanedTypes: [CallCenterInstance],
      // type-graphql wants a PubSub once there is a subscription, even when every subscription
      // brings its own `subscribe` (the live reports do: src/reports/LiveReportHub.ts).
      pubSub: UNUSED_PUBSUB,
      subscriptionDescription:
        'Live reports over WebSocket (graphql-ws, subprotocol graphql-transport-ws, at /graphql; the bearer token goes in connection_init as { authorization: "Bearer <token>" }): the current bucket of an instance or a set of instances, pushed each time its numbers change. See docs/subscriptions.md.',
      queryDescription:
        'Reports of Alibaba Cloud Cloud Call Center (CCC) instances, read from ListIntervalInstanceReport (API 2020-07-01): per instance (intervalInstanceReport, or CallCenterInstance\'s fields), or several instances combined (combinedIntervalReport). Hourly and daily buckets are upstream\'s; weeks, months, other time zones and totals are combined exactly from them.',
    },
    {
      CallCenterInstance: {
        // The router sends `{ __typename, id }`; the id is checked like any other argument.
        // async: a rejected promise fails only its own entity; a throw would fail all of `_entities`.
        async __resolveReference(reference: { id: string }) {
          assertInstanceId(reference.id, 'id');
          return { id: reference.id };
        },
      },
      IntervalReport: bucketIdentityResolvers,
      CombinedIntervalReport: bucketIdentityResolvers,
    },
  ).then((schema) => {
    // `_entities` representations must be {__typename: "CallCenterInstance", id: "<string>"}.
    guardEntityRepresentations(schema, { CallCenterInstance: ['id'] });
    return schema;
  });
  return built;
}
