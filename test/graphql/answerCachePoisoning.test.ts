/**
 * Attempts to make the response cache or the plan-keyed answer cache store an answer that
 * another request later receives. Each request goes to gateway A (every cache on) after the
 * request that could have poisoned it, and to gateway B (no response or answer cache,
 * graphql-js): the answers must be the same bytes, status and Cache-Control.
 */
import http from 'node:http';
import { HOUR_MS } from '../../src/reports/intervals';
import type { Gateway } from '../../src/server/createGateway';
import { FakeReportSource } from '../helpers/fakeReportSource';
import { startTestGateway } from '../helpers/gateway';

/** 2026-11-26 11:30:12.345 in Shanghai (04:30 in Berlin). */
const NOW = Date.UTC(2026, 10, 26, 3, 30, 12, 345);

interface Reply {
  status: number;
  cacheControl: string | undefined;
  text: string;
}

function post(url: string, body: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c) => chunks.push(c));
      response.on('end', () => resolve({ status: response.statusCode!, cacheControl: response.headers['cache-control'], text: Buffer.concat(chunks).toString() }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** Sends each body to both gateways in order; every answer must be the same. Returns A's. */
const sameAnswersOf =
  (cached: Gateway, plain: Gateway) =>
  async (...bodies: object[]): Promise<Reply[]> => {
    const replies: Reply[] = [];
    for (const body of bodies) {
      const text = JSON.stringify(body);
      const [a, b] = [await post(cached.url, text), await post(plain.url, text)];
      expect({ body, ...a }).toEqual({ body, ...b });
      replies.push(a);
    }
    return replies;
  };

describe('the answer caches cannot be poisoned', () => {
  let cached: Gateway;
  let plain: Gateway;
  // ccc-demo-1's days are Berlin's: one range end can fall on different days for two instances.
  const env = { CCC_INSTANCE_TIMEZONES: 'ccc-demo-1=Europe/Berlin' };
  beforeAll(async () => {
    cached = await startTestGateway(env, { now: () => NOW });
    plain = await startTestGateway({ ...env, GRAPHQL_EXECUTOR: 'graphql-js', RESPONSE_CACHE_MAX_BYTES: '0' }, { now: () => NOW });
  });
  afterAll(() => Promise.all([cached.close(), plain.close()]));

  const sameAnswers = (...bodies: object[]) => sameAnswersOf(cached, plain)(...bodies);

  it('an inline range end in a fragment spread under two instances of different day boundaries', async () => {
    // The emulator has one zone; this source answers any instance's days on its grid.
    const source = () => Object.assign(new FakeReportSource(), { latencyMs: 0 });
    const [cached, plain] = [
      await startTestGateway(env, { now: () => NOW, source: source() }),
      await startTestGateway({ ...env, GRAPHQL_EXECUTOR: 'graphql-js', RESPONSE_CACHE_MAX_BYTES: '0' }, { now: () => NOW, source: source() }),
    ];
    try {
      await rangeEndsInOneFragment(sameAnswersOf(cached, plain));
    } finally {
      await Promise.all([cached.close(), plain.close()]);
    }
  });

  async function rangeEndsInOneFragment(sameAnswers: ReturnType<typeof sameAnswersOf>) {
    const query = (end: number) => `{
      a: callCenterInstance(id: "ccc-test") { ...Days }
      b: callCenterInstance(id: "ccc-demo-1") { ...Days }
      open: intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY) { statsTime closed }
    }
    fragment Days on CallCenterInstance { id intervalReports(interval: DAILY, startTime: ${NOW - 4 * 24 * HOUR_MS}, endTime: ${end}) { statsTime closed inbound { callsOffered } } }`;
    // 2026-11-25 23:30 and 2026-11-26 00:30 in Shanghai: other days in Shanghai, the same day (11-25) in Berlin.
    const [first, second] = await sameAnswers({ query: query(Date.UTC(2026, 10, 25, 15, 30)) }, { query: query(Date.UTC(2026, 10, 25, 16, 30)) });
    expect(first.text).not.toBe(second.text);
    expect(first.cacheControl).toMatch(/max-age=\d+$/); // open: the plan-keyed cache stored it
  }

  it('a byte that stands for a blanked literal, in a comment', async () => {
    const field = (end: string) => `r: intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, startTime: ${NOW - 3 * HOUR_MS}, endTime: ${end}) { statsTime closed }`;
    const replies = await sameAnswers(
      { query: `{ ${field(String(NOW))} } # endTime: \u0001 ` },
      // The same template, the literal moved into the comment: a document that does not parse.
      { query: `{ ${field('\u0001')} } # endTime: ${NOW} ` },
    );
    expect(replies[1].status).toBe(400);
  });

  it('operationName that Apollo refuses: "", a number, false, a list', async () => {
    const closed = `query Closed { intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, startTime: ${NOW - 48 * HOUR_MS}, endTime: ${NOW - 40 * HOUR_MS}) { statsTime } }`;
    const open = `query Open { intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, startTime: ${NOW - 3 * HOUR_MS}, endTime: ${NOW}) { statsTime } }`;
    for (const query of [closed, open]) {
      const replies = await sameAnswers({ query }, { query }, { query, operationName: '' }, { query, operationName: 5 }, { query, operationName: false }, { query, operationName: ['Open'] }, { query, operationName: null });
      expect(replies.map((r) => r.status)).toEqual([200, 200, 400, 400, 400, 400, 200]);
    }
  });

  it('range ends spelled as block strings and with unicode escapes', async () => {
    const query = (end: string) => `{ r: intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, startTime: ${NOW - 3 * HOUR_MS}, endTime: ${end}) { statsTime closed } }`;
    await sameAnswers(
      { query: query('"2026-11-26T11:30:12.345+08:00"') },
      { query: query('"""2026-11-26T11:30:12.345+08:00"""') },
      { query: query('"2026-11-26\\u005411:30:12.345+08:00"') },
      { query: query('"2026-11-26\\u005412:30:12.345+08:00"') },
      { query: query('"""2026-11-26T09:30:12.345+08:00"""') },
      { query: query('"2026-11-26T09:30:12.345+08:00"') },
      { query: query('"2026-11-26T09:30:12.345+08:00" # endTime: 1') },
      { query: query('"2026-11-26T08:30:12.345+08:00",') },
      { query: query(`${NOW}`) },
      { query: query(`${NOW - 3 * HOUR_MS}`) },
    );
  });

  it('a directive variable named __proto__, and __proto__ among the variables', async () => {
    const query = `query Q($__proto__: Boolean!, $end: Timestamp) { r: intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, startTime: ${NOW - 3 * HOUR_MS}, endTime: $end) @include(if: $__proto__) { statsTime } }`;
    await sameAnswers(
      { query, variables: JSON.parse(`{"__proto__": true, "end": ${NOW}}`) },
      { query, variables: JSON.parse(`{"__proto__": false, "end": ${NOW + 1}}`) },
      { query, variables: JSON.parse(`{"end": ${NOW + 2}}`) },
    );
    const other = `query Q($end: Timestamp, $id: ID!) { r: intervalInstanceReport(instanceId: $id, interval: HOURLY, startTime: ${NOW - 3 * HOUR_MS}, endTime: $end) { statsTime } }`;
    await sameAnswers(
      { query: other, variables: { id: 'ccc-test', end: NOW } },
      { query: other, variables: JSON.parse(`{"id": "ccc-test", "end": ${NOW + 3}, "__proto__": {"id": "ccc-demo-1"}}`) },
      { query: other, variables: JSON.parse(`{"end": ${NOW + 4}, "__proto__": {"id": "ccc-test"}}`) },
    );
  });
});
