/**
 * The example operations (`schema/operations/*.graphql`) preloaded as explorer tabs, with
 * variables that work against the embedded emulator right away: instance `ccc-test` and ranges
 * computed at page render in the instance's time zone (Asia/Shanghai by default).
 */
import { Kind, parse } from 'graphql';
import { DateTime } from 'luxon';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PROJECT_ROOT } from '../../config/paths';

export const EXAMPLE_OPERATIONS_DIR = join(PROJECT_ROOT, 'schema', 'operations');

/** The API document's example instance, which the embedded emulator serves. */
export const EXAMPLE_INSTANCE_ID = 'ccc-test';

export interface ExampleOperation {
  /** Operation name, or the file name when the operation is anonymous. */
  name: string;
  query: string;
  variableNames: string[];
}

export interface ExplorerTab {
  /** The operation's name: Playground's tab title (GraphiQL reads it from the query). */
  name: string;
  query: string;
  variables?: string;
}

/** Tab order: the API document's example first, then the wallboard, then the month; others after, by name. */
const PREFERRED_ORDER = ['SeedExample', 'HourlyDashboard', 'DailySummary'];

function rank(name: string): number {
  const index = PREFERRED_ORDER.indexOf(name);
  return index === -1 ? PREFERRED_ORDER.length : index;
}

/**
 * Reads the example operations once (at start). A missing directory (the Docker image ships
 * `dist/` only) or a file that does not parse is reported through `warn` and skipped: examples
 * are a convenience, never a reason for the gateway not to start.
 */
export function loadExampleOperations(dir: string = EXAMPLE_OPERATIONS_DIR, warn: (message: string) => void = () => {}): ExampleOperation[] {
  if (!existsSync(dir)) {
    warn(`explorer: no example operations (${dir} does not exist)`);
    return [];
  }
  const operations: ExampleOperation[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.graphql')).sort()) {
    const query = readFileSync(join(dir, file), 'utf8');
    try {
      const document = parse(query);
      const definition = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
      if (!definition || definition.kind !== Kind.OPERATION_DEFINITION) throw new Error('no operation');
      operations.push({
        name: definition.name?.value ?? basename(file, '.graphql'),
        query,
        variableNames: (definition.variableDefinitions ?? []).map((v) => v.variable.name.value),
      });
    } catch (e) {
      warn(`explorer: skipping example ${file}: ${(e as Error).message}`);
    }
  }
  return operations.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

function iso(t: DateTime): string {
  return t.toISO({ suppressMilliseconds: true })!;
}

/** [startTime, endTime] of an example, computed at `now` in `zone`. */
export function exampleRange(operationName: string, now: number, zone: string): [string, string] {
  const at = DateTime.fromMillis(now, { zone });
  const current = at.startOf('second');
  switch (operationName) {
    case 'SeedExample': {
      // The API document's example is one whole day, hourly: yesterday, 00:00 to 23:59:59.999.
      const yesterday = at.startOf('day').minus({ days: 1 });
      return [iso(yesterday), iso(yesterday.endOf('day'))];
    }
    case 'HourlyDashboard':
      // The last 7 days, hourly, from a whole hour.
      return [iso(at.startOf('hour').minus({ days: 7 })), iso(current)];
    case 'DailySummary':
      // The last 30 days, daily: 29 whole days and today so far.
      return [iso(at.startOf('day').minus({ days: 29 })), iso(current)];
    default:
      // What the API defaults to: today so far.
      return [iso(at.startOf('day')), iso(current)];
  }
}

/** Variables for the variables the operation declares: instance, start, end. */
export function exampleVariables(operation: ExampleOperation, now: number, zone: string): Record<string, unknown> {
  const [startTime, endTime] = exampleRange(operation.name, now, zone);
  const known: Record<string, unknown> = { instanceId: EXAMPLE_INSTANCE_ID, id: EXAMPLE_INSTANCE_ID, startTime, endTime };
  const variables: Record<string, unknown> = {};
  for (const name of operation.variableNames) if (name in known) variables[name] = known[name];
  return variables;
}

/** A query that works against any instance when no example file is available. */
const FALLBACK_QUERY = `# No example operations were found (schema/operations/*.graphql); this one asks for today so far.
query Today($instanceId: ID!) {
  intervalInstanceReport(instanceId: $instanceId, interval: HOURLY) {
    statsTime
    closed
    inbound {
      callsOffered
      callsHandled
      serviceLevel20
    }
  }
}
`;

export function exampleTabs(operations: ExampleOperation[], now: number, zone: string): ExplorerTab[] {
  if (operations.length === 0) {
    return [{ name: 'Today', query: FALLBACK_QUERY, variables: JSON.stringify({ instanceId: EXAMPLE_INSTANCE_ID }, null, 2) }];
  }
  return operations.map((operation) => ({
    name: operation.name,
    query: operation.query,
    variables: JSON.stringify(exampleVariables(operation, now, zone), null, 2),
  }));
}
