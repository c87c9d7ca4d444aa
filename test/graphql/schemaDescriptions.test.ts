/**
 * What the schema's descriptions promise (issue 11, part 6): where the API document is ambiguous
 * they say it is the gateway's reading, `Timestamp` points at what it really is, and the range
 * arguments say which bucket start a range is widened to.
 */
import type { GraphQLObjectType, GraphQLScalarType } from 'graphql';
import { buildGatewaySchema } from '../../src/graphql/schema';
import { GATEWAY_READING, METRIC_GROUPS, METRICS } from '../../src/reports/metrics';

const GROUP_TYPES = { inbound: 'InboundMetrics', outbound: 'OutboundMetrics', overall: 'OverallMetrics' } as const;

async function metricField(group: keyof typeof GROUP_TYPES, name: string) {
  const type = (await buildGatewaySchema()).getType(GROUP_TYPES[group]) as GraphQLObjectType;
  return type.getFields()[name];
}

describe('schema descriptions', () => {
  it("Timestamp's @specifiedBy describes epoch milliseconds (ECMAScript time values), not RFC 3339 strings", async () => {
    const timestamp = (await buildGatewaySchema()).getType('Timestamp') as GraphQLScalarType;
    expect(timestamp.specifiedByURL).toBe('https://tc39.es/ecma262/#sec-time-values-and-time-range');
    expect(timestamp.description).toMatch(/Output: always epoch milliseconds/);
  });

  it.each(METRIC_GROUPS)('%s: every average names the count it is taken over, as the gateway reading it', async (group) => {
    for (const metric of METRICS[group].filter((m) => m.kind === 'average')) {
      const { description } = await metricField(group, metric.name);
      expect({ metric: metric.name, reading: description?.includes(GATEWAY_READING) }).toEqual({ metric: metric.name, reading: true });
      const count = metric.denominator ? metric.denominator.charAt(0).toLowerCase() + metric.denominator.slice(1) : 'a count upstream does not report';
      expect(description).toContain(`taken over ${count}`);
    }
  });

  it("AbandonedRate's sum of abandons is the gateway's reading of a garbled formula", async () => {
    const { description } = await metricField('inbound', 'abandonedRate');
    expect(description).toContain('(calls abandoned in queue + calls abandoned while ringing) / calls queued');
    expect(description).toContain(`${GATEWAY_READING} the "+". The document's formula is garbled`);
  });

  it('TotalCalls = inbound handled + outbound answered is the gateway\'s reading, against the document\'s example', async () => {
    const { description } = await metricField('overall', 'totalCalls');
    expect(description).toContain(`${GATEWAY_READING} that this is inbound.callsHandled + outbound.callsAnswered`);
    expect(description).toContain('all-zero Overall (TotalCalls 0) beside 7 handled inbound calls');
  });

  it('rates say that "fraction, not %" is the gateway\'s reading', async () => {
    const { description } = await metricField('inbound', 'handleRate');
    expect(description).toMatch(/the gateway's reading of the API document's "%"/);
  });

  it('every report field says which bucket start its range is widened to', async () => {
    const schema = await buildGatewaySchema();
    const query = schema.getQueryType()!.getFields();
    const instance = (schema.getType('CallCenterInstance') as GraphQLObjectType).getFields();
    for (const field of [query.intervalInstanceReport, query.combinedIntervalReport, instance.intervalReports, instance.summary]) {
      const startTime = field.args.find((a) => a.name === 'startTime')!;
      expect(startTime.description).toContain('widened to the start of the bucket holding startTime');
      expect(startTime.description).toContain('Monday 00:00 of its ISO week (WEEKLY) or 00:00 on the 1st of its month (MONTHLY)');
      expect(startTime.description).toContain('extensions.widenedStartTime');
    }
    const report = (schema.getType('IntervalReport') as GraphQLObjectType).getFields();
    expect(report.statsTime.description).toContain("the first bucket's statsTime is the start of the bucket holding startTime");
  });
});
