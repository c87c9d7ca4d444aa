/**
 * The document limits refuse hostile documents (test/security/hostileInputs.test.ts, over HTTP)
 * but no real operation: the explorer's introspection, the largest dashboard, colocated fragments.
 */
import { getIntrospectionQuery } from 'graphql';
import { loadConfig } from '../../src/config/config';
import { buildGatewaySchema } from '../../src/graphql/schema';
import { METRICS } from '../../src/reports/metrics';
import { documentLimitErrors, nestingLimit } from '../../src/server/limits/documentLimits';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../../src/server/limits/requestBody';

const limits = loadConfig({}).operationLimits;
const ALL_FIELDS = `statsTime closed ${(['inbound', 'outbound', 'overall'] as const).map((g) => `${g} { ${METRICS[g].map((m) => m.name).join(' ')} }`).join(' ')}`;

describe('document limits', () => {
  it('defaults: 2,000 tokens, depth 10, 50 aliases, 50 directives', () => {
    expect(limits).toMatchObject({ maxTokens: 2_000, maxDepth: 10, maxAliases: 50, maxDirectives: 50 });
    expect(loadConfig({ MAX_TOKENS: '500', MAX_DIRECTIVES: '5' }).operationLimits).toMatchObject({ maxTokens: 500, maxDirectives: 5 });
  });

  it.each([
    ['the explorer introspection query', getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true })],
    [
      '50 aliased reports of all 82 metrics through one fragment',
      `{ ${Array.from({ length: 50 }, (_, i) => `r${i}: intervalInstanceReport(instanceId: "ccc-sim-${i}", startTime: 1700000000000, endTime: 1700600000000, interval: DAILY) { ...AllFields }`).join(' ')} } fragment AllFields on IntervalReport { ${ALL_FIELDS} }`,
    ],
    [
      'colocated fragments repeating fields',
      `query Dashboard($id: ID!) { callCenterInstance(id: $id) { id ...A ...B ...C summary { statsTime } } }
       fragment A on CallCenterInstance { id summary { statsTime inbound { callsOffered } } }
       fragment B on CallCenterInstance { id summary { statsTime closed inbound { callsHandled } } }
       fragment C on CallCenterInstance { id intervalReports(interval: HOURLY) @include(if: true) { statsTime closed } }`,
    ],
  ])('accepts %s', async (_name, query) => {
    expect(documentLimitErrors(await buildGatewaySchema(), query, limits)).toEqual([]);
  });

  it('refuses with the limit named, before parsing a document nested deeper than the selection depth allows', async () => {
    const schema = await buildGatewaySchema();
    const nested = (n: number) => `{ callCenterInstance(id: ${'['.repeat(n)}"x"${']'.repeat(n)}) { id } }`;
    expect(documentLimitErrors(schema, nested(nestingLimit(limits) - 3), limits)).toEqual([]); // a wrong type, for Apollo to report
    const [error] = documentLimitErrors(schema, nested(nestingLimit(limits)), limits);
    expect(error.extensions).toMatchObject({ code: 'OPERATION_TOO_EXPENSIVE', maxNesting: nestingLimit(limits) });
  });

  it('leaves syntax errors to Apollo (GRAPHQL_PARSE_FAILED)', async () => {
    expect(documentLimitErrors(await buildGatewaySchema(), '{ a(', limits)).toEqual([]);
  });

  it('measures JSON depth without recursion, to the limit exactly', () => {
    const nested = (depth: number) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
    expect(jsonDepthExceeds(nested(200_000), MAX_JSON_DEPTH)).toBe(true);
    expect(jsonDepthExceeds({ r: [{ __typename: 'CallCenterInstance', id: 'ccc-test' }] }, 3)).toBe(false);
    expect(jsonDepthExceeds('x', 0)).toBe(false);
  });
});
