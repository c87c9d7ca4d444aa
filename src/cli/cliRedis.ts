/**
 * The Redis connection of a command-line tool: the gateway's own configuration (`REDIS_URL` or
 * `REDIS_CLUSTER_NODES`), with a command timeout fit for batch work rather than for requests.
 */
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { loadConfig } from '../config/config';
import { createRedisConnection } from '../cache/redisConnection';

const CLI_COMMAND_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 15_000;

export async function connectCliRedis(env: NodeJS.ProcessEnv = process.env): Promise<Redis | Cluster> {
  const config = loadConfig(env);
  if (!config.redis) throw new CliError('set REDIS_URL (or REDIS_CLUSTER_NODES) to the Redis the gateway uses');
  const redis = createRedisConnection({
    url: config.redis.url,
    clusterNodes: config.redis.clusterNodes,
    commandTimeoutMs: Math.max(config.redis.commandTimeoutMs, CLI_COMMAND_TIMEOUT_MS),
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.disconnect();
      reject(new CliError(`Redis did not become ready within ${READY_TIMEOUT_MS / 1000} s`));
    }, READY_TIMEOUT_MS);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return redis;
}

/** A mistake of the caller: printed as one line, exit code 2. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** `--name value` options; a bare `--flag` is `'true'`. Unknown options are the caller's to refuse. */
export function parseOptions(argv: readonly string[]): Map<string, string> {
  const options = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new CliError(`unexpected argument ${JSON.stringify(arg)}`);
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (inline !== undefined) options.set(name, inline);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) options.set(name, argv[++i]);
    else options.set(name, 'true');
  }
  return options;
}

export function refuseUnknown(options: Map<string, string>, known: readonly string[]): void {
  const unknown = [...options.keys()].filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new CliError(`unknown option ${unknown.map((n) => `--${n}`).join(', ')} (known: ${known.map((n) => `--${n}`).join(', ')})`);
}

/** Runs a tool's main: a CliError is one line and exit code 2, anything else a stack and exit code 1. */
export function runCli(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      if (error instanceof CliError) {
        process.stderr.write(`${error.message}\n`);
        process.exit(2);
      }
      process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
