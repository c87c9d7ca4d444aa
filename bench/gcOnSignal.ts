/**
 * Preloaded into a benchmarked gateway (`node --expose-gc -r dist/bench/gcOnSignal.js`): SIGUSR2
 * runs a full collection, so a memory figure read from its /metrics right after is the live heap,
 * not whatever garbage V8 has not collected yet (bench/subscriptions.ts).
 */
process.on('SIGUSR2', () => (globalThis as { gc?: () => void }).gc?.());
