/**
 * `npm start`: configuration from the environment, then the gateway. Zero configuration runs the
 * built-in CCC emulator and an in-process cache.
 */
import 'reflect-metadata';
import { loadConfigOrExplain } from './config/config';
import { startGateway } from './server/createGateway';
import { UnsafeEvictionPolicyError } from './server/evictionPolicyMonitor';
import { createLogger } from './server/logger';
import { closeOnTerminationSignals } from './server/shutdown';

async function main(): Promise<void> {
  const config = loadConfigOrExplain();
  if (!config) process.exit(2);
  const logger = createLogger(config.logLevel);
  // A configuration found unusable after the start (the gateway has logged it as fatal): close
  // as on SIGTERM, then exit 2 like a refused start. It may come before startGateway returns.
  let shutDown: ((reason: string, exitCode?: number) => void) | undefined;
  let fatalConfiguration = false;
  const onFatalConfiguration = () => {
    fatalConfiguration = true;
    shutDown?.('fatal configuration', 2);
  };
  let gateway;
  try {
    gateway = await startGateway(config, { logger, onFatalConfiguration });
  } catch (e) {
    if (e instanceof UnsafeEvictionPolicyError) {
      logger.fatal({ maxmemoryPolicy: e.policies }, `refusing to start: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  shutDown = closeOnTerminationSignals(gateway, { logger, graceMs: config.shutdownGraceMs });
  if (fatalConfiguration) shutDown('fatal configuration', 2);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
