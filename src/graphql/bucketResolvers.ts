/**
 * Identity fields of report buckets (`id` of IntervalReport, CombinedIntervalReport and their
 * metric groups), as plain graphql-js resolvers: they run once per bucket, and type-graphql's
 * resolver wrapper would cost more than the work itself.
 *
 * Nothing is computed unless selected. A bucket's id is one string concatenation; a metric
 * group's id needs its bucket's identity, which the shared metrics object (possibly the cached
 * bucket itself) must not carry: the group is handed on as a small view holding the id and the
 * metrics, and only when the operation selects that id.
 */
import type { FieldNode, FragmentDefinitionNode, GraphQLResolveInfo, SelectionSetNode } from 'graphql';
import { bucketKey } from '../reports/bucketIdentity';
import type { ReportRow } from '../reports/InstanceReports';
import { METRICS, type MetricGroup, type MetricValues } from '../reports/metrics';

/**
 * A metric group with an id: one class per group whose prototype reads each metric off the
 * shared object. (`Object.create(metrics)` would be shorter, but it turns every cached metrics
 * object into a prototype, which V8 pays for dearly: the dashboard query selecting ids executed
 * 1.5x slower that way.)
 */
interface MetricGroupView {
  readonly id: string;
  readonly metrics: MetricValues;
}
type MetricGroupViewClass = new (id: string, metrics: MetricValues) => MetricGroupView;

function metricGroupViewClass(group: MetricGroup): MetricGroupViewClass {
  const View = class {
    constructor(
      readonly id: string,
      readonly metrics: MetricValues,
    ) {}
  };
  for (const { name } of METRICS[group]) {
    Object.defineProperty(View.prototype, name, {
      get(this: MetricGroupView) {
        return this.metrics[name];
      },
    });
  }
  return View;
}

function bucketId(row: ReportRow): string {
  return bucketKey(row.seriesKey, row.statsTime, row.endTime);
}

/**
 * graphql-js collects a list's sub-fields once per execution and hands every item the same
 * `fieldNodes` array: the answer is worked out once per field of an operation, not per bucket.
 */
const selectsIdByFieldNodes = new WeakMap<readonly FieldNode[], boolean>();

function selectsId(info: GraphQLResolveInfo): boolean {
  let selects = selectsIdByFieldNodes.get(info.fieldNodes);
  if (selects === undefined) {
    selects = info.fieldNodes.some((node) => selectionSetHasId(node.selectionSet, info.fragments, new Set()));
    selectsIdByFieldNodes.set(info.fieldNodes, selects);
  }
  return selects;
}

/** Whether `id` is selected directly or through fragments (a skipped one only costs a view). */
function selectionSetHasId(
  selectionSet: SelectionSetNode | undefined,
  fragments: Record<string, FragmentDefinitionNode>,
  visited: Set<string>,
): boolean {
  if (!selectionSet) return false;
  for (const selection of selectionSet.selections) {
    if (selection.kind === 'Field') {
      if (selection.name.value === 'id') return true;
    } else if (selection.kind === 'InlineFragment') {
      if (selectionSetHasId(selection.selectionSet, fragments, visited)) return true;
    } else if (!visited.has(selection.name.value)) {
      visited.add(selection.name.value);
      if (selectionSetHasId(fragments[selection.name.value]?.selectionSet, fragments, visited)) return true;
    }
  }
  return false;
}

function metricGroup(group: MetricGroup) {
  const View = metricGroupViewClass(group);
  // The buckets of a list come one after another with the same fieldNodes: remember the last.
  let lastFieldNodes: readonly FieldNode[] | undefined;
  let lastSelectsId = false;
  return (row: ReportRow, _args: unknown, _context: unknown, info: GraphQLResolveInfo): object => {
    if (info.fieldNodes !== lastFieldNodes) {
      lastSelectsId = selectsId(info);
      lastFieldNodes = info.fieldNodes;
    }
    return lastSelectsId ? new View(`${bucketId(row)}:${group}`, row[group]) : row[group];
  };
}

/** Field resolvers shared by IntervalReport and CombinedIntervalReport. */
export const bucketIdentityResolvers = {
  id: bucketId,
  inbound: metricGroup('inbound'),
  outbound: metricGroup('outbound'),
  overall: metricGroup('overall'),
};
