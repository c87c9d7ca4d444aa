/**
 * `npm run archive:export -- --instance ID [--from T] [--to T] [--interval HOURLY|DAILY] [--out FILE] [--prefix ccc:]`:
 * the instance's closed buckets stored in Redis (`REDIS_URL` or `REDIS_CLUSTER_NODES`) as NDJSON,
 * one bucket a line, to FILE or stdout. T is epoch milliseconds or ISO-8601 with an offset;
 * buckets whose StatsTime is in [from, to). The summary goes to stderr.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { exportBuckets } from '../cache/archiveTransfer/exportBuckets';
import { INSTANCE_ID_PATTERN } from '../reports/InstanceReports';
import { CliError, connectCliRedis, parseOptions, refuseUnknown, runCli } from './cliRedis';
import { parseTime } from './parseTime';

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  refuseUnknown(options, ['instance', 'from', 'to', 'interval', 'out', 'prefix']);
  const instanceId = options.get('instance');
  if (!instanceId || !INSTANCE_ID_PATTERN.test(instanceId)) throw new CliError('--instance ID is required (an instance id such as ccc-test)');
  const interval = options.get('interval');
  if (interval !== undefined && interval !== 'HOURLY' && interval !== 'DAILY') throw new CliError('--interval is HOURLY or DAILY');
  const from = options.has('from') ? parseTime(options.get('from')!, '--from') : undefined;
  const to = options.has('to') ? parseTime(options.get('to')!, '--to') : undefined;
  if (from !== undefined && to !== undefined && from >= to) throw new CliError('--from must be before --to');

  const out: Writable = options.has('out') ? createWriteStream(options.get('out')!) : process.stdout;
  const redis = await connectCliRedis();
  try {
    const summary = await exportBuckets({
      redis,
      keyPrefix: options.get('prefix') ?? 'ccc:',
      instanceId,
      from,
      to,
      interval,
      write: async (line) => {
        if (!out.write(`${line}\n`)) await once(out, 'drain');
      },
    });
    if (out !== process.stdout) {
      out.end();
      await once(out, 'finish');
    }
    process.stderr.write(`${JSON.stringify({ event: 'done', instanceId, ...summary })}\n`);
  } finally {
    redis.disconnect();
  }
}

runCli(main);
