/**
 * A ReportSource for pipeline tests: deterministic buckets, every call recorded, failures on
 * demand. Hours whose index is divisible by 5 have no traffic (absent, as upstream).
 */
import { HOUR_MS } from '../../src/reports/intervals';
import { METRICS, type MetricValues, type ReportBucket } from '../../src/reports/metrics';
import { GatewayError } from '../../src/reports/errors';
import type { ReportAnswer, ReportQuery, ReportSource } from '../../src/reports/ReportSource';

function values(group: keyof typeof METRICS, seed: number): MetricValues {
  return Object.fromEntries(METRICS[group].map((m, i) => [m.name, (seed + i) % 97]));
}

export function fakeBucket(statsTime: number, instanceId: string): ReportBucket {
  const seed = Math.floor(statsTime / HOUR_MS) + instanceId.length;
  return { statsTime, inbound: values('inbound', seed), outbound: values('outbound', seed), overall: values('overall', seed) };
}

export class FakeReportSource implements ReportSource {
  readonly calls: ReportQuery[] = [];
  /** Returns an error to throw for a call, or undefined to answer it. */
  failWhen: (query: ReportQuery) => GatewayError | undefined = () => undefined;
  latencyMs = 5;
  /** HOURLY buckets only; DAILY answers one bucket per 24 h step from startTime. */
  hasTraffic = (statsTime: number) => Math.floor(statsTime / HOUR_MS) % 5 !== 0;

  async listIntervalInstanceReport(query: ReportQuery): Promise<ReportAnswer> {
    this.calls.push(query);
    await new Promise((r) => setTimeout(r, this.latencyMs));
    const failure = this.failWhen(query);
    if (failure) throw failure;
    const step = query.interval === 'HOURLY' ? HOUR_MS : 24 * HOUR_MS;
    const buckets: ReportBucket[] = [];
    for (let t = query.startTime; t <= query.endTime; t += step) {
      if (this.hasTraffic(t)) buckets.push(fakeBucket(t, query.instanceId));
    }
    return { buckets };
  }
}
