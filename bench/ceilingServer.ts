/**
 * The ceiling of issue 7: a bare Apollo Server 5 (standalone, default plugins) with the same
 * schema and plain resolvers that return, from memory, exactly the answers the gateway gave.
 * Whatever the gateway does on top (auth, cost checks, cache lookups) must not make it slower.
 *
 * Started by bench/performance.ts as a child process: `node dist/bench/ceilingServer.js` with
 * CEILING_FIXTURES (a JSON file: [{ field, args, result }]) and prints its URL when ready.
 */
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { GraphQLSafeInt } from 'graphql-scalars';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/config/paths';
import { TimestampScalar } from '../src/graphql/scalars/Timestamp';

interface Fixture {
  field: 'intervalInstanceReport' | 'combinedIntervalReport';
  args: Record<string, unknown>;
  result: unknown;
}

/** Arguments as the resolver sees them, defaults included, in a stable order. */
function argsKey(field: string, args: Record<string, unknown>): string {
  const { startTime, endTime, interval = 'DAILY', timeZone = null, emptyIntervals = 'OMIT', instanceId = null, instanceIds = null } = args;
  return JSON.stringify([field, instanceId, instanceIds, startTime, endTime, interval, timeZone, emptyIntervals]);
}

async function main(): Promise<void> {
  const fixtures: Fixture[] = JSON.parse(readFileSync(process.env.CEILING_FIXTURES!, 'utf8'));
  const answers = new Map(fixtures.map((f) => [argsKey(f.field, f.args), f.result]));
  const lookup = (field: string) => (_: unknown, args: Record<string, unknown>) => {
    const found = answers.get(argsKey(field, args));
    if (found === undefined) throw new Error(`no fixture for ${field} ${JSON.stringify(args)}`);
    return found;
  };
  const typeDefs = parse(readFileSync(join(PROJECT_ROOT, 'schema', 'schema.graphql'), 'utf8'));
  const schema = buildSubgraphSchema([
    {
      typeDefs,
      resolvers: {
        Timestamp: TimestampScalar,
        SafeInt: GraphQLSafeInt,
        Query: { intervalInstanceReport: lookup('intervalInstanceReport'), combinedIntervalReport: lookup('combinedIntervalReport') },
      } as never,
    },
  ]);
  const server = new ApolloServer({ schema });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  console.log(`ceiling listening on ${url}`);
  process.once('SIGTERM', () => server.stop().then(() => process.exit(0)));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
