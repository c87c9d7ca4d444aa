/**
 * Turns an upstream `ListIntervalInstanceReport` body into domain buckets.
 *
 * Upstream is loose: numbers may arrive as JSON strings (the API document's own JSON example
 * sends every value as a string), fields were renamed between API document versions
 * (`CallsAbandonedInRinging` -> `CallsAbandonedInRing`, `AbandonedRate` -> `AbandonRate`), and a
 * metric may be missing. Everything is checked here, once, so the rest of the gateway sees
 * numbers or `null` and nothing else. A malformed body is an error, never a silently wrong number.
 */
import { METRIC_GROUPS, METRICS, UPSTREAM_GROUP_NAME, type MetricValues, type ReportBucket } from '../reports/metrics';

export class MalformedUpstreamAnswer extends Error {
  constructor(message: string) {
    super(`Malformed upstream answer: ${message}`);
    this.name = 'MalformedUpstreamAnswer';
  }
}

function toNumber(value: unknown, where: string): number | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value.trim())) return Number(value);
  throw new MalformedUpstreamAnswer(`${where} is not a number (${JSON.stringify(value)?.slice(0, 40)})`);
}

function normalizeGroup(raw: unknown, group: (typeof METRIC_GROUPS)[number], where: string): MetricValues {
  const values: MetricValues = {};
  const source = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  for (const metric of METRICS[group]) {
    let value = source[metric.upstreamName];
    if (value === undefined && metric.aliases) {
      for (const alias of metric.aliases) if (source[alias] !== undefined) value = source[alias];
    }
    values[metric.name] = toNumber(value, `${where}.${UPSTREAM_GROUP_NAME[group]}.${metric.upstreamName}`);
  }
  return values;
}

export function normalizeBucket(raw: unknown, index = 0): ReportBucket {
  if (!raw || typeof raw !== 'object') throw new MalformedUpstreamAnswer(`Data[${index}] is not an object`);
  const item = raw as Record<string, unknown>;
  const where = `Data[${index}]`;
  const statsTime = toNumber(item.StatsTime, `${where}.StatsTime`);
  if (statsTime === null || !Number.isSafeInteger(statsTime)) {
    throw new MalformedUpstreamAnswer(`${where}.StatsTime is missing or not an integer`);
  }
  return {
    statsTime,
    inbound: normalizeGroup(item.Inbound, 'inbound', where),
    outbound: normalizeGroup(item.Outbound, 'outbound', where),
    overall: normalizeGroup(item.Overall, 'overall', where),
  };
}

/** Checks `Code`/`HttpStatusCode` and returns the buckets ascending by statsTime. */
export function normalizeReportBody(body: unknown): { buckets: ReportBucket[]; requestId?: string } {
  if (!body || typeof body !== 'object') throw new MalformedUpstreamAnswer('body is not a JSON object');
  const b = body as Record<string, unknown>;
  const requestId = typeof b.RequestId === 'string' ? b.RequestId : undefined;
  const status = b.HttpStatusCode === undefined ? 200 : toNumber(b.HttpStatusCode, 'HttpStatusCode');
  if (b.Code !== 'OK' || status !== 200) {
    throw new MalformedUpstreamAnswer(`Code ${JSON.stringify(b.Code)} / HttpStatusCode ${status} in a success response`);
  }
  const data = b.Data ?? [];
  if (!Array.isArray(data)) throw new MalformedUpstreamAnswer('Data is not an array');
  const buckets = data.map((item, i) => normalizeBucket(item, i)).sort((x, y) => x.statsTime - y.statsTime);
  return { buckets, requestId };
}
