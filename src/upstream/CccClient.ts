/**
 * The Alibaba Cloud CCC (2020-07-01) client: the one place that knows about transport.
 *
 * It owns signing (V3 ACS3-HMAC-SHA256 via @alicloud/openapi-core and the standard credential
 * chain of @alicloud/credentials), the endpoint, timeouts, retries and parsing, so resolvers and
 * the report pipeline only see `ReportQuery` in and normalized `ReportBucket`s out.
 */
import Credential, { Config as CredentialConfig } from '@alicloud/credentials';
import OpenApi, { $OpenApiUtil } from '@alicloud/openapi-core';
import * as $dara from '@darabonba/typescript';
import CircuitBreaker from 'opossum';
import { GatewayError } from '../reports/errors';
import type { ReportAnswer, ReportQuery, ReportSource } from './ReportSource';
import { normalizeReportBody } from './normalizeReport';
import { isRetryable, toGatewayError } from './upstreamErrors';

export interface CccClientOptions {
  /** host[:port] */
  endpoint: string;
  protocol: 'http' | 'https';
  region: string;
  timeoutMs: number;
  /** Total attempts per call, first included. */
  maxAttempts?: number;
  /** Base of the exponential backoff between attempts. */
  retryBaseDelayMs?: number;
  /** Explicit AccessKey pair (the emulator); otherwise the default credential chain. */
  accessKey?: { id: string; secret: string };
  /** Longest one call may take, retries and backoff included. */
  deadlineMs?: number;
  /** Circuit breaker: opens when this share of attempts fail in the rolling window... */
  breaker?: { errorThresholdPercentage: number; volumeThreshold: number; resetTimeoutMs: number; rollingWindowMs: number };
  /** Observes every attempt (metrics, logs); never sees credentials. */
  onAttempt?: (event: { query: ReportQuery; attempt: number; durationMs: number; error?: GatewayError }) => void;
  onCircuitChange?: (state: CircuitState) => void;
}

export const DEFAULT_BREAKER = { errorThresholdPercentage: 50, volumeThreshold: 10, resetTimeoutMs: 5_000, rollingWindowMs: 10_000 };

/** Only outages count against the circuit: a bad parameter or an unknown instance is the caller's problem. */
const countsAsOutage = (error: GatewayError) => error.code === 'UPSTREAM_UNAVAILABLE' || error.code === 'UPSTREAM_THROTTLED';

const { OpenApiRequest, Params } = $OpenApiUtil;
type Params = InstanceType<typeof Params>;

export type CircuitState = 'closed' | 'half-open' | 'open';

const PARAMS = new Params({
  action: 'ListIntervalInstanceReport',
  version: '2020-07-01',
  protocol: 'HTTPS',
  pathname: '/',
  method: 'POST',
  authType: 'AK',
  style: 'RPC',
  reqBodyType: 'formData',
  bodyType: 'json',
});

const UPSTREAM_INTERVAL = { HOURLY: 'Hourly', DAILY: 'Daily' } as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class CccClient implements ReportSource {
  private readonly api: OpenApi;
  private readonly runtime: $dara.RuntimeOptions;
  private readonly params: Params;
  private readonly breaker: CircuitBreaker<[ReportQuery, number], ReportAnswer>;

  constructor(private readonly options: CccClientOptions) {
    const credential = options.accessKey
      ? new Credential(
          new CredentialConfig({ type: 'access_key', accessKeyId: options.accessKey.id, accessKeySecret: options.accessKey.secret }),
        )
      : new Credential(); // default chain: env vars, profile, RAM role, ECS metadata, OIDC
    this.api = new OpenApi(
      new $OpenApiUtil.Config({
        credential,
        endpoint: options.endpoint,
        protocol: options.protocol,
        regionId: options.region,
        readTimeout: options.timeoutMs,
        connectTimeout: options.timeoutMs,
      }),
    );
    this.params = new Params({ ...PARAMS, protocol: options.protocol.toUpperCase() });
    this.runtime = new $dara.RuntimeOptions({ readTimeout: options.timeoutMs, connectTimeout: options.timeoutMs });

    // The breaker wraps single attempts: while upstream is down, calls fail at once instead of
    // each spending its timeouts and retries, and a probe after resetTimeoutMs closes it again.
    const breaker = { ...DEFAULT_BREAKER, ...options.breaker };
    this.breaker = new CircuitBreaker((query: ReportQuery, timeoutMs: number) => this.callOnce(query, timeoutMs), {
      timeout: false, // the HTTP client has its own timeouts
      errorThresholdPercentage: breaker.errorThresholdPercentage,
      volumeThreshold: breaker.volumeThreshold,
      resetTimeout: breaker.resetTimeoutMs,
      rollingCountTimeout: breaker.rollingWindowMs,
      errorFilter: (error: unknown) => !countsAsOutage(toGatewayError(error)),
    });
    this.breaker.on('open', () => options.onCircuitChange?.('open'));
    this.breaker.on('halfOpen', () => options.onCircuitChange?.('half-open'));
    this.breaker.on('close', () => options.onCircuitChange?.('closed'));
  }

  shutdown(): void {
    this.breaker.shutdown();
  }

  async listIntervalInstanceReport(query: ReportQuery): Promise<ReportAnswer> {
    const maxAttempts = this.options.maxAttempts ?? 3;
    const deadline = performance.now() + (this.options.deadlineMs ?? this.options.timeoutMs * maxAttempts);
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        const remaining = Math.max(1, Math.min(this.options.timeoutMs, deadline - started));
        const answer = await this.breaker.fire(query, remaining);
        this.options.onAttempt?.({ query, attempt, durationMs: performance.now() - started });
        return answer;
      } catch (raw) {
        // A circuit rejection never reached upstream. Open: fail fast. Half-open: another call
        // is probing right now, so this one waits its backoff and tries again.
        const circuit = isOpenCircuit(raw) ? (this.breaker.opened ? 'open' : 'half-open') : undefined;
        const error = circuit ? circuitRejection(circuit) : toGatewayError(raw);
        this.options.onAttempt?.({ query, attempt, durationMs: performance.now() - started, error });
        if (!isRetryable(error) || attempt >= maxAttempts || circuit === 'open') throw error;
        const pause = this.backoffMs(attempt, error);
        // No attempt that could not finish before the deadline.
        if (performance.now() + pause >= deadline) throw error;
        await sleep(pause);
      }
    }
  }

  /** Exponential backoff with full jitter, never shorter than upstream's retry-after hint. */
  private backoffMs(attempt: number, error: GatewayError): number {
    const base = this.options.retryBaseDelayMs ?? 100;
    const jittered = Math.random() * base * 2 ** (attempt - 1);
    const hint = typeof error.details.retryAfterMs === 'number' ? error.details.retryAfterMs : 0;
    return Math.max(jittered, hint);
  }

  private async callOnce(query: ReportQuery, timeoutMs: number): Promise<ReportAnswer> {
    const request = new OpenApiRequest({
      query: {
        InstanceId: query.instanceId,
        StartTime: String(query.startTime),
        EndTime: String(query.endTime),
        Interval: UPSTREAM_INTERVAL[query.interval],
      },
    });
    const runtime =
      timeoutMs >= this.options.timeoutMs ? this.runtime : new $dara.RuntimeOptions({ readTimeout: timeoutMs, connectTimeout: timeoutMs });
    const response = await this.api.callApi(this.params, request, runtime);
    return normalizeReportBody(response?.body);
  }
}

function isOpenCircuit(error: unknown): boolean {
  return (error as { code?: string } | undefined)?.code === 'EOPENBREAKER';
}

function circuitRejection(circuit: 'open' | 'half-open'): GatewayError {
  return new GatewayError('UPSTREAM_UNAVAILABLE', 'The call center service is unavailable (circuit open after repeated failures); try again shortly', {
    circuit,
  });
}
