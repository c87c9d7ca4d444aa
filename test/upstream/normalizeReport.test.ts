import { METRICS } from '../../src/reports/metrics';
import { MalformedUpstreamAnswer, normalizeReportBody } from '../../src/upstream/normalizeReport';
import { SEED_JSON_TEXT, seedXmlValues } from '../helpers/seed';

describe('normalizeReportBody', () => {
  it("turns the seed's JSON example (every number a string) into numbers equal to its XML example", () => {
    const { buckets, requestId } = normalizeReportBody(JSON.parse(SEED_JSON_TEXT));
    expect(requestId).toBe('943D8EF3-3321-471F-A104-51C96FCA94D6');
    expect(buckets).toHaveLength(1);
    const [bucket] = buckets;
    expect(bucket.statsTime).toBe(1620291600000);
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
    const body = JSON.parse(SEED_JSON_TEXT);
    const inbound = body.Data[0].Inbound;
    delete inbound.CallsAbandonedInRinging;
    delete inbound.AbandonedRate;
    inbound.CallsAbandonedInRing = 3;
    inbound.AbandonRate = '0.25';
    const [bucket] = normalizeReportBody(body).buckets;
    expect(bucket.inbound.callsAbandonedInRinging).toBe(3);
    expect(bucket.inbound.abandonedRate).toBe(0.25);
  });

  it('reports absent metrics and absent groups as null', () => {
    const body = { Code: 'OK', HttpStatusCode: 200, Data: [{ StatsTime: 1620291600000, Inbound: { CallsOffered: 4 } }] };
    const [bucket] = normalizeReportBody(body).buckets;
    expect(bucket.inbound.callsOffered).toBe(4);
    expect(bucket.inbound.callsHandled).toBeNull();
    expect(Object.values(bucket.outbound).every((v) => v === null)).toBe(true);
    expect(Object.keys(bucket.overall)).toHaveLength(21);
  });

  it('sorts buckets by statsTime and accepts an absent Data as no traffic', () => {
    const body = { Code: 'OK', Data: [{ StatsTime: '2000' }, { StatsTime: 1000 }] };
    expect(normalizeReportBody(body).buckets.map((b) => b.statsTime)).toEqual([1000, 2000]);
    expect(normalizeReportBody({ Code: 'OK', HttpStatusCode: '200' }).buckets).toEqual([]);
  });

  it.each([
    ['a non-numeric metric', { Code: 'OK', Data: [{ StatsTime: 1, Inbound: { CallsOffered: 'seven' } }] }],
    ['a missing StatsTime', { Code: 'OK', Data: [{ Inbound: {} }] }],
    ['a fractional StatsTime', { Code: 'OK', Data: [{ StatsTime: 1.5 }] }],
    ['a Code other than OK', { Code: 'Throttling.User', Data: [] }],
    ['an HttpStatusCode other than 200', { Code: 'OK', HttpStatusCode: '500', Data: [] }],
    ['Data that is not an array', { Code: 'OK', Data: {} }],
    ['a body that is not an object', 'OK'],
  ])('rejects %s', (_what, body) => {
    expect(() => normalizeReportBody(body)).toThrow(MalformedUpstreamAnswer);
  });
});
