/**
 * Clean shutdown of the built gateway (`npm run build`, then `node dist/src/main.js`, as the
 * Docker image runs it), one process per test, as a process manager sees it: SIGTERM or SIGINT
 * must stop the listener, let in-flight operations finish with their data, close Redis and the
 * embedded emulator, and exit 0, in every mode (embedded emulator, Redis, a three-master Redis
 * Cluster), also under `npm start` (the signal sent to npm only, not to its process group).
 *
 * No wall-clock assertion beyond the test timeout: an idle shutdown takes milliseconds (the
 * gateway logs `shutdownMs`), a hung one is forced to exit 1 after SHUTDOWN_GRACE_MS + 3 s.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { PROJECT_ROOT } from '../../src/config/paths';
import { startRedisCluster, type TestRedisCluster } from '../helpers/redisCluster';
import { startRedisServer, type TestRedisServer } from '../helpers/redisServer';
import { eventually } from './support';

const MAIN = join(PROJECT_ROOT, 'dist', 'src', 'main.js');
const HOUR_MS = 3_600_000;

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

interface Running {
  child: ChildProcess;
  lines: LogLine[];
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Only what the test sets: NODE_ENV=test (Jest's) would hide Apollo's own signal handlers. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', NODE_ENV: 'development', ...env };
}

const children = new Set<ChildProcess>();

function run(command: string, args: string[], env: Record<string, string>, options: { detached?: boolean } = {}): Running {
  const child = spawn(command, args, { cwd: PROJECT_ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached });
  children.add(child);
  const lines: LogLine[] = [];
  let text = '';
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    pending += chunk.toString();
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.startsWith('{')) lines.push(JSON.parse(line) as LogLine);
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, lines, output: () => text, exited };
}

async function untilLogged(running: Running, message: string): Promise<LogLine> {
  const found = await eventually(async () => running.lines.some((l) => l.msg === message) || running.child.exitCode !== null, 20_000, 20);
  const line = running.lines.find((l) => l.msg === message);
  if (!found || !line) throw new Error(`"${message}" was not logged:\n${running.output()}`);
  return line;
}

/** Starts `node dist/src/main.js` and waits until it listens; answers its /graphql URL. */
async function startMain(env: Record<string, string>): Promise<Running & { url: string }> {
  const running = run(process.execPath, [MAIN], env);
  const ready = await untilLogged(running, 'ccc-report-gateway ready');
  return { ...running, url: ready.url as string };
}

function connectionRefused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/** Expects a clean exit (code 0, the gateway's last words logged). */
async function expectCleanExit(running: Running): Promise<void> {
  const exit = await running.exited;
  expect({ ...exit, output: exit.code === 0 ? '' : running.output() }).toEqual({ code: 0, signal: null, output: '' });
  expect(running.lines.some((l) => l.msg === 'shut down cleanly')).toBe(true);
}

function postQuery(url: string, query: string, agent?: http.Agent): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ query });
    const request = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(text) }));
    });
    request.once('error', reject);
    request.end(body);
  });
}

/** A closed two-day hourly range by the real clock (the built gateway runs on it). */
function closedRangeQuery(): string {
  const end = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 24 * HOUR_MS;
  return `{ r: intervalInstanceReport(instanceId: "ccc-demo-1", interval: HOURLY, startTime: ${end - 48 * HOUR_MS}, endTime: ${end}) { statsTime inbound { callsOffered } } }`;
}

beforeAll(async () => {
  // What `npm start` runs first (prestart), so the processes below run the current source.
  await promisify(execFile)('npm', ['run', 'build'], { cwd: PROJECT_ROOT, timeout: 120_000 });
}, 150_000);

afterEach(() => {
  // A failed test must not leave a gateway behind (only processes this file started).
  for (const child of children) child.kill('SIGKILL');
});

describe('clean shutdown of the built gateway', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('embedded emulator, idle: %s exits 0', async (signal) => {
    const gateway = await startMain({});
    gateway.child.kill(signal);
    await expectCleanExit(gateway);
    expect(await connectionRefused(gateway.url)).toBe(true);
  });

  describe('with Redis', () => {
    let redis: TestRedisServer;
    beforeAll(async () => {
      redis = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction'] });
    });
    afterAll(async () => {
      await redis.stop();
    });

    it('idle, after serving through Redis: SIGTERM exits 0', async () => {
      const gateway = await startMain({ REDIS_URL: redis.url });
      // The cache and the limiter are in use before the signal.
      expect((await postQuery(gateway.url, closedRangeQuery())).body.errors).toBeUndefined();
      gateway.child.kill('SIGTERM');
      await expectCleanExit(gateway);
    });

    it('production refuses to start on allkeys-lru: exit code 2, saying what to set', async () => {
      const admin = new Redis(redis.url);
      try {
        await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
        const refused = run(process.execPath, [MAIN], { NODE_ENV: 'production', CCC_EMULATOR: 'true', AUTH_ALLOW_OFF_IN_PRODUCTION: 'true', REDIS_URL: redis.url });
        expect(await refused.exited).toEqual({ code: 2, signal: null });
        expect(refused.output()).toMatch(/refusing to start: Redis maxmemory-policy is allkeys-lru.*Set maxmemory-policy noeviction/);
      } finally {
        await admin.config('SET', 'maxmemory-policy', 'noeviction');
        admin.disconnect();
      }
    });
  });

  describe('with a three-master Redis Cluster', () => {
    let cluster: TestRedisCluster;
    beforeAll(async () => {
      cluster = await startRedisCluster({ masters: 3, args: ['--maxmemory-policy', 'noeviction'] });
    });
    afterAll(async () => {
      await cluster.stop();
    });

    it('idle: SIGTERM exits 0', async () => {
      const gateway = await startMain({ REDIS_CLUSTER_NODES: cluster.clusterNodes });
      expect((await postQuery(gateway.url, closedRangeQuery())).body.errors).toBeUndefined();
      gateway.child.kill('SIGTERM');
      await expectCleanExit(gateway);
    });
  });

  it('an idle keep-alive connection does not hold the shutdown open', async () => {
    const gateway = await startMain({});
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await postQuery(gateway.url, '{ __typename }', agent)).body).toEqual({ data: { __typename: 'Query' } });
      const [socket] = Object.values(agent.freeSockets).flat();
      expect(socket).toBeDefined(); // kept alive, idle
      const closed = new Promise<void>((resolve) => socket!.once('close', () => resolve()));
      gateway.child.kill('SIGTERM');
      await expectCleanExit(gateway);
      await closed;
    } finally {
      agent.destroy();
    }
  });

  it('an operation in flight when SIGTERM arrives completes with its data; new connections are refused', async () => {
    const gateway = await startMain({ RATE_LIMIT_PER_SECOND: '0' });
    const emulatorUrl = gateway.lines.find((l) => typeof l.endpoint === 'string')!.endpoint as string;
    // The embedded emulator answers 2 s after each call arrives.
    await fetch(`${emulatorUrl}/__emulator/options`, { method: 'POST', body: JSON.stringify({ latencyMs: 2_000 }) });
    const inFlight = postQuery(gateway.url, closedRangeQuery());
    const arrived = await eventually(async () => {
      const stats = (await (await fetch(`${emulatorUrl}/__emulator/stats`)).json()) as { callsReceived: number };
      return stats.callsReceived >= 1;
    }, 10_000, 20);
    expect(arrived).toBe(true);

    gateway.child.kill('SIGTERM');
    expect(await eventually(() => connectionRefused(gateway.url), 5_000, 20)).toBe(true);
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data.r.length).toBeGreaterThan(0);
    await expectCleanExit(gateway);
  });

  it('under `npm start`, SIGTERM sent to npm alone reaches the gateway: it exits 0, and so does npm', async () => {
    // --ignore-scripts skips prestart (the build ran above); the start script itself runs. npm in
    // its own process group, signalled by pid as a process manager does.
    const npm = run('npm', ['start', '--ignore-scripts'], {}, { detached: true });
    await untilLogged(npm, 'ccc-report-gateway ready');
    const { stdout } = await promisify(execFile)('ps', ['-o', 'pid=', '--ppid', String(npm.child.pid)]);
    const scriptPid = Number(stdout.trim().split(/\s+/)[0]);
    expect(scriptPid).toBeGreaterThan(0);
    try {
      npm.child.kill('SIGTERM');
      const exit = await npm.exited;
      expect({ ...exit, output: exit.code === 0 ? '' : npm.output() }).toEqual({ code: 0, signal: null, output: '' });
      expect(npm.lines.some((l) => l.msg === 'shut down cleanly')).toBe(true);
      // Nothing of the script is left running.
      expect(await eventually(async () => !isAlive(scriptPid), 5_000, 20)).toBe(true);
    } finally {
      try {
        process.kill(-npm.child.pid!, 'SIGKILL'); // the group this test created, if anything is left
      } catch {
        // already gone
      }
    }
  });

  it('NODE_ENV=production with neither credentials nor CCC_ENDPOINT refuses to start: exit code 2, naming what to set', async () => {
    const refused = run(process.execPath, [MAIN], { NODE_ENV: 'production', AUTH_ALLOW_OFF_IN_PRODUCTION: 'true' });
    expect(await refused.exited).toEqual({ code: 2, signal: null });
    expect(refused.output()).toMatch(/ALIBABA_CLOUD_ACCESS_KEY_ID.*CCC_ENDPOINT.*CCC_EMULATOR=true/s);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
