import http from 'node:http';
import type { Gateway } from '../../src/server/createGateway';
import { startTestGateway } from '../helpers/gateway';

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
const metrics = async (g: Gateway) => (await (await fetch(g.url.replace('/graphql', '/metrics'))).text()).split('\n').filter((l) => /open_answer|operation="cached"/.test(l) && !l.startsWith('#')).join(' | ');
describe('probe', () => {
  let g: Gateway;
  beforeAll(async () => { g = await startTestGateway({}, { now: () => NOW }); });
  afterAll(() => g.close());
  it.each([
    [`query Main($v0: [ID!]!, $v1: Timestamp) {
  c10: combinedIntervalReport(instanceIds: $v0, startTime: 1792207812345, interval: HOURLY, timeZone: "utc", emptyIntervals: ZERO) @include(if: true) { instanceIds statsTime }
}`, { v0: ['ccc-test'], v1: 1792207812345 }],
    [`query Main($v1: Timestamp) {
  i2: callCenterInstance(id: "ccc-demo-1") { id __typename b: intervalReports(startTime: $v1, endTime :	1795663812345, interval: DAILY, timeZone: "asia/shanghai", emptyIntervals: OMIT) { statsTime } }
}`, { v1: 1792207812345 }],
    [`query Main($v1: Timestamp) {
  b: intervalInstanceReport(instanceId: "ccc-test", startTime: $v1, endTime: 1795663812345, interval: DAILY) { statsTime }
}`, { v1: 1792207812345 }],
  ])('%s', async (query, variables) => {
    for (let i = 0; i < 3; i++) {
      const a = await post(g.url, JSON.stringify({ query, variables }));
      console.log(a.status, a.headers['cache-control'], a.text.length, await metrics(g));
    }
  });
});
