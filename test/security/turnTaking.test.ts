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
