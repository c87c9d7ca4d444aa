import http from 'node:http';
import type { Gateway } from '../../src/server/createGateway';
import { startTestGateway } from '../helpers/gateway';
import { HOUR_MS } from '../../src/reports/intervals';

const NOW = Date.UTC(2026, 10, 26, 3, 30, 12, 345);
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
describe('probe', () => {
  let g: Gateway;
  beforeAll(async () => { g = await startTestGateway({}, { now: () => NOW }); });
  afterAll(() => g.close());
  it('leading zeros / padding', async () => {
    const q = (end: string) => `{ r: intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, startTime: ${NOW - 3 * HOUR_MS}, endTime: ${end}) { statsTime closed inbound { callsOffered } } }`;
    const a = await post(g.url, JSON.stringify({ query: q(String(NOW)) }));
    console.log(a.status, a.headers['cache-control'], a.text.slice(0, 100));
    const b = await post(g.url, JSON.stringify({ query: q('0' + String(NOW + 1)) }));
    console.log('leading zero', b.status, b.text.slice(0, 200));
    const c = await post(g.url, JSON.stringify({ query: q('0'.repeat(20000) + String(NOW + 1)) }));
    console.log('padded', c.status, c.text.slice(0, 200));
    const d = await post(g.url, JSON.stringify({ query: q(String(NOW + 2)) }), { accept: 'application/graphql-response+json' });
    console.log('accept', d.status, d.headers['content-type'], d.text.slice(0, 80));
    const d2 = await post(g.url, JSON.stringify({ query: q(String(NOW + 2)) + ' ' }), { accept: 'application/graphql-response+json' });
    console.log('accept miss', d2.status, d2.headers['content-type'], d2.text.slice(0, 80));
  });
});
