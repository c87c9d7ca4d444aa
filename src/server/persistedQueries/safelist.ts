/**
 * PERSISTED_QUERIES=safelist: only the operations of the manifest GraphQL Code Generator writes
 * (`generated/client/persisted-documents.json`, `npm run codegen`: schema/operations and the
 * example client) run; anything else is refused with PERSISTED_QUERY_NOT_IN_SAFELIST (HTTP 403).
 *
 * A client may send, on GET or POST:
 *  - the manifest id: codegen's `documentId`, or Apollo's `extensions.persistedQuery.sha256Hash`
 *    (with or without the `sha256:` prefix); the generated documents carry it in `__meta__.hash`;
 *  - the full text of a listed operation. Clients rewrite documents before sending them (Apollo
 *    Client and urql add `__typename` selections; printing changes layout and order), so texts are
 *    compared in codegen's normalized form (`printExecutableGraphQLDocument`, the form the manifest
 *    holds) without `__typename` fields, which select nothing but the type's name;
 *  - an APQ hash of its own (Apollo's link with its default `sha256` of the printed document):
 *    unknown hashes are answered PERSISTED_QUERY_NOT_FOUND, as the APQ protocol wants, the client
 *    retries with the text, the text is checked as above, and only then registered (in a cache of
 *    its own, see createGateway): a registered hash is checked again on every use, so an operation
 *    removed from the manifest stops running at the next deploy, not when its registration expires.
 * The endpoint step that applies it is ./persistedQueryRequests.ts.
 */
import { printExecutableGraphQLDocument } from '@graphql-tools/documents';
import { Kind, parse, visit } from 'graphql';
import { LRUCache } from 'lru-cache';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../config/paths';

export const SAFELIST_MANIFEST_PATH = join(PROJECT_ROOT, 'generated', 'client', 'persisted-documents.json');

export const NOT_IN_SAFELIST = 'PERSISTED_QUERY_NOT_IN_SAFELIST';

export const HOW_TO_ADD =
  'Only operations listed in generated/client/persisted-documents.json run here (PERSISTED_QUERIES=safelist). ' +
  'To add one: write it in a .graphql file under schema/operations (or add your sources to codegen.yml), ' +
  'run `npm run codegen`, commit the manifest and deploy.';

/** The form texts are compared in: codegen's normalized print, `__typename` selections removed. */
export function normalizedOperation(text: string): string | undefined {
  let document;
  try {
    document = parse(text, { noLocation: true });
  } catch {
    return undefined;
  }
  const withoutTypename = visit(document, {
    [Kind.FIELD]: (field) => (field.name.value === '__typename' && !field.alias && !field.directives?.length ? null : undefined),
  });
  return printExecutableGraphQLDocument(withoutTypename);
}

export class Safelist {
  /** Manifest id (hex, no prefix) -> the text to run. */
  private readonly textById = new Map<string, string>();
  /** Normalized text of every listed operation. */
  private readonly normalized = new Set<string>();
  /** Texts seen lately and whether they are listed (normalizing costs a parse and a print). */
  private readonly verdicts = new LRUCache<string, boolean>({ max: 1_000, maxSize: 4 * 1024 * 1024, sizeCalculation: (_v, key) => key.length + 1 });

  constructor(manifest: Record<string, string>) {
    for (const [id, text] of Object.entries(manifest)) {
      this.textById.set(id.replace(/^sha256:/, ''), text);
      const normalized = normalizedOperation(text);
      if (normalized === undefined) throw new Error(`persisted-documents.json: operation ${id} does not parse`);
      this.normalized.add(normalized);
    }
  }

  static load(path = SAFELIST_MANIFEST_PATH): Safelist {
    let manifest: unknown;
    try {
      manifest = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new Error(`PERSISTED_QUERIES=safelist needs the manifest ${path} (run \`npm run codegen\`): ${(error as Error).message}`);
    }
    if (manifest === null || typeof manifest !== 'object' || Object.values(manifest).some((t) => typeof t !== 'string')) {
      throw new Error(`${path} is not a persisted-documents manifest (an object of id -> operation text)`);
    }
    return new Safelist(manifest as Record<string, string>);
  }

  get size(): number {
    return this.textById.size;
  }

  /** The listed text of a manifest id (`sha256:<hex>` or `<hex>`). */
  textOf(id: string): string | undefined {
    return this.textById.get(id.replace(/^sha256:/, ''));
  }

  /** Whether a text is one of the listed operations (layout, order and `__typename` aside). */
  allows(text: string): boolean {
    let verdict = this.verdicts.get(text);
    if (verdict === undefined) {
      const normalized = normalizedOperation(text);
      verdict = normalized !== undefined && this.normalized.has(normalized);
      this.verdicts.set(text, verdict);
    }
    return verdict;
  }
}
