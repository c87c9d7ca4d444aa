/**
 * `npm run archive:import -- [--in FILE] [--prefix ccc:]`: NDJSON lines of `archive:export` (from
 * FILE or stdin) stored as final buckets in the Redis of `REDIS_URL` or `REDIS_CLUSTER_NODES`.
 * The summary goes to stderr; a bad line stops the import with exit code 2, naming it.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { BadBucketLine } from '../cache/archiveTransfer/bucketLines';
import { importBuckets } from '../cache/archiveTransfer/importBuckets';
import { CliError, connectCliRedis, parseOptions, refuseUnknown, runCli } from './cliRedis';

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  refuseUnknown(options, ['in', 'prefix']);
  const input = options.has('in') ? createReadStream(options.get('in')!) : process.stdin;
  const redis = await connectCliRedis();
  try {
    const summary = await importBuckets({
      redis,
      keyPrefix: options.get('prefix') ?? 'ccc:',
      lines: createInterface({ input, crlfDelay: Infinity }),
    });
    process.stderr.write(`${JSON.stringify({ event: 'done', ...summary })}\n`);
  } catch (error) {
    if (error instanceof BadBucketLine) throw new CliError(`archive:import: ${error.message}`);
    throw error;
  } finally {
    redis.disconnect();
  }
}

runCli(main);
