/**
 * How many upstream buckets one execution of a report field reads, from its arguments: the
 * operation cost check (src/server/limits/operationCostPlugin.ts) sums this over an operation
 * before anything runs. It plans exactly as execution will (InstanceReports.plan).
 */
import type { InstanceCatalog } from '../reports/InstanceCatalog';
import type { InstanceStatus } from '../reports/InstanceDirectory';
import type { InstanceReports, ReportRequest } from '../reports/InstanceReports';
import type { EntityLists } from '../server/limits/operationCostPlugin';

type Args = Record<string, unknown>;

function entityId(parentArgs: Args | undefined): string | undefined {
  if (typeof parentArgs?.id === 'string') return parentArgs.id; // Query.callCenterInstance(id)
  // _entities: the cost plugin prices one representation at a time, passed as the only one.
  const representations = parentArgs?.representations;
  if (Array.isArray(representations) && typeof representations[0]?.id === 'string') return representations[0].id;
  return undefined;
}

/**
 * `_entities` representations that cost the same: call centers of one zone (a report's bucket
 * count depends on the instance only through its zone). Undefined for a representation that
 * cannot be priced: not a call center, a malformed id, or one the caller may not read.
 */
export function representationPriceClass(reports: InstanceReports, representation: unknown): string | undefined {
  if (representation === null || typeof representation !== 'object') return undefined;
  const { __typename, id } = representation as { __typename?: unknown; id?: unknown };
  if (__typename !== 'CallCenterInstance') return undefined;
  return reports.readableInstanceZone(id);
}

export function reportFieldCost(reports: InstanceReports, fieldName: string, args: Args, parentArgs?: Args): number | undefined {
  let request: ReportRequest | undefined;
  const range = args as Omit<ReportRequest, 'instanceIds' | 'interval'> & { interval?: ReportRequest['interval'] };
  switch (fieldName) {
    case 'intervalInstanceReport':
      request = { ...range, interval: range.interval ?? 'DAILY', instanceIds: [String(args.instanceId)] };
      break;
    case 'combinedIntervalReport':
      request = { ...range, interval: range.interval ?? 'DAILY', instanceIds: (args.instanceIds as string[]) ?? [] };
      break;
    case 'intervalReports':
    case 'summary': {
      const id = entityId(parentArgs);
      if (!id) return undefined;
      request = { ...range, interval: fieldName === 'summary' ? 'TOTAL' : (range.interval ?? 'DAILY'), instanceIds: [id] };
      break;
    }
    default:
      return undefined;
  }
  return reports.plan(request).upstreamBuckets;
}

/**
 * `Query.callCenterInstances` returns the instances the caller may read: report fields under it
 * are priced once per instance listed, as under `_entities`. The listing itself reads no report
 * bucket (it is at most ceil(instances / 100) calls per INSTANCE_DIRECTORY_TTL_MS, shared by every
 * operation) and costs nothing; the operation's own execution reuses the listing read here.
 */
export function listedInstancesForCost(instances: InstanceCatalog): EntityLists {
  return {
    isList: (parentType, fieldName) => parentType === 'Query' && fieldName === 'callCenterInstances',
    load: async (_fieldName, args) =>
      (await instances.readable(args.statuses as InstanceStatus[] | null | undefined)).map((instance) => ({ __typename: 'CallCenterInstance', id: instance.id })),
  };
}
