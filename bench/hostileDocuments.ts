/**
 * Issue 10 benchmark: `npm run bench:hostile` (about a minute), JSON on stdout.
 *
 * 1. Parse + validate CPU of each hostile document (test/helpers/hostileDocuments.ts), in this
 *    process: "unbounded" is what graphql-js does with no bounds (parse, then every specified
 *    rule, as Apollo Server did before the document limits), "gateway" is the document-limit
 *    check (src/server/limits/documentLimits.ts) plus, for what it lets through, Apollo's own
 *    bounded parse and validation.
 * 2. Load: the costliest document (as measured by "gateway") sent by one caller at the per-caller
 *    rate limit (RATE_LIMIT_PER_SECOND, 50/s by default) for BENCH_ATTACK_S (20) seconds, a new
 *    text each time (so no cache helps), while another caller runs a dashboard query and a probe
 *    polls `/healthz`; the same two without the attacker first (quiet). The gateway runs as its
 *    own process pinned to core 0, JWT auth on so the two callers have their own rate-limit
 *    buckets, with its default REJECTED_REQUESTS_PER_MINUTE (60, at most 1 a second; the
 *    attacker's refusals beyond it are 429s that cost no parsing). BENCH_REJECTED_PER_MINUTE=0
 *    measures without that budget. The dashboard and `/healthz` are measured from a process of
 *    their own (./latencyProbe.ts: on the load generator's core, not in its event loop); the
 *    attacker runs in another (./attacker.ts) at nice 19, so building its requests on that shared
 *    core does not delay the probe's own timers.
 */
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse, specifiedRules, validate, type GraphQLSchema } from 'graphql';
import { loadConfig } from '../src/config/config';
import { buildGatewaySchema } from '../src/graphql/schema';
import { HOUR_MS, DAY_MS } from '../src/reports/intervals';
import { documentLimitErrors, documentLimitRules, largeDocumentRefusal, MAX_VALIDATION_ERRORS, type DocumentLimits } from '../src/server/limits/documentLimits';
import { hostileDocuments, type HostileDocument } from '../test/helpers/hostileDocuments';
import type { Latency } from './fixedRate';
import { gatewayEnvFor, postGraphQL, startEmulator, startGatewayProcess } from './harness';

const ATTACK_S = Number(process.env.BENCH_ATTACK_S ?? 20);
const RATE_PER_SECOND = Number(process.env.RATE_LIMIT_PER_SECOND ?? 50);
/** The gateway's defaults (MAX_TOKENS, MAX_QUERY_DEPTH, MAX_ALIASES, MAX_DIRECTIVES), or this environment's. */
const LIMITS: DocumentLimits = loadConfig({ ...process.env, PORT: '0' }).operationLimits;

interface Timing {
  medianMs: number;
  maxMs: number;
  outcome: string;
}

/** CPU time of `run` (user + system), median and max over repetitions within about 1 s. */
function measure(run: () => string): Timing {
  let outcome = '';
  const samples: number[] = [];
  const started = performance.now();
  for (let i = 0; i < 3; i++) outcome = run(); // warm the JIT
  while (samples.length < 25 && (samples.length < 3 || performance.now() - started < 1_000)) {
    const before = process.cpuUsage();
    outcome = run();
    const used = process.cpuUsage(before);
    samples.push((used.user + used.system) / 1000);
  }
  samples.sort((a, b) => a - b);
  return { medianMs: +samples[Math.floor(samples.length / 2)].toFixed(3), maxMs: +samples[samples.length - 1].toFixed(3), outcome };
}

function unbounded(schema: GraphQLSchema, query: string): string {
  try {
    const errors = validate(schema, parse(query), specifiedRules);
    return errors.length ? `validation: ${errors[0].message.slice(0, 70)}` : 'valid';
  } catch (error) {
    return `parse: ${(error as Error).message.slice(0, 70)}`;
  }
}

function bounded(schema: GraphQLSchema, query: string): string {
  const limitErrors = documentLimitErrors(schema, query, LIMITS);
  if (limitErrors.length) return `limits: ${limitErrors[0].extensions.code}: ${limitErrors[0].message.slice(0, 70)}`;
  try {
    const errors = validate(schema, parse(query, { maxTokens: LIMITS.maxTokens }), specifiedRules, { maxErrors: MAX_VALIDATION_ERRORS });
    return errors.length ? `validation: ${errors[0].message.slice(0, 70)}` : 'valid';
  } catch (error) {
    return `parse: ${(error as Error).message.slice(0, 70)}`;
  }
}

/**
 * The synchronous steps the gateway splits a large new document's check into (each in a turn of
 * the event loop of its own): CPU of each step (median over repetitions), the longest, and all of
 * them together (what one turn cost before the split).
 */
async function stepsOf(schema: GraphQLSchema, query: string): Promise<{ steps: number; longestStepMs: number; allStepsMs: number }> {
  const rules = documentLimitRules(LIMITS);
  const cpuMs = () => {
    const used = process.cpuUsage();
    return (used.user + used.system) / 1000;
  };
  const runs: number[][] = [];
  for (let run = 0; run < 28; run++) {
    const steps: number[] = [];
    let started = cpuMs();
    const between = async () => {
      steps.push(cpuMs() - started);
      await new Promise((resolve) => setImmediate(resolve));
      started = cpuMs();
    };
    await largeDocumentRefusal(schema, query, LIMITS, rules, (formatted) => formatted, between);
    steps.push(cpuMs() - started);
    if (run >= 3) runs.push(steps.slice(1)); // the first runs warm the JIT; before the first step: nothing
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const perStep = runs[0].map((_, i) => median(runs.map((r) => r[i])));
  return { steps: perStep.length, longestStepMs: +Math.max(...perStep).toFixed(2), allStepsMs: +median(runs.map((r) => r.reduce((a, b) => a + b, 0))).toFixed(2) };
}

/** CPU seconds (user + system) a process has used, from /proc (Linux). */
/**
 * The gateway's own event-loop delay since the previous call (prom-client's monitorEventLoopDelay
 * histogram is reset on every scrape): tells a stall inside the gateway from one in the load
 * generator, which measures every latency above.
 */
async function eventLoopDelaySince(metricsUrl: string): Promise<{ p99Ms: number; maxMs: number }> {
  const text = await (await fetch(metricsUrl)).text();
  const read = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000;
  return { p99Ms: +read('nodejs_eventloop_lag_p99_seconds').toFixed(1), maxMs: +read('nodejs_eventloop_lag_max_seconds').toFixed(1) };
}

/**
 * The attacker (./attacker.ts) in a process of its own at nice 19: same requests, same rate, but
 * its own request building never delays the probe that shares its core (see attacker.ts).
 */
function attackFromOwnProcess(input: { url: string; query: string; variables?: Record<string, unknown>; headers: Record<string, string>; rate: number; connections: number; seconds: number }): Promise<Latency> {
  const child = spawn(process.execPath, [join(__dirname, 'attacker.js'), JSON.stringify(input)], { stdio: ['ignore', 'pipe', 'inherit'] });
  os.setPriority(child.pid!, 19);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    child.once('close', (code) => (code === 0 ? resolve(JSON.parse(output) as Latency) : reject(new Error(`attacker exited with ${code}`))));
  });
}

function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** HS256 JWT, as the gateway's AUTH_JWT_SECRET mode verifies it. */
function signToken(secret: string, claims: Record<string, unknown>): string {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iat: now, exp: now + 3600, ...claims })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

async function main(): Promise<void> {
  const schema = await buildGatewaySchema();
  const documents = hostileDocuments();
  const parseValidate = documents.map((d: HostileDocument) => ({
    document: d.name,
    bytes: Buffer.byteLength(d.query),
    unbounded: measure(() => unbounded(schema, d.query)),
    gateway: measure(() => bounded(schema, d.query)),
  }));
  const worst = documents[parseValidate.reduce((w, row, i) => (row.gateway.medianMs > parseValidate[w].gateway.medianMs ? i : w), 0)];
  const worstDocumentSteps = await stepsOf(schema, worst.query);
  if (process.env.BENCH_SKIP_LOAD === '1') {
    console.log(JSON.stringify({ limits: LIMITS, parseValidate, worstDocument: worst.name, worstDocumentSteps }, null, 2));
    return;
  }

  const secret = 'bench-hostile-secret-0123456789-abcdef';
  const emulator = await startEmulator();
  const gateway = await startGatewayProcess(
    gatewayEnvFor(emulator.url, {
      AUTH_MODE: 'jwt',
      AUTH_JWT_SECRET: secret,
      RATE_LIMIT_PER_SECOND: String(RATE_PER_SECOND),
      ...(process.env.BENCH_REJECTED_PER_MINUTE ? { REJECTED_REQUESTS_PER_MINUTE: process.env.BENCH_REJECTED_PER_MINUTE } : {}),
    }),
    // BENCH_PROFILE=<dir>: the gateway writes a V8 CPU profile there when it exits.
    process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [],
  );
  const healthz = gateway.url.replace(/\/graphql$/, '/healthz');
  const dashboardUser = { authorization: `Bearer ${signToken(secret, { sub: 'dashboard', ccc_instances: '*' })}`, 'content-type': 'application/json' };
  const attacker = { authorization: `Bearer ${signToken(secret, { sub: 'attacker', ccc_instances: '*' })}`, 'content-type': 'application/json' };
  const hour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  // The normal query reads 7 closed days (ending two hours ago): after the warm-up it never calls
  // upstream, so the emulator, which shares the load generator's core, stays idle and does not
  // inflate the latencies the load generator measures. (A range ending now refetches its open
  // hour every CACHE_OPEN_TTL_MS; the emulator's simulation then delays this process's timers.)
  const dashboard = JSON.stringify({
    query: `{ intervalInstanceReport(instanceId: "ccc-test", interval: HOURLY, startTime: ${hour - 7 * DAY_MS - 2 * HOUR_MS}, endTime: ${hour - 2 * HOUR_MS}) { statsTime closed inbound { callsOffered callsHandled handleRate averageWaitTime } overall { totalCalls } } }`,
  });
  const warm = await postGraphQL(gateway.url, JSON.parse(dashboard).query, undefined, dashboardUser);
  if (warm.errors) throw new Error(`warm-up failed: ${JSON.stringify(warm.errors).slice(0, 300)}`);
  const rejected = await postGraphQL(gateway.url, worst.query, worst.variables, attacker);

  // The dashboard at 20 operations/s and a /healthz probe at 20/s, from a process of their own
  // (./latencyProbe.ts): quiet, then under attack. `started` resolves when it starts sending.
  const observe = () => {
    const input = { healthzUrl: healthz, graphqlUrl: gateway.url, dashboardBody: dashboard, dashboardHeaders: dashboardUser, rate: 20, seconds: ATTACK_S };
    const probe = spawn(process.execPath, [join(__dirname, 'latencyProbe.js'), JSON.stringify(input)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: probe.stdout! });
    let onReady: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (onReady = resolve));
    const done = new Promise<[Latency, Latency]>((resolve, reject) => {
      let result: { healthz: Latency; dashboard: Latency } | undefined;
      lines.on('line', (line) => {
        if (line === 'ready') onReady();
        else result = JSON.parse(line);
      });
      // 'close', not 'exit': its output has been read to the end.
      probe.once('close', (code) => (result ? resolve([result.healthz, result.dashboard]) : reject(new Error(`latency probe exited with ${code}`))));
    });
    return { started, done };
  };
  // The gateway's own CPU use per phase: unlike latencies, not inflated by other processes on the core.
  const gatewayPid = gateway.process.pid!;
  const metricsUrl = gateway.url.replace(/\/graphql$/, '/metrics');
  await eventLoopDelaySince(metricsUrl);
  const quietCpu = cpuSecondsOf(gatewayPid);
  const [quietHealthz, quietDashboard] = await observe().done;
  const attackCpu = cpuSecondsOf(gatewayPid);
  const quietLoop = await eventLoopDelaySince(metricsUrl);
  const underAttack = observe();
  await underAttack.started;
  const [[attackHealthz, attackDashboard], attack] = await Promise.all([
    underAttack.done,
    attackFromOwnProcess({ url: gateway.url, query: worst.query, variables: worst.variables, headers: attacker, rate: RATE_PER_SECOND, connections: 10, seconds: ATTACK_S }),
  ]);

  const endCpu = cpuSecondsOf(gatewayPid);
  const attackLoop = await eventLoopDelaySince(metricsUrl);
  console.log(
    JSON.stringify(
      {
        // Load average at the end: other processes on these cores show up in every latency.
        machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, serverCpu: process.env.BENCH_SERVER_CPU ?? '0', loadAverage: os.loadavg() },
        limits: LIMITS,
        parseValidate,
        load: {
          worstDocument: worst.name,
          worstDocumentSteps,
          worstDocumentAnswer: rejected.errors?.map((e: { extensions?: { code?: string } }) => e.extensions?.code),
          seconds: ATTACK_S,
          attackerRatePerSecond: RATE_PER_SECOND,
          rejectedRequestsPerMinute: Number(process.env.BENCH_REJECTED_PER_MINUTE ?? 60),
          // Share of one core the gateway process used (the gateway is pinned to one core).
          gatewayCpuShare: { quiet: +((attackCpu - quietCpu) / ATTACK_S).toFixed(3), underAttack: +((endCpu - attackCpu) / ATTACK_S).toFixed(3) },
          // The gateway's event-loop delay per phase (p99 and max): a stall inside the gateway shows here.
          gatewayEventLoopDelay: { quiet: quietLoop, underAttack: attackLoop },
          quiet: { healthz: quietHealthz, dashboard: quietDashboard },
          underAttack: { healthz: attackHealthz, dashboard: attackDashboard, attacker: attack },
          healthzP99UnderAttackBelow50ms: attackHealthz.p99Ms < 50,
          dashboardP99Ratio: +(attackDashboard.p99Ms / Math.max(quietDashboard.p99Ms, 1)).toFixed(2),
          dashboardP99UnderAttackBelow2xQuiet: attackDashboard.p99Ms < 2 * Math.max(quietDashboard.p99Ms, 1),
        },
      },
      null,
      2,
    ),
  );
  await Promise.all([gateway.stop(), emulator.stop()]);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
