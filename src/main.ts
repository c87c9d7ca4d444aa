/**
 * `npm start`: configuration from the environment, then the gateway. Zero configuration runs the
 * built-in CCC emulator and an in-process cache.
 */
import 'reflect-metadata';
import { ConfigError, loadConfig } from './config/config';
import { startGateway } from './server/createGateway';
import { UnsafeEvictionPolicyError } from './server/evictionPolicyMonitor';
import { createLogger } from './server/logger';
import { closeOnTerminationSignals } from './server/shutdown';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  const logger = createLogger(config.logLevel);
  let gateway;
  try {
    gateway = await startGateway(config, { logger });
  } catch (e) {
    if (e instanceof UnsafeEvictionPolicyError) {
      logger.fatal({ maxmemoryPolicy: e.policies }, `refusing to start: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  closeOnTerminationSignals(gateway, { logger, graceMs: config.shutdownGraceMs });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
