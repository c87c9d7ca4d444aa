/** The static @cacheControl hints: present in the subgraph SDL, composed into the supergraph, honest. */
import { composeServices } from '@apollo/composition';
import { printSubgraphSchema } from '@apollo/subgraph';
import { Kind, parse, type ConstDirectiveNode } from 'graphql';
import { loadConfig } from '../../src/config/config';
import { CACHE_CONTROL_HINTS, REPORT_HINT_MAX_AGE_S } from '../../src/graphql/cacheControlHints';
import { buildGatewaySchema } from '../../src/graphql/schema';
import { ifNoneMatchMatches } from '../../src/server/httpCaching';

function hintsIn(sdl: string): Record<string, string> {
  const print = (d: ConstDirectiveNode) => `@cacheControl(${(d.arguments ?? []).map((a) => `${a.name.value}: ${'value' in a.value ? String(a.value.value) : ''}`).join(', ')})`;
  const found: Record<string, string> = {};
  for (const definition of parse(sdl).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    const own = definition.directives?.find((d) => d.name.value === 'cacheControl');
    if (own) found[definition.name.value] = print(own);
    for (const field of definition.fields ?? []) {
      const hint = field.directives?.find((d) => d.name.value === 'cacheControl');
      if (hint) found[`${definition.name.value}.${field.name.value}`] = print(hint);
    }
  }
  return found;
}

describe('@cacheControl hints', () => {
  it('say at most the default open TTL: the longest an open answer is cacheable', () => {
    expect(REPORT_HINT_MAX_AGE_S * 1000).toBe(loadConfig({}).cache.openTtlMs);
  });

  it('are in the subgraph SDL (definitions included) and survive composition into the supergraph', async () => {
    const sdl = printSubgraphSchema(await buildGatewaySchema());
    expect(sdl).toMatch(/directive @cacheControl\([^)]*maxAge: Int[^)]*scope: CacheControlScope[^)]*inheritMaxAge: Boolean\s*\) on FIELD_DEFINITION \| OBJECT \| INTERFACE \| UNION/);
    const expected = Object.fromEntries(Object.entries(CACHE_CONTROL_HINTS).map(([coordinate, hint]) => [coordinate, hint.replace(/"/g, '')]));
    expect(hintsIn(sdl)).toEqual(expected);
    expect(expected['Query.intervalInstanceReport']).toBe(`@cacheControl(maxAge: ${REPORT_HINT_MAX_AGE_S}, scope: PRIVATE)`);

    const composed = composeServices([{ name: 'ccc-reports', url: 'http://localhost:4001/graphql', typeDefs: parse(sdl) }]);
    expect(composed.errors).toBeUndefined();
    expect(hintsIn(composed.supergraphSdl!)).toEqual(expected);
  });
});

describe('If-None-Match (RFC 9110 §13.1.2, weak comparison)', () => {
  const etag = '"2a-abc"';
  it.each([
    ['"2a-abc"', true],
    ['W/"2a-abc"', true],
    ['"x", "2a-abc"', true],
    ['"has, a comma","2a-abc"', true],
    ['*', true],
    ['"2a-abd"', false],
    ['"has, "2a-abc', false],
    ['2a-abc', false],
    ['', false],
  ])('%s -> %s', (header, matches) => {
    expect(ifNoneMatchMatches(header, etag)).toBe(matches);
    expect(ifNoneMatchMatches(header, `W/${etag}`)).toBe(matches);
  });
});
