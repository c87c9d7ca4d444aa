/**
 * Renders a domain bucket in upstream's wire form: `{ StatsTime, Inbound: { CallsOffered, ... },
 * Outbound, Overall }`, with the seed document's field names (`CallsAbandonedInRinging`,
 * `AbandonedRate`, not the current SDK's renamed aliases), in catalog order.
 */
import { METRIC_GROUPS, METRICS, ReportBucket, UPSTREAM_GROUP_NAME } from '../../reports/metrics';

export type WireMetricValues = Record<string, number | null>;

export interface WireBucket {
  StatsTime: number;
  Inbound: WireMetricValues;
  Outbound: WireMetricValues;
  Overall: WireMetricValues;
}

export function toWireBucket(bucket: ReportBucket): WireBucket {
  const wire = { StatsTime: bucket.statsTime } as WireBucket;
  for (const group of METRIC_GROUPS) {
    const values: WireMetricValues = {};
    for (const metric of METRICS[group]) values[metric.upstreamName] = bucket[group][metric.name] ?? null;
    (wire as unknown as Record<string, WireMetricValues>)[UPSTREAM_GROUP_NAME[group]] = values;
  }
  return wire;
}
