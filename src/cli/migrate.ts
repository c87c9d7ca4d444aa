/**
 * `npm run migrate [-- --prefix ccc: --batch 500]`: moves buckets stored under the version-1 key
 * layout to the current one and rewrites older encodings in the current version, in place,
 * resumable and idempotent (see `cache/maintenance/migrateBuckets.ts`). Safe while gateways run.
 * Prints one JSON line per batch and a summary line.
 */
import { migrateBuckets } from '../cache/maintenance/migrateBuckets';
import { CliError, connectCliRedis, parseOptions, refuseUnknown, runCli } from './cliRedis';

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  refuseUnknown(options, ['prefix', 'batch']);
  const batchSize = Number(options.get('batch') ?? 500);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new CliError('--batch is a positive integer (keys per SCAN)');
  const redis = await connectCliRedis();
  try {
    const summary = await migrateBuckets({
      redis,
      keyPrefix: options.get('prefix') ?? 'ccc:',
      batchSize,
      onBatch: (progress) => process.stdout.write(`${JSON.stringify({ event: 'batch', ...progress })}\n`),
    });
    process.stdout.write(`${JSON.stringify({ event: 'done', ...summary })}\n`);
  } finally {
    redis.disconnect();
  }
}

runCli(main);
