/**
 * One stored bucket as one NDJSON line, in the API's field names, so history can move to a
 * warehouse or another Redis and back:
 *
 *   {"InstanceId":"ccc-test","Interval":"HOURLY","TimeZone":"UTC","StatsTime":1620291600000,
 *    "Inbound":{"AbandonedRate":0,...},"Outbound":{...},"Overall":{...}}
 *
 * `InstanceId`, `Interval` (HOURLY or DAILY) and `TimeZone` (where the bucket's boundaries fall:
 * UTC hours, the instance's midnight for days) are what re-importing needs besides the API's own
 * `StatsTime` and groups. Metrics are in catalog order under their upstream names, as numbers
 * (not the strings the seed document shows); `null` is a metric upstream did not report. A bucket
 * upstream reported without traffic is `"NoTraffic":true` with no groups.
 *
 * Exactness: every number is written as the shortest decimal that reads back to the same double,
 * and `-0` as `-0` (JSON.stringify would write `0`). Upstream never sends NaN or infinities (its
 * answers are validated), but the cache can hold them; they are the strings `"NaN"`,
 * `"Infinity"`, `"-Infinity"`. So export, import and export again give the same bytes.
 */
import { INSTANCE_ID_PATTERN } from '../../reports/InstanceReports';
import type { BucketSeries } from '../../reports/buckets';
import { assertTimeZone } from '../../reports/intervals';
import { METRIC_GROUPS, METRICS, UPSTREAM_GROUP_NAME, type MetricGroup, type ReportBucket } from '../../reports/metrics';

export interface BucketLine {
  series: BucketSeries;
  statsTime: number;
  /** `null`: no traffic. */
  data: ReportBucket | null;
}

export function bucketToLine({ series, statsTime, data }: BucketLine): string {
  const head = `{"InstanceId":${JSON.stringify(series.instanceId)},"Interval":"${series.interval}","TimeZone":${JSON.stringify(series.zone)},"StatsTime":${statsTime}`;
  if (data === null) return `${head},"NoTraffic":true}`;
  const groups = METRIC_GROUPS.map((group) => {
    const values = METRICS[group].map((metric) => `"${metric.upstreamName}":${numberToJson(data[group][metric.name] ?? null)}`);
    return `"${UPSTREAM_GROUP_NAME[group]}":{${values.join(',')}}`;
  });
  return `${head},${groups.join(',')}}`;
}

/** Reads one line back; throws a BadBucketLine naming what is wrong. */
export function lineToBucket(line: string): BucketLine {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (error) {
    throw new BadBucketLine(`not JSON (${(error as Error).message})`);
  }
  if (!isObject(raw)) throw new BadBucketLine('not a JSON object');
  const { InstanceId: instanceId, Interval: interval, TimeZone: zone, StatsTime: statsTime, NoTraffic: noTraffic, ...groups } = raw;
  if (typeof instanceId !== 'string' || !INSTANCE_ID_PATTERN.test(instanceId)) throw new BadBucketLine(`InstanceId ${JSON.stringify(instanceId)} is not an instance id`);
  if (interval !== 'HOURLY' && interval !== 'DAILY') throw new BadBucketLine(`Interval ${JSON.stringify(interval)} is not HOURLY or DAILY`);
  if (typeof zone !== 'string') throw new BadBucketLine('TimeZone is missing');
  try {
    assertTimeZone(zone);
  } catch (error) {
    throw new BadBucketLine(`TimeZone: ${(error as Error).message}`);
  }
  if (typeof statsTime !== 'number' || !Number.isSafeInteger(statsTime) || statsTime < 0) throw new BadBucketLine(`StatsTime ${JSON.stringify(statsTime)} is not epoch milliseconds`);
  const series: BucketSeries = { instanceId, interval, zone };
  if (noTraffic !== undefined) {
    if (noTraffic !== true) throw new BadBucketLine('NoTraffic is true or absent');
    if (Object.keys(groups).length > 0) throw new BadBucketLine(`a NoTraffic bucket has no ${Object.keys(groups).join(', ')}`);
    return { series, statsTime, data: null };
  }
  const data: ReportBucket = { statsTime, inbound: {}, outbound: {}, overall: {} };
  const known = new Set<string>(METRIC_GROUPS.map((group) => UPSTREAM_GROUP_NAME[group]));
  const unknown = Object.keys(groups).filter((name) => !known.has(name));
  if (unknown.length > 0) throw new BadBucketLine(`unknown field ${unknown.join(', ')}`);
  for (const group of METRIC_GROUPS) data[group] = readGroup(group, groups[UPSTREAM_GROUP_NAME[group]]);
  return { series, statsTime, data };
}

export class BadBucketLine extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadBucketLine';
  }
}

function readGroup(group: MetricGroup, raw: unknown): ReportBucket[MetricGroup] {
  const name = UPSTREAM_GROUP_NAME[group];
  if (!isObject(raw)) throw new BadBucketLine(`${name} is missing or not an object`);
  const values: ReportBucket[MetricGroup] = {};
  const seen = new Set<string>();
  for (const metric of METRICS[group]) {
    // The current name, or a name the catalog knows it by (renamed upstream fields).
    const field = [metric.upstreamName, ...(metric.aliases ?? [])].find((f) => f in raw);
    if (field !== undefined) seen.add(field);
    values[metric.name] = field === undefined ? null : jsonToNumber(raw[field], `${name}.${field}`);
  }
  const unknown = Object.keys(raw).filter((field) => !seen.has(field));
  if (unknown.length > 0) throw new BadBucketLine(`unknown metric ${unknown.map((f) => `${name}.${f}`).join(', ')}`);
  return values;
}

function numberToJson(value: number | null): string {
  if (value === null) return 'null';
  if (Number.isNaN(value)) return '"NaN"';
  if (value === Infinity) return '"Infinity"';
  if (value === -Infinity) return '"-Infinity"';
  return Object.is(value, -0) ? '-0' : String(value);
}

function jsonToNumber(value: unknown, where: string): number | null {
  if (value === null || typeof value === 'number') return value;
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  throw new BadBucketLine(`${where} is ${JSON.stringify(value)}, not a number or null`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
