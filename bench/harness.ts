/**
 * Benchmark plumbing: child processes pinned to a core, a redis-server of our own, load with
 * autocannon from this process (pinned to the other core by `npm run bench`).
 *
 * Servers run as separate processes so the load generator never steals their CPU; every
 * scenario compares against a baseline measured in the same run.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/config/paths';

export const DIST = join(PROJECT_ROOT, 'dist');
export const SERVER_CPU = process.env.BENCH_SERVER_CPU ?? '0';
/**
 * The emulator stands in for Alibaba Cloud, which does not share the gateway's CPU: it runs on
 * the load generator's core, so its simulation never competes with the gateway being measured.
 */
export const UPSTREAM_CPU = process.env.BENCH_UPSTREAM_CPU ?? '1';

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export interface Started {
  url: string;
  process: ChildProcess;
  /** Where the process's stdout and stderr go (its logs, and V8's with `--trace-gc`). */
  logFile: string;
  stop(): Promise<void>;
}

/** Starts `node <script>` pinned to SERVER_CPU and waits for a line matching `ready`. */
export function startNode(script: string, env: Record<string, string>, ready: RegExp, nodeArgs: string[] = [], cpu = SERVER_CPU): Promise<Started> {
  // Output goes to a file, not a pipe: writes to a pipe are synchronous on Linux, and this
  // process (the busy load generator) would drain it late, stalling the server on its logs.
  const logFile = join(mkdtempSync(join(tmpdir(), 'bench-')), 'output.log');
  const fd = openSync(logFile, 'w');
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', cpu, process.execPath, ...nodeArgs, script], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    children.add(child);
    const poll = setInterval(() => {
      const match = ready.exec(readFileSync(logFile, 'utf8'));
      if (!match) return;
      clearInterval(poll);
      child.off('exit', onEarlyExit);
      resolve({
        url: match[1],
        process: child,
        logFile,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }).finally(() => children.delete(child)),
      });
    }, 50);
    const onEarlyExit = (code: number | null) => {
      clearInterval(poll);
      reject(new Error(`${script} exited with ${code} before it was ready:\n${readFileSync(logFile, 'utf8')}`));
    };
    child.once('exit', onEarlyExit);
  });
}

export const EMULATOR_KEY = { id: 'bench-key-id', secret: 'bench-key-secret' };

export function startEmulator(env: Record<string, string> = {}): Promise<Started> {
  return startNode(
    join(DIST, 'src/emulator/main.js'),
    { EMULATOR_PORT: '0', EMULATOR_ACCESS_KEY_ID: EMULATOR_KEY.id, EMULATOR_ACCESS_KEY_SECRET: EMULATOR_KEY.secret, ...env },
    /listening on (http:\/\/[^\s]+)/,
    [],
    UPSTREAM_CPU,
  );
}

export function startGatewayProcess(env: Record<string, string>, nodeArgs: string[] = []): Promise<Started> {
  return startNode(
    join(DIST, 'src/main.js'),
    { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    /"url":"(http:\/\/[^"]+)"[^\n]*ccc-report-gateway ready/,
    nodeArgs,
  );
}

export function gatewayEnvFor(emulatorUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CCC_ENDPOINT: emulatorUrl,
    ALIBABA_CLOUD_ACCESS_KEY_ID: EMULATOR_KEY.id,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: EMULATOR_KEY.secret,
    // The load comes from one address: a per-caller budget would measure the budget, not the gateway.
    UPSTREAM_CALLS_PER_CALLER_PER_MINUTE: '0',
    ...extra,
  };
}

export async function emulatorControl(emulatorUrl: string, action: 'stats' | 'reset' | 'options', body?: object): Promise<any> {
  const response = await fetch(`${emulatorUrl}/__emulator/${action}`, {
    method: action === 'stats' ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : action === 'stats' ? undefined : '{}',
  });
  return response.json();
}

export async function postGraphQL(url: string, query: string, variables?: object, headers: Record<string, string> = {}): Promise<any> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return response.json();
}

export interface LoadResult {
  connections: number;
  requestsPerSecond: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  bytesPerResponse: number;
}

export async function load(url: string, body: string, connections: number, durationSeconds: number, headers: Record<string, string> = {}): Promise<LoadResult> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    connections,
    duration: durationSeconds,
  });
  return {
    connections,
    // Total over duration, not autocannon's rounded per-second average (a large answer runs at a
    // few requests per second).
    requestsPerSecond: +(result.requests.total / result.duration).toFixed(1),
    meanMs: result.latency.mean,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    // Response bytes (headers included) per request: an answer that is fast because it is not
    // the answer (an error, an empty body) shows here.
    bytesPerResponse: Math.round(result.throughput.total / Math.max(result.requests.total, 1)),
  };
}
