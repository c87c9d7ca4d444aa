/**
 * Persisted queries over HTTP (issue 11 §3), without Redis:
 * - PERSISTED_QUERIES=apq (default): Apollo's APQ protocol in process memory: an unknown hash is
 *   PERSISTED_QUERY_NOT_FOUND, the text with its hash registers it, the hash alone then runs it;
 *   a text that does not parse, validate or pass the document limits is never registered; a
 *   malformed extension (upper-case hash, version 2) is 400 BAD_REQUEST;
 * - PERSISTED_QUERIES=off: a hash is PERSISTED_QUERY_NOT_SUPPORTED;
 * - PERSISTED_QUERIES=safelist: only the manifest's operations run, by id (codegen's `documentId`
 *   or Apollo's `sha256Hash`, GET or POST) or by text (as clients rewrite it); anything else is
 *   403 PERSISTED_QUERY_NOT_IN_SAFELIST with a message saying how to add an operation.
 */
import { print, parse, visit, Kind } from 'graphql';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import type { Gateway } from '../../src/server/createGateway';
import { MALFORMED_HASH, UNSUPPORTED_VERSION } from '../../src/server/persistedQueries/persistedQueryRequests';
import { Safelist, SAFELIST_MANIFEST_PATH } from '../../src/server/persistedQueries/safelist';
import { startTestGateway } from '../helpers/gateway';

const NOW = DateTime.fromISO('2026-11-26T11:30:00', { zone: 'Asia/Shanghai' }).toMillis();
const DAY = DateTime.fromISO('2026-11-20T00:00:00', { zone: 'Asia/Shanghai' }).toMillis();
const VARIABLES = { instanceId: 'ccc-test', startTime: DAY, endTime: DAY + 2 * 86_400_000 };

const MANIFEST = JSON.parse(readFileSync(SAFELIST_MANIFEST_PATH, 'utf8')) as Record<string, string>;
const DAILY_SOURCE = readFileSync(join(__dirname, '..', '..', 'schema', 'operations', 'DailySummary.graphql'), 'utf8');
const [DAILY_ID] = Object.entries(MANIFEST).find(([, text]) => text.startsWith('query DailySummary'))!;
const UNLISTED = 'query Unlisted($id: ID!) { callCenterInstance(id: $id) { id } }';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface Answer {
  status: number;
  body: { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
}

async function post(gateway: Gateway, body: Record<string, unknown>): Promise<Answer> {
  const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

/** A GET with the one header Apollo's CSRF prevention asks of a GET (see the README). */
async function get(gateway: Gateway, params: Record<string, unknown>): Promise<Answer> {
  const url = new URL(gateway.url);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, typeof value === 'string' ? value : JSON.stringify(value));
  const response = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

const apq = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });
const codeOf = (answer: Answer) => answer.body.errors?.[0]?.extensions?.code;

/** What Apollo Client and urql do to a document before sending it: `__typename` everywhere but the root. */
function asClientsSendIt(source: string): string {
  const withTypename = visit(parse(source), {
    SelectionSet(node, _key, parent) {
      if (parent && !Array.isArray(parent) && (parent as { kind?: string }).kind === Kind.OPERATION_DEFINITION) return undefined;
      return { ...node, selections: [...node.selections, { kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } }] };
    },
  });
  return print(withTypename);
}

describe('automatic persisted queries (PERSISTED_QUERIES=apq, the default; no Redis)', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startTestGateway({}, { now: () => NOW });
  });
  afterAll(() => gateway.close());

  it('not found -> registered with the text -> found by hash alone, over POST and GET', async () => {
    const hash = sha256(UNLISTED);
    const variables = { id: 'ccc-test' };
    const unknown = await post(gateway, { variables, extensions: apq(hash) });
    expect(codeOf(unknown)).toBe('PERSISTED_QUERY_NOT_FOUND');

    const registered = await post(gateway, { query: UNLISTED, variables, extensions: apq(hash) });
    expect(registered.body).toEqual({ data: { callCenterInstance: { id: 'ccc-test' } } });

    expect((await post(gateway, { variables, extensions: apq(hash) })).body).toEqual(registered.body);
    expect((await get(gateway, { variables, extensions: apq(hash) })).body).toEqual(registered.body);
  });

  it('a hash alone is an ordinary request after the persisted-query step: the response cache serves it', async () => {
    const cachedAnswers = async () => {
      const text = await (await fetch(gateway.url.replace(/\/graphql$/, '/metrics'))).text();
      const line = text.split('\n').find((l) => l.startsWith('ccc_gateway_operations_total{operation="cached",outcome="ok"}'));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const hash = sha256(DAILY_SOURCE);
    const registered = await post(gateway, { query: DAILY_SOURCE, variables: VARIABLES, extensions: apq(hash) });
    expect(registered.body.errors).toBeUndefined();
    const before = await cachedAnswers();
    expect((await post(gateway, { variables: VARIABLES, extensions: apq(hash) })).body).toEqual(registered.body);
    expect(await cachedAnswers()).toBe(before + 1);
  });

  it('registers a hash even when the response cache answers its text', async () => {
    const text = DAILY_SOURCE.replace('statsTime', 'statsTime\n    instanceId');
    const endTime = VARIABLES.endTime + 86_400_000;
    const plainText = await post(gateway, { query: text, variables: { ...VARIABLES, endTime } });
    expect(plainText.body.errors).toBeUndefined();
    const hash = sha256(text);
    expect((await post(gateway, { query: text, variables: { ...VARIABLES, endTime }, extensions: apq(hash) })).body).toEqual(plainText.body);
    expect((await get(gateway, { variables: { ...VARIABLES, endTime }, extensions: apq(hash) })).body).toEqual(plainText.body);
  });

  it('registers only a text that parses, validates and passes the document limits: junk under its own hash stays unknown', async () => {
    const junk = [
      ['unparsable', '{ callCenterInstance(id: "ccc-test") { id ', 'GRAPHQL_PARSE_FAILED'],
      ['over the alias limit', `{ ${Array.from({ length: 300 }, (_, i) => `a${i}: __typename`).join(' ')} }`, 'OPERATION_TOO_EXPENSIVE'],
      ['invalid', '{ noSuchField }', 'GRAPHQL_VALIDATION_FAILED'],
    ] as const;
    for (const [what, text, code] of junk) {
      const sent = await post(gateway, { query: text, extensions: apq(sha256(text)) });
      expect([what, sent.status, codeOf(sent)]).toEqual([what, 400, code]);
      expect([what, codeOf(await post(gateway, { extensions: apq(sha256(text)) }))]).toEqual([what, 'PERSISTED_QUERY_NOT_FOUND']);
    }
  });

  it('refuses a malformed persistedQuery extension with BAD_REQUEST, saying what is expected', async () => {
    const upperCase = sha256(UNLISTED).toUpperCase();
    const variables = { id: 'ccc-test' };
    for (const [body, message] of [
      [{ query: UNLISTED, variables, extensions: apq(upperCase) }, MALFORMED_HASH],
      [{ variables, extensions: apq(upperCase) }, MALFORMED_HASH],
      [{ variables, extensions: apq(sha256(UNLISTED).slice(1)) }, MALFORMED_HASH],
      [{ variables, extensions: { persistedQuery: { version: 1, sha256Hash: 5 } } }, MALFORMED_HASH],
      [{ query: UNLISTED, variables, extensions: { persistedQuery: { version: 2, sha256Hash: sha256(UNLISTED) } } }, UNSUPPORTED_VERSION],
    ] as const) {
      for (const answer of [await post(gateway, body), await get(gateway, body)]) {
        expect(answer.status).toBe(400);
        expect(answer.body.errors).toEqual([{ message, extensions: { code: 'BAD_REQUEST' } }]);
      }
    }
    expect(MALFORMED_HASH).toMatch(/64 lowercase hex/);
    // The lower-case hash of the same text is fine.
    expect((await post(gateway, { query: UNLISTED, variables, extensions: apq(sha256(UNLISTED)) })).body.data).toEqual({ callCenterInstance: { id: 'ccc-test' } });
  });

  it('a hash that does not match its text is refused, not registered', async () => {
    const wrong = sha256('query { __typename }');
    const mismatch = await post(gateway, { query: UNLISTED, variables: { id: 'ccc-test' }, extensions: apq(wrong) });
    expect(mismatch.status).toBe(400);
    expect(codeOf(await post(gateway, { variables: { id: 'ccc-test' }, extensions: apq(wrong) }))).toBe('PERSISTED_QUERY_NOT_FOUND');
  });
});

describe('PERSISTED_QUERIES=off', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ PERSISTED_QUERIES: 'off' }, { now: () => NOW });
  });
  afterAll(() => gateway.close());

  it('refuses hashes (clients fall back to sending the text), runs texts', async () => {
    expect(codeOf(await post(gateway, { variables: { id: 'ccc-test' }, extensions: apq(sha256(UNLISTED)) }))).toBe('PERSISTED_QUERY_NOT_SUPPORTED');
    expect((await post(gateway, { query: UNLISTED, variables: { id: 'ccc-test' } })).body.data).toEqual({ callCenterInstance: { id: 'ccc-test' } });
  });
});

describe('PERSISTED_QUERIES=safelist', () => {
  let gateway: Gateway;
  let expected: Answer['body'];
  beforeAll(async () => {
    gateway = await startTestGateway({ PERSISTED_QUERIES: 'safelist' }, { now: () => NOW });
    expected = (await post(gateway, { query: MANIFEST[DAILY_ID], variables: VARIABLES })).body;
  });
  afterAll(() => gateway.close());

  it('does not start without its manifest, says which file and how to make it', async () => {
    expect(() => Safelist.load(join(__dirname, 'no-such-manifest.json'))).toThrow(/no-such-manifest\.json \(run `npm run codegen`\)/);
    expect(Safelist.load().size).toBe(Object.keys(MANIFEST).length);
  });

  it('runs a listed operation by its manifest text', () => {
    expect(expected.errors).toBeUndefined();
    expect(expected.data.intervalInstanceReport).toHaveLength(2);
  });

  it('runs it from the text as written in schema/operations, and as clients rewrite it (__typename, layout)', async () => {
    expect((await post(gateway, { query: DAILY_SOURCE, variables: VARIABLES })).body).toEqual(expected);
    const rewritten = await post(gateway, { query: asClientsSendIt(DAILY_SOURCE), variables: VARIABLES });
    expect(rewritten.body.errors).toBeUndefined();
    expect(rewritten.body.data.intervalInstanceReport[0].__typename).toBe('IntervalReport');
  });

  it.each([
    ['documentId, POST', 'post', { documentId: DAILY_ID }],
    ['documentId, GET', 'get', { documentId: DAILY_ID }],
    ['sha256Hash with the prefix, POST', 'post', { extensions: apq(DAILY_ID) }],
    ['sha256Hash without the prefix, GET', 'get', { extensions: apq(DAILY_ID.replace('sha256:', '')) }],
  ] as const)('runs it by id: %s', async (_name, method, params) => {
    const answer = await (method === 'get' ? get : post)(gateway, { ...params, variables: VARIABLES });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(expected);
  });

  it('refuses a text not in the manifest, with its code and how to add it', async () => {
    for (const answer of [
      await post(gateway, { query: UNLISTED, variables: { id: 'ccc-test' } }),
      await get(gateway, { query: UNLISTED, variables: { id: 'ccc-test' } }),
      // A listed operation with one more field is another operation.
      await post(gateway, { query: DAILY_SOURCE.replace('statsTime', 'statsTime instanceId'), variables: VARIABLES }),
      // Not even introspection: explorers need PERSISTED_QUERIES=apq.
      await post(gateway, { query: '{ __schema { queryType { name } } }' }),
    ]) {
      expect(answer.status).toBe(403);
      expect(codeOf(answer)).toBe('PERSISTED_QUERY_NOT_IN_SAFELIST');
      expect(answer.body.errors![0].message).toMatch(/schema\/operations.*npm run codegen/);
      expect(answer.body.data).toBeUndefined();
    }
  });

  it('refuses a listed id (documentId or sha256Hash) sent with a different, unlisted text', async () => {
    const hex = DAILY_ID.replace('sha256:', '');
    for (const answer of [
      await post(gateway, { query: UNLISTED, documentId: DAILY_ID, variables: { id: 'ccc-test' } }),
      await get(gateway, { query: UNLISTED, documentId: DAILY_ID, variables: { id: 'ccc-test' } }),
      await post(gateway, { query: UNLISTED, extensions: apq(hex), variables: { id: 'ccc-test' } }),
      await get(gateway, { query: UNLISTED, extensions: apq(DAILY_ID), variables: { id: 'ccc-test' } }),
    ]) {
      expect([answer.status, codeOf(answer)]).toEqual([403, 'PERSISTED_QUERY_NOT_IN_SAFELIST']);
      expect(answer.body.data).toBeUndefined();
    }
  });

  it('refuses an unknown documentId, and an unknown hash once its text turns out unlisted', async () => {
    const unknownId = await get(gateway, { documentId: `sha256:${sha256(UNLISTED)}`, variables: { id: 'ccc-test' } });
    expect([unknownId.status, codeOf(unknownId)]).toEqual([403, 'PERSISTED_QUERY_NOT_IN_SAFELIST']);

    // APQ protocol: not found, then the text, which is checked.
    const hash = sha256(UNLISTED);
    expect(codeOf(await post(gateway, { variables: { id: 'ccc-test' }, extensions: apq(hash) }))).toBe('PERSISTED_QUERY_NOT_FOUND');
    const withText = await post(gateway, { query: UNLISTED, variables: { id: 'ccc-test' }, extensions: apq(hash) });
    expect([withText.status, codeOf(withText)]).toEqual([403, 'PERSISTED_QUERY_NOT_IN_SAFELIST']);
    expect(codeOf(await post(gateway, { variables: { id: 'ccc-test' }, extensions: apq(hash) }))).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it("registers the client's own hash of a listed text (Apollo's link with its default sha256)", async () => {
    const text = asClientsSendIt(DAILY_SOURCE);
    const hash = sha256(text);
    expect(codeOf(await get(gateway, { variables: VARIABLES, extensions: apq(hash) }))).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await post(gateway, { query: text, variables: VARIABLES, extensions: apq(hash) })).body.errors).toBeUndefined();
    const byHash = await get(gateway, { variables: VARIABLES, extensions: apq(hash) });
    expect(byHash.body.errors).toBeUndefined();
    expect(byHash.body.data.intervalInstanceReport.map((r: { id: string }) => r.id)).toEqual(expected.data.intervalInstanceReport.map((r: { id: string }) => r.id));
  });
});
