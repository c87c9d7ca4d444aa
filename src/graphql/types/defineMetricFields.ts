/**
 * Declares one GraphQL field per catalog metric on a type-graphql object type.
 *
 * The 82 metrics live in one table (`src/reports/metrics.ts`); writing 82 decorated properties by
 * hand would be a second copy that drifts. Decorators are plain functions, so applying `@Field`
 * in a loop gives type-graphql exactly what hand-written properties would.
 */
import { Field, Float, ID } from 'type-graphql';
import { SafeIntResolver } from 'graphql-scalars';
import type { MetricDefinition } from '../../reports/metrics';

const UNIT_NOTE: Record<MetricDefinition['unit'], string> = {
  calls: 'Unit: calls.',
  surveys: 'Unit: surveys.',
  seconds: 'Unit: seconds.',
  // The document's field table says "%"; its own example reports 7 handled of 7 queued as 1.
  fraction: 'Unit: fraction 0..1 (0.5 = 50%); the gateway\'s reading of the API document\'s "%", whose own example reports 7 handled of 7 queued calls as 1.',
  score: 'Unit: survey score.',
};

export function defineMetricFields(target: { prototype: object }, metrics: readonly MetricDefinition[]): void {
  for (const metric of metrics) {
    const decorate = Field(() => (metric.type === 'Long' ? SafeIntResolver : Float), {
      nullable: true,
      description: `${metric.description} ${UNIT_NOTE[metric.unit]} Upstream: ${metric.upstreamName}.`,
    });
    decorate(target.prototype, metric.name);
  }
}

/**
 * `id` of a metric group: without one, a normalized client cache stores the group inside its
 * bucket and replaces it whole when another operation selects other metrics of that bucket.
 * Resolved by src/graphql/bucketResolvers.ts (the group's parent bucket knows its identity).
 */
export function defineMetricGroupIdField(target: { prototype: object }, group: string): void {
  Field(() => ID, {
    description: `Identity of these metrics: the bucket's id followed by ":${group}". Select it (with the bucket's id) so that a normalized client cache merges the metrics different operations select instead of replacing them.`,
  })(target.prototype, 'id');
}
