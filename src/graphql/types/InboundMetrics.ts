import { ObjectType } from 'type-graphql';
import { METRICS } from '../../reports/metrics';
import { defineMetricFields, defineMetricGroupIdField } from './defineMetricFields';

// simpleResolvers: plain property reads, no middleware stack per field (82 fields x many buckets).
@ObjectType({ simpleResolvers: true, description: 'Inbound metrics of one report bucket: calls into the call center. `null` when upstream did not report the metric.' })
export class InboundMetrics {
  [metric: string]: number | string | null;
}

defineMetricGroupIdField(InboundMetrics, 'inbound');
defineMetricFields(InboundMetrics, METRICS.inbound);
