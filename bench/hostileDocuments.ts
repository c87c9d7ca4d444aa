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
 *    buckets, with its default REJECTED_REQUESTS_PER_MINUTE (60; the attacker's refusals beyond it
 *    are 429s that cost no parsing). BENCH_REJECTED_PER_MINUTE=0 measures without that budget.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import autocannon from 'autocannon';
import { parse, specifiedRules, validate, type GraphQLSchema } from 'graphql';
import { loadConfig } from '../src/config/config';
import { buildGatewaySchema } from '../src/graphql/schema';
import { HOUR_MS, DAY_MS } from '../src/reports/intervals';
import { documentLimitErrors, MAX_VALIDATION_ERRORS, type DocumentLimits } from '../src/server/limits/documentLimits';
import { hostileDocuments, type HostileDocument } from '../test/helpers/hostileDocuments';
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

interface Latency {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
}

function fixedRate(
  url: string,
  options: { method: 'GET' | 'POST'; body?: string; headers?: Record<string, string>; rate: number; connections: number; seconds: number; bodyFor?: (n: number) => string },
): Promise<Latency> {
  let sent = 0;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        method: options.method,
        headers: options.headers,
        body: options.body,
        connections: options.connections,
        overallRate: options.rate,
        duration: options.seconds,
        ...(options.bodyFor ? { requests: [{ setupRequest: (request: autocannon.Request) => ({ ...request, body: options.bodyFor!(sent++) }) }] } : {}),
      },
      (error, result) => {
        if (error) return reject(error);
        resolve({
          requests: result.requests.total,
          requestsPerSecond: +(result.requests.total / result.duration).toFixed(1),
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
          maxMs: result.latency.max,
          non2xx: result.non2xx,
          errors: result.errors,
          statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats.count ?? 0])),
        });
      },
    );
  });
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
  if (process.env.BENCH_SKIP_LOAD === '1') {
    console.log(JSON.stringify({ limits: LIMITS, parseValidate, worstDocument: worst.name }, null, 2));
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

  // The dashboard at 20 operations/s and a /healthz probe at 20/s: quiet, then under attack.
  const observe = () =>
    Promise.all([
      fixedRate(healthz, { method: 'GET', rate: 20, connections: 2, seconds: ATTACK_S }),
      fixedRate(gateway.url, { method: 'POST', body: dashboard, headers: dashboardUser, rate: 20, connections: 2, seconds: ATTACK_S }),
    ]);
  // The gateway's own CPU use per phase: unlike latencies, not inflated by other processes on the core.
  const gatewayPid = gateway.process.pid!;
  const metricsUrl = gateway.url.replace(/\/graphql$/, '/metrics');
  await eventLoopDelaySince(metricsUrl);
  const quietCpu = cpuSecondsOf(gatewayPid);
  const [quietHealthz, quietDashboard] = await observe();
  const attackCpu = cpuSecondsOf(gatewayPid);
  const quietLoop = await eventLoopDelaySince(metricsUrl);
  const [[attackHealthz, attackDashboard], attack] = await Promise.all([
    observe(),
    // A different text every time (a trailing comment): no cache of parsed or refused documents helps.
    fixedRate(gateway.url, {
      method: 'POST',
      bodyFor: (n) => JSON.stringify({ query: `${worst.query}\n# ${n}`, variables: worst.variables }),
      headers: attacker,
      rate: RATE_PER_SECOND,
      connections: 10,
      seconds: ATTACK_S,
    }),
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
