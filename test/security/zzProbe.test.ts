import http from 'node:http';
import type { Gateway } from '../../src/server/createGateway';
import { startTestGateway } from '../helpers/gateway';
import { HOUR_MS } from '../../src/reports/intervals';

function post(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c) => chunks.push(c));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, text: Buffer.concat(chunks).toString() }));
    });
    request.on('error', reject);
    request.end(body);
  });
}
const T0 = Date.UTC(2026, 10, 26, 3, 9, 55, 0); // 11:09:55 Shanghai
describe('probe', () => {
  let clock = T0;
  let a: Gateway; let b: Gateway;
  beforeAll(async () => { a = await startTestGateway({}, { now: () => clock }); b = await startTestGateway({ RESPONSE_CACHE_MAX_BYTES: '0' }, { now: () => clock }); });
  afterAll(() => Promise.all([a.close(), b.close()]));
  it('settle boundary', async () => {
    const q = `query Q($end: Timestamp) { intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, startTime: ${T0 - 3 * HOUR_MS}, endTime: $end) { statsTime closed inbound { callsOffered } } }`;
    for (const step of [0, 4000, 6000, 10000, 14000, 20000, 31000]) {
      clock = T0 + step;
      const body = JSON.stringify({ query: q, variables: { end: clock } });
      const ra = await post(a.url, body); const rb = await post(b.url, body);
      console.log(step, ra.text === rb.text ? 'SAME' : 'DIFF', ra.headers['cache-control'], rb.headers['cache-control'], ra.text.slice(0, 400), '\n', rb.text.slice(0, 400));
    }
  });
});
