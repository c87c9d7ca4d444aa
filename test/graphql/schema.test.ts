import { readFileSync } from 'node:fs';
import { buildSubgraphSchema, printSubgraphSchema } from '@apollo/subgraph';
import { GraphQLObjectType, parse } from 'graphql';
import { printGatewaySchema, SCHEMA_FILE } from '../../src/graphql/printSchema';
import { buildGatewaySchema } from '../../src/graphql/schema';
import { METRICS } from '../../src/reports/metrics';

describe('GraphQL schema', () => {
  it('carries every metric with its scalar, nullable, with a description and unit', async () => {
    const schema = await buildGatewaySchema();
    for (const [group, typeName] of [['inbound', 'InboundMetrics'], ['outbound', 'OutboundMetrics'], ['overall', 'OverallMetrics']] as const) {
      const type = schema.getType(typeName) as GraphQLObjectType;
      const { id, ...fields } = type.getFields();
      expect(id.type.toString()).toBe('ID!'); // the group's identity, for normalized client caches
      expect(Object.keys(fields).sort()).toEqual(METRICS[group].map((m) => m.name).sort());
      for (const metric of METRICS[group]) {
        const field = fields[metric.name];
        expect(field.type.toString()).toBe(metric.type === 'Long' ? 'SafeInt' : 'Float');
        expect(field.description).toMatch(/Unit: /);
      }
    }
  });

  it('exposes the report query, the entity and the federation fields', async () => {
    const schema = await buildGatewaySchema();
    const query = schema.getQueryType()!.getFields();
    expect(query.intervalInstanceReport.args.map((a) => `${a.name}:${a.type}`)).toEqual([
      'startTime:Timestamp',
      'endTime:Timestamp',
      'timeZone:String',
      'interval:ReportInterval',
      'emptyIntervals:EmptyIntervals',
      'instanceId:ID!',
    ]);
    expect(query.combinedIntervalReport.type.toString()).toBe('[CombinedIntervalReport!]');
    expect(query.combinedIntervalReport.args.find((a) => a.name === 'instanceIds')!.type.toString()).toBe('[ID!]!');
    expect(query.intervalInstanceReport.args.find((a) => a.name === 'interval')!.defaultValue).toBe('DAILY');
    expect(query.intervalInstanceReport.type.toString()).toBe('[IntervalReport!]');
    expect(query._service).toBeDefined();
    expect(query._entities).toBeDefined();
    const report = schema.getType('IntervalReport') as GraphQLObjectType;
    expect(Object.fromEntries(Object.entries(report.getFields()).map(([n, f]) => [n, f.type.toString()]))).toEqual({
      id: 'ID!',
      instanceId: 'ID!',
      interval: 'ReportInterval!',
      statsTime: 'Timestamp!',
      endTime: 'Timestamp!',
      closed: 'Boolean!',
      inbound: 'InboundMetrics!',
      outbound: 'OutboundMetrics!',
      overall: 'OverallMetrics!',
    });
    const combined = schema.getType('CombinedIntervalReport') as GraphQLObjectType;
    expect(Object.keys(combined.getFields()).sort()).toEqual(['closed', 'endTime', 'id', 'inbound', 'instanceIds', 'interval', 'outbound', 'overall', 'statsTime']);
    const instance = schema.getType('CallCenterInstance') as GraphQLObjectType;
    expect(instance.getFields().summary.type.toString()).toBe('IntervalReport');
    const reports = instance.getFields().intervalReports;
    expect(reports.type.toString()).toBe('[IntervalReport!]');
  });

  it('matches the committed subgraph SDL (run `npm run schema` after changing the schema)', async () => {
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    expect(committed).toMatch(/@link\(url: "https:\/\/specs\.apollo\.dev\/federation\/v2\.\d+"/);
    expect(committed).toMatch(/type CallCenterInstance\s+@key\(fields: "id"\)/);
    // Structural comparison: both sides rebuilt and printed by the installed @apollo/subgraph, so
    // a printer's layout change (where `@key` goes) is not a difference, a schema change is.
    const normalize = (sdl: string) => printSubgraphSchema(buildSubgraphSchema([{ typeDefs: parse(sdl) }]));
    expect(normalize(committed)).toBe(normalize(await printGatewaySchema()));
  });
});
