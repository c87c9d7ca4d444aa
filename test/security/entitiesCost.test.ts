/**
 * The operation cost of `_entities` (issue 10): the selection is priced once per representation,
 * each with its own instance and zone, and summed; a representation that is invalid or forbidden
 * never lowers the total. With OPERATION_MAX_COST=1 every operation here is refused before it
 * runs, and the refusal states the cost.
 */
import { DAY_MS } from '../../src/reports/intervals';
import type { Gateway } from '../../src/server/createGateway';
import { entitiesCost } from '../../src/server/limits/operationCostPlugin';
import { SECRET, sign } from '../auth/tokens';
import { startTestGateway } from '../helpers/gateway';

const NOW = Date.UTC(2026, 10, 26, 3, 30);
const day = NOW - (NOW % DAY_MS);
// Ten whole days as Shanghai days: an instance cut on Shanghai days reads ~10 daily buckets; one
// cut on New York days cannot, and reads the ~240 hours instead.
const start = day - 10 * DAY_MS - 8 * 3_600_000;
const end = day - 8 * 3_600_000;
const QUERY = `query($r: [_Any!]!) { _entities(representations: $r) { ... on CallCenterInstance { intervalReports(interval: DAILY, startTime: ${start}, endTime: ${end}, timeZone: "Asia/Shanghai") { statsTime } } } }`;
const rep = (id: string) => ({ __typename: 'CallCenterInstance', id });

describe('_entities cost', () => {
  let gateway: Gateway;
  let token: string;

  beforeAll(async () => {
    gateway = await startTestGateway(
      {
        AUTH_MODE: 'jwt',
        AUTH_JWT_SECRET: SECRET,
        AUTH_JWT_AUDIENCE: 'ccc-reports',
        OPERATION_MAX_COST: '1',
        CCC_TIMEZONE: 'Asia/Shanghai',
        CCC_INSTANCE_TIMEZONES: 'ccc-us=America/New_York',
      },
      { now: () => NOW },
    );
    token = await sign({ aud: 'ccc-reports', ccc_instances: ['ccc-test', 'ccc-test-2', 'ccc-us'] });
  });
  afterAll(() => gateway.close());

  async function costOf(ids: string[]): Promise<number> {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: QUERY, variables: { r: ids.map(rep) } }),
    });
    const body = (await response.json()) as any;
    expect(body.errors?.[0]?.extensions?.code).toBe('OPERATION_TOO_EXPENSIVE');
    return body.errors[0].extensions.cost;
  }

  it('prices each representation with its own zone, and sums them', async () => {
    const cheap = await costOf(['ccc-test']);
    const expensive = await costOf(['ccc-us']);
    expect(cheap).toBeGreaterThanOrEqual(10);
    expect(expensive).toBeGreaterThan(10 * cheap);
    // Before: representation[0]'s price times the count (2 x cheap, or 2 x expensive).
    expect(await costOf(['ccc-test', 'ccc-us'])).toBe(cheap + expensive);
    expect(await costOf(['ccc-us', 'ccc-test'])).toBe(cheap + expensive);
    expect(await costOf(['ccc-test', 'ccc-test-2', 'ccc-us', 'ccc-us'])).toBe(2 * cheap + 2 * expensive);
  });

  it('5,000 representations of one zone cost 5,000 times one', async () => {
    const one = await costOf(['ccc-test']);
    expect(await costOf(Array.from({ length: 5_000 }, () => 'ccc-test'))).toBe(5_000 * one);
  });

  it('a forbidden or malformed representation never lowers the price of the others', async () => {
    const expensive = await costOf(['ccc-us']);
    // Forbidden (not in the token) or malformed ids first: before, they made the whole field cost 0.
    expect(await costOf(['ccc-demo-1', 'ccc-us'])).toBe(2 * expensive);
    expect(await costOf(['not an id!', 'ccc-us', 'ccc-us'])).toBe(3 * expensive);
    expect(await costOf(['ccc-us', 'ccc-demo-1', 'ccc-test'])).toBeGreaterThanOrEqual(2 * expensive);
  });

  it('entitiesCost: unpriced representations are charged as the costliest class', () => {
    const classOf = (r: unknown) => (r === 'bad' ? undefined : String(r).slice(0, 1));
    const priceOf = (r: unknown) => (String(r).startsWith('b') ? 100 : 1);
    expect(entitiesCost(['a1', 'a2', 'b1'], classOf, priceOf)).toBe(102);
    expect(entitiesCost(['bad', 'a1', 'b1', 'bad'], classOf, priceOf)).toBe(301);
    // Nothing to price: every representation fails before it reads anything.
    expect(entitiesCost(['bad', 'bad'], classOf, priceOf)).toBe(0);
  });
});
