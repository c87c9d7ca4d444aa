/**
 * Prints the hourly dashboard of one call center instance as a table:
 *
 *   GATEWAY_URL=http://localhost:4000/graphql INSTANCE_ID=ccc-test HOURS=24 node .../main.js
 */
import { createReportClient, fetchHourlyDashboard, formatDashboardTable } from './reportClient';

const HOUR_MS = 3_600_000;

export interface MainOptions {
  url: string;
  instanceId: string;
  /** How many hours back from `now` (the current, open hour included). */
  hours: number;
  timeZone?: string;
  now?: number;
}

export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): MainOptions {
  const hours = Number(env.HOURS ?? 24);
  // Upstream keeps 180 days of reports.
  if (!Number.isInteger(hours) || hours < 1 || hours > 24 * 180) throw new Error(`HOURS must be an integer from 1 to ${24 * 180}, not ${env.HOURS}`);
  return {
    url: env.GATEWAY_URL ?? 'http://localhost:4000/graphql',
    instanceId: env.INSTANCE_ID ?? 'ccc-test',
    hours,
    timeZone: env.REPORT_TIMEZONE || undefined,
  };
}

/** Fetches and prints; returns the text it printed. */
export async function main(options: MainOptions, print: (text: string) => void = console.log): Promise<string> {
  const now = options.now ?? Date.now();
  const from = Math.floor(now / HOUR_MS) * HOUR_MS - (options.hours - 1) * HOUR_MS;
  const client = createReportClient({ url: options.url });
  const dashboard = await fetchHourlyDashboard(client, options.instanceId, from, now);
  const buckets = dashboard.intervalReports;
  const offered = buckets.reduce((sum, b) => sum + (b.inbound.callsOffered ?? 0), 0);
  const text = [
    `${dashboard.id}: ${buckets.length} hours with traffic in the last ${options.hours}, ${offered} inbound calls offered`,
    formatDashboardTable(buckets, options.timeZone),
  ].join('\n');
  print(text);
  return text;
}

if (require.main === module) {
  main(optionsFromEnv()).catch((error: unknown) => {
    console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
    process.exitCode = 1;
  });
}
