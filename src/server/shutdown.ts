/**
 * Clean shutdown on SIGTERM (process managers, Kubernetes, `docker stop`) and SIGINT (Ctrl-C).
 *
 * The first signal closes the gateway: the listener stops accepting, in-flight operations finish
 * (up to SHUTDOWN_GRACE_MS, then their connections are cut), idle keep-alive connections close at
 * once, then the emulator and Redis close, and the process exits 0. Idle, that takes a few
 * milliseconds. A second signal, or a close that outlives the grace period by `closeMarginMs`,
 * exits 1 at once: an operator who insists, or a shutdown that hangs, must not keep the process.
 */
export interface ShutdownLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface ShutdownOptions {
  logger: ShutdownLogger;
  /** How long in-flight operations may take (the drain's grace period). */
  graceMs: number;
  /** Added to `graceMs` for closing Redis and the emulator before the exit is forced. Default 3 s. */
  closeMarginMs?: number;
  /** Default `process.exit`. */
  exit?: (code: number) => void;
  /** Default `process`. */
  processLike?: Pick<NodeJS.Process, 'on'>;
}

export const TERMINATION_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Closes the gateway on SIGTERM/SIGINT. Returns the same shutdown for the process's own reasons:
 * `shutDown('fatal configuration', 2)` closes just as cleanly and exits with that code (a failed
 * or overdue close exits with it too, or 1 when it is 0).
 */
export function closeOnTerminationSignals(gateway: { close(): Promise<void> }, options: ShutdownOptions): (reason: string, exitCode?: number) => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const target = options.processLike ?? process;
  const { logger } = options;
  let stopping = false;

  const stop = (signal: string, exitCode = 0) => {
    if (stopping) {
      logger.warn({ signal }, 'second termination signal: exiting without waiting for in-flight operations');
      exit(1);
      return;
    }
    stopping = true;
    const started = performance.now();
    logger.info({ signal, graceMs: options.graceMs }, 'shutting down: no new connections, finishing in-flight operations');
    const force = setTimeout(() => {
      logger.error({ signal }, 'shutdown did not finish in time: exiting');
      exit(exitCode || 1);
    }, options.graceMs + (options.closeMarginMs ?? 3_000));
    force.unref();
    gateway.close().then(
      () => {
        clearTimeout(force);
        logger.info({ signal, shutdownMs: Math.round(performance.now() - started) }, 'shut down cleanly');
        exit(exitCode);
      },
      (err: unknown) => {
        clearTimeout(force);
        logger.error({ err, signal }, 'shutdown failed');
        exit(exitCode || 1);
      },
    );
  };
  for (const signal of TERMINATION_SIGNALS) target.on(signal, () => stop(signal));
  return stop;
}
