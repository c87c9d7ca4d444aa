/**
 * The validation and normalization of one upstream answer (`normalizeReportBody`): what is
 * tolerated (numbers as strings, renamed fields, a single absent metric, no traffic) and each
 * shape that rejects the whole answer as an UPSTREAM_ERROR carrying upstream's RequestId, with
 * the offending part kept (truncated) for the operator only.
 */
import { GatewayError } from '../../src/reports/errors';
import { METRICS } from '../../src/reports/metrics';
import type { ReportQuery } from '../../src/reports/ReportSource';
import { MalformedUpstreamAnswer, MAX_OFFENDING_EXCERPT, normalizeReportBody } from '../../src/upstream/normalizeReport';
import { SEED_JSON_TEXT, seedXmlValues } from '../helpers/seed';

/** The seed document's own request example (Hourly, one UTC+8 day); its answer's bucket is 17:00 that day. */
const SEED_QUERY: ReportQuery = { instanceId: 'ccc-test', interval: 'HOURLY', startTime: 1620230400000, endTime: 1620316799000 };
const SEED_HOUR = 1620291600000;
const HOUR = 3_600_000;
const REQUEST_ID = '943D8EF3-3321-471F-A104-51C96FCA94D6';

const seedBody = () => JSON.parse(SEED_JSON_TEXT);
/** A seed body whose first bucket is changed by `change`. */
const seedWith = (change: (bucket: any, body: any) => void) => {
  const body = seedBody();
  change(body.Data[0], body);
  return body;
};

function rejection(body: unknown, query: ReportQuery = SEED_QUERY): MalformedUpstreamAnswer {
  try {
    normalizeReportBody(body, query);
  } catch (error) {
    if (error instanceof MalformedUpstreamAnswer) return error;
    throw new Error(`expected a MalformedUpstreamAnswer, got ${String(error)}`);
  }
  throw new Error('expected the answer to be rejected');
}

describe('normalizeReportBody', () => {
  it("turns the seed's JSON example (every number a string) into numbers equal to its XML example", () => {
    const { buckets, requestId } = normalizeReportBody(seedBody(), SEED_QUERY);
    expect(requestId).toBe(REQUEST_ID);
    expect(buckets).toHaveLength(1);
    const [bucket] = buckets;
    expect(bucket.statsTime).toBe(SEED_HOUR);
    expect(bucket.inbound.callsOffered).toBe(7);
    expect(bucket.inbound.totalTalkTime).toBe(447);
    expect(bucket.inbound.averageWorkTime).toBe(13);
    expect(bucket.inbound.handleRate).toBe(1);
    const xml = seedXmlValues();
    for (const [group, upstream] of [['inbound', 'Inbound'], ['outbound', 'Outbound'], ['overall', 'Overall']] as const) {
      for (const metric of METRICS[group]) {
        const value = bucket[group][metric.name];
        expect(typeof value).toBe('number');
        expect(value).toBe(Number(xml[upstream][metric.upstreamName]));
      }
    }
  });

  it("maps the current SDK's renamed fields onto the same metrics", () => {
    const body = seedWith((bucket) => {
      delete bucket.Inbound.CallsAbandonedInRinging;
      delete bucket.Inbound.AbandonedRate;
      bucket.Inbound.CallsAbandonedInRing = 3;
      bucket.Inbound.AbandonRate = '0.25';
    });
    const [bucket] = normalizeReportBody(body, SEED_QUERY).buckets;
    expect(bucket.inbound.callsAbandonedInRinging).toBe(3);
    expect(bucket.inbound.abandonedRate).toBe(0.25);
  });

  it('reports a single absent metric as null, and accepts empty groups', () => {
    const body = { Code: 'OK', HttpStatusCode: 200, Data: [{ StatsTime: SEED_HOUR, Inbound: { CallsOffered: 4, CallsHandled: '' }, Outbound: {}, Overall: {} }] };
    const [bucket] = normalizeReportBody(body, SEED_QUERY).buckets;
    expect(bucket.inbound.callsOffered).toBe(4);
    expect(bucket.inbound.callsHandled).toBeNull();
    expect(Object.values(bucket.outbound).every((v) => v === null)).toBe(true);
    expect(Object.keys(bucket.overall)).toHaveLength(21);
  });

  it('sorts buckets by statsTime and accepts an empty Data as no traffic', () => {
    const groups = { Inbound: {}, Outbound: {}, Overall: {} };
    const body = { Code: 'OK', Data: [{ StatsTime: String(SEED_HOUR + HOUR), ...groups }, { StatsTime: SEED_HOUR, ...groups }] };
    expect(normalizeReportBody(body, SEED_QUERY).buckets.map((b) => b.statsTime)).toEqual([SEED_HOUR, SEED_HOUR + HOUR]);
    expect(normalizeReportBody({ Code: 'OK', HttpStatusCode: '200', Data: [] }, SEED_QUERY).buckets).toEqual([]);
  });

  it.each([
    ['"7"', '7', 7],
    ['"1e3"', '1e3', 1000],
    ['7.0', 7.0, 7],
    ['"-0"', '-0', 0],
    ['" 12 "', ' 12 ', 12],
  ])('accepts the Long %s', (_what, raw, expected) => {
    const [bucket] = normalizeReportBody(seedWith((b) => (b.Inbound.CallsOffered = raw)), SEED_QUERY).buckets;
    expect(Object.is(bucket.inbound.callsOffered, expected)).toBe(true);
  });

  it('accepts a SatisfactionIndex above 1 (a score) and rates above 1 (the SDK: rates "may exceed 100%")', () => {
    const body = seedWith((b) => {
      b.Inbound.SatisfactionIndex = '4.5';
      b.Overall.OccupancyRate = 1.25;
      // 8 handled this hour of 7 queued in it (events in different intervals): 1.14, as its counts say.
      b.Inbound.CallsHandled = '8';
      b.Inbound.HandleRate = '1.14';
    });
    const [bucket] = normalizeReportBody(body, SEED_QUERY).buckets;
    expect(bucket.inbound.satisfactionIndex).toBe(4.5);
    expect(bucket.overall.occupancyRate).toBe(1.25);
    expect(bucket.inbound.handleRate).toBe(1.14);
  });

  it('rejects a call rate above 1 that its own counts contradict (a percentage sent as a fraction), without echoing it to the caller', () => {
    const error = rejection(
      seedWith((b) => {
        b.Inbound.CallsQueued = '20';
        b.Inbound.CallsHandled = '19';
        b.Inbound.HandleRate = '95';
      }),
    );
    expect(error.code).toBe('UPSTREAM_ERROR');
    expect(error.details).toEqual({ upstreamRequestId: REQUEST_ID });
    expect(error.problem).toBe("Data[0].Inbound.HandleRate is above 1 and contradicted by the bucket's own counts (a percentage instead of a fraction?)");
    expect(error.message).not.toMatch(/1900|95 /);
    expect(error.offending).toContain('handleRate 95 x callsQueued 20 = 1900, but callsHandled = 19 (19 / 20 = 0.95)');
    // The same with an AnswerRate, under its renamed field too.
    const answer = rejection(
      seedWith((b) => {
        Object.assign(b.Outbound, { CallsDialed: '10', CallsAnswered: '4', AnswerRate: '40' });
      }),
    );
    expect(answer.problem).toMatch(/^Data\[0\]\.Outbound\.AnswerRate is above 1 and contradicted/);
  });

  it('keeps accepting rates above 1 whose counts cannot contradict them: an empty population, a count missing, occupancy', () => {
    const body = seedWith((b) => {
      Object.assign(b.Outbound, { CallsDialed: '0', AnswerRate: '95' });
      Object.assign(b.Inbound, { HandleRate: '95', CallsHandled: undefined });
      b.Overall.OccupancyRate = '95';
    });
    const [bucket] = normalizeReportBody(body, SEED_QUERY).buckets;
    expect([bucket.outbound.answerRate, bucket.inbound.handleRate, bucket.overall.occupancyRate]).toEqual([95, 95, 95]);
  });

  it("accepts a Daily bucket stamped with the start of the day the range starts in (the emulator's and upstream's stamping)", () => {
    const dayStart = 1620230400000; // 2021-05-06 00:00 UTC+8
    const query: ReportQuery = { instanceId: 'ccc-test', interval: 'DAILY', startTime: dayStart + 10 * HOUR, endTime: dayStart + 2 * 24 * HOUR - 1 };
    const body = seedWith((b) => (b.StatsTime = String(dayStart)));
    expect(normalizeReportBody(body, query).buckets[0].statsTime).toBe(dayStart);
  });

  const TOO_LONG = '123456789012345678901234567890';
  const longCases: [string, unknown][] = [
    ['-5', -5],
    ['"-5"', '-5'],
    ['1.5', 1.5],
    ['"1.5"', '1.5'],
    ['"1e999"', '1e999'],
    ['a 30-digit string', TOO_LONG],
    ['2^53', 2 ** 53],
    ['NaN', NaN],
    ['"NaN"', 'NaN'],
    ['Infinity', Infinity],
    ['"seven"', 'seven'],
    ['true', true],
    ['an object', { value: 7 }],
    ['an array', [7]],
  ];
  it.each(longCases)('rejects the Long metric %s', (_what, raw) => {
    const error = rejection(seedWith((b) => (b.Inbound.CallsHandled = raw)));
    expect(error.problem).toMatch(/^Data\[0\]\.Inbound\.CallsHandled is not a (non-negative integer|number|finite number)$/);
  });

  const floatCases: [string, unknown][] = [
    ['-0.5', -0.5],
    ['"-1"', '-1'],
    ['Infinity', Infinity],
    ['"1e999"', '1e999'],
    ['NaN', NaN],
    ['"NaN"', 'NaN'],
  ];
  it.each(floatCases)('rejects the Float metric %s', (_what, raw) => {
    const error = rejection(seedWith((b) => (b.Overall.AverageTalkTime = raw)));
    expect(error.problem).toMatch(/^Data\[0\]\.Overall\.AverageTalkTime is (negative|not a number|not a finite number)$/);
  });

  it.each([
    ['Inbound', 'HandleRate', -0.01],
    ['Inbound', 'AbandonedRate', '-57'],
    ['Outbound', 'AnswerRate', 'NaN'],
    ['Overall', 'OccupancyRate', '1e999'],
    ['Inbound', 'ServiceLevel20', -0.1],
  ])('rejects the rate %s.%s = %p (negative or not finite)', (group, metric, raw) => {
    const error = rejection(seedWith((b) => (b[group][metric] = raw)));
    expect(error.problem).toMatch(new RegExp(`^Data\\[0\\]\\.${group}\\.${metric} is (negative|not a number|not a finite number)$`));
  });

  it.each([
    ['Data missing', (_b: any, body: any) => delete body.Data, /^Data is missing$/],
    ['Data null', (_b: any, body: any) => (body.Data = null), /^Data is null$/],
    ['Data an object', (_b: any, body: any) => (body.Data = { StatsTime: SEED_HOUR }), /^Data is not an array$/],
    ['Data a string', (_b: any, body: any) => (body.Data = '[]'), /^Data is not an array$/],
    ['a bucket that is not an object', (_b: any, body: any) => body.Data.push(42), /^Data\[1\] is not an object$/],
    ['a bucket without Inbound', (b: any) => delete b.Inbound, /^Data\[0\]\.Inbound is missing$/],
    ['a bucket without Outbound', (b: any) => delete b.Outbound, /^Data\[0\]\.Outbound is missing$/],
    ['a bucket with a null Overall', (b: any) => (b.Overall = null), /^Data\[0\]\.Overall is null$/],
    ['a bucket whose Overall is an array', (b: any) => (b.Overall = []), /^Data\[0\]\.Overall is not an object$/],
    ['a missing StatsTime', (b: any) => delete b.StatsTime, /^Data\[0\]\.StatsTime is missing or not an integer$/],
    ['a fractional StatsTime', (b: any) => (b.StatsTime = SEED_HOUR + 0.5), /^Data\[0\]\.StatsTime is missing or not an integer$/],
    ['two buckets with the same StatsTime', (b: any, body: any) => body.Data.push({ ...b, StatsTime: SEED_HOUR }), /^Data\[0\] and Data\[1\] have the same StatsTime/],
    ['a bucket before the range', (b: any) => (b.StatsTime = SEED_QUERY.startTime - HOUR), /^Data\[0\]\.StatsTime .* is outside the requested hourly range/],
    ['the hour after the range', (b: any) => (b.StatsTime = SEED_QUERY.endTime + 1000), /^Data\[0\]\.StatsTime .* is outside the requested hourly range/],
    ['a Code other than OK', (_b: any, body: any) => (body.Code = 'Throttling.User'), /^Code "Throttling.User"/],
    ['an HttpStatusCode other than 200', (_b: any, body: any) => (body.HttpStatusCode = '500'), /HttpStatusCode 500/],
  ])('rejects %s', (_what, change, problem) => {
    const error = rejection(seedWith(change as (bucket: any, body: any) => void));
    expect(error.problem).toMatch(problem);
  });

  it('rejects a body that is not an object', () => {
    for (const body of ['OK', null, undefined, 7, []]) expect(rejection(body).problem).toBe('the body is not a JSON object');
  });

  it('rejects a Daily bucket that cannot overlap the range (more than a day before its start)', () => {
    const dayStart = 1620230400000;
    const query: ReportQuery = { instanceId: 'ccc-test', interval: 'DAILY', startTime: dayStart, endTime: dayStart + 24 * HOUR - 1 };
    const error = rejection(seedWith((b) => (b.StatsTime = dayStart - 25 * HOUR)), query);
    expect(error.problem).toMatch(/outside the requested daily range/);
  });

  it('is an UPSTREAM_ERROR with the RequestId for the caller, and the offending value only for the operator', () => {
    const error = rejection(seedWith((b) => (b.Inbound.CallsHandled = TOO_LONG)));
    expect(error).toBeInstanceOf(GatewayError);
    expect(error.code).toBe('UPSTREAM_ERROR');
    expect(error.details).toEqual({ upstreamRequestId: REQUEST_ID });
    expect(error.message).toContain('Data[0].Inbound.CallsHandled');
    expect(error.message).not.toContain(TOO_LONG);
    expect(error.offending).toContain(TOO_LONG);
  });

  it('truncates the offending part to at most 500 characters', () => {
    const error = rejection(seedWith((_b, body) => (body.Data = { huge: 'x'.repeat(100_000) })));
    expect(error.offending.length).toBeLessThanOrEqual(MAX_OFFENDING_EXCERPT);
    expect(error.offending.startsWith('{"Data":{"huge":"xxx')).toBe(true);
  });

  it('never throws anything but a MalformedUpstreamAnswer, even on exotic bodies', () => {
    const throwing = seedWith((b) =>
      Object.defineProperty(b, 'Inbound', {
        get() {
          throw new TypeError('boom');
        },
      }),
    );
    expect(rejection(throwing).problem).toBe('the answer could not be read (TypeError)');
    expect(rejection(seedWith((b) => (b.Inbound.CallsOffered = BigInt(7)))).problem).toBe('Data[0].Inbound.CallsOffered is not a number');
    const cyclic: any = seedBody();
    cyclic.Data[0].Inbound.Self = cyclic;
    cyclic.Data[0].Inbound.CallsOffered = -1;
    expect(rejection(cyclic).problem).toBe('Data[0].Inbound.CallsOffered is not a non-negative integer');
    expect(rejection(seedWith((_b, body) => (body.Data = cyclic))).offending.length).toBeLessThanOrEqual(MAX_OFFENDING_EXCERPT);
  });

  it('has no RequestId to give when upstream sent none', () => {
    const error = rejection(seedWith((b, body) => {
      delete body.RequestId;
      delete b.Overall;
    }));
    expect(error.details).toEqual({});
  });
});
