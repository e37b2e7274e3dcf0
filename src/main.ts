import { ConfigError, loadConfig } from './config/config.ts';
import { createLogger } from './logger.ts';
import { allocatorOf, JEMALLOC_PRELOAD } from './runtime/allocator.ts';
import { startServer } from './server.ts';

const SHUTDOWN_GRACE_MS = 15_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const allocator = allocatorOf();
  if (allocator === 'jemalloc') logger.info({ allocator }, 'memory allocator');
  else logger.warn({ allocator }, `memory allocator is not jemalloc: resident memory will grow under sustained load; start with LD_PRELOAD=${JEMALLOC_PRELOAD} (npm start does)`);
  let running;
  try {
    running = await startServer(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, `cannot start: ${(error as Error).message}`);
    process.exit(1);
  }

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    setTimeout(() => {
      logger.error('in-flight requests did not finish in time; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    running.close().then(
      () => {
        logger.info('stopped cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

await main();
