/**
 * What the operator learns about upstream answers the gateway does not take at face value.
 *
 *  - A malformed answer (rejected, nothing stored): one warning per answer, with the offending
 *    part (truncated by the validator) and upstream's RequestId. The caller's error carries the
 *    RequestId and where the problem is, never the body.
 *  - A served answer that breaks a roll-up assumption: every finding counted in
 *    `ccc_gateway_upstream_anomalies_total{rule}`, and logged as a sample: the first finding of
 *    each rule per `sampleEveryMs`, with how many were left unlogged since the previous sample.
 *    A systematic difference (say, upstream rounds averages differently) shows up in every answer;
 *    one line per rule and window is enough to notice it, a line per bucket would drown the logs.
 */
import type { AnswerAnomaliesEvent, MalformedAnswerEvent } from '../../upstream/CccClient';
import type { AnomalyRule } from '../../reports/rollupAnomalies';
import type { Logger } from '../logger';
import type { GatewayMetrics } from './metrics';

export const ANOMALY_LOG_SAMPLE_MS = 10 * 60_000;

export interface UpstreamAnswerReporterOptions {
  logger: Pick<Logger, 'warn'>;
  metrics: Pick<GatewayMetrics, 'recordUpstreamAnomalies'>;
  sampleEveryMs?: number;
  /** Wall clock of the sampling window (not the report clock). */
  clock?: () => number;
}

export interface UpstreamAnswerReporter {
  /** Fits `CccClientOptions.onMalformedAnswer`. */
  readonly malformed: (event: MalformedAnswerEvent) => void;
  /** Fits `CccClientOptions.onAnswerAnomalies`. */
  readonly anomalies: (event: AnswerAnomaliesEvent) => void;
}

function queryFields(query: MalformedAnswerEvent['query']) {
  return { instanceId: query.instanceId, interval: query.interval, startTime: query.startTime, endTime: query.endTime };
}

export function createUpstreamAnswerReporter(options: UpstreamAnswerReporterOptions): UpstreamAnswerReporter {
  const { logger, metrics } = options;
  const sampleEveryMs = options.sampleEveryMs ?? ANOMALY_LOG_SAMPLE_MS;
  const clock = options.clock ?? Date.now;
  const lastLogged = new Map<AnomalyRule, number>();
  const unlogged = new Map<AnomalyRule, number>();

  return {
    malformed(event) {
      logger.warn(
        { upstreamRequestId: event.upstreamRequestId, ...queryFields(event.query), problem: event.problem, offending: event.offending },
        'malformed upstream answer rejected; nothing from it was stored',
      );
    },

    anomalies(event) {
      metrics.recordUpstreamAnomalies(event.findings.map((f) => f.rule));
      const now = clock();
      const firstPerRule = new Map<AnomalyRule, (typeof event.findings)[number]>();
      for (const finding of event.findings) {
        if (!firstPerRule.has(finding.rule)) firstPerRule.set(finding.rule, finding);
        unlogged.set(finding.rule, (unlogged.get(finding.rule) ?? 0) + 1);
      }
      for (const [rule, finding] of firstPerRule) {
        const last = lastLogged.get(rule);
        if (last !== undefined && now - last < sampleEveryMs) continue;
        const count = unlogged.get(rule) ?? 1;
        lastLogged.set(rule, now);
        unlogged.set(rule, 0);
        logger.warn(
          {
            rule,
            upstreamRequestId: event.upstreamRequestId,
            ...queryFields(event.query),
            statsTime: finding.statsTime,
            metric: finding.metric,
            detail: finding.detail,
            findingsSinceLastSample: count,
          },
          `upstream answer breaks a roll-up assumption (${rule}); served anyway. Sampled: one line per rule per ${Math.round(sampleEveryMs / 60_000)} min, all counted in ccc_gateway_upstream_anomalies_total`,
        );
      }
    },
  };
}
