import { METRICS } from '../../src/reports/metrics';

/**
 * The most expensive GraphQL documents we know how to build within MAX_DOCUMENT_BYTES (16 kB by
 * default), for parsing and validation: test/security/hostileInputs.test.ts asserts each is
 * rejected with its code, `npm run bench:hostile` measures what each costs before rejection.
 */

const INBOUND = METRICS.inbound.map((m) => m.name).join(' ');

export interface HostileDocument {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  /** The code the gateway answers with. */
  code: string;
  /** Needs introspection on (EXPLORER). */
  introspection?: boolean;
}

/** `head`, then as many `unit(i)` as fit in `bytes`, then `tail`. */
function fill(head: string, unit: (i: number) => string, tail: string, bytes: number): string {
  let body = head;
  for (let i = 0; ; i++) {
    const next = unit(i);
    if (body.length + next.length + tail.length > bytes) break;
    body += next;
  }
  return body + tail;
}

/**
 * Each document fills MAX_DOCUMENT_BYTES; those named "(under the token limit)" stop just below
 * MAX_TOKENS instead, so that they reach the checks after the token count.
 */
export function hostileDocuments(maxDocumentBytes = 16_384, maxTokens = 2_000): HostileDocument[] {
  const max = maxDocumentBytes;
  const fit = (head: string, unit: (i: number) => string, tail: string) => fill(head, unit, tail, max);
  /** As many units as stay under both limits: `tokens` per unit, `frameTokens` for head and tail. */
  const fitTokens = (head: string, unit: (i: number) => string, tail: string, tokens: number, frameTokens: number) => {
    const units = Math.floor((maxTokens - frameTokens) / tokens);
    let body = head;
    for (let i = 0; i < units && body.length + unit(i).length + tail.length <= max; i++) body += unit(i);
    return body + tail;
  };
  const levels = (tokensPerLevel: number, frameTokens: number) => Math.floor((maxTokens - frameTokens) / tokensPerLevel);
  // Nesting that still fits: n openers and n closers of `size` bytes each.
  const nest = (open: string, close: string, inner: string, frame = 0) => {
    const n = Math.floor((max - inner.length - frame) / (open.length + close.length));
    return { open: open.repeat(n), close: close.repeat(n) };
  };
  const deepList = nest('[', ']', '', 40);
  const deepSelection = nest('a { ', ' }', 'b', 10);
  const deepObject = nest('{a: ', '}', '1', 40);
  const fragmentCount = Math.floor(max / 48);
  return [
    // OverlappingFieldsCanBeMerged compares every pair of same-named fields: quadratic.
    { name: 'repeated __typename without aliases', query: fit('{ ', () => '__typename ', '}'), code: 'OPERATION_TOO_EXPENSIVE' },
    { name: 'repeated unknown one-letter field', query: fit('{ ', () => 'a ', '}'), code: 'OPERATION_TOO_EXPENSIVE' },
    { name: 'repeated unknown one-letter field (under the token limit)', query: fitTokens('{ ', () => 'a ', '}', 1, 2), code: 'OPERATION_TOO_EXPENSIVE' },
    {
      name: 'repeated object field with a sub-selection (under the token limit)',
      query: fitTokens('{ ', () => 'callCenterInstance(id: "x") { id } ', '}', 8, 2),
      code: 'OPERATION_TOO_EXPENSIVE',
    },
    { name: 'repeated object field with a sub-selection', query: fit('{ ', () => 'callCenterInstance(id: "x") { id } ', '}'), code: 'OPERATION_TOO_EXPENSIVE' },
    {
      name: 'repeated nested report field, same arguments',
      query: fit('{ ', () => 'callCenterInstance(id: "ccc-test") { summary { statsTime inbound { callsOffered } } } ', '}'),
      code: 'OPERATION_TOO_EXPENSIVE',
    },
    {
      name: 'repeated report field with different arguments',
      query: fit('{ callCenterInstance(id: "ccc-test") { ', (i) => `summary(startTime: ${i}) { statsTime } `, '} }'),
      code: 'OPERATION_TOO_EXPENSIVE',
    },
    { name: 'repeated root report field with different arguments', query: fit('{ ', (i) => `intervalInstanceReport(instanceId: "c${i}") { statsTime } `, '}'), code: 'OPERATION_TOO_EXPENSIVE' },
    {
      name: 'distinct unknown fields (under the token limit)',
      query: fitTokens('{ ', (i) => `a${i} `, '}', 1, 2),
      code: 'OPERATION_TOO_EXPENSIVE',
    },
    {
      // Valid up to its last field: graphql-js validates all of it before the one error.
      name: 'aliased reports of every inbound metric, then an unknown field (under the token limit)',
      query: fitTokens(
        '{ ',
        (i) => `r${i}: intervalInstanceReport(instanceId: "ccc-test") { statsTime closed inbound { ${INBOUND} } } `,
        'nope }',
        18 + METRICS.inbound.length,
        4,
      ),
      code: 'GRAPHQL_VALIDATION_FAILED',
    },
    { name: 'many @include directives', query: fit('{ __typename ', () => '@include(if: true) ', '}'), code: 'OPERATION_TOO_EXPENSIVE' },
    { name: 'many unknown directives', query: fit('{ __typename ', () => '@a ', '}'), code: 'OPERATION_TOO_EXPENSIVE' },
    {
      name: 'directives on many fields (under the token limit)',
      query: fill('{ ', () => '__typename @skip(if: false) ', '}', 6_000),
      code: 'OPERATION_TOO_EXPENSIVE',
    },
    { name: 'fragment chain, each spreading the next twice', query: fragmentChain(max), code: 'OPERATION_TOO_EXPENSIVE' },
    {
      name: 'wide fragments spread side by side',
      query: `{ ${Array.from({ length: fragmentCount }, (_, i) => `...F${i}`).join(' ')} } ${Array.from({ length: fragmentCount }, (_, i) => `fragment F${i} on Query { __typename }`).join(' ')}`,
      code: 'OPERATION_TOO_EXPENSIVE',
    },
    {
      name: 'wide fragments with conflicting fields',
      query: `{ ${Array.from({ length: 150 }, (_, i) => `...F${i}`).join(' ')} } ${Array.from({ length: 150 }, (_, i) => `fragment F${i} on Query { callCenterInstance(id: "${i}") { id } }`).join(' ')}`,
      code: 'OPERATION_TOO_EXPENSIVE',
    },
    { name: 'many tokens (a long list literal)', query: fit('{ callCenterInstance(id: [', () => '1 ', ']) { id } }'), code: 'OPERATION_TOO_EXPENSIVE' },
    { name: 'list literal nested as deep as fits', query: `{ callCenterInstance(id: ${deepList.open}${deepList.close}) { id } }`, code: 'OPERATION_TOO_EXPENSIVE' },
    {
      name: 'list literal nested (under the token limit)',
      query: `{ callCenterInstance(id: ${'['.repeat(levels(2, 12))}${']'.repeat(levels(2, 12))}) { id } }`,
      code: 'OPERATION_TOO_EXPENSIVE',
    },
    { name: 'object literal nested as deep as fits', query: `{ callCenterInstance(id: ${deepObject.open}1${deepObject.close}) { id } }`, code: 'OPERATION_TOO_EXPENSIVE' },
    {
      name: 'object literal nested (under the token limit)',
      query: `{ callCenterInstance(id: ${'{a: '.repeat(levels(4, 12))}1${'}'.repeat(levels(4, 12))}) { id } }`,
      code: 'OPERATION_TOO_EXPENSIVE',
    },
    { name: 'selection nested as deep as fits', query: `{ ${deepSelection.open}b${deepSelection.close} }`, code: 'OPERATION_TOO_EXPENSIVE' },
    { name: 'selection nested (under the token limit)', query: `{ ${'a { '.repeat(levels(3, 4))}b${' }'.repeat(levels(3, 4))} }`, code: 'OPERATION_TOO_EXPENSIVE' },
    { name: 'many variable definitions', query: fit('query(', (i) => `$v${i}: ID `, ') { __typename }'), code: 'OPERATION_TOO_EXPENSIVE' },
    { name: 'unused variable definitions (under the token limit)', query: fitTokens('query(', (i) => `$v${i}: ID `, ') { __typename }', 4, 6), code: 'GRAPHQL_VALIDATION_FAILED' },
    {
      name: 'introspection nested deeply',
      query: `{ __schema { types { ${'fields { type { ofType { '.repeat(6)}name${' } } }'.repeat(6)} } } }`,
      code: 'GRAPHQL_VALIDATION_FAILED',
      introspection: true,
    },
    {
      name: 'introspection under 50 aliases',
      query: `{ ${Array.from({ length: 51 }, (_, i) => `s${i}: __schema { types { fields { type { name } } } }`).join(' ')} }`,
      code: 'OPERATION_TOO_EXPENSIVE',
      introspection: true,
    },
  ];
}

/** `fragment F{i} on Query { ...F{i+1} ...F{i+1} __typename }`, as many as fit, ending in a plain one. */
function fragmentChain(bytes: number): string {
  const link = (i: number) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} __typename } `;
  let body = 'query { ...F0 } ';
  let i = 0;
  while (body.length + link(i).length + 60 < bytes) body += link(i++);
  return `${body}fragment F${i} on Query { __typename }`;
}
