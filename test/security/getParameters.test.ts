/**
 * A GET's GraphQL parameters are read by every step in front of Apollo exactly as Apollo reads
 * them (src/server/graphqlParams.ts), over real HTTP:
 * - 1,001 padding parameters before `query=` used to hide the document from the safelist and the
 *   document, size and nesting limits (Express's default query parser stops at 1,000), while
 *   Apollo, reading the raw URL, ran it;
 * - a GraphQL parameter given twice is refused with 400 BAD_REQUEST before any step reads it;
 * - Express's `req.query` reads the URL the same way.
 */
import { readFileSync } from 'node:fs';
import type { Gateway } from '../../src/server/createGateway';
import { SAFELIST_MANIFEST_PATH } from '../../src/server/persistedQueries/safelist';
import { parseUrlQuery, repeatedGraphqlParams } from '../../src/server/graphqlParams';
import { startTestGateway } from '../helpers/gateway';

// Express's default parser (querystring) counts pairs, not names: 1,001 of one name hide what follows.
const PADDING = Array.from({ length: 1_001 }, () => 'p=').join('&');
const UNLISTED = 'query Unlisted($id: ID!) { callCenterInstance(id: $id) { id } }';
const [LISTED] = Object.values(JSON.parse(readFileSync(SAFELIST_MANIFEST_PATH, 'utf8')) as Record<string, string>);
const ALIASES_300 = `{ ${Array.from({ length: 300 }, (_, i) => `a${i}: __typename`).join(' ')} }`;

interface Answer {
  status: number;
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

/** A GET of `search` as given (parameters in that order), with the header CSRF prevention asks of a GET. */
async function getRaw(gateway: Gateway, search: string): Promise<Answer> {
  const response = await fetch(`${gateway.url}?${search}`, { headers: { 'apollo-require-preflight': 'true' } });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

const param = (name: string, value: unknown) => `${name}=${encodeURIComponent(typeof value === 'string' ? value : JSON.stringify(value))}`;
const codeOf = (answer: Answer) => answer.body.errors?.[0]?.extensions?.code;

describe('GET parameters after 1,000 others (PERSISTED_QUERIES=safelist)', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ PERSISTED_QUERIES: 'safelist' });
  });
  afterAll(() => gateway.close());

  it('an unlisted query is refused however many parameters precede it', async () => {
    const answer = await getRaw(gateway, `${PADDING}&${param('query', UNLISTED)}&${param('variables', { id: 'ccc-test' })}`);
    expect([answer.status, codeOf(answer)]).toEqual([403, 'PERSISTED_QUERY_NOT_IN_SAFELIST']);
    expect(answer.body.data).toBeUndefined();
  });

  it('a listed query cannot be paired with a second, unlisted one', async () => {
    const answer = await getRaw(gateway, `${param('query', LISTED)}&${PADDING}&${param('query', UNLISTED)}`);
    expect([answer.status, codeOf(answer)]).toEqual([400, 'BAD_REQUEST']);
    expect(answer.body.errors![0]).toMatchObject({ message: expect.stringMatching(/'query' more than once/), extensions: { repeatedParameters: ['query'] } });
  });
});

describe('GET parameters after 1,000 others (PERSISTED_QUERIES=apq, the default)', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    // A document limit small enough for a GET URL (Node reads at most 16 kB of request head).
    gateway = await startTestGateway({ MAX_DOCUMENT_BYTES: '8192' });
  });
  afterAll(() => gateway.close());

  it('300 aliases are refused by the document limits', async () => {
    const answer = await getRaw(gateway, `${PADDING}&${param('query', ALIASES_300)}`);
    expect([answer.status, codeOf(answer)]).toEqual([400, 'OPERATION_TOO_EXPENSIVE']);
    expect(answer.body.data).toBeUndefined();
  });

  it('a document over MAX_DOCUMENT_BYTES is refused by the size limit', async () => {
    // Spaces as `+`: one byte each in the URL, which must stay within Node's 16 kB request head.
    const answer = await getRaw(gateway, `${PADDING}&query=%7B${'+'.repeat(8_500)}__typename+%7D`);
    expect([answer.status, codeOf(answer)]).toEqual([413, 'OPERATION_TOO_EXPENSIVE']);
  });

  it('variables nested too deeply are refused', async () => {
    const nested = `${'{"a":'.repeat(40)}1${'}'.repeat(40)}`;
    const answer = await getRaw(gateway, `${PADDING}&${param('query', 'query($a: ID) { __typename }')}&variables=${encodeURIComponent(nested)}`);
    expect([answer.status, codeOf(answer)]).toEqual([400, 'BAD_USER_INPUT']);
  });

  it('a GraphQL parameter given twice is refused with 400 BAD_REQUEST, naming it', async () => {
    for (const search of [
      `${param('query', '{ __typename }')}&${param('query', ALIASES_300)}`,
      `${param('query', '{ __typename }')}&${PADDING}&${param('query', '{ __typename }')}`,
      `${param('query', '{ __typename }')}&${param('variables', {})}&${param('variables', {})}`,
    ]) {
      const answer = await getRaw(gateway, search);
      expect([answer.status, codeOf(answer)]).toEqual([400, 'BAD_REQUEST']);
      expect(answer.body.errors![0].message).toMatch(/more than once; each GraphQL parameter may appear only once/);
    }
  });

  it('still runs an ordinary GET, padding and all', async () => {
    const answer = await getRaw(gateway, `${PADDING}&${param('query', '{ __typename }')}`);
    expect(answer).toEqual({ status: 200, body: { data: { __typename: 'Query' } } });
  });
});

describe('reading a URL as Apollo does', () => {
  it('finds repeated GraphQL parameters only', () => {
    expect(repeatedGraphqlParams('/?query=a&query=b&x=1&x=2&operationName=c')).toEqual(['query']);
    expect(repeatedGraphqlParams('/?documentId=a&extensions=%7B%7D&documentId=b&extensions=%7B%7D')).toEqual(['extensions', 'documentId']);
  });

  it("gives Express's req.query every parameter, strings only, the first of a repeated one", () => {
    const padding = Array.from({ length: 1_001 }, (_, i) => `p${i}=`).join('&');
    const query = parseUrlQuery(`${padding}&query=%7B+a+%7D&query=second&__proto__=x&a[b]=c`);
    expect(query.query).toBe('{ a }');
    expect(Object.keys(query)).toHaveLength(1_001 + 3);
    expect(Object.getPrototypeOf(query)).toBe(Object.prototype);
    expect(query['__proto__' as string]).toBe('x');
    expect(query['a[b]']).toBe('c');
  });
});
