/**
 * A caller whose requests keep being refused (400/413) is refused outright, before its documents
 * are parsed, for the rest of the second (or minute); other callers are not affected, and valid
 * operations spend nothing.
 */
import type { Gateway } from '../../src/server/createGateway';
import { SECRET, sign } from '../auth/tokens';
import { startTestGateway } from '../helpers/gateway';

describe('budget of refused requests', () => {
  let gateway: Gateway;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    gateway = await startTestGateway({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_JWT_AUDIENCE: 'ccc-reports', REJECTED_REQUESTS_PER_MINUTE: '30' });
    for (const sub of ['attacker', 'bystander', 'careful', 'crowd']) tokens[sub] = await sign({ sub, aud: 'ccc-reports', ccc_instances: '*' });
  });
  afterAll(() => gateway.close());

  const post = async (sub: string, query: string) => {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[sub]}` },
      body: JSON.stringify({ query }),
    });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as any };
  };
  const hostile = (i: number) => `{ ${'__typename '.repeat(500)}} # ${i}`;
  const invalid = (i: number) => `{ nope${i} }`;

  // 30 a minute: at most 1 a second (the time behaviour: rejectionBudgetWindows.test.ts).
  it('refuses a caller after its refused request of the second, before parsing, and only that caller', async () => {
    expect((await post('attacker', hostile(0))).status).toBe(400);
    const refused = await post('attacker', '{ __typename }');
    expect(refused.status).toBe(429);
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', rejectedRequestsPerMinute: 30, rejectedRequestsPerSecond: 1 });
    expect(refused.body.errors[0].message).toMatch(/refused in the last second/);
    expect(refused.retryAfter).toBe('1');
    // Not parsed: a hostile document is refused as a whole, not as an expensive operation.
    const hostileAgain = await post('attacker', hostile(99));
    expect(hostileAgain.status).toBe(429);
    expect(hostileAgain.body.errors[0].extensions.code).toBe('RATE_LIMITED');
    // Someone else is served, and has a budget of their own.
    expect((await post('bystander', '{ __typename }')).body).toEqual({ data: { __typename: 'Query' } });
    expect((await post('bystander', invalid(0))).status).toBe(400);
  });

  // Large documents (over 2 kB) are checked in turns; a caller's are checked one at a time, so
  // the budget sees each refusal before it admits the next document.
  it('ten large refused documents sent at once: one refusal, nine RATE_LIMITED', async () => {
    const large = (i: number) => `# ${'x'.repeat(2_200)}\n${invalid(i)}`;
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => post('crowd', large(i))));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([400, ...Array(9).fill(429)]);
    expect(answers.find((a) => a.status === 400)!.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('valid operations spend nothing', async () => {
    for (let i = 0; i < 20; i++) expect((await post('careful', `{ __typename } # ${i}`)).status).toBe(200);
    expect((await post('careful', invalid(0))).status).toBe(400);
  });

  // With auth off the caller key is the client address; behind a router every client shares it,
  // so by default no budget may lock that address out (README, REJECTED_REQUESTS_PER_MINUTE).
  describe('with auth off and the default configuration', () => {
    let open: Gateway;
    // Empty values count as unset: this removes the test helper's overrides for both budgets.
    beforeAll(async () => {
      open = await startTestGateway({ REJECTED_REQUESTS_PER_MINUTE: '', UPSTREAM_CALLS_PER_CALLER_PER_MINUTE: '' });
    });
    afterAll(() => open.close());

    it('many refused requests from one address do not refuse a later good request from it', async () => {
      const post = async (query: string) => {
        const response = await fetch(open.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
        return { status: response.status, body: (await response.json()) as any };
      };
      // 30 refusals in well under a second: 30 times what the JWT default (60 a minute, 1 a second) allows.
      for (let i = 0; i < 30; i++) expect((await post(invalid(i))).status).toBe(400);
      expect(await post('{ __typename }')).toEqual({ status: 200, body: { data: { __typename: 'Query' } } });
    });
  });
});
