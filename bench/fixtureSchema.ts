/**
 * The gateway's SDL with plain resolvers answering, from memory, exactly what the gateway
 * answered (fixtures recorded by bench/performance.ts). Shared by the servers the gateway is
 * measured against (the bare-Apollo ceiling and the Yoga peer), so all serve the same schema and
 * the same answers and differ only in the server around them.
 */
import { buildSubgraphSchema } from '@apollo/subgraph';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type GraphQLSchema } from 'graphql';
import { GraphQLSafeInt } from 'graphql-scalars';
import { PROJECT_ROOT } from '../src/config/paths';
import { TimestampScalar } from '../src/graphql/scalars/Timestamp';

export interface Fixture {
  field: 'intervalInstanceReport' | 'combinedIntervalReport';
  args: Record<string, unknown>;
  result: unknown;
}

/** Arguments as the resolver sees them, defaults included, in a stable order. */
function argsKey(field: string, args: Record<string, unknown>): string {
  const { startTime, endTime, interval = 'DAILY', timeZone = null, emptyIntervals = 'OMIT', instanceId = null, instanceIds = null } = args;
  return JSON.stringify([field, instanceId, instanceIds, startTime, endTime, interval, timeZone, emptyIntervals]);
}

export class FixtureAnswers {
  private readonly answers = new Map<string, unknown>();

  constructor(fixtures: Fixture[] = []) {
    this.add(fixtures);
  }

  /**
   * The answers in a fixture file, read again on SIGUSR2: the bench re-records the gateway's
   * answers (an open bucket changes them every CACHE_OPEN_TTL_MS) and signals, so recording and
   * checking them takes milliseconds instead of a server's start.
   */
  static fromFile(path: string): FixtureAnswers {
    const read = () => JSON.parse(readFileSync(path, 'utf8')) as Fixture[];
    const answers = new FixtureAnswers(read());
    process.on('SIGUSR2', () => answers.add(read()));
    return answers;
  }

  /** Adds or replaces answers (the freshness check changes an open bucket this way). */
  add(fixtures: Fixture[]): void {
    for (const f of fixtures) this.answers.set(argsKey(f.field, f.args), f.result);
  }

  get(field: string, args: Record<string, unknown>): unknown {
    const found = this.answers.get(argsKey(field, args));
    if (found === undefined) throw new Error(`no fixture for ${field} ${JSON.stringify(args)}`);
    return found;
  }
}

export function fixtureSchema(answers: FixtureAnswers): GraphQLSchema {
  const lookup = (field: string) => (_: unknown, args: Record<string, unknown>) => answers.get(field, args);
  const typeDefs = parse(readFileSync(join(PROJECT_ROOT, 'schema', 'schema.graphql'), 'utf8'));
  return buildSubgraphSchema([
    {
      typeDefs,
      resolvers: {
        Timestamp: TimestampScalar,
        SafeInt: GraphQLSafeInt,
        Query: { intervalInstanceReport: lookup('intervalInstanceReport'), combinedIntervalReport: lookup('combinedIntervalReport') },
      } as never,
    },
  ]);
}

/**
 * The fixtures an answer holds: one per `rN: intervalInstanceReport(...)` field of a query written
 * with literal arguments (as bench/performance.ts writes them).
 */
export function fixturesFromAnswer(query: string, data: Record<string, unknown>): Fixture[] {
  const fixtures: Fixture[] = [];
  for (const match of query.matchAll(/(r\d+): intervalInstanceReport\(instanceId: "([^"]+)", startTime: (\d+), endTime: (\d+), interval: (\w+)\)/g)) {
    fixtures.push({
      field: 'intervalInstanceReport',
      args: { instanceId: match[2], startTime: Number(match[3]), endTime: Number(match[4]), interval: match[5] },
      result: data[match[1]],
    });
  }
  return fixtures;
}
