/**
 * Properties of the simulator's metrics over many instances, hours and days (fast-check):
 * the seed's invariants, and "a Daily bucket equals its hours combined".
 */
import fc from 'fast-check';
import { METRIC_GROUPS, METRICS, MetricGroup, ReportBucket } from '../../src/reports/metrics';
import { computeMetrics, HOUR_MS, localDaysOfHours, metricsForPeriod, simulateHour } from '../../src/emulator/simulator';

const instanceIds = fc.stringMatching(/^[a-z0-9]{1,12}$/).map((suffix) => `ccc-sim-${suffix}`);
/** Hours between 2023-01-01 and 2026-12-31. */
const hourStarts = fc.integer({ min: Date.UTC(2023, 0, 1) / HOUR_MS, max: Date.UTC(2026, 11, 31) / HOUR_MS }).map((h) => h * HOUR_MS);
const timeZones = fc.constantFrom('Asia/Shanghai', 'America/New_York', 'Europe/Berlin', 'UTC');

function expectInvariants(bucket: Omit<ReportBucket, 'statsTime'>): void {
  const { inbound: i, outbound: o, overall: a } = bucket as Record<MetricGroup, Record<string, number>>;
  expect(i.callsHandled).toBeLessThanOrEqual(i.callsRinged);
  expect(i.callsRinged).toBeLessThanOrEqual(i.callsQueued);
  expect(i.callsQueued).toBeLessThanOrEqual(i.callsOffered);
  expect(i.callsAbandoned).toBe(i.callsAbandonedInIVR + i.callsAbandonedInQueue + i.callsAbandonedInRinging);
  expect(i.callsAbandoned).toBeLessThanOrEqual(i.callsOffered);
  expect(i.callsHold).toBeLessThanOrEqual(i.callsHandled);
  expect(i.totalAbandonTime).toBe(i.totalAbandonedInIVRTime + i.totalAbandonedInQueueTime + i.totalAbandonedInRingTime);
  expect(i.maxAbandonTime).toBe(Math.max(i.maxAbandonedInIVRTime, i.maxAbandonedInQueueTime, i.maxAbandonedInRingTime));
  expect(o.callsAnswered).toBeLessThanOrEqual(o.callsDialedSuccess);
  expect(o.callsDialedSuccess).toBeLessThanOrEqual(o.callsDialed);

  expect(a.totalCalls).toBe(i.callsHandled + o.callsAnswered);
  for (const total of ['totalTalkTime', 'totalHoldTime', 'totalWorkTime', 'satisfactionSurveysOffered', 'satisfactionSurveysResponded']) {
    expect(a[total]).toBe(i[total] + o[total]);
  }
  expect(a.maxTalkTime).toBe(Math.max(i.maxTalkTime, o.maxTalkTime));
  expect(a.maxWorkTime).toBe(Math.max(i.maxWorkTime, o.maxWorkTime));
  expect(a.maxHoldTime).toBeGreaterThanOrEqual(i.maxHoldTime);
  expect(a.totalReadyTime + a.totalBreakTime).toBeLessThanOrEqual(a.totalLoggedInTime);
  // Agents are staffed for the load: closed hours never exceed 100 % occupancy.
  expect(a.occupancyRate).toBeLessThanOrEqual(1);

  for (const group of METRIC_GROUPS) {
    const values = bucket[group] as Record<string, number>;
    expect(i.satisfactionSurveysResponded).toBeLessThanOrEqual(i.satisfactionSurveysOffered);
    for (const metric of METRICS[group]) {
      const value = values[metric.name];
      expect(Number.isFinite(value)).toBe(true);
      expect(value).toBeGreaterThanOrEqual(0);
      if (metric.type === 'Long') expect(Number.isInteger(value)).toBe(true);
      if (metric.kind === 'average') {
        // max >= average, and each average is its total over its count (0 for no count).
        expect(values[metric.name.replace(/^average/, 'max')]).toBeGreaterThanOrEqual(value);
        if (metric.denominator) {
          const count = values[lowerFirst(metric.denominator)];
          const total = values[lowerFirst(metric.numerator!)];
          expect(value).toBe(count === 0 ? 0 : total / count);
        }
      }
      if (metric.kind === 'ratio') {
        const denominator = values[lowerFirst(metric.denominator!)];
        if (denominator === 0) expect(value).toBe(0);
        if (metric.unit === 'fraction') expect(value).toBeLessThanOrEqual(1);
        if (metric.unit === 'score' && denominator > 0) {
          expect(value).toBeGreaterThanOrEqual(1);
          expect(value).toBeLessThanOrEqual(5);
        }
      }
    }
  }
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

describe('simulator invariants', () => {
  it('hold for any instance and hour', () => {
    fc.assert(
      fc.property(instanceIds, hourStarts, timeZones, (instanceId, hourStart, timeZone) => {
        const metrics = computeMetrics([simulateHour(instanceId, hourStart, timeZone)]);
        if (metrics) expectInvariants(metrics);
      }),
      { numRuns: 400 },
    );
  });

  it('hold for multi-day periods, and with rounded averages max >= average still', () => {
    fc.assert(
      fc.property(instanceIds, hourStarts, fc.integer({ min: 1, max: 96 }), (instanceId, from, hours) => {
        const bucket = metricsForPeriod(instanceId, from, from + hours * HOUR_MS);
        if (bucket) expectInvariants(bucket);
        const rounded = metricsForPeriod(instanceId, from, from + hours * HOUR_MS, { averageRounding: 'ceil' });
        expect(rounded === null).toBe(bucket === null);
        if (!rounded) return;
        for (const group of METRIC_GROUPS) {
          for (const metric of METRICS[group].filter((m) => m.kind === 'average')) {
            const values = rounded![group] as Record<string, number>;
            expect(Number.isInteger(values[metric.name])).toBe(true);
            expect(values[metric.name.replace(/^average/, 'max')]).toBeGreaterThanOrEqual(values[metric.name]);
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('a Daily bucket equals its hours combined', () => {
  /** Hidden denominators of the overall averages, recovered per hour as total / average. */
  const recoveredCount = (total: number, average: number) => (average === 0 ? 0 : Math.round(total / average));

  it('for counts, totals and maxima exactly; averages and rates from combined totals and counts', () => {
    fc.assert(
      fc.property(instanceIds, hourStarts, timeZones, (instanceId, someHour, timeZone) => {
        const [day] = localDaysOfHours(someHour, someHour + 1, timeZone);
        const daily = metricsForPeriod(instanceId, day.dayStart, day.dayEnd, { timeZone });
        const hourly: ReportBucket[] = [];
        for (let hour = day.dayStart; hour < day.dayEnd; hour += HOUR_MS) {
          const bucket = metricsForPeriod(instanceId, hour, hour + HOUR_MS, { timeZone });
          if (bucket) hourly.push(bucket);
        }
        if (!daily) {
          expect(hourly).toHaveLength(0);
          return;
        }
        for (const group of METRIC_GROUPS) {
          const d = daily[group] as Record<string, number>;
          const hs = hourly.map((h) => h[group] as Record<string, number>);
          const sum = (name: string) => hs.reduce((s, h) => s + h[name], 0);
          for (const metric of METRICS[group]) {
            const name = metric.name;
            if (metric.kind === 'count' || metric.kind === 'total') expect(d[name]).toBe(sum(name));
            if (metric.kind === 'max') expect(d[name]).toBe(Math.max(...hs.map((h) => h[name])));
            if (metric.kind === 'average') {
              const total = sum(lowerFirst(metric.numerator!));
              const count = metric.denominator
                ? sum(lowerFirst(metric.denominator))
                : hs.reduce((s, h) => s + recoveredCount(h[lowerFirst(metric.numerator!)], h[name]), 0);
              expect(d[name]).toBeCloseTo(count === 0 ? 0 : total / count, 9);
            }
            if (metric.kind === 'ratio') {
              const denominator = lowerFirst(metric.denominator!);
              const numerator = hs.reduce((s, h) => s + h[name] * h[denominator], 0);
              expect(d[name]).toBeCloseTo(sum(denominator) === 0 ? 0 : numerator / sum(denominator), 9);
            }
          }
        }
      }),
      { numRuns: 40 },
    );
  });
});
