/**
 * Issue 11 §1 benchmark: what bucket identity costs GraphQL execution on the warm path. Prints JSON.
 *
 *   npm run bench:identity
 *
 * In process, the gateway's schema executing the dashboard query (168 hourly buckets x 10
 * metrics) over rows that are already read (no cache, no upstream: only what this feature adds
 * is left to measure). Three variants, interleaved in rounds so drift hits all alike:
 *  - `withoutIdentity`: the schema with the metric groups' plain property resolvers (as before
 *    this feature) and the query without ids;
 *  - `idsNotSelected`: the schema as served, the query without ids (the cost every client pays);
 *  - `idsSelected`: the query selecting the bucket's and every group's id (one string per id);
 *  - `threeMoreFields`: for scale, the query without ids but three more plain fields instead.
 */
import 'reflect-metadata';
import { mapSchema, MapperKind } from '@graphql-tools/utils';
import { execute, parse, type GraphQLSchema } from 'graphql';
import { performance } from 'node:perf_hooks';
import { buildGatewaySchema } from '../src/graphql/schema';
import { bucketSeriesKey } from '../src/reports/bucketIdentity';
import type { ReportRow } from '../src/reports/InstanceReports';
import { HOUR_MS } from '../src/reports/intervals';
import { METRICS, type MetricValues } from '../src/reports/metrics';

const BUCKETS = 168;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const EXECUTIONS_PER_ROUND = Number(process.env.BENCH_EXECUTIONS ?? 200);
const TEN = 'inbound { ID callsOffered callsHandled callsAbandoned handleRate serviceLevel20 averageWaitTime averageTalkTime maxWaitTime } overall { ID totalCalls occupancyRate }';
const query = (ids: boolean, plain = false) =>
  parse(
    `{ intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY) { ${ids ? 'id' : plain ? 'interval' : ''} statsTime closed ${TEN.replace(/ID /g, ids ? 'id ' : plain ? 'callsQueued ' : '')} } }`,
  );

function metrics(group: keyof typeof METRICS, seed: number): MetricValues {
  return Object.fromEntries(METRICS[group].map((m, i) => [m.name, (seed * 31 + i * 17) % 50]));
}

async function main(): Promise<void> {
  const served = await buildGatewaySchema();
  // Before this feature the groups were read straight off the row, as every other field is.
  const before: GraphQLSchema = mapSchema(served, {
    [MapperKind.OBJECT_FIELD]: (field, fieldName, typeName) =>
      typeName === 'IntervalReport' && ['id', 'inbound', 'outbound', 'overall'].includes(fieldName) ? { ...field, resolve: undefined } : field,
  });
  const start = Date.UTC(2026, 10, 1);
  const seriesKey = bucketSeriesKey(['ccc-test'], 'HOURLY', 'Asia/Shanghai');
  // Shared metric objects, as the cache hands them out; rows fresh per execution, as read() makes them.
  const data = Array.from({ length: BUCKETS }, (_, i) => ({ inbound: metrics('inbound', i), outbound: metrics('outbound', i), overall: metrics('overall', i) }));
  const contextValue = () => ({
    reports: {
      read: async (): Promise<ReportRow[]> =>
        data.map((d, i) => ({ statsTime: start + i * HOUR_MS, endTime: start + (i + 1) * HOUR_MS, interval: 'HOURLY', closed: true, seriesKey, ...d })),
    },
  });

  const variants = {
    withoutIdentity: { schema: before, document: query(false) },
    idsNotSelected: { schema: served, document: query(false) },
    idsSelected: { schema: served, document: query(true) },
    threeMoreFields: { schema: served, document: query(false, true) },
  };
  const samples: Record<keyof typeof variants, number[]> = { withoutIdentity: [], idsNotSelected: [], idsSelected: [], threeMoreFields: [] };
  for (let round = -2; round < ROUNDS; round++) {
    for (const [name, { schema, document }] of Object.entries(variants) as [keyof typeof variants, (typeof variants)[keyof typeof variants]][]) {
      const t0 = performance.now();
      for (let i = 0; i < EXECUTIONS_PER_ROUND; i++) {
        const result = await execute({ schema, document, contextValue: contextValue() });
        if (result.errors) throw new Error(JSON.stringify(result.errors));
      }
      // Two warm-up rounds are not recorded.
      if (round >= 0) samples[name].push(((performance.now() - t0) * 1000) / EXECUTIONS_PER_ROUND);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const result = Object.fromEntries(
    Object.entries(samples).map(([name, xs]) => [name, { microsecondsPerExecution: +median(xs).toFixed(1), microsecondsPerBucket: +(median(xs) / BUCKETS).toFixed(3) }]),
  );
  console.log(JSON.stringify({ node: process.version, buckets: BUCKETS, rounds: ROUNDS, executionsPerRound: EXECUTIONS_PER_ROUND, median: result }, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
