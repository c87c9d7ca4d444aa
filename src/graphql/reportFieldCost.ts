/**
 * How many upstream buckets one execution of a report field reads, from its arguments: the
 * operation cost check (src/server/limits/operationCostPlugin.ts) sums this over an operation
 * before anything runs. It plans exactly as execution will (InstanceReports.plan).
 */
import type { InstanceReports, ReportRequest } from '../reports/InstanceReports';

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
