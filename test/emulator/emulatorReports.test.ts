/**
 * What the emulator's reports contain, through the real client library: defaults, hour
 * flooring and rounding, absent quiet hours, the growing current hour, Daily = its hours
 * combined (DST days included), and the seed's all-strings number format.
 */
import OpenApi, { $OpenApiUtil } from '@alicloud/openapi-core';
import * as $dara from '@darabonba/typescript';
import { METRIC_GROUPS, METRICS, UPSTREAM_GROUP_NAME } from '../../src/reports/metrics';
import { CccEmulator, DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET } from '../../src/emulator';
import { localTimeOf, metricsForPeriod, toWireBucket, WireBucket } from '../../src/emulator/simulator';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Monday 2024-06-03 13:30 in Shanghai (05:30 UTC). */
const NOW = Date.UTC(2024, 5, 3, 5, 30);
/** Local midnight of that Monday in Shanghai. */
const TODAY = Date.UTC(2024, 5, 2, 16);

const PARAMS = new $OpenApiUtil.Params({
  action: 'ListIntervalInstanceReport',
  version: '2020-07-01',
  protocol: 'HTTP',
  pathname: '/',
  method: 'POST',
  authType: 'AK',
  style: 'RPC',
  reqBodyType: 'formData',
  bodyType: 'json',
});

let clock = NOW;
let emulator: CccEmulator;
let emulatorUrl: string;
let client: OpenApi;

beforeAll(async () => {
  emulator = new CccEmulator({ now: () => clock });
  const { url } = await emulator.start();
  emulatorUrl = url;
  client = new OpenApi(
    new $OpenApiUtil.Config({
      accessKeyId: DEFAULT_ACCESS_KEY_ID,
      accessKeySecret: DEFAULT_ACCESS_KEY_SECRET,
      endpoint: new URL(url).host,
      protocol: 'http',
      regionId: 'cn-shanghai',
    }),
  );
});

afterAll(async () => {
  await emulator.stop();
});

beforeEach(() => {
  clock = NOW;
  emulator.options = { ...emulator.options, timeZone: 'Asia/Shanghai', numbersAsStrings: false, averageRounding: 'none', openHourExtraCalls: 0 };
});

async function report(query: Record<string, string | number>): Promise<{ body: any; data: WireBucket[] }> {
  const stringQuery = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)]));
  const answer = (await client.callApi(PARAMS, new $OpenApiUtil.OpenApiRequest({ query: stringQuery }), new $dara.RuntimeOptions({ connectTimeout: 60_000, readTimeout: 60_000 }))) as {
    body: any;
  };
  return { body: answer.body, data: answer.body.Data };
}

const times = (data: WireBucket[]) => data.map((bucket) => bucket.StatsTime);

describe('ranges and defaults', () => {
  it('defaults to Daily from today 00:00 (service zone) until now', async () => {
    const { data } = await report({ InstanceId: 'ccc-test' });
    expect(times(data)).toEqual([TODAY]);
    const expected = metricsForPeriod('ccc-test', TODAY, NOW, { now: NOW })!;
    expect(data[0]).toEqual(toWireBucket({ ...expected, statsTime: TODAY }));
  });

  it('floors StartTime to the hour (inclusive) and rounds EndTime up (exclusive)', async () => {
    const tenOClock = TODAY + 10 * HOUR_MS;
    const a = await report({ InstanceId: 'ccc-test', Interval: 'Hourly', StartTime: tenOClock + 17 * 60_000, EndTime: tenOClock + 2 * HOUR_MS + 5 * 60_000 });
    expect(times(a.data)).toEqual([tenOClock, tenOClock + HOUR_MS, tenOClock + 2 * HOUR_MS]);
    const b = await report({ InstanceId: 'ccc-test', Interval: 'Hourly', StartTime: tenOClock, EndTime: tenOClock + 2 * HOUR_MS });
    expect(times(b.data)).toEqual([tenOClock, tenOClock + HOUR_MS]);
    // An hourly bucket is exactly the simulator's hour.
    expect(b.data[0]).toEqual(toWireBucket(metricsForPeriod('ccc-test', tenOClock, tenOClock + HOUR_MS)!));
  });

  it('omits the quiet night hours (01:00-06:59 local): 18 Hourly buckets a day', async () => {
    const start = TODAY - 3 * DAY_MS;
    const { data } = await report({ InstanceId: 'ccc-demo-3', Interval: 'Hourly', StartTime: start, EndTime: start + DAY_MS });
    expect(data).toHaveLength(18);
    const localHours = data.map((bucket) => localTimeOf(bucket.StatsTime, 'Asia/Shanghai').hour);
    expect(localHours).toEqual([0, ...Array.from({ length: 17 }, (_, i) => i + 7)]);
  });

  it('answers ascending buckets and nothing after now; the current hour grows with the clock', async () => {
    const query = { InstanceId: 'ccc-test', Interval: 'Hourly', StartTime: NOW - 2 * HOUR_MS, EndTime: NOW + 5 * HOUR_MS };
    const early = await report(query);
    const currentHour = Math.floor(NOW / HOUR_MS) * HOUR_MS;
    expect(times(early.data)).toEqual([currentHour - 2 * HOUR_MS, currentHour - HOUR_MS, currentHour]);

    clock = NOW + 20 * 60_000;
    const later = await report(query);
    const [earlyCurrent, laterCurrent] = [early.data[2], later.data[2]];
    expect(later.data[1]).toEqual(early.data[1]);
    expect(laterCurrent.Inbound.CallsOffered).toBeGreaterThan(earlyCurrent.Inbound.CallsOffered as number);
    expect(laterCurrent.Overall.TotalLoggedInTime).toBeGreaterThan(earlyCurrent.Overall.TotalLoggedInTime as number);
  });

  it('answers a 180-day Daily range with one bucket per local day that had traffic', async () => {
    const start = NOW - 180 * DAY_MS;
    const { data } = await report({ InstanceId: 'ccc-sim-long', StartTime: start, EndTime: NOW });
    expect(data).toHaveLength(181);
    expect(times(data)).toEqual([...times(data)].sort((a, b) => a - b));
  });
});

describe('Daily buckets', () => {
  it('equal their hours combined, stamped with local midnight even when the range starts later', async () => {
    const start = TODAY - 3 * DAY_MS + 15 * HOUR_MS; // 15:00 local, three days ago
    const end = TODAY + 12 * HOUR_MS;
    const daily = await report({ InstanceId: 'ccc-demo-1', Interval: 'Daily', StartTime: start, EndTime: end });
    const hourly = await report({ InstanceId: 'ccc-demo-1', Interval: 'Hourly', StartTime: start, EndTime: end });
    expect(times(daily.data)).toEqual([TODAY - 3 * DAY_MS, TODAY - 2 * DAY_MS, TODAY - DAY_MS, TODAY]);

    for (const day of daily.data) {
      const hours = hourly.data.filter((h) => h.StatsTime >= Math.max(day.StatsTime, start) && h.StatsTime < day.StatsTime + DAY_MS);
      for (const group of METRIC_GROUPS) {
        const wireGroup = UPSTREAM_GROUP_NAME[group] as 'Inbound' | 'Outbound' | 'Overall';
        const value = (bucket: WireBucket, name: string) => bucket[wireGroup][name] as number;
        const sum = (name: string) => hours.reduce((s, h) => s + value(h, name), 0);
        for (const metric of METRICS[group]) {
          const name = metric.upstreamName;
          if (metric.kind === 'count' || metric.kind === 'total') expect(value(day, name)).toBe(sum(name));
          if (metric.kind === 'max') expect(value(day, name)).toBe(Math.max(...hours.map((h) => value(h, name))));
          if (metric.kind === 'average' && metric.denominator) {
            const count = sum(metric.denominator);
            expect(value(day, name)).toBeCloseTo(count === 0 ? 0 : sum(metric.numerator!) / count, 9);
          }
        }
      }
    }
  });

  it('has 23 hours on a spring-forward day in America/New_York', async () => {
    emulator.options.timeZone = 'America/New_York';
    clock = Date.UTC(2024, 5, 1, 12);
    const dayStart = Date.UTC(2024, 2, 10, 5); // 2024-03-10 00:00 EST
    const nextDay = Date.UTC(2024, 2, 11, 4); // 2024-03-11 00:00 EDT
    const daily = await report({ InstanceId: 'ccc-test', StartTime: dayStart - DAY_MS, EndTime: nextDay + DAY_MS - 1 });
    expect(times(daily.data)).toEqual([dayStart - DAY_MS, dayStart, nextDay]);
    expect(nextDay - dayStart).toBe(23 * HOUR_MS);

    const options = { timeZone: 'America/New_York', now: clock };
    expect(daily.data[1]).toEqual(toWireBucket({ ...metricsForPeriod('ccc-test', dayStart, nextDay, options)!, statsTime: dayStart }));
    const hourly = await report({ InstanceId: 'ccc-test', Interval: 'Hourly', StartTime: dayStart, EndTime: nextDay });
    expect(hourly.data.reduce((s, h) => s + (h.Inbound.CallsOffered as number), 0)).toBe(daily.data[1].Inbound.CallsOffered);
    // The hours of the New York night (01:00-06:59 local) are absent.
    expect(hourly.data.map((h) => localTimeOf(h.StatsTime, 'America/New_York').hour)).not.toContain(3);
  });

  it('rounds averages when asked to, like the seed example (ceil)', async () => {
    emulator.options.averageRounding = 'ceil';
    const { data } = await report({ InstanceId: 'ccc-test' });
    for (const group of METRIC_GROUPS) {
      const wireGroup = UPSTREAM_GROUP_NAME[group] as 'Inbound' | 'Outbound' | 'Overall';
      for (const metric of METRICS[group].filter((m) => m.kind === 'average')) {
        expect(Number.isInteger(data[0][wireGroup][metric.upstreamName])).toBe(true);
      }
    }
  });
});

describe('numbersAsStrings', () => {
  it("answers every number as a string, like the seed's JSON example, with the same values", async () => {
    const query = { InstanceId: 'ccc-test', Interval: 'Hourly', StartTime: TODAY, EndTime: NOW };
    const asNumbers = await report(query);
    emulator.options.numbersAsStrings = true;
    const asStrings = await report(query);

    expect(asStrings.body.HttpStatusCode).toBe('200');
    expect(asStrings.body.Code).toBe('OK');
    const leaves: unknown[] = [];
    const collect = (value: unknown): void => {
      if (value !== null && typeof value === 'object') Object.values(value).forEach(collect);
      else leaves.push(value);
    };
    collect(asStrings.data);
    expect(leaves.length).toBeGreaterThan(82);
    expect(leaves.every((leaf) => typeof leaf === 'string')).toBe(true);

    const parsed = JSON.parse(JSON.stringify(asStrings.data), (_key, value) => (typeof value === 'string' ? Number(value) : value));
    expect(parsed).toEqual(asNumbers.data);
  });
});

describe('openHourExtraCalls (changing the open hour on demand, for freshness benchmarks)', () => {
  const setExtraCalls = async (value: unknown) => {
    const res = await fetch(`${emulatorUrl}/__emulator/options`, { method: 'POST', body: JSON.stringify({ openHourExtraCalls: value }) });
    return { status: res.status, body: await res.json() };
  };

  it('adds IVR-completed calls to the hour containing now, and to its Daily bucket, only', async () => {
    const currentHour = Math.floor(NOW / HOUR_MS) * HOUR_MS;
    const hourly = { InstanceId: 'ccc-test', Interval: 'Hourly', StartTime: NOW - 2 * HOUR_MS, EndTime: NOW };
    const daily = { InstanceId: 'ccc-test', Interval: 'Daily', StartTime: TODAY - DAY_MS, EndTime: NOW };
    const [hourlyBefore, dailyBefore] = [await report(hourly), await report(daily)];

    const patched = await setExtraCalls(1000);
    expect(patched).toEqual({ status: 200, body: expect.objectContaining({ openHourExtraCalls: 1000 }) });
    const [hourlyAfter, dailyAfter] = [await report(hourly), await report(daily)];

    expect(times(hourlyAfter.data)).toEqual(times(hourlyBefore.data));
    expect(hourlyAfter.data.at(-1)!.StatsTime).toBe(currentHour);
    expect(hourlyAfter.data.slice(0, -1)).toEqual(hourlyBefore.data.slice(0, -1));
    const [open, openBefore] = [hourlyAfter.data.at(-1)!, hourlyBefore.data.at(-1)!];
    expect(open.Inbound.CallsOffered).toBe((openBefore.Inbound.CallsOffered as number) + 1000);
    // Completed in the IVR: offered, never queued nor handled.
    expect(open.Inbound.CallsHandled).toBe(openBefore.Inbound.CallsHandled);
    expect(open.Inbound.CallsQueued).toBe(openBefore.Inbound.CallsQueued);

    // Yesterday is untouched; today's Daily bucket holds the open hour, so it grows by as much.
    expect(dailyAfter.data[0]).toEqual(dailyBefore.data[0]);
    expect(dailyAfter.data[1].Inbound.CallsOffered).toBe((dailyBefore.data[1].Inbound.CallsOffered as number) + 1000);

    // Once the hour has closed, the extra calls belong to no answered bucket of that hour.
    clock = currentHour + HOUR_MS + 60_000;
    const later = await report(hourly);
    expect(later.data.find((b) => b.StatsTime === currentHour)!.Inbound.CallsOffered).toBeLessThan(open.Inbound.CallsOffered as number);
  });

  it('rejects a value that is not an integer >= 0 and keeps the previous one', async () => {
    await setExtraCalls(5);
    for (const bad of [-1, 1.5, 'ten', null]) {
      const answer = await setExtraCalls(bad);
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatch(/openHourExtraCalls must be an integer >= 0/);
    }
    expect(emulator.options.openHourExtraCalls).toBe(5);
  });
});
