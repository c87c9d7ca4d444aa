/**
 * Issue 11 §3 with the real client libraries against a real gateway (Apollo's CSRF prevention on,
 * as always):
 * - Apollo Client 4 with its persisted-query link (`sha256` from node:crypto), hashed queries over
 *   GET and over POST: the first request is PERSISTED_QUERY_NOT_FOUND and the link retries with the
 *   text; a second client then runs the operation by hash alone. Apollo's HttpLink sends
 *   `content-type: application/json` even on GET, which satisfies CSRF prevention: no setup.
 * - PERSISTED_QUERIES=safelist: the link's `generateHash` reads the manifest id the generated
 *   document carries (`__meta__.hash`): one request, by id, no text ever sent; the link with its
 *   default `sha256` works too (one retry with the text, which is on the list).
 * - urql's default GET: refused by CSRF prevention without a header (a simple request), served
 *   with the one header the README names, `apollo-require-preflight`; in safelist mode too.
 */
import '../helpers/apolloDevMode'; // before @apollo/client: it reads __DEV__ when loaded
import { ApolloClient, HttpLink, InMemoryCache, type DocumentNode } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { Client, fetchExchange } from '@urql/core';
import { print } from 'graphql';
import { DateTime } from 'luxon';
import { createHash } from 'node:crypto';
import { DailySummaryDocument } from '../../generated/client/graphql';
import type { Gateway } from '../../src/server/createGateway';
import { graphql, startTestGateway } from '../helpers/gateway';

const NOW = DateTime.fromISO('2026-11-26T11:30:00', { zone: 'Asia/Shanghai' }).toMillis();
const DAY = DateTime.fromISO('2026-11-20T00:00:00', { zone: 'Asia/Shanghai' }).toMillis();
const VARIABLES = { instanceId: 'ccc-test', startTime: DAY, endTime: DAY + 2 * 86_400_000 };
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface Sent {
  method: string;
  withText: boolean;
  status: number;
}

/** fetch that records what each request carried (the GraphQL text or only a hash/id). */
function recordingFetch(sent: Sent[]): typeof fetch {
  return async (input, init) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    const method = init?.method ?? 'GET';
    const withText = method === 'GET' ? url.searchParams.has('query') : 'query' in JSON.parse(String(init?.body ?? '{}'));
    const response = await fetch(input, init);
    sent.push({ method, withText, status: response.status });
    return response;
  };
}

/** Without `__typename`, which the clients add. */
const plain = (value: unknown) => JSON.parse(JSON.stringify(value, (key, v) => (key === '__typename' ? undefined : v)));

async function apolloQuery(gateway: Gateway, link: PersistedQueryLink, sent: Sent[]) {
  const client = new ApolloClient({ link: link.concat(new HttpLink({ uri: gateway.url, fetch: recordingFetch(sent) })), cache: new InMemoryCache() });
  const { data, error } = await client.query({ query: DailySummaryDocument, variables: VARIABLES, fetchPolicy: 'network-only' });
  if (error) throw error;
  return plain(data);
}

/** The manifest id codegen put into the generated document, else the link's default hash. */
const manifestHash = (document: DocumentNode) => (document as { __meta__?: { hash?: string } }).__meta__?.hash ?? sha256(print(document));

describe.each(['apq', 'safelist'] as const)('PERSISTED_QUERIES=%s', (mode) => {
  let gateway: Gateway;
  let expected: unknown;
  beforeAll(async () => {
    gateway = await startTestGateway({ PERSISTED_QUERIES: mode }, { now: () => NOW });
    const answer = await graphql(gateway, print(DailySummaryDocument), VARIABLES);
    expect(answer.errors).toBeUndefined();
    expected = answer.data;
  });
  afterAll(() => gateway.close());

  it("Apollo Client's persisted-query link (sha256 of its printed document): hashed queries over GET, and over POST", async () => {
    const first: Sent[] = [];
    expect(await apolloQuery(gateway, new PersistedQueryLink({ sha256, useGETForHashedQueries: true }), first)).toEqual(expected);
    // Unknown hash (not found), then the text (POST), which registers it.
    expect(first).toEqual([
      { method: 'GET', withText: false, status: 200 },
      { method: 'POST', withText: true, status: 200 },
    ]);

    // Fresh clients (nothing cached): the hash alone.
    const byGet: Sent[] = [];
    expect(await apolloQuery(gateway, new PersistedQueryLink({ sha256, useGETForHashedQueries: true }), byGet)).toEqual(expected);
    expect(byGet).toEqual([{ method: 'GET', withText: false, status: 200 }]);
    const byPost: Sent[] = [];
    expect(await apolloQuery(gateway, new PersistedQueryLink({ sha256 }), byPost)).toEqual(expected);
    expect(byPost).toEqual([{ method: 'POST', withText: false, status: 200 }]);
  });

  if (mode === 'safelist') {
    it("Apollo Client's link with the manifest id of the generated document: one GET, no text ever", async () => {
      const sent: Sent[] = [];
      expect(await apolloQuery(gateway, new PersistedQueryLink({ generateHash: manifestHash, useGETForHashedQueries: true }), sent)).toEqual(expected);
      expect(sent).toEqual([{ method: 'GET', withText: false, status: 200 }]);
    });
  }

  it("urql's default GET needs `apollo-require-preflight` (CSRF prevention), and works with it", async () => {
    const urql = (headers: Record<string, string>, sent: Sent[]) =>
      new Client({ url: gateway.url, exchanges: [fetchExchange], fetch: recordingFetch(sent), fetchOptions: { headers } });

    const refused: Sent[] = [];
    const without = await urql({}, refused).query(DailySummaryDocument, VARIABLES).toPromise();
    expect(refused).toEqual([{ method: 'GET', withText: true, status: 400 }]);
    expect(without.error?.message).toMatch(/CSRF/);

    const sent: Sent[] = [];
    const withHeader = await urql({ 'apollo-require-preflight': 'true' }, sent).query(DailySummaryDocument, VARIABLES).toPromise();
    expect(withHeader.error).toBeUndefined();
    expect(sent).toEqual([{ method: 'GET', withText: true, status: 200 }]);
    expect(plain(withHeader.data)).toEqual(expected);
  });
});
