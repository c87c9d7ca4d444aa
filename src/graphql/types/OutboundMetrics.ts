import { ObjectType } from 'type-graphql';
import { METRICS } from '../../reports/metrics';
import { defineMetricFields, defineMetricGroupIdField } from './defineMetricFields';

// simpleResolvers: plain property reads, no middleware stack per field (82 fields x many buckets).
@ObjectType({ simpleResolvers: true, description: 'Outbound metrics of one report bucket: calls dialed by agents. `null` when upstream did not report the metric.' })
export class OutboundMetrics {
  [metric: string]: number | string | null;
}

defineMetricGroupIdField(OutboundMetrics, 'outbound');
defineMetricFields(OutboundMetrics, METRICS.outbound);
