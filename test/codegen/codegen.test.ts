/**
 * Client code generation (`codegen.yml`, `npm run codegen`, `generated/client/`):
 * - the example operations are valid against the schema clients really see (the router's API
 *   schema, composed from the committed subgraph SDL), and codegen sees that same schema;
 * - the checked-in generated files are what codegen produces now (byte for byte);
 * - the generated code type-checks on its own, under the strict options client projects use.
 *
 * The type-check of the example and of this file (which imports the generated code) is
 * `npm test`'s `tsc --noEmit`.
 */
import { composeServices } from '@apollo/composition';
import { buildSchema, GraphQLSchema, lexicographicSortSchema, parse, print, printSchema, validate } from 'graphql';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { DailySummaryDocument, HourlyDashboardDocument, SeedExampleDocument } from '../../generated/client/graphql';
import { graphql as gql, type DocumentType } from '../../generated/client';

const ROOT = join(__dirname, '..', '..');
const SDL = readFileSync(join(ROOT, 'schema', 'schema.graphql'), 'utf8');
const OPERATIONS_DIR = join(ROOT, 'schema', 'operations');
const GENERATED_DIR = join(ROOT, 'generated', 'client');

/** The schema a client of the router sees: the subgraph composed alone, federation removed. */
function apiSchema(): GraphQLSchema {
  const composed = composeServices([{ name: 'ccc-reports', typeDefs: parse(SDL), url: 'http://ccc-reports/graphql' }]);
  if (composed.errors) throw new Error(`composition failed: ${composed.errors.map((e) => e.message).join('; ')}`);
  return composed.schema.toAPISchema().toGraphQLJSSchema();
}

interface CodegenRun {
  /** What codegen would write, paths relative to the repository. */
  files: { filename: string; content: string }[];
  /** The schema codegen reads, sorted and printed. */
  schema: string;
}

/** Codegen with `codegen.yml`, in memory, in a child Node process (see codegenInMemory.js). */
async function runCodegen(): Promise<CodegenRun> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [join(__dirname, 'codegenInMemory.js')], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    return JSON.parse(stdout) as CodegenRun;
  } catch (error) {
    throw new Error(`codegen failed: ${(error as { stderr?: string }).stderr || error}`);
  }
}

describe('client code generation', () => {
  let api: GraphQLSchema;
  let codegen: CodegenRun;
  beforeAll(async () => {
    const running = runCodegen(); // a child process: compose meanwhile
    api = apiSchema();
    codegen = await running;
  });

  const operationFiles = readdirSync(OPERATIONS_DIR).filter((f) => f.endsWith('.graphql')).sort();

  it('has example operations', () => {
    expect(operationFiles).toEqual(expect.arrayContaining(['DailySummary.graphql', 'HourlyDashboard.graphql', 'SeedExample.graphql']));
  });

  it.each(operationFiles)('%s is valid against the API schema', (file) => {
    const document = parse(readFileSync(join(OPERATIONS_DIR, file), 'utf8'));
    const errors = validate(api, document).map((e) => `${e.message} (${e.locations?.map((l) => `${l.line}:${l.column}`).join(', ')})`);
    expect(errors).toEqual([]);
  });

  it('reads the subgraph SDL as exactly the API schema (so the federation directives may stay in it)', () => {
    // codegen loads the SDL with `assumeValidSDL`: `@link` and `@key` are kept undefined and
    // otherwise ignored. That is right only while the SDL *is* the API schema plus directives:
    // a federation directive that changes what clients see (`@inaccessible`, an `@interfaceObject`,
    // ...) fails here, and codegen must then read a composed API schema instead.
    // `@cacheControl` is a hint for routers (it reaches the supergraph through @composeDirective)
    // and changes nothing a client can select or receive; the API schema drops its definition.
    const seen = buildSchema(codegen.schema);
    const withoutHints = new GraphQLSchema({ ...seen.toConfig(), directives: seen.getDirectives().filter((d) => d.name !== 'cacheControl') });
    expect(printSchema(lexicographicSortSchema(withoutHints))).toBe(printSchema(lexicographicSortSchema(api)));
  });

  it('the checked-in generated/client/ is what `npm run codegen` produces now', () => {
    const expected = new Map(codegen.files.map((o) => [relative(ROOT, join(ROOT, o.filename)), o.content]));
    const onDisk = readdirSync(GENERATED_DIR).map((f) => relative(ROOT, join(GENERATED_DIR, f)));
    expect([...expected.keys()].every((f) => f.startsWith(join('generated', 'client')))).toBe(true);

    const stale: string[] = [];
    for (const [file, content] of expected) {
      let current: string | undefined;
      try {
        current = readFileSync(join(ROOT, file), 'utf8');
      } catch {
        current = undefined;
      }
      if (current !== content) stale.push(`${file} (${current === undefined ? 'missing' : 'differs'})`);
    }
    for (const file of onDisk) if (!expected.has(file)) stale.push(`${file} (not generated any more: delete it)`);
    if (stale.length > 0) {
      throw new Error(`generated client code is stale: run \`npm run codegen\` and commit the result.\n  ${stale.join('\n  ')}`);
    }
  });

  it('persisted-documents.json (the safelist) lists every operation, under the id its generated document carries', () => {
    // Its staleness is the byte-for-byte check above: it is one of codegen's outputs.
    expect(codegen.files.map((f) => f.filename)).toContain(join('generated', 'client', 'persisted-documents.json').split('\\').join('/'));
    const manifest = JSON.parse(readFileSync(join(GENERATED_DIR, 'persisted-documents.json'), 'utf8')) as Record<string, string>;
    const operationNames = operationFiles.flatMap((file) =>
      parse(readFileSync(join(OPERATIONS_DIR, file), 'utf8')).definitions.flatMap((d) => (d.kind === 'OperationDefinition' && d.name ? [d.name.value] : [])),
    );
    const listedNames = Object.values(manifest).map((text) => (parse(text).definitions[0] as { name?: { value: string } }).name?.value);
    expect(listedNames.sort()).toEqual(operationNames.sort());
    for (const document of [DailySummaryDocument, HourlyDashboardDocument, SeedExampleDocument]) {
      const id = (document as { __meta__?: { hash?: string } }).__meta__?.hash;
      expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(manifest[id!]).toBeDefined();
      expect(manifest[id!]).toContain(`query ${(document.definitions[0] as { name: { value: string } }).name.value}`);
    }
  });

  it('the generated code type-checks on its own (strict, isolatedModules, no unused locals)', () => {
    const files = readdirSync(GENERATED_DIR).filter((f) => f.endsWith('.ts')).map((f) => join(GENERATED_DIR, f));
    const program = ts.createProgram(files, {
      strict: true,
      noEmit: true,
      isolatedModules: true,
      noUnusedLocals: true,
      noUnusedParameters: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      lib: ['lib.es2023.d.ts'],
      types: [],
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.formatDiagnostic(d, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => ROOT,
      getNewLine: () => '\n',
    }));
    expect(diagnostics).toEqual([]);
  });

  it('exports typed documents whose types follow the operations', () => {
    expect(HourlyDashboardDocument.definitions[0]).toMatchObject({ kind: 'OperationDefinition', name: { value: 'HourlyDashboard' } });
    expect(DailySummaryDocument.definitions).toHaveLength(1);
    expect(SeedExampleDocument.definitions).toHaveLength(1);
    // `graphql()` finds the document by the operation's printed source.
    const source = print(parse(readFileSync(join(OPERATIONS_DIR, 'HourlyDashboard.graphql'), 'utf8')));
    expect(gql(source)).toBe(HourlyDashboardDocument);
    // Compile-time (tsc): Timestamp and SafeInt are numbers, nullable metrics `number | null`.
    type Bucket = NonNullable<DocumentType<typeof HourlyDashboardDocument>['callCenterInstance']['intervalReports']>[number];
    const statsTime: Bucket['statsTime'] = 0;
    const offered: Bucket['inbound']['callsOffered'] = null;
    const exact: [number, number | null] = [statsTime, offered];
    expect(exact).toEqual([0, null]);
  });
});
