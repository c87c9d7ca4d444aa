import type { Gateway } from '../../src/server/createGateway';
import { DAY_MS } from '../../src/reports/intervals';
import { graphql, startTestGateway } from '../helpers/gateway';

describe('debug extensions', () => {
  const now = Date.UTC(2026, 10, 26, 3, 30);
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startTestGateway({}, { now: () => now });
  });
  afterAll(() => gateway.close());

  const query = `{ a: intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, startTime: ${now - 3 * DAY_MS}, endTime: ${now - DAY_MS}) { statsTime }
                   b: intervalInstanceReport(instanceId: "ccc-demo-1", interval: HOURLY, startTime: ${now - 3 * DAY_MS}, endTime: ${now - DAY_MS}) { statsTime } }`;

  it('shows cache and upstream facts only when x-gateway-debug: 1 is sent', async () => {
    const plain = await graphql(gateway, query);
    expect(plain.errors).toBeUndefined();
    expect(plain.extensions).toBeUndefined();

    gateway.memory.clear();
    const cold = await graphql(gateway, query, undefined, { 'x-gateway-debug': '1', 'x-request-id': 'req-123' });
    expect(cold.extensions?.gateway).toMatchObject({ requestId: 'req-123', batches: 1, batchSizes: [2], upstreamCalls: 2, memoryHits: 0 });
    const warm = await graphql(gateway, query, undefined, { 'x-gateway-debug': '1' });
    expect(warm.extensions?.gateway).toMatchObject({ batches: 1, upstreamCalls: 0 });
    expect(warm.extensions?.gateway.memoryHits).toBe(warm.extensions?.gateway.bucketsRequested);
  });
});
