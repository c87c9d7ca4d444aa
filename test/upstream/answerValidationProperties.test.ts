/**
 * Answer validation against the emulator's own answers (fast-check): every answer the emulator
 * gives (random instances, ranges, Hourly and Daily, three time zones, every average rounding,
 * numbers as numbers or as strings) passes validation unchanged and breaks no roll-up
 * assumption (but a rate above 1 in a bucket still open, see below); the same answer with any single value or structure corrupted is rejected as a
 * whole, as an UPSTREAM_ERROR naming where the problem is.
 */
import fc from 'fast-check';
import { HOUR_MS } from '../../src/reports/intervals';
import { METRIC_GROUPS, METRICS, UPSTREAM_GROUP_NAME, type MetricDefinition } from '../../src/reports/metrics';
import { findRollupAnomalies } from '../../src/reports/rollupAnomalies';
import { reportBuckets } from '../../src/emulator/reportBuckets';
import type { ReportRequest } from '../../src/emulator/reportRequest';
import { numbersToStrings, reportSuccessBody } from '../../src/emulator/responseBody';
import { MalformedUpstreamAnswer, normalizeReportBody } from '../../src/upstream/normalizeReport';
import type { ReportQuery } from '../../src/reports/ReportSource';
import type { AverageRounding } from '../../src/emulator/simulator';

const NOW = Date.UTC(2026, 10, 26, 3, 30);
const DAYS_BACK = 40;

interface Scenario {
  query: ReportQuery;
  timeZone: string;
  averageRounding: AverageRounding;
  numbersAsStrings: boolean;
}

const scenarios: fc.Arbitrary<Scenario> = fc
  .record({
    instance: fc.integer({ min: 0, max: 40 }),
    daily: fc.boolean(),
    hoursBack: fc.integer({ min: 1, max: DAYS_BACK * 24 }),
    offsetMs: fc.integer({ min: 0, max: HOUR_MS - 1 }),
    span: fc.integer({ min: 1, max: 36 }),
    timeZone: fc.constantFrom('Asia/Shanghai', 'America/New_York', 'Asia/Kolkata'),
    averageRounding: fc.constantFrom<AverageRounding>('none', 'ceil', 'round'),
    numbersAsStrings: fc.boolean(),
  })
  .map(({ instance, daily, hoursBack, offsetMs, span, timeZone, averageRounding, numbersAsStrings }) => {
    const startTime = Math.floor(NOW / HOUR_MS) * HOUR_MS - hoursBack * HOUR_MS + offsetMs;
    const hours = daily ? span * 4 : span;
    return {
      query: { instanceId: `ccc-sim-${instance}`, interval: daily ? 'DAILY' : 'HOURLY', startTime, endTime: startTime + hours * HOUR_MS - 1 },
      timeZone,
      averageRounding,
      numbersAsStrings,
    } satisfies Scenario;
  });

/** The body the emulator would send for this scenario. */
function emulatorBody(s: Scenario): any {
  const request: ReportRequest = {
    instanceId: s.query.instanceId,
    interval: s.query.interval === 'DAILY' ? 'Daily' : 'Hourly',
    startTime: s.query.startTime,
    endTime: s.query.endTime,
  };
  const buckets = reportBuckets(request, { now: NOW, timeZone: s.timeZone, averageRounding: s.averageRounding });
  const body = reportSuccessBody('REQ-1', buckets);
  return { body: s.numbersAsStrings ? numbersToStrings(body) : body, buckets };
}

const LONG_BAD: unknown[] = [-1, -5, '-5', 1.5, '1.5', '1e999', '9'.repeat(30), 2 ** 53, NaN, 'NaN', Infinity, -Infinity, 'seven', true, {}, [3]];
const FLOAT_BAD: unknown[] = [-0.5, '-1', Infinity, '1e999', NaN, 'NaN', 'abc', false, {}];
const badValues = (metric: MetricDefinition) => (metric.type === 'Long' ? LONG_BAD : FLOAT_BAD);

type Corruption = { kind: 'value'; group: number; metric: number; bad: number } | { kind: 'structure'; which: number };

const STRUCTURAL = [
  'delete Inbound',
  'delete Outbound',
  'delete Overall',
  'null group',
  'duplicate bucket',
  'bucket two days before the range',
  'bucket after the range',
  'Data null',
  'Data missing',
  'Data object',
  'bucket not an object',
  'StatsTime missing',
] as const;

const corruptions: fc.Arbitrary<Corruption> = fc.oneof(
  fc.record({ kind: fc.constant('value' as const), group: fc.nat(2), metric: fc.nat(100), bad: fc.nat(100) }),
  fc.record({ kind: fc.constant('structure' as const), which: fc.nat(STRUCTURAL.length - 1) }),
);

/** Applies one corruption to bucket `index` of `body` (in place); answers what it did. */
function corrupt(body: any, index: number, c: Corruption, query: ReportQuery): string {
  const bucket = body.Data[index];
  if (c.kind === 'value') {
    const group = METRIC_GROUPS[c.group];
    const metric = METRICS[group][c.metric % METRICS[group].length];
    const bads = badValues(metric);
    const bad = bads[c.bad % bads.length];
    bucket[UPSTREAM_GROUP_NAME[group]][metric.upstreamName] = bad;
    return `${UPSTREAM_GROUP_NAME[group]}.${metric.upstreamName} = ${String(bad)}`;
  }
  const what = STRUCTURAL[c.which];
  switch (what) {
    case 'delete Inbound':
      delete bucket.Inbound;
      break;
    case 'delete Outbound':
      delete bucket.Outbound;
      break;
    case 'delete Overall':
      delete bucket.Overall;
      break;
    case 'null group':
      bucket.Outbound = null;
      break;
    case 'duplicate bucket':
      body.Data.push(structuredClone(bucket));
      break;
    case 'bucket two days before the range':
      bucket.StatsTime = query.startTime - 2 * 24 * HOUR_MS;
      break;
    case 'bucket after the range':
      bucket.StatsTime = query.endTime + HOUR_MS;
      break;
    case 'Data null':
      body.Data = null;
      break;
    case 'Data missing':
      delete body.Data;
      break;
    case 'Data object':
      body.Data = { ...body.Data };
      break;
    case 'bucket not an object':
      body.Data[index] = String(bucket.StatsTime);
      break;
    case 'StatsTime missing':
      delete bucket.StatsTime;
      break;
  }
  return what;
}

describe('answer validation against the emulator', () => {
  it('accepts every emulator answer unchanged; its only roll-up anomaly is a rate above 1 in a bucket still open', () => {
    let withBuckets = 0;
    fc.assert(
      fc.property(scenarios, (s) => {
        const { body, buckets } = emulatorBody(s);
        const answer = normalizeReportBody(body, s.query);
        expect(answer.buckets).toEqual(buckets);
        expect(answer.requestId).toBe('REQ-1');
        // An open hour counts its calls' whole talk and work but its agents' logged-in time
        // only up to now, so its occupancy can pass 1 (the SDK: rates "may exceed 100%").
        const bucketHours = s.query.interval === 'DAILY' ? 25 : 1;
        const unexpected = findRollupAnomalies(answer.buckets).filter(
          (f) => !(f.rule === 'rate_above_one' && f.statsTime + bucketHours * HOUR_MS > NOW),
        );
        expect(unexpected).toEqual([]);
        if (buckets.length > 0) withBuckets++;
      }),
      { numRuns: 100 },
    );
    // The property is about answers with data: most scenarios must have some.
    expect(withBuckets).toBeGreaterThan(50);
  });

  it('rejects the same answer with any single corrupted value or structure, whole', () => {
    fc.assert(
      fc.property(scenarios, corruptions, fc.nat(), (s, c, pick) => {
        const { body } = emulatorBody(s);
        fc.pre(body.Data.length > 0);
        const index = pick % body.Data.length;
        const what = corrupt(body, index, c, s.query);
        let thrown: unknown;
        try {
          normalizeReportBody(body, s.query);
        } catch (error) {
          thrown = error;
        }
        if (!(thrown instanceof MalformedUpstreamAnswer)) throw new Error(`not rejected: ${what}`);
        expect(thrown.code).toBe('UPSTREAM_ERROR');
        expect(thrown.details.upstreamRequestId).toBe('REQ-1');
        expect(thrown.problem).toMatch(/^(Data|the body)/);
      }),
      { numRuns: 200 },
    );
  });
});
