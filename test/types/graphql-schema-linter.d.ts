// graphql-schema-linter 3.0.1 ships no types; these cover the parts test/helpers/schemaLinter.ts uses.
declare module 'graphql-schema-linter/lib/source_map' {
  export class SourceMap {
    constructor(sourceFiles: Record<string, string>);
    getCombinedSource(): string;
    getOriginalPathForLine(line: number): string | undefined;
  }
}

declare module 'graphql-schema-linter/lib/schema' {
  import type { SourceMap } from 'graphql-schema-linter/lib/source_map';
  export class Schema {
    constructor(definition: string, sourceMap: SourceMap);
    definition: string;
    sourceMap: SourceMap;
  }
}

declare module 'graphql-schema-linter/lib/configuration' {
  import type { Schema } from 'graphql-schema-linter/lib/schema';
  export type LintRule = (...args: never[]) => unknown;
  export class Configuration {
    constructor(schema: Schema, options?: { rules?: string[]; ignore?: Record<string, string[]> });
    getRules(): LintRule[];
    validate(): { message: string; field: string; type: 'error' | 'warning' }[];
  }
}

declare module 'graphql-schema-linter/lib/validator' {
  import type { GraphQLError } from 'graphql';
  import type { Configuration, LintRule } from 'graphql-schema-linter/lib/configuration';
  import type { Schema } from 'graphql-schema-linter/lib/schema';
  export function validateSchemaDefinition(
    schema: Schema,
    rules: LintRule[],
    configuration: Configuration,
  ): (GraphQLError & { ruleName?: string })[];
}
