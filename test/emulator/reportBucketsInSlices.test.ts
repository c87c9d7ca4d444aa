/**
 * The emulator computes an answer's buckets in slices, freeing its one thread in between (so a
 * request arriving during another's long simulation is stamped and answered on time). Slicing
 * must not change a single byte of the answer.
 */
import { reportBuckets, reportBucketsInSlices, type BucketContext } from '../../src/emulator/reportBuckets';
import type { ReportRequest } from '../../src/emulator/reportRequest';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
// 03:30 UTC, inside an hour: the open hour and its extra calls are part of the answers.
const NOW = Date.UTC(2026, 10, 26, 3, 30);

const cases: { name: string; request: ReportRequest; context: BucketContext }[] = [
  {
    name: 'Hourly, 10 days ending in the open hour, Shanghai, extra calls',
    request: { instanceId: 'slice-a', interval: 'Hourly', startTime: NOW - 10 * DAY_MS, endTime: NOW },
    context: { now: NOW, timeZone: 'Asia/Shanghai', averageRounding: 'none', openHourExtraCalls: 7 },
  },
  {
    name: 'Hourly over the New York DST change, unaligned start',
    request: { instanceId: 'slice-b', interval: 'Hourly', startTime: Date.UTC(2026, 9, 29, 1, 17), endTime: Date.UTC(2026, 10, 3, 0, 0) },
    context: { now: NOW, timeZone: 'America/New_York', averageRounding: 'round' },
  },
  {
    name: 'Daily, 40 days over the DST change, New York',
    request: { instanceId: 'slice-c', interval: 'Daily', startTime: NOW - 40 * DAY_MS + 5 * HOUR_MS, endTime: NOW },
    context: { now: NOW, timeZone: 'America/New_York', averageRounding: 'round', openHourExtraCalls: 3 },
  },
];

describe('reportBucketsInSlices', () => {
  it.each(cases)('answers byte for byte what reportBuckets answers: $name', async ({ request, context }) => {
    const whole = JSON.stringify(reportBuckets(request, context));
    // sliceMs 0: a pause after every hour or day, the most slicing there can be.
    const sliced = JSON.stringify(await reportBucketsInSlices(request, context, 0));
    expect(sliced).toBe(whole);
    expect(JSON.parse(whole).length).toBeGreaterThan(0);
  });

  it('lets other work run between slices', async () => {
    let turns = 0;
    let keepCounting = true;
    const count = () => {
      turns++;
      if (keepCounting) setImmediate(count);
    };
    setImmediate(count);
    const { request, context } = cases[0];
    await reportBucketsInSlices(request, context, 0);
    keepCounting = false;
    // One pause per simulated hour (240): the counter ran between them, not only afterwards.
    expect(turns).toBeGreaterThan(100);
  });

  it('two answers computed at once come out as each computed alone', async () => {
    const [a, c] = await Promise.all([reportBucketsInSlices(cases[0].request, cases[0].context, 0), reportBucketsInSlices(cases[2].request, cases[2].context, 0)]);
    expect(JSON.stringify(a)).toBe(JSON.stringify(reportBuckets(cases[0].request, cases[0].context)));
    expect(JSON.stringify(c)).toBe(JSON.stringify(reportBuckets(cases[2].request, cases[2].context)));
  });
});
