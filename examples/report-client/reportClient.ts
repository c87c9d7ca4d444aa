/**
 * A typed client for the ccc-report-gateway, to copy into a frontend or Node project.
 *
 * It uses `@urql/core` with the typed documents that GraphQL Code Generator writes to
 * `generated/client/` (`npm run codegen`): the result and variable types come from the
 * operation in `schema/operations/HourlyDashboard.graphql`, so selecting one more field there
 * and regenerating is all it takes to read it here, type-checked.
 */
import { Client, CombinedError, fetchExchange } from '@urql/core';
import { HourlyDashboardDocument, type HourlyDashboardQuery } from '../../generated/client/graphql';

type DashboardData = HourlyDashboardQuery['callCenterInstance'];
/** One hour of the dashboard, exactly the fields the operation selects. */
export type HourlyBucket = NonNullable<DashboardData['intervalReports']>[number];
/**
 * What `fetchHourlyDashboard` returns: the instance and its hourly buckets (with traffic only).
 * Report fields are nullable in the schema (a field upstream could not serve is null, with an
 * error); this function turns that case into a thrown ReportClientError, so callers get a list.
 */
export interface HourlyDashboard {
  id: DashboardData['id'];
  intervalReports: HourlyBucket[];
}

export interface ReportClientOptions {
  /** e.g. `http://localhost:4000/graphql` (the gateway, or the router in front of it). */
  url: string;
  /** Extra headers, e.g. `{ authorization: 'Bearer ...' }` behind a router. */
  headers?: Record<string, string>;
  /** Per-request timeout. Default 30 s. */
  timeoutMs?: number;
}

export function createReportClient({ url, headers = {}, timeoutMs = 30_000 }: ReportClientOptions): Client {
  return new Client({
    url,
    // No cacheExchange: a report is a one-shot read here. (A browser dashboard that re-renders
    // can put `cacheExchange` in front of `fetchExchange`.)
    exchanges: [fetchExchange],
    // POST, not urql's default GET for short queries: Apollo Server's CSRF prevention rejects a
    // GET that carries neither a JSON content type nor an `apollo-require-preflight` header.
    preferGetMethod: false,
    // A function, so that each request gets its own timeout signal.
    fetchOptions: () => ({ headers, signal: AbortSignal.timeout(timeoutMs) }),
    requestPolicy: 'network-only',
  });
}

/** An error answer of the gateway, with its `extensions.code` (`BAD_USER_INPUT`, `NOT_FOUND`, ...). */
export class ReportClientError extends Error {
  constructor(
    message: string,
    /** The first GraphQL error's `extensions.code`, or `NETWORK_ERROR`. */
    readonly code: string,
    readonly cause: CombinedError,
  ) {
    super(message);
    this.name = 'ReportClientError';
  }
}

/**
 * The hourly buckets of one instance from `from` (inclusive, floored to the hour) to `to`.
 * Hours without traffic are absent, as upstream. Epoch milliseconds or Dates.
 */
export async function fetchHourlyDashboard(
  client: Client,
  instanceId: string,
  from: Date | number,
  to: Date | number,
): Promise<HourlyDashboard> {
  const result = await client
    .query(HourlyDashboardDocument, { instanceId, startTime: +from, endTime: +to })
    .toPromise();
  if (result.error) {
    const first = result.error.graphQLErrors[0];
    const code = typeof first?.extensions?.code === 'string' ? first.extensions.code : result.error.networkError ? 'NETWORK_ERROR' : 'UNKNOWN';
    throw new ReportClientError(first?.message ?? result.error.message, code, result.error);
  }
  const instance = result.data?.callCenterInstance;
  if (!instance?.intervalReports) throw new Error('the gateway answered without data and without errors');
  return { id: instance.id, intervalReports: instance.intervalReports };
}

/** A percentage with one decimal, or `-` for a metric upstream did not report. */
const percent = (fraction: number | null): string => (fraction === null ? '-' : `${(fraction * 100).toFixed(1)}%`);
const count = (value: number | null): string => (value === null ? '-' : String(value));
const seconds = (value: number | null): string => (value === null ? '-' : value.toFixed(1));

/** `YYYY-MM-DD HH:mm` in a time zone (default: the process's). */
export function formatHour(epochMs: number, timeZone?: string): string {
  // sv-SE formats as ISO-like `2026-11-16 09:00`.
  return new Intl.DateTimeFormat('sv-SE', { timeZone, dateStyle: 'short', timeStyle: 'short', hourCycle: 'h23' }).format(epochMs);
}

/** A plain-text table of the buckets, one line per hour, right-aligned numbers. */
export function formatDashboardTable(buckets: readonly HourlyBucket[], timeZone?: string): string {
  const header = ['hour', 'offered', 'handled', 'abandoned', 'SL20', 'avg wait s', 'max wait s', 'occupancy', ''];
  const rows = buckets.map((b) => [
    formatHour(b.statsTime, timeZone),
    count(b.inbound.callsOffered),
    count(b.inbound.callsHandled),
    count(b.inbound.callsAbandoned),
    percent(b.inbound.serviceLevel20),
    seconds(b.inbound.averageWaitTime),
    count(b.inbound.maxWaitTime),
    percent(b.overall.occupancyRate),
    b.closed ? '' : 'open',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 || i === cells.length - 1 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
