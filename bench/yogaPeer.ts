/**
 * The peer of issue 12: what a user would put up instead of the gateway for live dashboards.
 * GraphQL Yoga with its response cache (`@graphql-yoga/plugin-response-cache`, which is
 * `@envelop/response-cache` plus Yoga's lookup before parsing), TTL = the gateway's
 * CACHE_OPEN_TTL_MS, over the same SDL and the same in-memory answers as the ceiling
 * (bench/fixtureSchema.ts). Fast, but a whole answer is served unchanged for its TTL.
 *
 * Started by bench/performance.ts: `node dist/bench/yogaPeer.js` with PEER_FIXTURES (the
 * ceiling's fixture file) and PEER_TTL_MS; prints its URL when ready.
 *
 * SIGUSR2 reloads PEER_FIXTURES and empties the response cache. POST /__peer/fixtures (a JSON
 * array of fixtures) adds or replaces answers without touching the cache: the freshness check
 * uses it to play "the numbers behind the peer changed now" (the resolvers see the change at
 * once; only the response cache stands between it and the client).
 */
import { serveUntilTerminated } from './benchServer';
import { createServer, type IncomingMessage } from 'node:http';
import { createYoga } from 'graphql-yoga';
import { createInMemoryCache, useResponseCache, type Cache } from '@graphql-yoga/plugin-response-cache';
import { FixtureAnswers, fixtureSchema, type Fixture } from './fixtureSchema';

const CONTROL_PATH = '/__peer/fixtures';

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<void> {
  const ttl = Number(process.env.PEER_TTL_MS);
  if (!(ttl > 0)) throw new Error('PEER_TTL_MS must be a positive number of milliseconds');
  const answers = FixtureAnswers.fromFile(process.env.PEER_FIXTURES!);
  // The bench re-records the answers and signals SIGUSR2 before it measures: cached answers
  // recorded earlier must go with them. (POST /__peer/fixtures keeps the cache: that is the point.)
  let cached = createInMemoryCache();
  process.on('SIGUSR2', () => (cached = createInMemoryCache()));
  const cache: Cache = {
    get: (key) => cached.get(key),
    set: (...args) => cached.set(...args),
    invalidate: (entities) => cached.invalidate(entities),
  };
  const yoga = createYoga({
    schema: fixtureSchema(answers),
    graphqlEndpoint: '/graphql',
    logging: false,
    plugins: [
      useResponseCache({
        // One shared cache for everyone (the bench runs the gateway with auth off, too). A
        // constant session rather than null: the SDL marks the report fields PRIVATE, which the
        // plugin would refuse to cache without a session.
        session: () => 'everyone',
        cache,
        ttl,
        // The SDL's @cacheControl(maxAge: 30) would set a 30 s TTL; the peer's TTL is the
        // gateway's CACHE_OPEN_TTL_MS in this run.
        onTtl: () => ttl,
        // No entity invalidation: nothing mutates, the TTL is the only expiry. (By default the
        // plugin also selects every type's `id` to track entities; the recorded answers hold no
        // ids, and the selection would only cost the peer time.)
        idFields: [],
        invalidateViaMutation: false,
      }),
    ],
  });
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === CONTROL_PATH) {
      readBody(req).then(
        (body) => {
          answers.add(JSON.parse(body) as Fixture[]);
          res.writeHead(204).end();
        },
        (error: Error) => res.writeHead(400, { 'content-type': 'text/plain' }).end(error.message),
      );
      return;
    }
    void yoga(req, res);
  });
  await serveUntilTerminated(server, 'yoga peer', '/graphql');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
