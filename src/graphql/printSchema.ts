/**
 * `npm run schema`: writes the subgraph SDL a router composes (`schema/schema.graphql`).
 * `printSubgraphSchema` keeps the federation directives (`@link`, `@key`) that a plain
 * printSchema or type-graphql's emitSchemaFile drop.
 */
import { printSubgraphSchema } from '@apollo/subgraph';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../config/paths';
import { buildGatewaySchema } from './schema';

export const SCHEMA_FILE = join(PROJECT_ROOT, 'schema', 'schema.graphql');

export async function printGatewaySchema(): Promise<string> {
  return `${printSubgraphSchema(await buildGatewaySchema()).trim()}\n`;
}

if (require.main === module) {
  printGatewaySchema().then((sdl) => {
    writeFileSync(SCHEMA_FILE, sdl);
    console.log(`wrote ${SCHEMA_FILE}`);
  });
}
