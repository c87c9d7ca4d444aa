/**
 * Large new documents are checked one per event-loop iteration (src/server/limits/turnTaking.ts),
 * so a burst of them cannot hold every other request back for their total time.
 */
import { nextTurn } from '../../src/server/limits/turnTaking';

it('grants turns in order, each in an event-loop iteration of its own', async () => {
  let iteration = 0;
  let ticking = true;
  const tick = () => {
    iteration++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const seen: { turn: number; iteration: number }[] = [];
  await Promise.all(Array.from({ length: 5 }, (_, turn) => nextTurn().then(() => seen.push({ turn, iteration }))));
  ticking = false;
  expect(seen.map((s) => s.turn)).toEqual([0, 1, 2, 3, 4]);
  const iterations = seen.map((s) => s.iteration);
  expect(new Set(iterations).size).toBe(iterations.length);
});

it('a turn taken while others wait comes after them', async () => {
  const order: string[] = [];
  const first = nextTurn().then(() => {
    order.push('first');
    return nextTurn().then(() => order.push('again'));
  });
  const second = nextTurn().then(() => order.push('second'));
  await Promise.all([first, second]);
  expect(order).toEqual(['first', 'second', 'again']);
});

describe('a large document refused in its turn answers as Apollo would', () => {
  // Over 2 kB: checked, parsed and validated in a turn of its own (src/server/limits/documentLimits.ts).
  const padding = `# ${'x'.repeat(2_200)}\n`;
  const large = (body: string) => `${padding}${body}`;
  const post = async (url: string, query: string) => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    return { status: response.status, body: (await response.json()) as { errors?: { message: string; extensions?: { code?: string } }[] } };
  };

  it('same status, code and message for the same mistake in a small and a large document', async () => {
    const { startTestGateway } = await import('../helpers/gateway');
    const gateway = await startTestGateway({ NODE_ENV: 'production', CCC_EMULATOR: 'true', AUTH_ALLOW_OFF_IN_PRODUCTION: 'true' });
    try {
      const cases = [
        '{ intervalInstanceReport(instanceId: "ccc-test") { statTime } }', // unknown field: validation
        '{ intervalInstanceReport(instanceId: "ccc-test", interval: YEARLY) { statsTime } }', // bad enum literal
        '{ intervalInstanceReport(instanceId: "ccc-test") { statsTime }', // syntax error
      ];
      for (const mistake of cases) {
        const small = await post(gateway.url, mistake);
        const big = await post(gateway.url, large(mistake));
        expect(big.status).toBe(small.status);
        expect(big.body.errors?.map((e) => e.extensions?.code)).toEqual(small.body.errors?.map((e) => e.extensions?.code));
        expect(big.body.errors?.map((e) => e.message)).toEqual(small.body.errors?.map((e) => e.message));
        expect(JSON.stringify(big.body)).not.toMatch(/Did you mean/);
        // The same document again: answered from the step's verdict, the same answer.
        expect(await post(gateway.url, large(mistake))).toEqual(big);
      }
      expect((await post(gateway.url, large('{ __typename }'))).body).toEqual({ data: { __typename: 'Query' } });
    } finally {
      await gateway.close();
    }
  });
});
