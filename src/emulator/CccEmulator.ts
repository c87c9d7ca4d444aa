/**
 * An HTTP server that behaves like Alibaba Cloud CCC (OpenAPI 2020-07-01) for
 * ListIntervalInstanceReport and ListInstances (./instanceList): it speaks RPC over the V3 signature exactly as
 * `@alicloud/openapi-core` sends it, checks the signature, applies the service's parameter rules
 * and error codes, and answers with reports of a deterministic simulated call center.
 *
 * Request pipeline, in the service's order: route (version, action) -> authenticate -> injected
 * failure -> parameters -> buckets. Every API call is counted in `stats`; the control endpoints
 * under `/__emulator/` are not.
 */
import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, errorBody, gatewayErrors, serviceErrors } from './apiErrors';
import { authenticate, NonceRegistry } from './authenticate';
import { CONTROL_PATH_PREFIX, handleControl } from './controlEndpoints';
import { injectedFailure } from './failureInjection';
import { BodyTooLargeError, readRequest, ReceivedRequest } from './httpRequest';
import { CccEmulatorOptions, isKnownInstance, resolveOptions } from './options';
import { reportBucketsInSlices } from './reportBuckets';
import { instancePageBody, parseInstancePageRequest, type InstancePageRequest } from './instanceList';
import { parseReportRequest, type ReportRequest } from './reportRequest';
import { numbersToStrings, reportSuccessBody } from './responseBody';
import { clearStats, emptyStats, EmulatorStats, recordCall } from './stats';

export const CCC_API_VERSION = '2020-07-01';
export const LIST_INTERVAL_INSTANCE_REPORT = 'ListIntervalInstanceReport';
export const LIST_INSTANCES = 'ListInstances';

interface Answer {
  status: number;
  body: unknown;
  code: string;
  buckets: number;
  /** The parsed parameters of a report success. */
  request?: ReportRequest;
  /** The parsed parameters of a ListInstances success. */
  page?: InstancePageRequest;
}

export class CccEmulator {
  /** Mutable at any time; takes effect from the next request. */
  options: CccEmulatorOptions;
  readonly stats: EmulatorStats = emptyStats();
  private readonly nonces = new NonceRegistry();
  /** Index of the next call in the deterministic failure sequence. */
  private failureSequence = 0;
  private server: Server | null = null;
  private baseUrl: string | null = null;

  constructor(options: Partial<CccEmulatorOptions> = {}) {
    this.options = resolveOptions(options);
  }

  /** `http://HOST:PORT` while started, else null. */
  get url(): string | null {
    return this.baseUrl;
  }

  async start(port = 0, host = '127.0.0.1'): Promise<{ url: string }> {
    if (this.server) throw new Error(`emulator already started at ${this.baseUrl}`);
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    this.baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
    return { url: this.baseUrl };
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    this.baseUrl = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // The client keeps connections alive; without this, close() would wait for them to time out.
    server.closeAllConnections();
    await closed;
  }

  /** Empties the stats, restarts the failure sequence, and forgets seen nonces. */
  resetStats(): void {
    clearStats(this.stats);
    this.failureSequence = 0;
    this.nonces.clear();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = (req.url ?? '/').split('?', 1)[0];
      if (path.startsWith(CONTROL_PATH_PREFIX)) {
        const received = await readRequest(req);
        const answer = handleControl(this, received.method, path, received.body);
        return send(res, answer.status, JSON.stringify(answer.body), {});
      }
      await this.handleApiCall(req, res);
    } catch (error) {
      // Last resort: a bug in the emulator must still produce an answer, not a hung request.
      if (!res.headersSent) send(res, 500, JSON.stringify({ Code: 'InternalError', Message: String(error) }), {});
    }
  }

  private async handleApiCall(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID().toUpperCase();
    const options = this.options;
    const arrivedAt = options.now();
    const arrivedAtWall = performance.now();
    let received: ReceivedRequest | null = null;
    let answer: Answer;
    try {
      received = await readRequest(req);
      answer = await this.answer(received, requestId, arrivedAt);
    } catch (error) {
      const apiError =
        error instanceof ApiError
          ? error
          : error instanceof BodyTooLargeError
            ? new ApiError(413, 'RequestEntityTooLarge', error.message)
            : serviceErrors.InternalError();
      answer = { status: apiError.httpStatus, body: errorBody(apiError, requestId, req.headers.host ?? ''), code: apiError.code, buckets: 0 };
    }

    const param = (name: string): string | null => received?.params.get(name) ?? null;
    recordCall(
      this.stats,
      {
        at: arrivedAt,
        action: received ? actionOf(received) : null,
        instanceId: param('InstanceId'),
        interval: param('Interval'),
        startTime: param('StartTime'),
        endTime: param('EndTime'),
        code: answer.code,
        httpStatus: answer.status,
        buckets: answer.buckets,
      },
      options.maxLogEntries,
    );
    let body = options.numbersAsStrings && answer.code === 'OK' ? numbersToStrings(answer.body) : answer.body;
    if (options.transformAnswer && answer.request) body = options.transformAnswer(body, answer.request);
    if (options.transformInstancePage && answer.page) body = options.transformInstancePage(body, answer.page);
    // latencyMs is the service's response time: the answer leaves that long after the request
    // arrived, whatever the simulation and serialization took (a fixed-latency upstream, as
    // benchmarks assume). The payload is ready before the wait, so that answers due at the same
    // moment do not queue behind each other's JSON.stringify.
    const payload = JSON.stringify(body);
    const remaining = options.latencyMs - (performance.now() - arrivedAtWall);
    if (remaining > 0) await sleep(remaining);
    send(res, answer.status, payload, { 'x-acs-request-id': requestId });
  }

  private async answer(received: ReceivedRequest, requestId: string, now: number): Promise<Answer> {
    const options = this.options;
    const version = single(received.headers['x-acs-version']) ?? received.params.get('Version');
    if (version !== CCC_API_VERSION) throw gatewayErrors.invalidVersion();
    const action = actionOf(received);
    if (action !== LIST_INTERVAL_INSTANCE_REPORT && action !== LIST_INSTANCES) throw gatewayErrors.invalidAction();

    authenticate(received, {
      secretOf: (accessKeyId) => (Object.hasOwn(options.accessKeys, accessKeyId) ? options.accessKeys[accessKeyId] : undefined),
      wallClock: options.wallClock,
      nonces: options.rejectReusedNonces ? this.nonces : null,
    });

    const failure = injectedFailure(options.failures, this.failureSequence++);
    if (failure) throw serviceErrors[failure]();

    if (action === LIST_INSTANCES) {
      const page = parseInstancePageRequest(received.params);
      return { status: 200, body: instancePageBody(requestId, page, options.instances, options.instanceDetails), code: 'OK', buckets: 0, page };
    }

    const request = parseReportRequest(received.params, {
      now,
      timeZone: options.timeZone,
      instanceExists: (instanceId) => isKnownInstance(options, instanceId),
    });
    const buckets = await reportBucketsInSlices(request, { now, timeZone: options.timeZone, averageRounding: options.averageRounding, openHourExtraCalls: options.openHourExtraCalls });
    return { status: 200, body: reportSuccessBody(requestId, buckets), code: 'OK', buckets: buckets.length, request };
  }
}

/** The action from the V3 header, or the V1-style `Action` parameter. */
function actionOf(received: ReceivedRequest): string | null {
  return single(received.headers['x-acs-action']) ?? received.params.get('Action') ?? null;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function send(res: ServerResponse, status: number, payload: string, headers: Record<string, string>): void {
  res.writeHead(status, {
    'content-type': 'application/json;charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}
