/**
 * The emulator's protocol, authentication, parameter rules, failure injection, stats and control
 * endpoints, driven through the real client library (@alicloud/openapi-core) wherever the client
 * can express the request, and through hand-signed raw HTTP where it cannot.
 */
import { request as httpRequest } from 'node:http';
import OpenApi, { $OpenApiUtil, ClientError, ServerError, ThrottlingError } from '@alicloud/openapi-core';
import * as $dara from '@darabonba/typescript';
import {
  CccEmulator,
  DEFAULT_ACCESS_KEY_ID,
  DEFAULT_ACCESS_KEY_SECRET,
  signRpcCall,
  SignedHttpRequest,
} from '../../src/emulator';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Monday 2024-06-03 13:30 in Shanghai. */
const NOW = Date.UTC(2024, 5, 3, 5, 30);

function reportParams(overrides: { action?: string; version?: string } = {}) {
  return new $OpenApiUtil.Params({
    action: overrides.action ?? 'ListIntervalInstanceReport',
    version: overrides.version ?? '2020-07-01',
    protocol: 'HTTP',
    pathname: '/',
    method: 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
}

function sdkClient(url: string, accessKeyId = DEFAULT_ACCESS_KEY_ID, accessKeySecret = DEFAULT_ACCESS_KEY_SECRET): OpenApi {
  return new OpenApi(
    new $OpenApiUtil.Config({ accessKeyId, accessKeySecret, endpoint: new URL(url).host, protocol: 'http', regionId: 'cn-shanghai' }),
  );
}

type ApiAnswer = { statusCode: number; headers: Record<string, string>; body: any };

function call(client: OpenApi, query: Record<string, string>, params = reportParams()): Promise<ApiAnswer> {
  return client.callApi(params, new $OpenApiUtil.OpenApiRequest({ query }), new $dara.RuntimeOptions({})) as Promise<ApiAnswer>;
}

async function failureOf(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

function sendRaw(signed: SignedHttpRequest, tamper: (headers: Record<string, string>) => void = () => {}): Promise<{ status: number; body: any }> {
  const headers = { ...signed.headers };
  tamper(headers);
  return new Promise((resolve, reject) => {
    const req = httpRequest(signed.url, { method: signed.method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(signed.body);
  });
}

function signed(url: string, query: Record<string, string>, extra: Partial<Parameters<typeof signRpcCall>[0]> = {}): SignedHttpRequest {
  return signRpcCall({
    baseUrl: url,
    accessKeyId: DEFAULT_ACCESS_KEY_ID,
    accessKeySecret: DEFAULT_ACCESS_KEY_SECRET,
    action: 'ListIntervalInstanceReport',
    version: '2020-07-01',
    query,
    ...extra,
  });
}

async function control(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/__emulator/${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

let emulator: CccEmulator;
let url: string;
let client: OpenApi;

beforeAll(async () => {
  emulator = new CccEmulator({ now: () => NOW });
  ({ url } = await emulator.start());
  client = sdkClient(url);
});

afterAll(async () => {
  await emulator.stop();
});

beforeEach(() => {
  emulator.options = { ...emulator.options, failures: { ...emulator.options.failures, rate: 0 }, latencyMs: 0, numbersAsStrings: false };
  emulator.resetStats();
});

describe('protocol and authentication', () => {
  it('accepts a request signed by @alicloud/openapi-core (V3, ACS3-HMAC-SHA256)', async () => {
    const answer = await call(client, { InstanceId: 'ccc-test', Interval: 'Hourly' });
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toMatchObject({ Code: 'OK', HttpStatusCode: 200, Message: '' });
    expect(answer.body.RequestId).toMatch(/^[0-9A-F-]{36}$/);
    expect(answer.headers['x-acs-request-id']).toBe(answer.body.RequestId);
    expect(answer.body.Data.length).toBeGreaterThan(0);
  });

  it('accepts query values and names that need percent-encoding', async () => {
    const answer = await call(client, { InstanceId: 'ccc-test', Interval: 'Hourly', Note: "a b+c!*'()~ä/&=%", 'Odd Name': '1' });
    expect(answer.statusCode).toBe(200);
  });

  it('answers SignatureDoesNotMatch (400) to a wrong secret', async () => {
    const error = await failureOf(call(sdkClient(url, DEFAULT_ACCESS_KEY_ID, 'not-the-secret'), { InstanceId: 'ccc-test' }));
    expect(error).toBeInstanceOf(ClientError);
    expect(error).toMatchObject({ code: 'SignatureDoesNotMatch', statusCode: 400 });
    expect(error.data).toMatchObject({ Code: 'SignatureDoesNotMatch', HostId: new URL(url).host });
    expect(error.data.Message).toContain('ACS3-HMAC-SHA256\n');
    expect(error.data.Recommend).toContain('SignatureDoesNotMatch');
  });

  it('answers InvalidAccessKeyId.NotFound (404) to an unknown key', async () => {
    const error = await failureOf(call(sdkClient(url, 'nobody', 'whatever'), { InstanceId: 'ccc-test' }));
    expect(error).toMatchObject({ code: 'InvalidAccessKeyId.NotFound', statusCode: 404 });
  });

  it('accepts any configured key pair', async () => {
    const local = new CccEmulator({ now: () => NOW, accessKeys: { 'other-id': 'other-secret' } });
    const { url: localUrl } = await local.start();
    try {
      expect((await call(sdkClient(localUrl, 'other-id', 'other-secret'), { InstanceId: 'ccc-test' })).statusCode).toBe(200);
      const error = await failureOf(call(sdkClient(localUrl), { InstanceId: 'ccc-test' }));
      expect(error.code).toBe('InvalidAccessKeyId.NotFound');
    } finally {
      await local.stop();
    }
  });

  it('answers MissingAuthorization (400) without an Authorization header, IncompleteSignature when malformed', async () => {
    const request = signed(url, { InstanceId: 'ccc-test' });
    const missing = await sendRaw(request, (h) => delete h.authorization);
    expect(missing).toMatchObject({ status: 400, body: { Code: 'MissingAuthorization' } });
    expect(Object.keys(missing.body).sort()).toEqual(['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
    const malformed = await sendRaw(request, (h) => (h.authorization = 'ACS3-HMAC-SHA256 Credential=x'));
    expect(malformed).toMatchObject({ status: 400, body: { Code: 'IncompleteSignature' } });
  });

  it('answers InvalidTimeStamp.Expired (400) when x-acs-date is more than 15 minutes off', async () => {
    const stale = await sendRaw(signed(url, { InstanceId: 'ccc-test' }, { date: Date.now() - 16 * 60_000 }));
    expect(stale).toMatchObject({ status: 400, body: { Code: 'InvalidTimeStamp.Expired' } });
    const recent = await sendRaw(signed(url, { InstanceId: 'ccc-test' }, { date: Date.now() - 14 * 60_000 }));
    expect(recent.status).toBe(200);

    // The same through the SDK, by moving the server's wall clock instead.
    const local = new CccEmulator({ now: () => NOW, wallClock: () => Date.now() + 16 * 60_000 });
    const { url: localUrl } = await local.start();
    try {
      const error = await failureOf(call(sdkClient(localUrl), { InstanceId: 'ccc-test' }));
      expect(error).toMatchObject({ code: 'InvalidTimeStamp.Expired', statusCode: 400 });
    } finally {
      await local.stop();
    }
  });

  it('answers InvalidAction.NotFound (404) to an unknown action and InvalidVersion (400) to another version', async () => {
    const action = await failureOf(call(client, { InstanceId: 'ccc-test' }, reportParams({ action: 'ListSomethingElse' })));
    expect(action).toMatchObject({ code: 'InvalidAction.NotFound', statusCode: 404 });
    const version = await failureOf(call(client, { InstanceId: 'ccc-test' }, reportParams({ version: '2017-07-05' })));
    expect(version).toMatchObject({ code: 'InvalidVersion', statusCode: 400 });
  });

  it('rejects tampered parameters, unsigned public headers, a wrong payload hash and a replayed nonce', async () => {
    const request = signed(url, { InstanceId: 'ccc-test', Interval: 'Daily' });
    const tampered = await sendRaw({ ...request, url: request.url.replace('Daily', 'Hourly') });
    expect(tampered).toMatchObject({ status: 400, body: { Code: 'SignatureDoesNotMatch' } });
    const unsigned = await sendRaw(request, (h) => (h['x-acs-extra'] = 'sneaky'));
    expect(unsigned).toMatchObject({ status: 400, body: { Code: 'IncompleteSignature' } });
    const wrongHash = await sendRaw(request, (h) => (h['x-acs-content-sha256'] = 'ab'.repeat(32)));
    expect(wrongHash).toMatchObject({ status: 400, body: { Code: 'SignatureDoesNotMatch' } });

    expect((await sendRaw(request)).status).toBe(200);
    const replay = await sendRaw(request);
    expect(replay).toMatchObject({ status: 400, body: { Code: 'SignatureNonceUsed' } });
  });

  it('accepts parameters in an x-www-form-urlencoded body', async () => {
    const answer = await sendRaw(signed(url, {}, { form: { InstanceId: 'ccc-test', Interval: 'Hourly' } }));
    expect(answer.status).toBe(200);
    // Hourly: one bucket per open hour since local midnight, not one Daily bucket.
    expect(answer.body.Data.length).toBeGreaterThan(1);
  });
});

describe('ListIntervalInstanceReport parameter rules', () => {
  async function rejection(query: Record<string, string>): Promise<{ code: string; statusCode: number; message: string }> {
    const error = await failureOf(call(client, query));
    return { code: error.code, statusCode: error.statusCode, message: error.data.Message };
  }

  it('Parameter.Blank (400) for a missing or blank InstanceId', async () => {
    const expected = { code: 'Parameter.Blank', statusCode: 400, message: 'The parameter InstanceId may not be null or blank.' };
    expect(await rejection({})).toEqual(expected);
    expect(await rejection({ InstanceId: '  ' })).toEqual(expected);
  });

  it('NotExists.InstanceId (404) for an unknown instance; ccc-sim-* ids exist', async () => {
    expect(await rejection({ InstanceId: 'ccc-unknown' })).toMatchObject({ code: 'NotExists.InstanceId', statusCode: 404 });
    expect((await call(client, { InstanceId: 'ccc-sim-anything-42' })).statusCode).toBe(200);
    for (const id of ['ccc-test', 'ccc-demo-1', 'ccc-demo-5']) expect((await call(client, { InstanceId: id })).statusCode).toBe(200);
  });

  it('Parameter.Minimum (400) for a StartTime more than 180 days back', async () => {
    const oldest = NOW - 180 * DAY_MS;
    const error = await rejection({ InstanceId: 'ccc-test', StartTime: String(oldest - 1), EndTime: String(oldest + DAY_MS) });
    expect(error).toMatchObject({ code: 'Parameter.Minimum', statusCode: 400 });
    expect(error.message).toContain('StartTime');
    expect((await call(client, { InstanceId: 'ccc-test', StartTime: String(oldest), EndTime: String(oldest + DAY_MS) })).statusCode).toBe(200);
  });

  it('Parameter.Maximum (400) for a span over 10 days (Hourly) or 180 days (Daily)', async () => {
    const start = NOW - 20 * DAY_MS;
    const hourly = await rejection({ InstanceId: 'ccc-test', Interval: 'Hourly', StartTime: String(start), EndTime: String(start + 10 * DAY_MS + 1) });
    expect(hourly).toMatchObject({ code: 'Parameter.Maximum', statusCode: 400 });
    expect(hourly.message).toContain('EndTime');
    expect(hourly.message).toContain('10 days');
    const tenDays = { InstanceId: 'ccc-test', Interval: 'Hourly', StartTime: String(start), EndTime: String(start + 10 * DAY_MS) };
    expect((await call(client, tenDays)).statusCode).toBe(200);

    const dailyStart = NOW - 180 * DAY_MS;
    const daily = await rejection({ InstanceId: 'ccc-test', Interval: 'Daily', StartTime: String(dailyStart), EndTime: String(dailyStart + 180 * DAY_MS + 1) });
    expect(daily).toMatchObject({ code: 'Parameter.Maximum', statusCode: 400 });
    expect(daily.message).toContain('180 days');
  });

  it('Parameter.Invalid (400) for StartTime after EndTime, non-numeric times, or another Interval', async () => {
    const invalid = { code: 'Parameter.Invalid', statusCode: 400 };
    expect(await rejection({ InstanceId: 'ccc-test', StartTime: String(NOW - HOUR_MS), EndTime: String(NOW - 2 * HOUR_MS) })).toMatchObject(invalid);
    expect(await rejection({ InstanceId: 'ccc-test', StartTime: 'yesterday' })).toMatchObject(invalid);
    expect(await rejection({ InstanceId: 'ccc-test', EndTime: '1.5e12' })).toMatchObject(invalid);
    expect(await rejection({ InstanceId: 'ccc-test', Interval: 'Weekly' })).toMatchObject(invalid);
    expect(await rejection({ InstanceId: 'ccc-test', Interval: 'hourly' })).toMatchObject(invalid);
  });
});

describe('failure injection', () => {
  async function outcomes(calls: number): Promise<string[]> {
    const codes: string[] = [];
    for (let i = 0; i < calls; i++) {
      try {
        await call(client, { InstanceId: 'ccc-test', Interval: 'Hourly', StartTime: String(NOW - HOUR_MS) });
        codes.push('OK');
      } catch (error) {
        codes.push((error as { code: string }).code);
      }
    }
    return codes;
  }

  it('fails about `rate` of the calls, with the configured codes, deterministically for a seed', async () => {
    emulator.options.failures = { rate: 0.3, codes: ['Throttling.User', 'ServiceUnavailable', 'InternalError'], seed: 7 };
    const first = await outcomes(300);
    const failed = first.filter((code) => code !== 'OK').length;
    expect(failed).toBeGreaterThan(60);
    expect(failed).toBeLessThan(120);
    expect(new Set(first)).toEqual(new Set(['OK', 'Throttling.User', 'ServiceUnavailable', 'InternalError']));
    expect(emulator.stats.byCode.OK).toBe(300 - failed);

    emulator.resetStats();
    expect(await outcomes(300)).toEqual(first);

    emulator.resetStats();
    emulator.options.failures = { ...emulator.options.failures, seed: 8 };
    expect(await outcomes(300)).not.toEqual(first);
  });

  it('answers each injected code with the service status and message, raised as the SDK types them', async () => {
    const expectations = [
      { code: 'Throttling.User', status: 400, type: ThrottlingError, message: 'Request was denied due to user flow control.' },
      { code: 'ServiceUnavailable', status: 503, type: ServerError, message: 'The request has failed due to a temporary failure of the server.' },
      { code: 'InternalError', status: 500, type: ServerError, message: 'The request processing has failed due to some unknown error, exception or failure.' },
    ] as const;
    for (const expected of expectations) {
      emulator.options.failures = { rate: 1, codes: [expected.code] };
      const error = await failureOf(call(client, { InstanceId: 'ccc-test' }));
      expect(error).toBeInstanceOf(expected.type);
      expect(error).toMatchObject({ code: expected.code, statusCode: expected.status });
      expect(error.data.Message).toBe(expected.message);
    }
  });

  it('comes after authentication: a bad signature is still SignatureDoesNotMatch', async () => {
    emulator.options.failures = { rate: 1, codes: ['InternalError'] };
    const error = await failureOf(call(sdkClient(url, DEFAULT_ACCESS_KEY_ID, 'wrong'), { InstanceId: 'ccc-test' }));
    expect(error.code).toBe('SignatureDoesNotMatch');
  });
});

describe('stats, latency and control endpoints', () => {
  it('counts every API call by outcome and logs its parameters', async () => {
    await call(client, { InstanceId: 'ccc-test', Interval: 'Hourly', StartTime: String(NOW - 3 * HOUR_MS), EndTime: String(NOW) });
    await failureOf(call(client, { InstanceId: 'ccc-nope' }));
    await failureOf(call(sdkClient(url, 'nobody', 'x'), { InstanceId: 'ccc-test' }));
    expect(emulator.stats.callsReceived).toBe(3);
    expect(emulator.stats.byCode).toEqual({ OK: 1, 'NotExists.InstanceId': 1, 'InvalidAccessKeyId.NotFound': 1 });
    expect(emulator.stats.log[0]).toEqual({
      at: NOW,
      action: 'ListIntervalInstanceReport',
      instanceId: 'ccc-test',
      interval: 'Hourly',
      startTime: String(NOW - 3 * HOUR_MS),
      endTime: String(NOW),
      code: 'OK',
      httpStatus: 200,
      // 02:30..05:30 widens to the hours 02, 03, 04 and the current one, 05.
      buckets: 4,
    });
    expect(emulator.stats.log[1]).toMatchObject({ instanceId: 'ccc-nope', code: 'NotExists.InstanceId', httpStatus: 404, buckets: 0 });

    // Control endpoints are not API calls.
    const viaHttp = await control(url, 'GET', 'stats');
    expect(viaHttp.body.callsReceived).toBe(3);
    expect((await control(url, 'POST', 'reset')).status).toBe(200);
    expect(emulator.stats).toEqual({ callsReceived: 0, byCode: {}, log: [] });
  });

  it('keeps only the most recent calls in the log', async () => {
    emulator.options.maxLogEntries = 5;
    for (let i = 0; i < 12; i++) await call(client, { InstanceId: 'ccc-test', StartTime: String(NOW - i * HOUR_MS) });
    expect(emulator.stats.callsReceived).toBe(12);
    expect(emulator.stats.log.length).toBeLessThanOrEqual(6);
    expect(emulator.stats.log.at(-1)?.startTime).toBe(String(NOW - 11 * HOUR_MS));
    emulator.options.maxLogEntries = 10_000;
  });

  it('changes latency, failures and number format through POST /__emulator/options', async () => {
    const patched = await control(url, 'POST', 'options', { latencyMs: 120, numbersAsStrings: true, failures: { rate: 0 } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ latencyMs: 120, numbersAsStrings: true, failures: { rate: 0 } });
    const started = performance.now();
    const answer = await call(client, { InstanceId: 'ccc-test' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    expect(answer.body.HttpStatusCode).toBe('200');

    await control(url, 'POST', 'options', { failures: { rate: 1, codes: ['ServiceUnavailable'] }, latencyMs: 0 });
    expect((await failureOf(call(client, { InstanceId: 'ccc-test' }))).code).toBe('ServiceUnavailable');

    const rejected = await control(url, 'POST', 'options', { failures: { rate: 2 } });
    expect(rejected.status).toBe(400);
    expect(emulator.options.failures.rate).toBe(1);
    expect((await control(url, 'POST', 'options', { accessKeys: {} })).status).toBe(400);
    expect((await control(url, 'GET', 'nothing-here')).status).toBe(404);
  });
});
