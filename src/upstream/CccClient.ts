/**
 * The Alibaba Cloud CCC (2020-07-01) client: the one place that knows about transport.
 *
 * It owns signing (V3 ACS3-HMAC-SHA256 via @alicloud/openapi-core and the standard credential
 * chain of @alicloud/credentials), the endpoint, timeouts, retries and parsing, so resolvers and
 * the report pipeline only see `ReportQuery` in and normalized `ReportBucket`s out.
 */
import OpenApi, { $OpenApiUtil } from '@alicloud/openapi-core';
const { OpenApiRequest, Params } = $OpenApiUtil;
type Params = InstanceType<typeof Params>;
import Credential, { Config as CredentialConfig } from '@alicloud/credentials';
import * as $dara from '@darabonba/typescript';
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
  /** Observes every attempt (metrics, logs); never sees credentials. */
  onAttempt?: (event: { query: ReportQuery; attempt: number; durationMs: number; error?: GatewayError }) => void;
}

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
  }

  async listIntervalInstanceReport(query: ReportQuery): Promise<ReportAnswer> {
    const maxAttempts = this.options.maxAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        const answer = await this.callOnce(query);
        this.options.onAttempt?.({ query, attempt, durationMs: performance.now() - started });
        return answer;
      } catch (raw) {
        const error = toGatewayError(raw);
        this.options.onAttempt?.({ query, attempt, durationMs: performance.now() - started, error });
        if (!isRetryable(error) || attempt >= maxAttempts) throw error;
        await sleep(this.backoffMs(attempt, error));
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

  private async callOnce(query: ReportQuery): Promise<ReportAnswer> {
    const request = new OpenApiRequest({
      query: {
        InstanceId: query.instanceId,
        StartTime: String(query.startTime),
        EndTime: String(query.endTime),
        Interval: UPSTREAM_INTERVAL[query.interval],
      },
    });
    const response = await this.api.callApi(this.params, request, this.runtime);
    return normalizeReportBody(response?.body);
  }
}
