
/**
 * The glue as the gateway will use it: authentication in Apollo's context function, errors through
 * the gateway's own formatter. Checks what a client sees (status, challenge, body) and what the
 * logs get.
 */
import { ApolloServer, HeaderMap } from '@apollo/server';
import { Writable } from 'node:stream';
import { parseAuthConfig } from '../../src/server/auth/authConfig';
import { createAuthenticator, type Authenticator } from '../../src/server/auth/Authenticator';
import { authenticateRequest } from '../../src/server/auth/contextAuth';
import { forbiddenInstance } from '../../src/server/auth/forbidden';
import type { Principal } from '../../src/server/auth/principal';
import { createErrorFormatter } from '../../src/server/errors';
import { createLogger } from '../../src/server/logger';
import { sign, SECRET } from './tokens';

const typeDefs = `type Query { whoami: String  report(instanceId: ID!): String }`;
const resolvers = {
  Query: {
    whoami: (_: unknown, __: unknown, ctx: { principal: Principal }) => ctx.principal.subject,
    report: (_: unknown, { instanceId }: { instanceId: string }, ctx: { principal: Principal }) => {
      if (!ctx.principal.canRead(instanceId)) throw forbiddenInstance(instanceId);
      return `report of ${instanceId}`;
    },
  },
};

let logs: string[];
let apollo: ApolloServer<{ principal: Principal }>;
let authenticator: Authenticator;

beforeAll(async () => {
  logs = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  apollo = new ApolloServer({ typeDefs, resolvers, formatError: createErrorFormatter(createLogger('error', sink)) });
  await apollo.start();
});
afterAll(() => apollo.stop());

async function post(query: string, authorization?: string) {
  const headers = new HeaderMap([['content-type', 'application/json']]);
  if (authorization !== undefined) headers.set('authorization', authorization);
  const response = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: 'POST', headers, search: '', body: { query } },
    context: async () => ({ principal: await authenticateRequest(authenticator, authorization) }),
  });
  const body = response.body.kind === 'complete' ? JSON.parse(response.body.string) : undefined;
  return { status: response.status ?? 200, challenge: response.headers.get('www-authenticate'), body };
}

describe('authentication in the GraphQL context', () => {
  beforeAll(() => {
    authenticator = createAuthenticator(parseAuthConfig({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET }));
  });

  it('answers a request without a token with 401, a Bearer challenge and code UNAUTHENTICATED', async () => {
    const { status, challenge, body } = await post('{ whoami }');
    expect(status).toBe(401);
    expect(challenge).toBe('Bearer');
    expect(body).toEqual({ errors: [{ message: 'a bearer token is required', extensions: { code: 'UNAUTHENTICATED' } }] });
  });

  it('answers a bad token with 401 and error="invalid_token", without echoing it', async () => {
    const token = await sign({ ccc_instances: '*' }, undefined, { expiresIn: -3600 });
    const { status, challenge, body } = await post('{ whoami }', `Bearer ${token}`);
    expect(status).toBe(401);
    expect(challenge).toBe('Bearer error="invalid_token"');
    expect(body.errors).toEqual([{ message: 'invalid bearer token: expired', extensions: { code: 'UNAUTHENTICATED' } }]);
    expect(JSON.stringify(body)).not.toContain(token.split('.')[1]);
  });

  it('runs the operation with the principal of a good token', async () => {
    const { status, body } = await post('{ whoami }', `Bearer ${await sign({ ccc_instances: ['ccc-test'] })}`);
    expect(status).toBe(200);
    expect(body).toEqual({ data: { whoami: 'svc-reporting' } });
  });

  it('answers FORBIDDEN alike for an instance that exists and one that does not', async () => {
    const authorization = `Bearer ${await sign({ ccc_instances: ['ccc-test'] })}`;
    const allowed = await post('{ report(instanceId: "ccc-test") }', authorization);
    expect(allowed.body.data).toEqual({ report: 'report of ccc-test' });
    for (const id of ['ccc-other-tenant', 'ccc-does-not-exist']) {
      const { body } = await post(`{ report(instanceId: "${id}") }`, authorization);
      expect(body.errors).toEqual([
        { message: `not allowed to read call center instance ${id}`, locations: expect.any(Array), path: ['report'], extensions: { code: 'FORBIDDEN' } },
      ]);
    }
  });

  it('a JWKS endpoint that fails is a logged internal error, not a 401', async () => {
    authenticator = createAuthenticator(parseAuthConfig({ AUTH_MODE: 'jwt', AUTH_JWKS_URL: 'http://127.0.0.1:1/jwks.json' }));
    const token = `${Buffer.from('{"alg":"RS256","kid":"k"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.c2ln`;
    const { status, challenge, body } = await post('{ whoami }', `Bearer ${token}`);
    expect(status).toBe(500);
    expect(challenge).toBeUndefined();
    expect(body.errors).toEqual([{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
    expect(logs.join('')).toContain('cannot verify bearer tokens: the JWKS endpoint failed');
    expect(logs.join('')).not.toContain(token);
  });
});

describe('AUTH_MODE=off in the GraphQL context', () => {
  it('reads every instance, without a header', async () => {
    authenticator = createAuthenticator(parseAuthConfig({}));
    const { status, body } = await post('{ whoami report(instanceId: "ccc-anything") }');
    expect(status).toBe(200);
    expect(body.data).toEqual({ whoami: 'anonymous', report: 'report of ccc-anything' });
  });
});
