/**
 * Runs the CCC emulator as a standalone process (benchmarks, manual testing):
 *
 *   EMULATOR_PORT (8080), EMULATOR_HOST (127.0.0.1),
 *   EMULATOR_ACCESS_KEY_ID / EMULATOR_ACCESS_KEY_SECRET (emulator-access-key-id / -secret),
 *   EMULATOR_TIMEZONE (Asia/Shanghai), EMULATOR_LATENCY_MS (0)
 *
 * Latency, failures and number format can be changed while it runs through the unsigned
 * `POST /__emulator/options` endpoint. SIGTERM and SIGINT stop it gracefully.
 */
import { CccEmulator } from './CccEmulator';
import { DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET } from './options';
import { DEFAULT_TIME_ZONE } from './simulator/calendar';

function integerFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return value;
}

async function main(): Promise<void> {
  const port = integerFromEnv('EMULATOR_PORT', 8080);
  const host = process.env.EMULATOR_HOST || '127.0.0.1';
  const accessKeyId = process.env.EMULATOR_ACCESS_KEY_ID || DEFAULT_ACCESS_KEY_ID;
  const accessKeySecret = process.env.EMULATOR_ACCESS_KEY_SECRET || DEFAULT_ACCESS_KEY_SECRET;
  const emulator = new CccEmulator({
    accessKeys: { [accessKeyId]: accessKeySecret },
    timeZone: process.env.EMULATOR_TIMEZONE || DEFAULT_TIME_ZONE,
    latencyMs: integerFromEnv('EMULATOR_LATENCY_MS', 0),
  });
  const { url } = await emulator.start(port, host);
  console.log(`CCC emulator listening on ${url} (access key id ${accessKeyId}, time zone ${emulator.options.timeZone})`);

  const shutdown = (signal: string) => {
    emulator.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`CCC emulator failed to stop on ${signal}:`, error);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('CCC emulator failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
