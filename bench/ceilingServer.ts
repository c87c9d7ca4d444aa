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
import { FixtureAnswers, fixtureSchema } from './fixtureSchema';

async function main(): Promise<void> {
  const server = new ApolloServer({ schema: fixtureSchema(FixtureAnswers.fromFile(process.env.CEILING_FIXTURES!)) });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  console.log(`ceiling listening on ${url}`);
  process.once('SIGTERM', () => server.stop().then(() => process.exit(0)));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
