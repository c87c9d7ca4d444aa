/**
 * Issue 4 benchmark: how long exact roll-ups take from a warm cache. Prints JSON.
 *
 *   npm run bench:rollups
 *
 * In process, no upstream: the in-process cache tier is filled with one year of HOURLY and
 * DAILY buckets first (the cache keeps closed buckets beyond upstream's 180-day retention, so
 * a year is a real warm-cache case). Two measurements each:
 *  - combine only: `combineBuckets` over the hourly buckets, grouped by target bucket;
 *  - end to end: `InstanceReports.read` (planning, DataLoader batch, cache reads, combining).
 */
import { MemoryBucketStore } from '../src/cache/MemoryBucketStore';
import { combineBuckets } from '../src/reports/combine';
import { InstanceReports } from '../src/reports/InstanceReports';
import { bucketStart, DAY_MS, HOUR_MS, nextBucketStart } from '../src/reports/intervals';
import { METRICS, type MetricValues, type ReportBucket } from '../src/reports/metrics';
import { ReportPipeline } from '../src/reports/ReportPipeline';
import type { BucketSeries } from '../src/reports/buckets';

const ZONE = 'Asia/Shanghai';
const NOW = Date.UTC(2026, 10, 26, 4);
// Twelve whole months, ending with the last complete one.
const YEAR_END = bucketStart(NOW - 30 * DAY_MS, 'MONTHLY', ZONE);
const YEAR_START = bucketStart(YEAR_END - 360 * DAY_MS, 'MONTHLY', ZONE);
// The first month in another zone may start a month earlier (it holds YEAR_START): fill wide.
const FILL_START = YEAR_START - 40 * DAY_MS;
// Months in another zone end a few hours after the instance's: fill a little past the range.
const FILL_END = YEAR_END + 2 * DAY_MS;

/** A plausible bucket: counts, totals, exact averages and rates, maxima. */
function syntheticBucket(statsTime: number, seed: number, scale: number): ReportBucket {
  const group = (name: keyof typeof METRICS): MetricValues => {
    const values: MetricValues = {};
    for (const [i, m] of METRICS[name].entries()) if (m.kind !== 'average' && m.kind !== 'ratio') values[m.name] = ((seed * 31 + i * 17) % 50) * scale + 1;
    for (const m of METRICS[name]) {
      if (m.kind === 'average') values[m.name] = m.denominator ? values[m.numerator!]! / values[m.denominator]! : values[m.numerator!]! / 3;
      if (m.kind === 'ratio') values[m.name] = 0.5;
    }
    return values;
  };
  return { statsTime, inbound: group('inbound'), outbound: group('outbound'), overall: group('overall') };
}

function fill(memory: MemoryBucketStore, instanceId: string) {
  const hourly: BucketSeries = { instanceId, interval: 'HOURLY', zone: 'UTC' };
  const daily: BucketSeries = { instanceId, interval: 'DAILY', zone: ZONE };
  const hours: ReportBucket[] = [];
  // From a month before the range: the first MONTHLY bucket starts before YEAR_START.
  for (let t = FILL_START; t < FILL_END; t += HOUR_MS) {
    const data = syntheticBucket(t, t / HOUR_MS, 1);
    if (t >= YEAR_START && t < YEAR_END) hours.push(data);
    memory.set({ series: hourly, statsTime: t, value: { data, final: true } });
  }
  for (let t = FILL_START; t < FILL_END; t = nextBucketStart(t, "DAILY", ZONE)) {
    memory.set({ series: daily, statsTime: t, value: { data: syntheticBucket(t, t / DAY_MS, 24), final: true } });
  }
  return hours;
}

function time<T>(run: () => T, repeat = 5): { ms: number; result: T } {
  let result!: T;
  const samples: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    result = run();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return { ms: +samples[Math.floor(samples.length / 2)].toFixed(2), result };
}

async function timeAsync<T>(run: () => Promise<T>, repeat = 5): Promise<{ ms: number; result: T }> {
  let result!: T;
  const samples: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    result = await run();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return { ms: +samples[Math.floor(samples.length / 2)].toFixed(2), result };
}

async function main() {
  const memory = new MemoryBucketStore(2_000_000);
  const instances = Array.from({ length: 50 }, (_, i) => `ccc-bench-${i}`);
  const hoursByInstance = instances.map((id) => fill(memory, id));
  const pipeline = new ReportPipeline({
    source: { listIntervalInstanceReport: () => Promise.reject(new Error('the benchmark must not reach upstream')) },
    memory,
    now: () => NOW,
    settleDelayMs: 600_000,
    openTtlMs: 30_000,
    upstreamConcurrency: 4,
  });
  const reader = () => new InstanceReports(pipeline.createLoader(), { zoneFor: () => ZONE, maxBucketsPerField: 10_000_000, maxInstancesPerField: 100 }, NOW);

  // One instance, HOURLY -> MONTHLY.
  const monthlyCombine = time(() => {
    const months = new Map<number, ReportBucket[]>();
    for (const h of hoursByInstance[0]) {
      const m = bucketStart(h.statsTime, 'MONTHLY', ZONE);
      const list = months.get(m) ?? [];
      list.push(h);
      months.set(m, list);
    }
    return [...months.values()].map((parts) => combineBuckets(parts));
  });
  const monthlyRead = await timeAsync(() => reader().read({ instanceIds: [instances[0]], interval: 'MONTHLY', startTime: YEAR_START, endTime: YEAR_END }));
  const monthlyReadOtherZone = await timeAsync(() =>
    reader().read({ instanceIds: [instances[0]], interval: 'MONTHLY', timeZone: 'Europe/Berlin', startTime: YEAR_START, endTime: YEAR_END }),
  );

  // 50 instances, HOURLY -> TOTAL.
  const totalCombine = time(() => combineBuckets(hoursByInstance.flat()), 3);
  const totalRead = await timeAsync(() => reader().read({ instanceIds: instances, interval: 'TOTAL', startTime: YEAR_START, endTime: YEAR_END }), 3);

  const hours = hoursByInstance[0].length;
  console.log(
    JSON.stringify(
      {
        node: process.version,
        oneInstanceYearToMonthly: {
          hourlyBuckets: hours,
          combineOnlyMs: monthlyCombine.ms,
          months: monthlyCombine.result.length,
          endToEndMsInstanceZone: monthlyRead.ms,
          endToEndMsOtherZone: monthlyReadOtherZone.ms,
          note: "end to end in the instance's zone combines whole days from DAILY; in another zone, inner days plus edge hours",
        },
        fiftyInstancesYearToTotal: {
          hourlyBuckets: hours * 50,
          combineOnlyMs: totalCombine.ms,
          endToEndMs: totalRead.ms,
          microsecondsPerHourlyBucketCombineOnly: +((totalCombine.ms * 1000) / (hours * 50)).toFixed(3),
        },
      },
      null,
      2,
    ),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
