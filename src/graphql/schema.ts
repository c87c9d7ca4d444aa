import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { assertInstanceId } from '../reports/InstanceReports';
import { bucketIdentityResolvers } from './bucketResolvers';
import { guardEntityRepresentations } from './entityRepresentations';
import { buildFederatedSchema } from './federation';
import { CallCenterInstanceResolver } from './resolvers/CallCenterInstanceResolver';
import { IntervalReportResolver } from './resolvers/IntervalReportResolver';
import { CallCenterInstance } from './types/CallCenterInstance';

let built: Promise<GraphQLSchema> | undefined;

/** The gateway's subgraph schema. Built once per process: type-graphql metadata is global. */
export function buildGatewaySchema(): Promise<GraphQLSchema> {
  built ??= buildFederatedSchema(
    {
      resolvers: [IntervalReportResolver, CallCenterInstanceResolver],
      orphanedTypes: [CallCenterInstance],
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
