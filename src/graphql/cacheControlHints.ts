/**
 * Static `@cacheControl` hints in the subgraph SDL, for routers and tools that plan caching from
 * the schema (Apollo's cache-control semantics: Apollo Gateway, Hive Gateway's response cache).
 *
 * A static hint can only be conservative: whether an answer is final (immutable for a year) or
 * open (cacheable until its earliest open snapshot is refetched) is known only once it has been
 * read, and so is whether authentication is on. So:
 *  - report fields and the instance entity: `maxAge` = the default CACHE_OPEN_TTL_MS (30 s), the
 *    longest any open answer is cacheable; the response's `Cache-Control` header carries the
 *    exact value (a year for final answers, the seconds left for open ones, `no-store` on error),
 *    and Apollo-style caches take the most restrictive of hint and header;
 *  - `scope: PRIVATE`: answers depend on the caller's permissions when auth is on; a router that
 *    honours the hint keeps them per session, which is only ever too careful when auth is off;
 *  - the report types and their metric groups inherit the field's maxAge (`inheritMaxAge`), since
 *    Apollo's rules otherwise give every object-typed field maxAge 0.
 * The hints are added to the SDL in one place (here) rather than with type-graphql's `@Directive`
 * on each class: the table below is the whole policy, next to its reasons.
 */
import { Kind, visit, type ConstDirectiveNode, type DocumentNode, parse } from 'graphql';

/** The default of CACHE_OPEN_TTL_MS, in seconds (test/graphql/cacheControlHints.test.ts keeps them equal). */
export const REPORT_HINT_MAX_AGE_S = 30;

/**
 * Federation composition drops directives it does not know unless a subgraph asks to keep them:
 * `@composeDirective` does, for a directive imported from a `@link`ed spec. The URL only names
 * the definition below (`.invalid`: nothing is ever fetched from it); with it the hints reach the
 * supergraph, where a router can read them.
 */
export const CACHE_CONTROL_LINK = `@link(url: "https://ccc-report-gateway.invalid/cacheControl/v1.0", import: ["@cacheControl"]) @composeDirective(name: "@cacheControl")`;

/** Definitions the subgraph must carry for the hints (as Apollo documents them for subgraphs). */
export const CACHE_CONTROL_DEFINITIONS = `
"""Who may keep a cached answer (Apollo cache-control semantics)."""
enum CacheControlScope {
  """Any cache, shared ones included."""
  PUBLIC
  """Only a cache kept for one caller (session)."""
  PRIVATE
}

"""
Static cache hint (Apollo cache-control semantics). Conservative: each response's Cache-Control header carries the exact policy (a year and immutable for final buckets, the seconds until the earliest open snapshot is refetched otherwise, no-store on errors).
"""
directive @cacheControl(
  """Seconds the answer may be cached at most."""
  maxAge: Int
  """Who may cache it."""
  scope: CacheControlScope
  """Take the parent field's maxAge instead of the default 0 of object-typed fields."""
  inheritMaxAge: Boolean
) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION
`;

const REPORTS = `@cacheControl(maxAge: ${REPORT_HINT_MAX_AGE_S}, scope: PRIVATE)`;
const INHERIT = '@cacheControl(inheritMaxAge: true)';

/** Type name or `Type.field` -> hint. */
export const CACHE_CONTROL_HINTS: Readonly<Record<string, string>> = {
  CallCenterInstance: REPORTS,
  'CallCenterInstance.intervalReports': REPORTS,
  'CallCenterInstance.summary': REPORTS,
  'Query.intervalInstanceReport': REPORTS,
  'Query.combinedIntervalReport': REPORTS,
  IntervalReport: INHERIT,
  CombinedIntervalReport: INHERIT,
  InboundMetrics: INHERIT,
  OutboundMetrics: INHERIT,
  OverallMetrics: INHERIT,
};

function directiveOf(hint: string): ConstDirectiveNode {
  const document = parse(`scalar X ${hint}`);
  const definition = document.definitions[0];
  if (definition.kind !== Kind.SCALAR_TYPE_DEFINITION || !definition.directives?.[0]) throw new Error(`not a directive: ${hint}`);
  return definition.directives[0];
}

/** The SDL with the definitions and hints added. Fails if a hinted type or field is missing. */
export function withCacheControlHints(sdl: DocumentNode): DocumentNode {
  const unused = new Set(Object.keys(CACHE_CONTROL_HINTS));
  const hinted = visit(sdl, {
    ObjectTypeDefinition(node) {
      const typeHint = CACHE_CONTROL_HINTS[node.name.value];
      if (typeHint) unused.delete(node.name.value);
      const fields = node.fields?.map((field) => {
        const coordinate = `${node.name.value}.${field.name.value}`;
        const hint = CACHE_CONTROL_HINTS[coordinate];
        if (!hint) return field;
        unused.delete(coordinate);
        return { ...field, directives: [...(field.directives ?? []), directiveOf(hint)] };
      });
      return { ...node, fields, directives: typeHint ? [...(node.directives ?? []), directiveOf(typeHint)] : node.directives };
    },
  });
  if (unused.size > 0) throw new Error(`@cacheControl hints for unknown schema coordinates: ${[...unused].join(', ')}`);
  return { ...hinted, definitions: [...parse(CACHE_CONTROL_DEFINITIONS).definitions, ...hinted.definitions] };
}
