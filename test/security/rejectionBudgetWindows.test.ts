/**
 * The refused-request budget over time (src/server/limits/rejectionBudget.ts), on a controlled
 * clock: at most a sixtieth of REJECTED_REQUESTS_PER_MINUTE refusals in any second (so a minute's
 * budget cannot be spent in one burst), the minute's budget on top, and recovery when each is over.
 */
import { EventEmitter } from 'node:events';
import type { NextFunction, Request, Response } from 'express';
import { refusalsPerSecond, rejectionBudget } from '../../src/server/limits/rejectionBudget';

/** A response as the step sees it: the caller's key (callerGate's), headers, status, JSON body. */
function fakeResponse(caller: string) {
  const res = Object.assign(new EventEmitter(), {
    locals: { callerKey: caller } as Record<string, unknown>,
    statusCode: 200,
    headers: {} as Record<string, string>,
    body: undefined as any,
    setHeader(name: string, value: string) {
      res.headers[name] = value;
    },
    status(code: number) {
      res.statusCode = code;
      return res;
    },
    json(body: unknown) {
      res.body = body;
      res.emit('finish');
      return res;
    },
  });
  return res;
}

describe('refused-request budget windows', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-12-01T12:00:00Z'), doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] }));
  afterEach(() => jest.useRealTimers());

  /** Sends one request through the step; `answer` is the status the rest of the gateway gives it when let through. */
  async function send(step: ReturnType<typeof rejectionBudget>['middleware'], caller: string, answer: number) {
    const res = fakeResponse(caller);
    let passed = false;
    await step({} as Request, res as unknown as Response, (() => void (passed = true)) as NextFunction);
    if (passed) {
      res.statusCode = answer;
      res.emit('finish');
      await new Promise((resolve) => setImmediate(resolve)); // the penalty is recorded asynchronously
      return { status: answer, retryAfter: undefined, body: undefined };
    }
    return { status: res.statusCode, retryAfter: res.headers['retry-after'], body: res.body };
  }

  it('a sixtieth of the minute’s budget a second, at least one', () => {
    expect(refusalsPerSecond(60)).toBe(1);
    expect(refusalsPerSecond(30)).toBe(1);
    expect(refusalsPerSecond(300)).toBe(5);
  });

  it('refuses the N+1th refusal within a second, and recovers when the second is over', async () => {
    const step = rejectionBudget({ perMinute: 300 }).middleware; // 5 a second
    for (let i = 0; i < 5; i++) expect((await send(step, 'a', 400)).status).toBe(400);
    const refused = await send(step, 'a', 200);
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe('1');
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', rejectedRequestsPerSecond: 5, rejectedRequestsPerMinute: 300 });
    // Another caller is not affected.
    expect((await send(step, 'b', 200)).status).toBe(200);
    jest.advanceTimersByTime(999);
    expect((await send(step, 'a', 200)).status).toBe(429);
    jest.advanceTimersByTime(2);
    expect((await send(step, 'a', 200)).status).toBe(200);
    expect((await send(step, 'a', 400)).status).toBe(400);
  });

  it('spreads a minute’s budget over the minute: one refusal a second at the default 60', async () => {
    const step = rejectionBudget({ perMinute: 60 }).middleware;
    const refusedAt: number[] = [];
    let ratelimited = 0;
    // A caller sending a refused document every 100 ms for 10 s: one is let through (and refused)
    // each second, not ten at the start.
    for (let tick = 0; tick < 100; tick++) {
      const { status } = await send(step, 'a', 400);
      if (status === 400) refusedAt.push(tick * 100);
      else ratelimited++;
      jest.advanceTimersByTime(100);
    }
    expect(refusedAt).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000]);
    expect(ratelimited).toBe(90);
  });

  it('the minute’s budget holds on top of the second’s', async () => {
    const step = rejectionBudget({ perMinute: 3 }).middleware; // 1 a second, 3 a minute
    for (let second = 0; second < 3; second++) {
      expect((await send(step, 'a', 400)).status).toBe(400);
      expect((await send(step, 'a', 400)).status).toBe(429);
      jest.advanceTimersByTime(1_001);
    }
    const refused = await send(step, 'a', 400);
    expect(refused.status).toBe(429);
    expect(refused.body.errors[0].message).toMatch(/refused in the last minute/);
    expect(Number(refused.retryAfter)).toBeGreaterThan(50);
    jest.advanceTimersByTime(57_000);
    expect((await send(step, 'a', 200)).status).toBe(200);
  });
});
