/**
 * Issue 4 through GraphQL: roll-ups over the emulator's simulated data equal what the simulator
 * computes directly from the raw calls of the whole period.
 */
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { combineBuckets } from '../../src/reports/combine';
import { bucketStartsInRange, DAY_MS, HOUR_MS, nextBucketStart, type ReportInterval } from '../../src/reports/intervals';
import { METRIC_GROUPS, METRICS, type ReportBucket } from '../../src/reports/metrics';
import type { Gateway } from '../../src/server/createGateway';
import { addTally, emptyTally, metricsFromTally, periodTally } from '../../src/emulator/simulator';
import { ALL_METRICS_SELECTION, graphql, startTestGateway } from '../helpers/gateway';

const NOW = DateTime.fromISO('2026-11-26T11:30:00', { zone: 'Asia/Shanghai' }).toMillis();
const EMULATOR_ZONE = 'Asia/Shanghai';

const COMBINED = `query($ids: [ID!]!, $s: Timestamp, $e: Timestamp, $i: ReportInterval, $z: String, $empty: EmptyIntervals) {
  combinedIntervalReport(instanceIds: $ids, startTime: $s, endTime: $e, interval: $i, timeZone: $z, emptyIntervals: $empty) {
    instanceIds statsTime interval closed ${ALL_METRICS_SELECTION}
  }
}`;

/** The simulator's exact metrics of [from, to) for several instances together, from raw calls. */
function truth(ids: string[], from: number, to: number): Omit<ReportBucket, 'statsTime'> | null {
  const tally = emptyTally();
  for (const id of ids) addTally(tally, periodTally(id, from, to, EMULATOR_ZONE, NOW));
  return metricsFromTally(tally, { averageRounding: 'none' });
}

const RECOVERED = new Set(METRICS.overall.filter((m) => m.kind === 'average' && m.denominator === null).map((m) => m.name));

/**
 * `upstreamRounded`: the bucket is upstream's own (one instance, DAILY in its zone), so its
 * averages are upstream's rounded-up values, at most 1 s above the exact ones.
 */
function expectMatches(actual: any, expected: Omit<ReportBucket, 'statsTime'>, recoveredTolerance: (metric: string) => number, where: string, upstreamRounded = false) {
  for (const group of METRIC_GROUPS) {
    for (const metric of METRICS[group]) {
      const a = actual[group][metric.name];
      const e = expected[group][metric.name];
      const label = `${where} ${group}.${metric.name}`;
      if (metric.kind === 'count' || metric.kind === 'total' || metric.kind === 'max') {
        expect({ label, value: a }).toEqual({ label, value: e });
        continue;
      }
      // The simulator reports 0 for an average over nothing; a combination reports null.
      if (a === null) {
        expect({ label, value: e }).toEqual({ label, value: 0 });
        continue;
      }
      if (upstreamRounded && metric.kind === 'average') {
        const over = a - e!;
        if (!(over >= -1e-9 && over < 1)) throw new Error(`${label}: ${a} vs ${e} (upstream's ceil allows [0, 1))`);
        continue;
      }
      const tolerance = group === 'overall' && RECOVERED.has(metric.name) ? recoveredTolerance(metric.name) : 1e-9;
      const relative = Math.abs(a - e!) / Math.max(1e-12, Math.abs(e!));
      if (!(relative <= tolerance)) throw new Error(`${label}: ${a} vs ${e} (relative ${relative} > ${tolerance})`);
    }
  }
}

describe('roll-ups through GraphQL', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    // No response cache: each roll-up is computed from the buckets (the 'none' run's answers must not answer the 'ceil' run).
    gateway = await startTestGateway({ MAX_BUCKETS_PER_FIELD: '20000', RESPONSE_CACHE_MAX_BYTES: '0' }, { now: () => NOW });
  });
  afterAll(() => gateway.close());

  const zones = ['Asia/Shanghai', 'UTC', 'America/New_York', 'Europe/Berlin'];
  const intervals: ReportInterval[] = ['DAILY', 'WEEKLY', 'MONTHLY'];

  it.each([
    ['exact upstream averages', 'none', 0],
    // Upstream rounds averages up (the seed: 85 s over 7 calls reported as 13). Averages whose
    // count is reported are still exact (rebuilt from totals and counts); the three whose count
    // is recovered as total / average are within the bound of docs/rollups.md: with upstream's
    // rounding d (1 s for ceil), e = 2d / (the smallest reported average among the parts),
    // relative error <= e / (1 - e). The parts here are each instance's upstream DAILY buckets
    // (days of the emulator's zone inside the bucket); an exact average is at most the reported
    // one, so 2d / min(exact) bounds e. Hourly parts recover their counts exactly on the
    // simulator (docs/rollups.md, measured), so a bucket without a whole day uses its own average.
    // (A fixed 2% was tighter than the documented bound: two instances' DAILY average hold of
    // about 68 s has a bound of 3.0%; a random seed measured 2.1%.)
    ['averages rounded up as upstream', 'ceil', 1],
  ] as const)('every combined metric equals the simulator over the whole period (%s)', async (_name, rounding, delta) => {
    gateway.emulator!.options.averageRounding = rounding;
    gateway.memory.clear();
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 90 * 24 }),
        fc.integer({ min: 1, max: 40 * 24 }),
        fc.constantFrom(...zones),
        fc.constantFrom<ReportInterval | 'TOTAL'>(...intervals, 'TOTAL'),
        async (nums, hoursBack, lengthHours, zone, interval) => {
          const ids = nums.map((n) => `ccc-sim-${n}`);
          const start = NOW - hoursBack * HOUR_MS;
          const end = Math.min(NOW, start + lengthHours * HOUR_MS);
          const answer = await graphql(gateway, COMBINED, { ids, s: start, e: end, i: interval, z: zone, empty: 'ZERO' });
          expect(answer.errors).toBeUndefined();
          const rows = answer.data.combinedIntervalReport;
          const boundaries =
            interval === 'TOTAL'
              ? [[Math.floor(start / HOUR_MS) * HOUR_MS, Math.ceil(end / HOUR_MS) * HOUR_MS]]
              : bucketStartsInRange(start, end, interval, zone).map((b) => [b, nextBucketStart(b, interval, zone)]);
          expect(rows.map((r: any) => r.statsTime)).toEqual(boundaries.map(([b]) => b));
          rows.forEach((row: any, i: number) => {
            const expected = truth(ids, boundaries[i][0], boundaries[i][1]);
            if (expected === null) {
              expect(row.inbound.callsOffered).toBe(0);
              return;
            }
            const upstreamRounded = rounding !== 'none' && ids.length === 1 && interval === 'DAILY' && zone === EMULATOR_ZONE;
            const [from, to] = boundaries[i];
            const days = bucketStartsInRange(from, to, 'DAILY', EMULATOR_ZONE)
              .map((day) => [day, nextBucketStart(day, 'DAILY', EMULATOR_ZONE)])
              .filter(([day, next]) => day >= from && next <= to);
            const parts = ids.flatMap((id) => (days.length > 0 ? days.map(([day, next]) => truth([id], day, next)) : [truth([id], from, to)]));
            const recoveredTolerance = (metric: string) => {
              if (delta === 0) return 1e-9;
              const averages = parts.map((t) => (t?.overall as Record<string, number> | undefined)?.[metric] ?? 0).filter((a) => a > 0);
              const epsilon = (2 * delta) / Math.min(...averages);
              return epsilon < 1 ? epsilon / (1 - epsilon) + 1e-9 : Infinity;
            };
            expectMatches(row, expected, recoveredTolerance, `${ids} ${interval} ${zone} ${new Date(boundaries[i][0]).toISOString()}`, upstreamRounded);
            expect(row.closed).toBe(boundaries[i][1] + 10 * 60_000 <= NOW);
          });
        },
      ),
      { numRuns: 20 },
    );
    gateway.emulator!.options.averageRounding = 'none';
  });

  it("DAILY combined from HOURLY in the instance's own zone equals upstream DAILY (counts, totals, maxima)", async () => {
    const day = DateTime.fromMillis(NOW, { zone: EMULATOR_ZONE }).startOf('day').minus({ days: 3 }).toMillis();
    const q = (i: string) =>
      graphql(gateway, `{ intervalInstanceReport(instanceId: "ccc-test", interval: ${i}, startTime: ${day}, endTime: ${day + DAY_MS - 1}) { statsTime ${ALL_METRICS_SELECTION} } }`);
    const [daily, hourly] = await Promise.all([q('DAILY'), q('HOURLY')]);
    const combined = combineBuckets(hourly.data.intervalInstanceReport);
    const [upstreamDay] = daily.data.intervalInstanceReport;
    for (const group of METRIC_GROUPS) {
      for (const metric of METRICS[group].filter((m) => ['count', 'total', 'max'].includes(m.kind))) {
        expect([group, metric.name, combined[group][metric.name]]).toEqual([group, metric.name, upstreamDay[group][metric.name]]);
      }
    }
  });

  it('DST: a DAILY bucket in America/New_York spans 25 hours on the fall-back day', async () => {
    const answer = await graphql(
      gateway,
      `{ intervalInstanceReport(instanceId: "ccc-test", interval: DAILY, timeZone: "America/New_York", startTime: "2026-10-31T00:00:00-04:00", endTime: "2026-11-03T00:00:00-05:00", emptyIntervals: ZERO) { statsTime } }`,
    );
    const starts = answer.data.intervalInstanceReport.map((r: any) => r.statsTime);
    expect(starts.slice(1).map((t: number, i: number) => (t - starts[i]) / HOUR_MS)).toEqual([24, 25]);
  });

  it('DST: a DAILY bucket in America/New_York spans 23 hours on the spring-forward day', async () => {
    // Spring 2026 is beyond upstream's retention from NOW: a gateway whose clock is in April.
    const april = await startTestGateway({}, { now: () => Date.parse('2026-04-01T12:00:00Z') });
    try {
      const answer = await graphql(
        april,
        `{ intervalInstanceReport(instanceId: "ccc-test", interval: DAILY, timeZone: "America/New_York", startTime: "2026-03-07T00:00:00-05:00", endTime: "2026-03-10T00:00:00-04:00", emptyIntervals: ZERO) { statsTime inbound { callsOffered } } }`,
      );
      expect(answer.errors).toBeUndefined();
      const starts = answer.data.intervalInstanceReport.map((r: any) => r.statsTime);
      expect(starts.slice(1).map((t: number, i: number) => (t - starts[i]) / HOUR_MS)).toEqual([24, 23]);
      expect(starts[2]).toBe(Date.parse('2026-03-09T00:00:00-04:00'));
    } finally {
      await april.close();
    }
  });

  it('zero-fills buckets without traffic only when asked, with null averages and rates', async () => {
    const night = DateTime.fromMillis(NOW, { zone: EMULATOR_ZONE }).startOf('day').minus({ days: 1 }).plus({ hours: 2 }).toMillis();
    const q = (empty: string) =>
      graphql(gateway, `{ intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, startTime: ${night}, endTime: ${night + 3 * HOUR_MS}, emptyIntervals: ${empty}) { statsTime inbound { callsOffered averageTalkTime handleRate } } }`);
    expect((await q('OMIT')).data.intervalInstanceReport).toEqual([]);
    expect((await q('ZERO')).data.intervalInstanceReport).toEqual(
      [0, 1, 2].map((h) => ({ statsTime: night + h * HOUR_MS, inbound: { callsOffered: 0, averageTalkTime: null, handleRate: null } })),
    );
  });

  it('summary is TOTAL over the range, and is not closed while a part is open', async () => {
    const start = NOW - 3 * DAY_MS;
    const answer = await graphql(
      gateway,
      `{ callCenterInstance(id: "ccc-test") { summary(startTime: ${start}) { statsTime interval closed inbound { callsOffered } } }
         intervalInstanceReport(instanceId: "ccc-test", interval: TOTAL, startTime: ${start}) { inbound { callsOffered } } }`,
    );
    expect(answer.data.callCenterInstance.summary).toMatchObject({ statsTime: Math.floor(start / HOUR_MS) * HOUR_MS, interval: 'TOTAL', closed: false });
    expect(answer.data.callCenterInstance.summary.inbound).toEqual(answer.data.intervalInstanceReport[0].inbound);
  });

  it.each([
    ['an unknown zone', `instanceIds: ["ccc-test"], timeZone: "Mars/Olympus"`, /IANA time zone/],
    ['a half-hour zone', `instanceIds: ["ccc-test"], timeZone: "Asia/Kolkata", interval: DAILY`, /whole number of hours/],
    ['empty instanceIds', `instanceIds: []`, /at least one/],
    ['duplicated ids', `instanceIds: ["ccc-test", "ccc-test"]`, /more than once/],
    ['too many instances', `instanceIds: [${Array.from({ length: 101 }, (_, i) => `"ccc-sim-${i}"`).join(',')}]`, /at most 100/],
    ['too many buckets', `instanceIds: ["ccc-test", "ccc-demo-1", "ccc-demo-2", "ccc-demo-3", "ccc-demo-4"], interval: HOURLY, startTime: ${NOW - 170 * DAY_MS}`, /at most 20000/],
  ])('rejects %s with BAD_USER_INPUT', async (_what, args, message) => {
    const answer = await graphql(gateway, `{ combinedIntervalReport(${args}) { statsTime } }`);
    expect(answer.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(answer.errors?.[0].message).toMatch(message);
  });
});
