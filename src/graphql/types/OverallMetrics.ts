import { ObjectType } from 'type-graphql';
import { METRICS } from '../../reports/metrics';
import { defineMetricFields, defineMetricGroupIdField } from './defineMetricFields';

// simpleResolvers: plain property reads, no middleware stack per field (82 fields x many buckets).
@ObjectType({ simpleResolvers: true, description: 'Overall metrics of one report bucket: agents and calls in both directions. `null` when upstream did not report the metric.' })
export class OverallMetrics {
  [metric: string]: number | string | null;
}

defineMetricGroupIdField(OverallMetrics, 'overall');
defineMetricFields(OverallMetrics, METRICS.overall);
