/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "query CallCenterInstances($statuses: [CallCenterInstanceStatus!]) {\n  callCenterInstances(statuses: $statuses) {\n    id\n    name\n    status\n    createTime\n  }\n}": typeof types.CallCenterInstancesDocument,
    "query DailySummary($instanceId: ID!, $startTime: Timestamp!, $endTime: Timestamp) {\n  intervalInstanceReport(\n    instanceId: $instanceId\n    startTime: $startTime\n    endTime: $endTime\n    interval: DAILY\n  ) {\n    id\n    statsTime\n    endTime\n    closed\n    inbound {\n      id\n      callsOffered\n      callsHandled\n      handleRate\n      serviceLevel20\n      averageTalkTime\n    }\n    outbound {\n      id\n      callsDialed\n      answerRate\n    }\n  }\n}": typeof types.DailySummaryDocument,
    "query HourlyDashboard($instanceId: ID!, $startTime: Timestamp!, $endTime: Timestamp) {\n  callCenterInstance(id: $instanceId) {\n    id\n    intervalReports(startTime: $startTime, endTime: $endTime, interval: HOURLY) {\n      id\n      statsTime\n      closed\n      inbound {\n        id\n        callsOffered\n        callsHandled\n        callsAbandoned\n        handleRate\n        serviceLevel20\n        averageWaitTime\n        averageTalkTime\n        maxWaitTime\n      }\n      overall {\n        id\n        totalCalls\n        occupancyRate\n      }\n    }\n  }\n}": typeof types.HourlyDashboardDocument,
    "subscription LiveWallboard($instanceId: ID!, $interval: ReportInterval = HOURLY) {\n  intervalReportUpdates(instanceId: $instanceId, interval: $interval) {\n    id\n    statsTime\n    endTime\n    closed\n    inbound {\n      id\n      callsOffered\n      callsHandled\n      callsAbandoned\n      serviceLevel20\n      averageWaitTime\n    }\n    overall {\n      id\n      totalCalls\n      occupancyRate\n    }\n  }\n}": typeof types.LiveWallboardDocument,
    "query SeedExample($instanceId: ID! = \"ccc-test\", $startTime: Timestamp, $endTime: Timestamp) {\n  intervalInstanceReport(\n    instanceId: $instanceId\n    startTime: $startTime\n    endTime: $endTime\n    interval: HOURLY\n  ) {\n    id\n    instanceId\n    statsTime\n    endTime\n    closed\n    inbound {\n      id\n      callsOffered\n      callsQueued\n      callsHandled\n      handleRate\n      serviceLevel20\n      averageTalkTime\n      averageWaitTime\n      maxWaitTime\n    }\n    outbound {\n      id\n      callsDialed\n      callsAnswered\n      answerRate\n    }\n    overall {\n      id\n      totalCalls\n      occupancyRate\n    }\n  }\n}": typeof types.SeedExampleDocument,
};
const documents: Documents = {
    "query CallCenterInstances($statuses: [CallCenterInstanceStatus!]) {\n  callCenterInstances(statuses: $statuses) {\n    id\n    name\n    status\n    createTime\n  }\n}": types.CallCenterInstancesDocument,
    "query DailySummary($instanceId: ID!, $startTime: Timestamp!, $endTime: Timestamp) {\n  intervalInstanceReport(\n    instanceId: $instanceId\n    startTime: $startTime\n    endTime: $endTime\n    interval: DAILY\n  ) {\n    id\n    statsTime\n    endTime\n    closed\n    inbound {\n      id\n      callsOffered\n      callsHandled\n      handleRate\n      serviceLevel20\n      averageTalkTime\n    }\n    outbound {\n      id\n      callsDialed\n      answerRate\n    }\n  }\n}": types.DailySummaryDocument,
    "query HourlyDashboard($instanceId: ID!, $startTime: Timestamp!, $endTime: Timestamp) {\n  callCenterInstance(id: $instanceId) {\n    id\n    intervalReports(startTime: $startTime, endTime: $endTime, interval: HOURLY) {\n      id\n      statsTime\n      closed\n      inbound {\n        id\n        callsOffered\n        callsHandled\n        callsAbandoned\n        handleRate\n        serviceLevel20\n        averageWaitTime\n        averageTalkTime\n        maxWaitTime\n      }\n      overall {\n        id\n        totalCalls\n        occupancyRate\n      }\n    }\n  }\n}": types.HourlyDashboardDocument,
    "subscription LiveWallboard($instanceId: ID!, $interval: ReportInterval = HOURLY) {\n  intervalReportUpdates(instanceId: $instanceId, interval: $interval) {\n    id\n    statsTime\n    endTime\n    closed\n    inbound {\n      id\n      callsOffered\n      callsHandled\n      callsAbandoned\n      serviceLevel20\n      averageWaitTime\n    }\n    overall {\n      id\n      totalCalls\n      occupancyRate\n    }\n  }\n}": types.LiveWallboardDocument,
    "query SeedExample($instanceId: ID! = \"ccc-test\", $startTime: Timestamp, $endTime: Timestamp) {\n  intervalInstanceReport(\n    instanceId: $instanceId\n    startTime: $startTime\n    endTime: $endTime\n    interval: HOURLY\n  ) {\n    id\n    instanceId\n    statsTime\n    endTime\n    closed\n    inbound {\n      id\n      callsOffered\n      callsQueued\n      callsHandled\n      handleRate\n      serviceLevel20\n      averageTalkTime\n      averageWaitTime\n      maxWaitTime\n    }\n    outbound {\n      id\n      callsDialed\n      callsAnswered\n      answerRate\n    }\n    overall {\n      id\n      totalCalls\n      occupancyRate\n    }\n  }\n}": types.SeedExampleDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query CallCenterInstances($statuses: [CallCenterInstanceStatus!]) {\n  callCenterInstances(statuses: $statuses) {\n    id\n    name\n    status\n    createTime\n  }\n}"): (typeof documents)["query CallCenterInstances($statuses: [CallCenterInstanceStatus!]) {\n  callCenterInstances(statuses: $statuses) {\n    id\n    name\n    status\n    createTime\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query DailySummary($instanceId: ID!, $startTime: Timestamp!, $endTime: Timestamp) {\n  intervalInstanceReport(\n    instanceId: $instanceId\n    startTime: $startTime\n    endTime: $endTime\n    interval: DAILY\n  ) {\n    id\n    statsTime\n    endTime\n    closed\n    inbound {\n      id\n      callsOffered\n      callsHandled\n      handleRate\n      serviceLevel20\n      averageTalkTime\n    }\n    outbound {\n      id\n      callsDialed\n      answerRate\n    }\n  }\n}"): (typeof documents)["query DailySummary($instanceId: ID!, $startTime: Timestamp!, $endTime: Timestamp) {\n  intervalInstanceReport(\n    instanceId: $instanceId\n    startTime: $startTime\n    endTime: $endTime\n    interval: DAILY\n  ) {\n    id\n    statsTime\n    endTime\n    closed\n    inbound {\n      id\n      callsOffered\n      callsHandled\n      handleRate\n      serviceLevel20\n      averageTalkTime\n    }\n    outbound {\n      id\n      callsDialed\n      answerRate\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query HourlyDashboard($instanceId: ID!, $startTime: Timestamp!, $endTime: Timestamp) {\n  callCenterInstance(id: $instanceId) {\n    id\n    intervalReports(startTime: $startTime, endTime: $endTime, interval: HOURLY) {\n      id\n      statsTime\n      closed\n      inbound {\n        id\n        callsOffered\n        callsHandled\n        callsAbandoned\n        handleRate\n        serviceLevel20\n        averageWaitTime\n        averageTalkTime\n        maxWaitTime\n      }\n      overall {\n        id\n        totalCalls\n        occupancyRate\n      }\n    }\n  }\n}"): (typeof documents)["query HourlyDashboard($instanceId: ID!, $startTime: Timestamp!, $endTime: Timestamp) {\n  callCenterInstance(id: $instanceId) {\n    id\n    intervalReports(startTime: $startTime, endTime: $endTime, interval: HOURLY) {\n      id\n      statsTime\n      closed\n      inbound {\n        id\n        callsOffered\n        callsHandled\n        callsAbandoned\n        handleRate\n        serviceLevel20\n        averageWaitTime\n        averageTalkTime\n        maxWaitTime\n      }\n      overall {\n        id\n        totalCalls\n        occupancyRate\n      }\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription LiveWallboard($instanceId: ID!, $interval: ReportInterval = HOURLY) {\n  intervalReportUpdates(instanceId: $instanceId, interval: $interval) {\n    id\n    statsTime\n    endTime\n    closed\n    inbound {\n      id\n      callsOffered\n      callsHandled\n      callsAbandoned\n      serviceLevel20\n      averageWaitTime\n    }\n    overall {\n      id\n      totalCalls\n      occupancyRate\n    }\n  }\n}"): (typeof documents)["subscription LiveWallboard($instanceId: ID!, $interval: ReportInterval = HOURLY) {\n  intervalReportUpdates(instanceId: $instanceId, interval: $interval) {\n    id\n    statsTime\n    endTime\n    closed\n    inbound {\n      id\n      callsOffered\n      callsHandled\n      callsAbandoned\n      serviceLevel20\n      averageWaitTime\n    }\n    overall {\n      id\n      totalCalls\n      occupancyRate\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query SeedExample($instanceId: ID! = \"ccc-test\", $startTime: Timestamp, $endTime: Timestamp) {\n  intervalInstanceReport(\n    instanceId: $instanceId\n    startTime: $startTime\n    endTime: $endTime\n    interval: HOURLY\n  ) {\n    id\n    instanceId\n    statsTime\n    endTime\n    closed\n    inbound {\n      id\n      callsOffered\n      callsQueued\n      callsHandled\n      handleRate\n      serviceLevel20\n      averageTalkTime\n      averageWaitTime\n      maxWaitTime\n    }\n    outbound {\n      id\n      callsDialed\n      callsAnswered\n      answerRate\n    }\n    overall {\n      id\n      totalCalls\n      occupancyRate\n    }\n  }\n}"): (typeof documents)["query SeedExample($instanceId: ID! = \"ccc-test\", $startTime: Timestamp, $endTime: Timestamp) {\n  intervalInstanceReport(\n    instanceId: $instanceId\n    startTime: $startTime\n    endTime: $endTime\n    interval: HOURLY\n  ) {\n    id\n    instanceId\n    statsTime\n    endTime\n    closed\n    inbound {\n      id\n      callsOffered\n      callsQueued\n      callsHandled\n      handleRate\n      serviceLevel20\n      averageTalkTime\n      averageWaitTime\n      maxWaitTime\n    }\n    outbound {\n      id\n      callsDialed\n      callsAnswered\n      answerRate\n    }\n    overall {\n      id\n      totalCalls\n      occupancyRate\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;