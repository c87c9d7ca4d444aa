/**
 * What the operator gets from untrusted upstream answers: a malformed one is logged once, with
 * the offending part; anomalies are all counted but logged as a sample (the first per rule per
 * window, with how many went unlogged since).
 */
import type { AnomalyFinding, AnomalyRule } from '../../src/reports/rollupAnomalies';
import { createLogger } from '../../src/server/logger';
import { createGatewayMetrics } from '../../src/server/observability/metrics';
import { createUpstreamAnswerReporter } from '../../src/server/observability/upstreamAnswerReporter';
import type { ReportQuery } from '../../src/reports/ReportSource';
import { parseMetrics } from '../resilience/support';

const QUERY: ReportQuery = { instanceId: 'ccc-test', interval: 'HOURLY', startTime: 1_000 * 3_600_000, endTime: 1_003 * 3_600_000 - 1 };
const finding = (rule: AnomalyRule, metric = 'inbound.averageWorkTime'): AnomalyFinding => ({ rule, statsTime: QUERY.startTime, metric, detail: `${rule} detail` });

function setup() {
  const raw: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void raw.push(line) });
  const metrics = createGatewayMetrics({ defaultMetrics: false });
  let now = 0;
  const reporter = createUpstreamAnswerReporter({ logger, metrics, sampleEveryMs: 60_000, clock: () => now });
  return {
    reporter,
    lines: () => raw.map((line) => JSON.parse(line) as Record<string, any>),
    advance: (ms: number) => (now += ms),
    counts: async () => parseMetrics(await metrics.registry.metrics()).by('ccc_gateway_upstream_anomalies_total', 'rule'),
  };
}

describe('upstream answer reporter', () => {
  it('logs each malformed answer once, with the offending part and the query', () => {
    const { reporter, lines } = setup();
    reporter.malformed({ query: QUERY, upstreamRequestId: 'REQ-1', problem: 'Data is null', offending: '{"Data":null}' });
    expect(lines()).toEqual([
      expect.objectContaining({
        level: 40,
        msg: 'malformed upstream answer rejected; nothing from it was stored',
        upstreamRequestId: 'REQ-1',
        instanceId: 'ccc-test',
        interval: 'HOURLY',
        problem: 'Data is null',
        offending: '{"Data":null}',
      }),
    ]);
  });

  it('counts every finding, and logs the first of each rule per window', async () => {
    const { reporter, lines, advance, counts } = setup();
    const event = (findings: AnomalyFinding[]) => reporter.anomalies({ query: QUERY, upstreamRequestId: 'REQ-2', findings });
    expect(await counts()).toEqual({ handled_exceeds_offered: 0, average_inconsistent: 0, average_count_unrecoverable: 0, rate_inconsistent: 0, rate_above_one: 0 });

    event([finding('average_inconsistent'), finding('average_inconsistent', 'outbound.averageTalkTime'), finding('handled_exceeds_offered')]);
    advance(30_000);
    event([finding('average_inconsistent')]);
    expect(lines().map((l) => [l.rule, l.findingsSinceLastSample])).toEqual([
      ['average_inconsistent', 2],
      ['handled_exceeds_offered', 1],
    ]);
    expect(lines()[0]).toMatchObject({ metric: 'inbound.averageWorkTime', detail: 'average_inconsistent detail', upstreamRequestId: 'REQ-2', instanceId: 'ccc-test' });

    advance(30_000); // a full window after the first sample
    event([finding('average_inconsistent')]);
    expect(lines().map((l) => [l.rule, l.findingsSinceLastSample])).toEqual([
      ['average_inconsistent', 2],
      ['handled_exceeds_offered', 1],
      ['average_inconsistent', 2],
    ]);
    expect(await counts()).toEqual({ handled_exceeds_offered: 1, average_inconsistent: 4, average_count_unrecoverable: 0, rate_inconsistent: 0, rate_above_one: 0 });
  });
});
