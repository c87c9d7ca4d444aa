/**
 * The example client (`examples/report-client/`) against a real gateway with the built-in
 * emulator: @urql/core over HTTP, the generated typed documents, the typed results.
 */
import { DateTime } from 'luxon';
import { main } from '../../examples/report-client/main';
import {
  createReportClient,
  fetchHourlyDashboard,
  formatDashboardTable,
  ReportClientError,
  type HourlyBucket,
} from '../../examples/report-client/reportClient';
import { DailySummaryDocument } from '../../generated/client/graphql';
import type { Gateway } from '../../src/server/createGateway';
import { startTestGateway } from '../helpers/gateway';

const HOUR_MS = 3_600_000;
// 2026-11-26 11:30 in Shanghai: the 11:00 bucket is open, every earlier one is closed.
const NOW = DateTime.fromISO('2026-11-26T11:30:00', { zone: 'Asia/Shanghai' }).toMillis();
const FROM = NOW - 23.5 * HOUR_MS; // 2026-11-25 12:00, 24 hourly buckets up to the open one
const TODAY = DateTime.fromMillis(NOW, { zone: 'Asia/Shanghai' }).startOf('day').toMillis();

describe('examples/report-client', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startTestGateway({}, { now: () => NOW });
  });
  afterAll(() => gateway.close());

  it('fetchHourlyDashboard returns the typed hourly buckets', async () => {
    const client = createReportClient({ url: gateway.url });
    const dashboard = await fetchHourlyDashboard(client, 'ccc-test', new Date(FROM), NOW);
    expect(dashboard.id).toBe('ccc-test');

    const buckets: readonly HourlyBucket[] = dashboard.intervalReports;
    // Night hours have no traffic and are absent, as upstream; the day hours are there.
    expect(buckets.length).toBeGreaterThan(8);
    expect(buckets.length).toBeLessThanOrEqual(24);
    const times = buckets.map((b) => b.statsTime);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    for (const bucket of buckets) {
      const { statsTime, closed, inbound, overall } = bucket;
      expect(statsTime % HOUR_MS).toBe(0);
      expect(statsTime).toBeGreaterThanOrEqual(FROM);
      expect(statsTime).toBeLessThan(NOW);
      expect(closed).toBe(statsTime + HOUR_MS <= NOW - 10 * 60_000);
      // Typed `number | null`; the emulator reports every metric.
      const offered: number | null = inbound.callsOffered;
      expect(Number.isSafeInteger(offered)).toBe(true);
      expect(inbound.callsHandled! + inbound.callsAbandoned!).toBeLessThanOrEqual(offered!);
      expect(inbound.maxWaitTime!).toBeGreaterThanOrEqual(inbound.averageWaitTime!);
      for (const fraction of [inbound.handleRate, inbound.serviceLevel20, overall.occupancyRate]) {
        expect(fraction).toBeGreaterThanOrEqual(0);
        expect(fraction).toBeLessThanOrEqual(1);
      }
      expect(overall.totalCalls).toBeGreaterThanOrEqual(inbound.callsHandled!);
    }
    expect(buckets.at(-1)).toMatchObject({ statsTime: NOW - 0.5 * HOUR_MS, closed: false });

    // The same client with another generated document: today's hours add up to today's day.
    const daily = await client.query(DailySummaryDocument, { instanceId: 'ccc-test', startTime: TODAY, endTime: NOW }).toPromise();
    expect(daily.error).toBeUndefined();
    const [today] = daily.data!.intervalInstanceReport!;
    const todaysHours = buckets.filter((b) => b.statsTime >= TODAY);
    expect(todaysHours.reduce((sum, b) => sum + b.inbound.callsOffered!, 0)).toBe(today.inbound.callsOffered);
  });

  it('turns gateway errors into a ReportClientError with the GraphQL error code', async () => {
    const client = createReportClient({ url: gateway.url });
    await expect(fetchHourlyDashboard(client, 'ccc-nope', FROM, NOW)).rejects.toMatchObject({ name: 'ReportClientError', code: 'NOT_FOUND' });
    await expect(fetchHourlyDashboard(client, 'not an id!', FROM, NOW)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(fetchHourlyDashboard(client, 'ccc-test', NOW, FROM)).rejects.toBeInstanceOf(ReportClientError);
  });

  it('reports a gateway it cannot reach as NETWORK_ERROR', async () => {
    const client = createReportClient({ url: 'http://127.0.0.1:9/graphql', timeoutMs: 2_000 });
    await expect(fetchHourlyDashboard(client, 'ccc-test', FROM, NOW)).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
  });

  it('main prints a table, one line per hour with traffic', async () => {
    const printed: string[] = [];
    const text = await main({ url: gateway.url, instanceId: 'ccc-test', hours: 24, timeZone: 'Asia/Shanghai', now: NOW }, (t) => printed.push(t));
    expect(printed).toEqual([text]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^ccc-test: \d+ hours with traffic in the last 24, \d+ inbound calls offered$/);
    expect(lines[1]).toMatch(/^hour +offered +handled +abandoned +SL20 +avg wait s +max wait s +occupancy$/);
    const rows = lines.slice(3);
    expect(rows.length).toBe(Number(/(\d+) hours/.exec(lines[0])![1]));
    expect(rows.at(-1)).toMatch(/^2026-11-26 11:00 .* open$/);
    expect(rows[0]).toMatch(/^2026-11-2[56] \d\d:00 +\d+ +\d+ +\d+ +\d+\.\d% +\d+\.\d +\d+ +\d+\.\d%$/);
  });

  it('formats nulls (metrics upstream did not report) as "-"', () => {
    const id = 'ccc-test:HOURLY:UTC:1795662000000:1795665600000';
    const bucket: HourlyBucket = {
      id,
      statsTime: Date.UTC(2026, 10, 26, 3),
      closed: true,
      inbound: { id: `${id}:inbound`, callsOffered: 3, callsHandled: null, callsAbandoned: null, handleRate: null, serviceLevel20: 0.5, averageWaitTime: null, averageTalkTime: null, maxWaitTime: null },
      overall: { id: `${id}:overall`, totalCalls: null, occupancyRate: null },
    };
    expect(formatDashboardTable([bucket], 'UTC').split('\n')[2]).toBe('2026-11-26 03:00        3        -          -  50.0%           -           -          -');
  });
});
