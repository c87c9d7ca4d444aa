/**
 * The Alibaba Cloud CCC (2020-07-01) client: the one place that knows about transport.
 *
 * It owns signing (V3 ACS3-HMAC-SHA256 via @alicloud/openapi-core and the standard credential
 * chain of @alicloud/credentials), the endpoint, timeouts, retries and parsing, so resolvers and
 * the report pipeline only see `ReportQuery` in and normalized `ReportBucket`s out, and the
 * instance directory `InstanceInfo`s (ListInstances, every page).
 */
import Credential, { Config as CredentialConfig } from '@alicloud/credentials';
import OpenApi, { $OpenApiUtil } from '@alicloud/openapi-core';
import * as $dara from '@darabonba/typescript';
import CircuitBreaker from 'opossum';
import type { GatewayConfig, UpstreamEndpoint } from '../config/config';
import { GatewayError } from '../reports/errors';
import type { InstanceDirectory, InstanceInfo } from '../reports/InstanceDirectory';
import type { ReportAnswer, ReportCallFeedback, ReportQuery, ReportSource } from '../reports/ReportSource';
import { findRollupAnomalies, type AnomalyFinding } from '../reports/rollupAnomalies';
import { normalizeInstancePage, type InstancePage } from './normalizeInstanceList';
import { MalformedUpstreamAnswer, normalizeReportBody } from './normalizeReport';
import { isRetryable, toGatewayError } from './upstreamErrors';

export interface CccClientOptions {
  /** host[:port] */
  endpoint: string;
  protocol: 'http' | 'https';
  region: string;
  timeoutMs: number;
  /** Total attempts per call after outages (5xx, timeouts, network), first included; throttling retries until the deadline. */
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
  onAttempt?: (event: { query: UpstreamCall; attempt: number; durationMs: number; error?: GatewayError }) => void;
  onCircuitChange?: (state: CircuitState) => void;
  /**
   * An answer rejected by validation (nothing from it is stored): called once per answer, with
   * the offending part (truncated) that the caller's error does not carry. For the operator's log.
   */
  onMalformedAnswer?: (event: MalformedAnswerEvent) => void;
  /** A `ListInstances` page rejected by validation (nothing from the listing is cached). For the operator's log. */
  onMalformedInstancePage?: (event: MalformedInstancePageEvent) => void;
  /** A well-formed answer that breaks a roll-up assumption (`src/reports/rollupAnomalies.ts`); it is still served. */
  onAnswerAnomalies?: (event: AnswerAnomaliesEvent) => void;
}

export interface MalformedAnswerEvent {
  query: ReportQuery;
  upstreamRequestId?: string;
  /** Where and what: `Data[3].Inbound.CallsHandled is not a non-negative integer`. */
  problem: string;
  /** The offending part, JSON, at most 500 characters. */
  offending: string;
}

/** One `ListInstances` page asked for (PageSize is always the maximum, 100). */
export interface InstancePageQuery {
  action: 'ListInstances';
  pageNumber: number;
  pageSize: number;
}

/** What one upstream call asks: a report range, or a page of the instance list. */
export type UpstreamCall = ReportQuery | InstancePageQuery;

export const isInstancePageQuery = (call: UpstreamCall): call is InstancePageQuery => 'action' in call && call.action === 'ListInstances';

export interface MalformedInstancePageEvent {
  query: InstancePageQuery;
  upstreamRequestId?: string;
  problem: string;
  offending: string;
}

/** Upstream's largest `PageSize` for ListInstances (1..100). */
export const INSTANCE_PAGE_SIZE = 100;
/**
 * Most pages one listing reads (100,000 instances): a guard against an upstream whose TotalCount
 * keeps growing or whose pages never end, not a limit any account reaches.
 */
const MAX_INSTANCE_PAGES = 1_000;

export interface AnswerAnomaliesEvent {
  query: ReportQuery;
  upstreamRequestId?: string;
  findings: AnomalyFinding[];
}

export const DEFAULT_BREAKER = { errorThresholdPercentage: 50, volumeThreshold: 10, resetTimeoutMs: 5_000, rollingWindowMs: 10_000 };

/**
 * Only outages count against the circuit: 5xx answers, timeouts and network errors (all
 * UPSTREAM_UNAVAILABLE). A bad parameter or an unknown instance is the caller's problem, and
 * throttling proves upstream is there: it slows the gateway down (the scheduler's adaptive
 * concurrency, retries until the deadline) instead of failing every call fast.
 */
/**
 * The client settings a process takes from its configuration: the gateway and `npm run archive`
 * build their clients from these, adding only their own observers (and tests their breaker).
 */
export function cccClientSettings(config: Pick<GatewayConfig, 'upstream' | 'resilience'>, endpoint: UpstreamEndpoint) {
  return {
    endpoint: endpoint.host,
    protocol: endpoint.protocol,
    region: config.upstream.region,
    timeoutMs: config.upstream.timeoutMs,
    maxAttempts: config.resilience.maxAttempts,
    deadlineMs: config.resilience.deadlineMs,
    breaker: { ...DEFAULT_BREAKER, resetTimeoutMs: config.resilience.circuitResetMs },
  } satisfies Partial<CccClientOptions>;
}

export const countsAsOutage = (error: GatewayError) => error.code === 'UPSTREAM_UNAVAILABLE';

/** Longest backoff between two attempts of one call, unless upstream's retry hint asks for more. */
const MAX_RETRY_DELAY_MS = 2_000;
/** Shortest time worth giving one more attempt before the deadline. */
const MIN_ATTEMPT_MS = 100;

const { OpenApiRequest, Params } = $OpenApiUtil;
type Params = InstanceType<typeof Params>;

export type CircuitState = 'closed' | 'half-open' | 'open';

/** Every CCC action is called alike: RPC style, POST, parameters in the query. */
const RPC_CALL = {
  version: '2020-07-01',
  protocol: 'HTTPS',
  pathname: '/',
  method: 'POST',
  authType: 'AK',
  style: 'RPC',
  reqBodyType: 'formData',
  bodyType: 'json',
};

const UPSTREAM_INTERVAL = { HOURLY: 'Hourly', DAILY: 'Daily' } as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One attempt of a call, given the time it may take. */
type Attempt<T> = (timeoutMs: number) => Promise<T>;

export class CccClient implements ReportSource, InstanceDirectory {
  private readonly api: OpenApi;
  private readonly credential: Credential;
  private readonly runtime: $dara.RuntimeOptions;
  /** ListIntervalInstanceReport */
  private readonly params: Params;
  private readonly listInstancesParams: Params;
  /** One breaker for every action: an outage is upstream's, whichever action saw it. */
  private readonly breaker: CircuitBreaker<[Attempt<unknown>, number], unknown>;

  constructor(private readonly options: CccClientOptions) {
    const credential = (this.credential = options.accessKey
      ? new Credential(
          new CredentialConfig({ type: 'access_key', accessKeyId: options.accessKey.id, accessKeySecret: options.accessKey.secret }),
        )
      : new Credential()); // default chain: env vars, profile, RAM role, ECS metadata, OIDC
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
    this.params = new Params({ ...RPC_CALL, action: 'ListIntervalInstanceReport', protocol: options.protocol.toUpperCase() });
    this.listInstancesParams = new Params({ ...RPC_CALL, action: 'ListInstances', protocol: options.protocol.toUpperCase() });
    this.runtime = new $dara.RuntimeOptions({ readTimeout: options.timeoutMs, connectTimeout: options.timeoutMs });

    // The breaker wraps single attempts: while upstream is down, calls fail at once instead of
    // each spending its timeouts and retries, and a probe after resetTimeoutMs closes it again.
    const breaker = { ...DEFAULT_BREAKER, ...options.breaker };
    this.breaker = new CircuitBreaker((attempt: Attempt<unknown>, timeoutMs: number) => attempt(timeoutMs), {
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

  /**
   * Resolves the credential chain once, so that a misconfigured source (a profile that does not
   * exist, a file without a secret, a role that cannot be assumed) is reported at start instead
   * of as the first caller's UPSTREAM_AUTH. The reason is the library's own, with any secret
   * value the environment holds cut out; the caller logs it.
   */
  async checkCredentials(timeoutMs = 5_000): Promise<{ ok: true; provider: string } | { ok: false; reason: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from the credential chain within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const resolved = await Promise.race([this.credential.getCredential(), timeout]);
      if (!resolved.accessKeyId || !resolved.accessKeySecret) return { ok: false, reason: 'the credential chain returned no AccessKey pair' };
      return { ok: true, provider: resolved.providerName ?? resolved.type ?? 'unknown' };
    } catch (error) {
      return { ok: false, reason: redactSecrets(error instanceof Error ? error.message : String(error)).slice(0, 1_000) };
    } finally {
      clearTimeout(timer);
    }
  }

  shutdown(): void {
    this.breaker.shutdown();
  }

  /** One report call, retried as `call` says. */
  listIntervalInstanceReport(query: ReportQuery, feedback?: ReportCallFeedback): Promise<ReportAnswer> {
    return this.call(query, (timeoutMs) => this.callOnce(query, timeoutMs), feedback);
  }

  /**
   * Every instance of the account: `ListInstances` page by page (100 a page), each page a call
   * with the same retries, deadline and circuit as a report call, each validated whole. Pages are
   * read one after the other until `TotalCount` instances are seen or a page comes back empty
   * (an instance released while paging shifts the later pages; ids are deduplicated). A page that
   * fails fails the whole listing: a partial list is never returned.
   */
  async listInstances(): Promise<InstanceInfo[]> {
    const byId = new Map<string, InstanceInfo>();
    for (let pageNumber = 1; ; pageNumber++) {
      if (pageNumber > MAX_INSTANCE_PAGES) {
        throw new GatewayError('UPSTREAM_ERROR', `The call center service's instance list did not end after ${MAX_INSTANCE_PAGES} pages; nothing from it was kept`);
      }
      const query: InstancePageQuery = { action: 'ListInstances', pageNumber, pageSize: INSTANCE_PAGE_SIZE };
      const page = await this.call(query, (timeoutMs) => this.listInstancesPageOnce(query, timeoutMs));
      for (const instance of page.instances) if (!byId.has(instance.id)) byId.set(instance.id, instance);
      if (page.instances.length === 0 || pageNumber * INSTANCE_PAGE_SIZE >= page.totalCount) return [...byId.values()];
    }
  }

  /**
   * One call, retried with backoff: an outage up to `maxAttempts` attempts, throttling as long as
   * the deadline leaves room for another attempt (throttling is not an outage: waiting it out is
   * the cure). `feedback` hears of every throttled attempt, so the caller can slow down too.
   */
  private async call<T>(query: UpstreamCall, attemptOnce: Attempt<T>, feedback?: ReportCallFeedback): Promise<T> {
    const maxAttempts = this.options.maxAttempts ?? 3;
    const deadline = performance.now() + (this.options.deadlineMs ?? this.options.timeoutMs * maxAttempts);
    let throttledAttempts = 0;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        const remaining = Math.max(1, Math.min(this.options.timeoutMs, deadline - started));
        const answer = (await this.breaker.fire(attemptOnce, remaining)) as T;
        this.options.onAttempt?.({ query, attempt, durationMs: performance.now() - started });
        return answer;
      } catch (raw) {
        // A circuit rejection never reached upstream. Open: fail fast. Half-open: another call
        // is probing right now, so this one waits its backoff and tries again.
        const circuit = isOpenCircuit(raw) ? (this.breaker.opened ? 'open' : 'half-open') : undefined;
        const error = circuit ? circuitRejection(circuit) : toGatewayError(raw);
        this.options.onAttempt?.({ query, attempt, durationMs: performance.now() - started, error });
        const hint = typeof error.details.retryAfterMs === 'number' ? error.details.retryAfterMs : 0;
        if (error.code === 'UPSTREAM_THROTTLED') {
          throttledAttempts++;
          feedback?.onThrottled(hint || undefined);
        }
        const outageAttempts = attempt - throttledAttempts;
        if (!isRetryable(error) || (outageAttempts >= maxAttempts && error.code !== 'UPSTREAM_THROTTLED') || circuit === 'open') throw error;
        // A jittered pause is cut to leave the next attempt half the time left; a hint is not.
        const left = deadline - performance.now();
        const pause = Math.max(hint, Math.min(this.backoffMs(attempt), left / 2));
        // No attempt that could not finish before the deadline (nor one cut so short that its
        // own timeout would count as an outage).
        if (left - pause < Math.min(MIN_ATTEMPT_MS, this.options.timeoutMs)) throw error;
        await sleep(pause);
      }
    }
  }

  /** Capped exponential backoff with full jitter (upstream's retry-after hint is applied on top). */
  private backoffMs(attempt: number): number {
    const base = this.options.retryBaseDelayMs ?? 100;
    return Math.random() * Math.min(MAX_RETRY_DELAY_MS, base * 2 ** Math.min(attempt - 1, 30));
  }

  private runtimeFor(timeoutMs: number): $dara.RuntimeOptions {
    return timeoutMs >= this.options.timeoutMs ? this.runtime : new $dara.RuntimeOptions({ readTimeout: timeoutMs, connectTimeout: timeoutMs });
  }

  private async listInstancesPageOnce(query: InstancePageQuery, timeoutMs: number): Promise<InstancePage> {
    const request = new OpenApiRequest({ query: { PageNumber: String(query.pageNumber), PageSize: String(query.pageSize) } });
    const response = await this.api.callApi(this.listInstancesParams, request, this.runtimeFor(timeoutMs));
    try {
      return normalizeInstancePage(response?.body, query.pageNumber);
    } catch (error) {
      if (error instanceof MalformedUpstreamAnswer) {
        this.options.onMalformedInstancePage?.({ query, upstreamRequestId: error.details.upstreamRequestId as string | undefined, problem: error.problem, offending: error.offending });
      }
      throw error;
    }
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
    const response = await this.api.callApi(this.params, request, this.runtimeFor(timeoutMs));
    // The whole answer is validated before anything from it can be stored or served.
    let answer: ReportAnswer;
    try {
      answer = normalizeReportBody(response?.body, query);
    } catch (error) {
      if (error instanceof MalformedUpstreamAnswer) {
        this.options.onMalformedAnswer?.({ query, upstreamRequestId: error.details.upstreamRequestId as string | undefined, problem: error.problem, offending: error.offending });
      }
      throw error;
    }
    if (this.options.onAnswerAnomalies) {
      const findings = findRollupAnomalies(answer.buckets);
      if (findings.length > 0) this.options.onAnswerAnomalies({ query, upstreamRequestId: answer.requestId, findings });
    }
    return answer;
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

/** Values that must never reach a log, whatever a library puts into its messages. */
function redactSecrets(text: string): string {
  let out = text;
  for (const name of ['ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'ALIBABA_CLOUD_SECURITY_TOKEN', 'ALIBABA_CLOUD_OIDC_TOKEN_FILE_CONTENT']) {
    const value = process.env[name];
    if (value && value.length >= 4) out = out.split(value).join('[redacted]');
  }
  return out;
}
