/**
 * Soak: mixed load for a bounded time while upstream and Redis misbehave. Prints JSON.
 *
 *   npm run bench:soak                 # SOAK_SECONDS=60
 *   SOAK_SECONDS=30 npm run bench:soak
 *
 * Processes (bench/harness): the gateway pinned to BENCH_SERVER_CPU (0), the CCC emulator to
 * BENCH_UPSTREAM_CPU (1), a redis-server of our own (test/helpers/redisServer), and the load from
 * this process (`npm run bench:soak` pins it to core 1; the redis-server it starts inherits that).
 *
 * Load: SOAK_CONCURRENCY workers (default 16), each sending one operation after another:
 *  - 60% `dashboard`: 7 days HOURLY ending now, one of 5 instances (warm; the open hour is
 *    refreshed once per CACHE_OPEN_TTL_MS);
 *  - 25% `cold`: one closed day HOURLY of a fresh instance (always one upstream call);
 *  - 15% `combined`: 30 days DAILY of 3 instances combined (warm after the first).
 *
 * Faults, on a schedule relative to SOAK_SECONDS (T):
 *  - emulator failures toggled through `POST /__emulator/options`: 30% `Throttling.User` +
 *    `ServiceUnavailable` during [0.08T, 0.22T), a full outage (100% `ServiceUnavailable`) during
 *    [0.40T, 0.62T), 30% `Throttling.User` alone during [0.75T, 0.90T) (`throttling30%`: throttling
 *    is not an outage, so this phase must end with 0 failed operations), none otherwise;
 *  - Redis stopped at 0.25T and restarted at 0.35T (skipped with an external REDIS_URL).
 *
 * Output: operations served, errors by code (overall and per phase: an operation counts in the
 * phase the fault driver had applied when it started, or in `boundary` if the phase changed
 * while it ran), p50/p99 latency, upstream calls (emulator stats), gateway counters (retries,
 * circuit transitions, Redis errors), /readyz samples per phase, and the gateway's RSS and heap
 * (from its /metrics) before, during and after.
 *
 * SOAK_MODE=memory (`npm run bench:soak:memory`, SOAK_SECONDS default 600): does the gateway's
 * memory stop growing under load over many instances? No faults; the same processes. Load:
 * SOAK_CONCURRENCY workers over SOAK_INSTANCES (default 1,000) distinct instances, picked at
 * random: 70% a 7-day HOURLY dashboard ending now (open: read from the bucket tiers, never the
 * response cache), 30% 7 closed days HOURLY ending at one of 3 recent midnights (final: stored
 * in the response cache). 1,000 instances x 168 hours is more than CACHE_MEMORY_MAX_BUCKETS
 * (50,000 by default) and their final answers more than RESPONSE_CACHE_MAX_BYTES (64 MiB), so
 * both bounded caches fill and evict.
 *
 * What is retained is bounded by the caches; how far RSS rises above that is V8's choice (under a
 * high allocation rate it lets the old generation grow to several times the live heap before a
 * full collection). So the gateway runs as production should: with its heap capped at what the
 * caches may hold plus room to work, `--max-old-space-size` = SOAK_GATEWAY_MAX_OLD_SPACE_MIB
 * (default: CACHE_MEMORY_MAX_BUCKETS x 1 KiB + RESPONSE_CACHE_MAX_BYTES + 128 MiB, rounded up to
 * 64 MiB; 0 leaves V8's default), and with `--trace-gc`, whose full collections (Mark-Compact)
 * tell the live heap.
 *
 * Every SOAK_SAMPLE_SECONDS (10) the curve gets the gateway's RSS, heap used and heap total (its
 * /metrics) and the live heap after its latest full collection. Verdict: the peak live heap
 * against the caches' bound (live heap before the load + CACHE_MEMORY_MAX_BUCKETS x 1 KiB, the
 * per-bucket target, + RESPONSE_CACHE_MAX_BYTES), the peak RSS against RSS before the load + the
 * heap cap, and a plateau when RSS (and the live heap) grew less than SOAK_PLATEAU_MIB (16) over
 * the last half of the run (least-squares slope x that half's duration).
 */
import { createWriteStream, readFileSync } from 'node:fs';
import os from 'node:os';
import { loadConfig } from '../src/config/config';
import { DAY_MS, HOUR_MS } from '../src/reports/intervals';
import { startRedisServer } from '../test/helpers/redisServer';
import { emulatorControl, gatewayEnvFor, SERVER_CPU, startEmulator, startGatewayProcess } from './harness';

const MODE = process.env.SOAK_MODE ?? 'faults';
if (MODE !== 'faults' && MODE !== 'memory') throw new Error('SOAK_MODE must be faults (default) or memory');
const SECONDS = Number(process.env.SOAK_SECONDS ?? (MODE === 'memory' ? 600 : 60));
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 16);
const UPSTREAM_LATENCY_MS = Number(process.env.SOAK_UPSTREAM_LATENCY_MS ?? 20);
const CIRCUIT_RESET_MS = 2_000;
if (!(SECONDS > 0) || !(CONCURRENCY > 0)) throw new Error('SOAK_SECONDS and SOAK_CONCURRENCY must be positive numbers');

const DASHBOARD = `query Dashboard($id: ID!, $s: Timestamp!, $e: Timestamp!) {
  intervalInstanceReport(instanceId: $id, startTime: $s, endTime: $e, interval: HOURLY) {
    statsTime closed inbound { callsOffered callsHandled callsAbandoned serviceLevel20 averageWaitTime } overall { totalCalls occupancyRate }
  }
}`;
const COLD = `query Cold($id: ID!, $s: Timestamp!, $e: Timestamp!) {
  intervalInstanceReport(instanceId: $id, startTime: $s, endTime: $e, interval: HOURLY) { statsTime inbound { callsOffered } }
}`;
const COMBINED = `query Combined($ids: [ID!]!, $s: Timestamp!, $e: Timestamp!) {
  combinedIntervalReport(instanceIds: $ids, startTime: $s, endTime: $e, interval: DAILY) { statsTime inbound { callsOffered callsHandled } }
}`;

type Kind = 'dashboard' | 'cold' | 'combined';
type Outcome = 'ok' | 'partial' | string;

interface Phase {
  name: string;
  from: number;
  to: number;
}

/** Fault phases in seconds from the start of the load. */
function schedule(total: number): { failures: (Phase & { rate: number; codes: string[] })[]; redis: Phase } {
  const at = (f: number) => f * total;
  return {
    failures: [
      { name: 'faults30%', from: at(0.08), to: at(0.22), rate: 0.3, codes: ['Throttling.User', 'ServiceUnavailable'] },
      // Long enough for the breaker to open under this mix (more than half of the attempts
      // in its 10 s rolling window must fail).
      { name: 'upstreamDown', from: at(0.4), to: at(0.62), rate: 1, codes: ['ServiceUnavailable'] },
      { name: 'throttling30%', from: at(0.75), to: at(0.9), rate: 0.3, codes: ['Throttling.User'] },
    ],
    redis: { name: 'redisDown', from: at(0.25), to: at(0.35) },
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return +sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(1);
}

function latencySummary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: +(sorted.at(-1) ?? NaN).toFixed(1) };
}

/** Samples of /metrics text: name{labels} value. */
function parseMetrics(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const samples = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || line.startsWith('#')) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

async function gatewayMetrics(origin: string) {
  const samples = parseMetrics(await (await fetch(`${origin}/metrics`)).text());
  const sum = (name: string) => samples.filter((s) => s.name === name).reduce((n, s) => n + s.value, 0);
  const by = (name: string, label: string) => {
    const out: Record<string, number> = {};
    for (const s of samples) if (s.name === name && s.labels[label] !== undefined) out[s.labels[label]] = (out[s.labels[label]] ?? 0) + s.value;
    return out;
  };
  return {
    rssMiB: +(sum('process_resident_memory_bytes') / 2 ** 20).toFixed(1),
    heapUsedMiB: +(sum('nodejs_heap_size_used_bytes') / 2 ** 20).toFixed(1),
    heapTotalMiB: +(sum('nodejs_heap_size_total_bytes') / 2 ** 20).toFixed(1),
    externalMiB: +(sum('nodejs_external_memory_bytes') / 2 ** 20).toFixed(1),
    operationsByOutcome: by('ccc_gateway_operations_total', 'outcome'),
    upstreamAttemptsByCode: by('ccc_gateway_upstream_calls_total', 'code'),
    retriesByCode: by('ccc_gateway_upstream_retries_total', 'code'),
    circuitTransitions: by('ccc_gateway_circuit_transitions_total', 'to'),
    circuitState: sum('ccc_gateway_circuit_state'),
    redisErrors: sum('ccc_gateway_redis_errors_total'),
    redisHealthy: sum('ccc_gateway_redis_healthy'),
    cacheLookups: Object.fromEntries(
      samples.filter((s) => s.name === 'ccc_gateway_cache_lookups_total').map((s) => [`${s.labels.tier}:${s.labels.result}`, s.value]),
    ),
    rateLimited: sum('ccc_gateway_rate_limited_total'),
    upstreamThrottled: sum('ccc_gateway_upstream_throttled_total'),
    upstreamConcurrencyLimit: sum('ccc_gateway_upstream_concurrency_limit'),
    /** Buckets fetched and written to the in-process tier (what its LRU holds, before eviction). */
    cacheWrites: by('ccc_gateway_cache_writes_total', 'kind'),
  };
}

async function main(): Promise<void> {
  const plan = schedule(SECONDS);
  const redis = await startRedisServer();
  const emulator = await startEmulator({ EMULATOR_LATENCY_MS: String(UPSTREAM_LATENCY_MS) });
  const gatewayEnv = gatewayEnvFor(emulator.url, {
    REDIS_URL: redis.url,
    CIRCUIT_RESET_MS: String(CIRCUIT_RESET_MS),
    // The limiter stays on (in Redis, with its in-process insurance when Redis is down), with a
    // limit this single-address load never reaches.
    RATE_LIMIT_PER_SECOND: '1000000',
    RATE_LIMIT_BURST: '1000000',
  });
  const gateway = await startGatewayProcess(gatewayEnv);
  const origin = new URL(gateway.url).origin;
  // SOAK_GATEWAY_LOG=<file>: the gateway's log lines (from readiness on) for a closer look.
  if (process.env.SOAK_GATEWAY_LOG) {
    const log = createWriteStream(process.env.SOAK_GATEWAY_LOG);
    gateway.process.stdout!.on('data', (chunk: Buffer) => log.write(chunk));
    gateway.process.stderr!.on('data', (chunk: Buffer) => log.write(chunk));
  }

  const hour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  const closedDay = hour - 3 * DAY_MS;
  const dashboards = Array.from({ length: 5 }, (_, i) => ({ id: `ccc-demo-${i + 1}`, s: hour - 7 * DAY_MS }));
  const combinedIds = ['ccc-demo-1', 'ccc-demo-2', 'ccc-demo-3'];
  let coldSequence = 0;

  function request(kind: Kind, dashboard?: number): { query: string; variables: object } {
    if (kind === 'dashboard') {
      const d = dashboards[dashboard ?? Math.floor(Math.random() * dashboards.length)];
      return { query: DASHBOARD, variables: { id: d.id, s: d.s, e: Date.now() } };
    }
    if (kind === 'cold') {
      const n = coldSequence++;
      return { query: COLD, variables: { id: `ccc-sim-soak-${n}`, s: closedDay - DAY_MS, e: closedDay } };
    }
    return { query: COMBINED, variables: { ids: combinedIds, s: hour - 30 * DAY_MS, e: Date.now() } };
  }
  const pickKind = (): Kind => {
    const r = Math.random();
    return r < 0.6 ? 'dashboard' : r < 0.85 ? 'cold' : 'combined';
  };

  async function send(kind: Kind, dashboard?: number): Promise<{ outcome: Outcome; codes: string[]; ms: number }> {
    const { query, variables } = request(kind, dashboard);
    const started = performance.now();
    try {
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      const answer = (await response.json()) as { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] };
      const ms = performance.now() - started;
      const codes = (answer.errors ?? []).map((e) => e.extensions?.code ?? 'NO_CODE');
      if (response.status !== 200 && codes.length === 0) codes.push(`HTTP_${response.status}`);
      if (codes.length === 0) return { outcome: 'ok', codes, ms };
      const someData = answer.data && Object.values(answer.data).some((v) => v !== null);
      return { outcome: someData ? 'partial' : codes[0], codes, ms };
    } catch (error) {
      return { outcome: 'TRANSPORT_ERROR', codes: ['TRANSPORT_ERROR'], ms: performance.now() - started };
    }
  }

  // Warm-up: every warm range once, then the "before" memory reading.
  await Promise.all(dashboards.map((_, i) => send('dashboard', i)));
  await send('combined');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const before = await gatewayMetrics(origin);
  await emulatorControl(emulator.url, 'reset');

  const latencies: number[] = [];
  const okLatencies: number[] = [];
  const byKind: Record<string, { operations: number; failed: number; latencies: number[] }> = {};
  const errorsByCode: Record<string, number> = {};
  const outcomes: Record<string, number> = {};
  const perPhase: Record<string, { operations: number; outcomes: Record<string, number>; readyz: Record<string, number> }> = {};
  const phaseStats = (name: string) => (perPhase[name] ??= { operations: 0, outcomes: {}, readyz: {} });
  const events: { atSeconds: number; event: string }[] = [];
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const note = (event: string) => events.push({ atSeconds: +elapsed().toFixed(2), event });

  // Fault driver. `applied` is the phase in force (set once the change took effect); `epoch`
  // counts changes, so an operation can tell whether it straddled one.
  let applied = 'calm';
  let epoch = 0;
  const apply = (phase: string, event: string) => {
    applied = phase;
    epoch++;
    note(event);
  };
  const driver = (async () => {
    let currentFailurePhase = 'calm';
    let redisState: 'up' | 'down' | 'back' = 'up';
    while (elapsed() < SECONDS) {
      const now = elapsed();
      const phase = plan.failures.find((p) => now >= p.from && now < p.to);
      const rate = phase?.rate ?? 0;
      if ((phase?.name ?? 'calm') !== currentFailurePhase) {
        await emulatorControl(emulator.url, 'options', { failures: { rate, codes: phase?.codes ?? ['ServiceUnavailable'], seed: 7 } });
        currentFailurePhase = phase?.name ?? 'calm';
        apply(currentFailurePhase, `upstream failures ${Math.round(rate * 100)}%${phase ? ` ${phase.codes.join(' + ')}` : ''}`);
      }
      if (!redis.external && redisState === 'up' && now >= plan.redis.from) {
        await redis.stop();
        redisState = 'down';
        apply(plan.redis.name, 'redis stopped');
      } else if (!redis.external && redisState === 'down' && now >= plan.redis.to) {
        await redis.restart();
        redisState = 'back';
        apply('calm', 'redis restarted');
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (redisState === 'down') await redis.restart();
  })();

  // Memory of the gateway, every tenth of the run.
  const memory: { atSeconds: number; rssMiB: number; heapUsedMiB: number; upstreamConcurrencyLimit: number }[] = [];
  const memorySampler = (async () => {
    while (elapsed() < SECONDS) {
      await new Promise((resolve) => setTimeout(resolve, (SECONDS * 1000) / 10));
      const m = await gatewayMetrics(origin).catch(() => undefined);
      if (m) memory.push({ atSeconds: +elapsed().toFixed(1), rssMiB: m.rssMiB, heapUsedMiB: m.heapUsedMiB, upstreamConcurrencyLimit: m.upstreamConcurrencyLimit });
    }
  })();

  // Readiness sampler: one probe per second, counted per phase.
  const sampler = (async () => {
    while (elapsed() < SECONDS) {
      const phase = applied;
      try {
        const body = (await (await fetch(`${origin}/readyz`)).json()) as { status: string };
        const stats = phaseStats(phase).readyz;
        stats[body.status] = (stats[body.status] ?? 0) + 1;
      } catch {
        const stats = phaseStats(phase).readyz;
        stats.unreachable = (stats.unreachable ?? 0) + 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  })();

  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (elapsed() < SECONDS) {
        const startPhase = applied;
        const startEpoch = epoch;
        const kind = pickKind();
        const result = await send(kind);
        const phase = epoch === startEpoch ? startPhase : 'boundary';
        latencies.push(result.ms);
        if (result.outcome === 'ok') okLatencies.push(result.ms);
        const k = (byKind[kind] ??= { operations: 0, failed: 0, latencies: [] });
        k.operations++;
        k.latencies.push(result.ms);
        if (result.outcome !== 'ok') k.failed++;
        outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1;
        for (const code of result.codes) errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
        const p = phaseStats(phase);
        p.operations++;
        p.outcomes[result.outcome] = (p.outcomes[result.outcome] ?? 0) + 1;
      }
    }),
  );
  const loadSeconds = elapsed();
  await Promise.all([driver, sampler, memorySampler]);
  await emulatorControl(emulator.url, 'options', { failures: { rate: 0 } });

  const upstream = (await emulatorControl(emulator.url, 'stats')) as { callsReceived: number; byCode: Record<string, number> };
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const after = await gatewayMetrics(origin);
  const finalReadyz = (await (await fetch(`${origin}/readyz`)).json()) as { status: string };

  const operations = latencies.length;
  console.log(
    JSON.stringify(
      {
        config: {
          soakSeconds: SECONDS,
          concurrency: CONCURRENCY,
          upstreamLatencyMs: UPSTREAM_LATENCY_MS,
          circuitResetMs: CIRCUIT_RESET_MS,
          schedule: plan,
          machine: { cpus: os.cpus().length, node: process.version, serverCpu: SERVER_CPU, redisExternal: redis.external },
        },
        operations: {
          served: operations,
          perSecond: Math.round(operations / loadSeconds),
          ok: outcomes.ok ?? 0,
          failed: operations - (outcomes.ok ?? 0),
          byOutcome: outcomes,
          errorsByCode,
          latency: latencySummary(latencies),
          okLatency: latencySummary(okLatencies),
          byKind: Object.fromEntries(Object.entries(byKind).map(([kind, k]) => [kind, { operations: k.operations, failed: k.failed, ...latencySummary(k.latencies) }])),
        },
        perPhase,
        events,
        upstream: { callsReceived: upstream.callsReceived, byCode: upstream.byCode },
        gateway: {
          before: { rssMiB: before.rssMiB, heapUsedMiB: before.heapUsedMiB },
          after: { rssMiB: after.rssMiB, heapUsedMiB: after.heapUsedMiB },
          during: memory,
          counters: {
            operationsByOutcome: after.operationsByOutcome,
            upstreamAttemptsByCode: after.upstreamAttemptsByCode,
            retriesByCode: after.retriesByCode,
            circuitTransitions: after.circuitTransitions,
            circuitStateAtEnd: after.circuitState,
            redisErrors: after.redisErrors,
            redisHealthyAtEnd: after.redisHealthy,
            cacheLookups: after.cacheLookups,
            rateLimited: after.rateLimited,
            upstreamThrottled: after.upstreamThrottled,
            upstreamConcurrencyLimitAtEnd: after.upstreamConcurrencyLimit,
            cacheWrites: after.cacheWrites,
          },
          readyzAtEnd: finalReadyz.status,
          stillRunning: gateway.process.exitCode === null,
        },
      },
      null,
      2,
    ),
  );
  await Promise.all([gateway.stop(), emulator.stop()]);
  if (!redis.external) await redis.stop();
}

const INSTANCES = Number(process.env.SOAK_INSTANCES ?? 1_000);
const SAMPLE_SECONDS = Number(process.env.SOAK_SAMPLE_SECONDS ?? 10);
const PLATEAU_MIB = Number(process.env.SOAK_PLATEAU_MIB ?? 16);
const MEMORY_DASHBOARD = `query Dashboard($id: ID!, $s: Timestamp!, $e: Timestamp!) {
  intervalInstanceReport(instanceId: $id, startTime: $s, endTime: $e, interval: HOURLY) {
    statsTime closed inbound { callsOffered callsHandled callsAbandoned serviceLevel20 averageWaitTime } overall { totalCalls occupancyRate }
  }
}`;

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const sxy = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return sxy / sxx;
}

async function memorySoak(): Promise<void> {
  if (!(INSTANCES > 0) || !(SAMPLE_SECONDS > 0)) throw new Error('SOAK_INSTANCES and SOAK_SAMPLE_SECONDS must be positive numbers');
  const redis = await startRedisServer();
  const emulator = await startEmulator({ EMULATOR_LATENCY_MS: String(UPSTREAM_LATENCY_MS) });
  const gatewayEnv = gatewayEnvFor(emulator.url, {
    REDIS_URL: redis.url,
    RATE_LIMIT_PER_SECOND: '1000000',
    RATE_LIMIT_BURST: '1000000',
    // The cache bounds under test: as configured in this environment, else the defaults.
    ...Object.fromEntries(['CACHE_MEMORY_MAX_BUCKETS', 'RESPONSE_CACHE_MAX_BYTES', 'CACHE_OPEN_TTL_MS'].flatMap((name) => (process.env[name] ? [[name, process.env[name]!]] : []))),
  });
  const { cache } = loadConfig(gatewayEnv);
  const memoryTierBoundMiB = (cache.memoryMaxBuckets * 1024) / 2 ** 20;
  const responseCacheBoundMiB = cache.responseCacheMaxBytes / 2 ** 20;
  const heapCapMiB = Number(process.env.SOAK_GATEWAY_MAX_OLD_SPACE_MIB ?? Math.ceil((memoryTierBoundMiB + responseCacheBoundMiB + 128) / 64) * 64);
  const gateway = await startGatewayProcess(gatewayEnv, ['--trace-gc', ...(heapCapMiB > 0 ? [`--max-old-space-size=${heapCapMiB}`] : [])]);
  const origin = new URL(gateway.url).origin;
  /** Heap after the gateway's latest full collection (its --trace-gc lines), MiB. */
  const liveHeapMiB = (): number | undefined => {
    const fullCollections = [...readFileSync(gateway.logFile, 'utf8').matchAll(/Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(/g)];
    const last = fullCollections.at(-1);
    return last ? Number(last[1]) : undefined;
  };

  const hour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  const midnight = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const instanceIds = Array.from({ length: INSTANCES }, (_, i) => `ccc-sim-mem-${i}`);
  const touched = new Set<string>();
  const request = (): { query: string; variables: object; kind: 'dashboard' | 'closed' } => {
    const id = instanceIds[Math.floor(Math.random() * INSTANCES)];
    if (Math.random() < 0.7) {
      touched.add(`${id}|open`);
      return { kind: 'dashboard', query: MEMORY_DASHBOARD, variables: { id, s: hour - 7 * DAY_MS, e: Date.now() } };
    }
    const end = midnight - Math.floor(Math.random() * 3) * DAY_MS;
    touched.add(`${id}|${end}`);
    return { kind: 'closed', query: MEMORY_DASHBOARD, variables: { id, s: end - 7 * DAY_MS, e: end } };
  };

  const before = await gatewayMetrics(origin);
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const outcomes: Record<string, number> = {};
  const latencies: Record<string, number[]> = { dashboard: [], closed: [] };
  const curve: { atSeconds: number; rssMiB: number; heapUsedMiB: number; heapTotalMiB: number; liveHeapMiB?: number; externalMiB: number; operations: number }[] = [];
  const sample = async () => {
    const m = await gatewayMetrics(origin).catch(() => undefined);
    const operations = Object.values(outcomes).reduce((a, b) => a + b, 0);
    if (m) curve.push({ atSeconds: +elapsed().toFixed(1), rssMiB: m.rssMiB, heapUsedMiB: m.heapUsedMiB, heapTotalMiB: m.heapTotalMiB, liveHeapMiB: liveHeapMiB(), externalMiB: m.externalMiB, operations });
  };
  const sampler = (async () => {
    await sample();
    while (elapsed() < SECONDS) {
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_SECONDS * 1000));
      await sample();
    }
  })();

  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (elapsed() < SECONDS) {
        const { kind, query, variables } = request();
        const started = performance.now();
        let outcome: string;
        try {
          const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
          const answer = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
          outcome = answer.errors ? (answer.errors[0].extensions?.code ?? 'NO_CODE') : 'ok';
        } catch {
          outcome = 'TRANSPORT_ERROR';
        }
        latencies[kind].push(performance.now() - started);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
    }),
  );
  await sampler;
  const upstream = (await emulatorControl(emulator.url, 'stats')) as { callsReceived: number };

  const loadSeconds = elapsed();
  const peakRss = Math.max(...curve.map((p) => p.rssMiB));
  const peakHeap = Math.max(...curve.map((p) => p.heapUsedMiB));
  const lastHalf = curve.filter((p) => p.atSeconds >= loadSeconds / 2);
  const halfMinutes = (lastHalf.at(-1)!.atSeconds - lastHalf[0].atSeconds) / 60;
  const rssSlope = slope(lastHalf.map((p) => ({ x: p.atSeconds / 60, y: p.rssMiB })));
  const liveSamples = lastHalf.filter((p) => p.liveHeapMiB !== undefined);
  const liveSlope = slope(liveSamples.map((p) => ({ x: p.atSeconds / 60, y: p.liveHeapMiB! })));
  const peakLive = Math.max(...curve.map((p) => p.liveHeapMiB ?? -Infinity));
  const liveBoundMiB = before.heapUsedMiB + memoryTierBoundMiB + responseCacheBoundMiB;
  const rssBoundMiB = heapCapMiB > 0 ? before.rssMiB + heapCapMiB : Infinity;
  const fullCollections = [...readFileSync(gateway.logFile, 'utf8').matchAll(/Mark-Compact/g)].length;
  const operations = Object.values(outcomes).reduce((a, b) => a + b, 0);
  console.log(
    JSON.stringify(
      {
        config: {
          mode: 'memory',
          soakSeconds: SECONDS,
          concurrency: CONCURRENCY,
          instances: INSTANCES,
          sampleSeconds: SAMPLE_SECONDS,
          upstreamLatencyMs: UPSTREAM_LATENCY_MS,
          bounds: { CACHE_MEMORY_MAX_BUCKETS: cache.memoryMaxBuckets, RESPONSE_CACHE_MAX_BYTES: cache.responseCacheMaxBytes, CACHE_OPEN_TTL_MS: cache.openTtlMs, maxOldSpaceMiB: heapCapMiB || 'V8 default' },
          machine: { cpus: os.cpus().length, node: process.version, serverCpu: SERVER_CPU, loadAverage: os.loadavg().map((l) => +l.toFixed(2)) },
        },
        operations: {
          served: operations,
          perSecond: Math.round(operations / loadSeconds),
          byOutcome: outcomes,
          latency: Object.fromEntries(Object.entries(latencies).map(([kind, values]) => [kind, latencySummary(values)])),
          // Distinct (instance, range) pairs asked for: each open one is 168 buckets, each closed one
          // 168 buckets and one final answer.
          distinctRanges: touched.size,
          upstreamCalls: upstream.callsReceived,
        },
        curve,
        verdict: {
          rssBeforeMiB: before.rssMiB,
          heapUsedBeforeMiB: before.heapUsedMiB,
          peakRssMiB: peakRss,
          peakHeapUsedMiB: peakHeap,
          peakLiveHeapMiB: peakLive,
          fullCollections,
          liveHeapBoundMiB: +liveBoundMiB.toFixed(1),
          liveHeapBoundParts: { heapUsedBefore: before.heapUsedMiB, memoryTier: +memoryTierBoundMiB.toFixed(1), responseCache: +responseCacheBoundMiB.toFixed(1) },
          liveHeapUnderBound: peakLive <= liveBoundMiB,
          rssBoundMiB: Number.isFinite(rssBoundMiB) ? +rssBoundMiB.toFixed(1) : 'none (V8 default heap limit)',
          rssUnderBound: peakRss <= rssBoundMiB,
          lastHalf: {
            fromSeconds: lastHalf[0].atSeconds,
            rssSlopeMiBPerMinute: +rssSlope.toFixed(2),
            rssGrowthMiB: +(rssSlope * halfMinutes).toFixed(1),
            liveHeapSlopeMiBPerMinute: +liveSlope.toFixed(2),
            liveHeapGrowthMiB: +(liveSlope * halfMinutes).toFixed(1),
          },
          plateau: rssSlope * halfMinutes < PLATEAU_MIB && !(liveSlope * halfMinutes >= PLATEAU_MIB),
        },
        gatewayStillRunning: gateway.process.exitCode === null,
      },
      null,
      2,
    ),
  );
  await Promise.all([gateway.stop(), emulator.stop()]);
  if (!redis.external) await redis.stop();
}

(MODE === 'memory' ? memorySoak() : main()).catch((error) => {
  console.error(error);
  process.exit(1);
});
