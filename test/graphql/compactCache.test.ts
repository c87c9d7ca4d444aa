/**
 * The in-process tier keeps buckets compact (src/reports/compactBucket.ts). What a caller gets
 * must not show it: every answer served from that tier equals the answer computed straight from
 * upstream's buckets by a gateway without any cache, byte for byte, on each read path (one
 * instance's own buckets, roll-ups over time, instances combined, metric group ids).
 */
import { DAY_MS, HOUR_MS } from '../../src/reports/intervals';
import { METRIC_GROUPS, METRICS, type MetricValues, type ReportBucket } from '../../src/reports/metrics';
import type { ReportAnswer, ReportQuery, ReportSource } from '../../src/reports/ReportSource';
import { CompactBucket } from '../../src/reports/compactBucket';
import type { Gateway } from '../../src/server/createGateway';
import { ALL_METRICS_SELECTION, graphql, startTestGateway } from '../helpers/gateway';

const NOW = Date.UTC(2026, 10, 26, 4, 30);
const START = Date.UTC(2026, 10, 18);
const END = Date.UTC(2026, 10, 25);

/**
 * Awkward but valid values: nulls, -0, large integers, fractions that are not exactly
 * derivable. Counts stay integers (the schema's SafeInt), also when roll-ups add them up.
 */
function awkwardBucket(statsTime: number, instanceId: string): ReportBucket {
  const seed = Math.floor(statsTime / HOUR_MS) * 7 + instanceId.length;
  let i = 0;
  const group = (name: (typeof METRIC_GROUPS)[number]): MetricValues =>
    Object.fromEntries(
      METRICS[name].map((m) => {
        const k = (seed + i++ * 13) % 23;
        if (k === 0) return [m.name, null];
        // The largest safe integer only where roll-ups do not add it up (maxima).
        const large = m.kind === 'max' ? Number.MAX_SAFE_INTEGER : 2 ** 40 + seed;
        if (m.type === 'Long') return [m.name, k === 1 ? large : k === 2 ? 0 : (k * 977 + seed) % 100_000];
        return [m.name, k === 1 ? -0 : k === 2 ? 0.1 + 0.2 : k / 7 + seed];
      }),
    );
  return { statsTime, inbound: group('inbound'), outbound: group('outbound'), overall: group('overall') };
}

class AwkwardSource implements ReportSource {
  async listIntervalInstanceReport(query: ReportQuery): Promise<ReportAnswer> {
    const step = query.interval === 'HOURLY' ? HOUR_MS : DAY_MS;
    const buckets: ReportBucket[] = [];
    for (let t = query.startTime; t <= query.endTime; t += step) if (Math.floor(t / HOUR_MS) % 6 !== 0) buckets.push(awkwardBucket(t, query.instanceId));
    return { buckets };
  }
}

const QUERIES: [string, string][] = [
  ['one instance, its own hours, group ids', `{ intervalInstanceReport(instanceId: "ccc-a", startTime: ${START}, endTime: ${END}, interval: HOURLY) { id statsTime closed inbound { id ${METRICS.inbound.map((m) => m.name).join(' ')} } outbound { ${METRICS.outbound.map((m) => m.name).join(' ')} } overall { id ${METRICS.overall.map((m) => m.name).join(' ')} } } }`],
  ['one instance, days rolled up from hours in another zone', `{ intervalInstanceReport(instanceId: "ccc-a", startTime: ${START}, endTime: ${END}, interval: DAILY, timeZone: "America/New_York") { statsTime ${ALL_METRICS_SELECTION} } }`],
  ['instances combined', `{ combinedIntervalReport(instanceIds: ["ccc-a", "ccc-bb"], startTime: ${START}, endTime: ${END}, interval: HOURLY, emptyIntervals: ZERO) { statsTime ${ALL_METRICS_SELECTION} } }`],
  ['a total', `{ combinedIntervalReport(instanceIds: ["ccc-a", "ccc-bb"], startTime: ${START}, endTime: ${END}, interval: TOTAL) { statsTime ${ALL_METRICS_SELECTION} } }`],
];

describe('answers from compact cached buckets', () => {
  let cached: Gateway;
  let uncached: Gateway;

  beforeAll(async () => {
    const overrides = { now: () => NOW, source: new AwkwardSource() };
    // The response cache would answer repeats without reading buckets at all: off here.
    cached = await startTestGateway({ RESPONSE_CACHE_MAX_BYTES: '0' }, overrides);
    uncached = await startTestGateway({ CACHE_ENABLED: 'false', RESPONSE_CACHE_MAX_BYTES: '0' }, overrides);
  });
  afterAll(async () => {
    await Promise.all([cached.close(), uncached.close()]);
  });

  async function text(gateway: Gateway, query: string, headers: Record<string, string> = {}): Promise<string> {
    const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
    return response.text();
  }

  it.each(QUERIES)('%s: byte for byte the uncached answer', async (_name, query) => {
    const reference = await text(uncached, query);
    expect(JSON.parse(reference).errors).toBeUndefined();
    expect(JSON.parse(reference).data).not.toBeNull();
    await text(cached, query); // fills the in-process tier
    const warm = await graphql(cached, query, undefined, { 'x-gateway-debug': '1' });
    // Every bucket came from the in-process tier, so every value was read off a CompactBucket.
    expect(warm.extensions?.gateway.memoryHits).toBeGreaterThan(0);
    expect(warm.extensions?.gateway.memoryHits).toBe(warm.extensions?.gateway.bucketsRequested);
    expect(await text(cached, query)).toBe(reference);
  });

  it('holds the buckets compactly', () => {
    const value = cached.memory.get({ series: { instanceId: 'ccc-a', interval: 'HOURLY', zone: 'UTC' }, statsTime: START + HOUR_MS });
    expect(value?.data).toBeInstanceOf(CompactBucket);
  });
});
