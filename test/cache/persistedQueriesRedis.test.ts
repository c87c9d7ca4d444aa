/**
 * Automatic persisted queries through Redis (issue 11 §3), with the test's own redis-server:
 * - a hash registered on replica A is found on replica B (both share the Redis, not the process);
 * - every registration expires within PERSISTED_QUERIES_TTL_S, under the gateway's key prefix;
 * - junk (a text that does not parse, validate or pass the limits) never reaches Redis;
 * - a safelist replica on the same Redis never runs what an `apq` replica registered;
 * - with Redis down, no operation fails: texts still run and register in process, hashes seen by
 *   this replica still run, unknown ones are PERSISTED_QUERY_NOT_FOUND; the outage is logged once;
 * - the same through a Redis Cluster client.
 */
import Redis, { Cluster } from 'ioredis';
import { createHash, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Gateway } from '../../src/server/createGateway';
import { createLogger } from '../../src/server/logger';
import { startTestGateway } from '../helpers/gateway';
import { startRedisServer, type TestRedisServer } from '../helpers/redisServer';

const TTL_S = 600;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const operation = (n: number) => `query Apq${n}($id: ID!) { callCenterInstance(id: $id) { id } }`;
const DATA = { callCenterInstance: { id: 'ccc-test' } };

async function post(gateway: Gateway, body: Record<string, unknown>) {
  const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
}
const register = (gateway: Gateway, n: number) =>
  post(gateway, { query: operation(n), variables: { id: 'ccc-test' }, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(operation(n)) } } });
const byHash = (gateway: Gateway, n: number) =>
  post(gateway, { variables: { id: 'ccc-test' }, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(operation(n)) } } });
const codeOf = (answer: Awaited<ReturnType<typeof post>>) => answer.errors?.[0]?.extensions?.code;

/** A logger whose lines the test reads. */
function capturingLogger() {
  const lines: { msg: string; level: number }[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger('info', stream), lines };
}

describe('automatic persisted queries through Redis', () => {
  let redis: TestRedisServer;
  let client: Redis;
  const gateways: Gateway[] = [];
  const prefix = `test:${randomUUID()}:`;
  const start = async (env: Record<string, string> = {}, logger?: ReturnType<typeof createLogger>) => {
    const gateway = await startTestGateway(
      { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '200', PERSISTED_QUERIES_TTL_S: String(TTL_S), ...env },
      { redisKeyPrefix: prefix, logger },
    );
    gateways.push(gateway);
    return gateway;
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    client.disconnect();
    await Promise.all(gateways.map((g) => g.close()));
    if (!redis.external) await redis.stop();
  });

  it('a hash registered on replica A runs on replica B, and expires within PERSISTED_QUERIES_TTL_S', async () => {
    const [a, b] = [await start(), await start()];
    expect(codeOf(await byHash(b, 1))).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await register(a, 1)).data).toEqual(DATA);
    expect(await byHash(b, 1)).toEqual({ data: DATA });

    const key = `${prefix}apq:${sha256(operation(1))}`;
    expect(await client.get(key)).toBe(operation(1));
    const ttl = await client.ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(TTL_S);
  });

  it('never stores a text that does not parse, validate or pass the document limits, even under its own hash', async () => {
    const a = await start();
    for (const text of ['{ callCenterInstance(id: "x") {', '{ noSuchField }', `{ ${Array.from({ length: 300 }, (_, i) => `a${i}: __typename`).join(' ')} }`]) {
      const sent = await post(a, { query: text, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(text) } } });
      expect(sent.errors?.length).toBeGreaterThan(0);
      expect(codeOf(await post(a, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(text) } } }))).toBe('PERSISTED_QUERY_NOT_FOUND');
      expect(await client.get(`${prefix}apq:${sha256(text)}`)).toBeNull();
    }
  });

  it("a safelist replica on the same Redis does not run an apq replica's registrations", async () => {
    const [a, safelist] = [await start(), await start({ PERSISTED_QUERIES: 'safelist' })];
    expect((await register(a, 2)).data).toEqual(DATA);
    expect(codeOf(await byHash(safelist, 2))).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(codeOf(await register(safelist, 2))).toBe('PERSISTED_QUERY_NOT_IN_SAFELIST');
  });

  it('with Redis down no operation fails, and the outage is logged once', async () => {
    if (redis.external) return; // an external Redis (REDIS_URL) is not ours to stop
    const { logger, lines } = capturingLogger();
    const [a, b] = [await start({}, logger), await start()];
    expect((await register(a, 3)).data).toEqual(DATA);
    await redis.stop();

    // Registered before: still known to A (its memory), unknown to B (which never saw it).
    expect(await byHash(a, 3)).toEqual({ data: DATA });
    expect(codeOf(await byHash(b, 3))).toBe('PERSISTED_QUERY_NOT_FOUND');
    // New registrations run and are kept in process.
    for (const n of [4, 5, 6]) {
      expect((await register(a, n)).data).toEqual(DATA);
      expect(await byHash(a, n)).toEqual({ data: DATA });
    }
    expect(codeOf(await byHash(a, 7))).toBe('PERSISTED_QUERY_NOT_FOUND');
    const outage = lines.filter((l) => l.msg.startsWith('Persisted queries: Redis unavailable'));
    expect(outage).toHaveLength(1);

    await redis.restart();
  });
});

describe('automatic persisted queries through a Redis Cluster client', () => {
  let redis: TestRedisServer;
  const gateways: Gateway[] = [];

  beforeAll(async () => {
    redis = process.env.REDIS_URL ? (undefined as never) : await startRedisServer({ cluster: true });
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await redis?.stop();
  });

  it('shares registrations between replicas', async () => {
    if (!redis) return; // a cluster needs its own redis-server (REDIS_URL is set)
    const env = { REDIS_CLUSTER_NODES: `127.0.0.1:${redis.port}` };
    const prefix = `test:${randomUUID()}:`;
    const a = await startTestGateway(env, { redisKeyPrefix: prefix });
    gateways.push(a);
    const b = await startTestGateway(env, { redisKeyPrefix: prefix });
    gateways.push(b);
    expect((await register(a, 8)).data).toEqual(DATA);
    expect(await byHash(b, 8)).toEqual({ data: DATA });
    const cluster = new Cluster([{ host: '127.0.0.1', port: redis.port }]);
    try {
      expect(await cluster.get(`${prefix}apq:${sha256(operation(8))}`)).toBe(operation(8));
    } finally {
      cluster.disconnect();
    }
  });
});
