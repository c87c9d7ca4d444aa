/** `npm run archive`: one archive pass, then exit (0: done, 1: failed, 2: configuration). See runArchiveJob. */
import { loadConfigOrExplain } from '../config/config';
import { createLogger } from '../server/logger';
import { ArchiveJobConfigError, runArchiveJob } from './runArchiveJob';

async function main(): Promise<number> {
  const config = loadConfigOrExplain();
  if (!config) return 2;
  const logger = createLogger(config.logLevel);
  try {
    const result = await runArchiveJob(config, logger);
    logger.info({ ...result }, 'archive job done');
    // Calls that failed leave their buckets missing: the job did not finish its work.
    return result.failedCalls > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof ArchiveJobConfigError) {
      logger.error({}, error.message);
      return 2;
    }
    logger.error({ err: error }, 'archive job failed');
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
