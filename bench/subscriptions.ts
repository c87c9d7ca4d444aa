/**
 * Live subscriptions at scale: SUBSCRIPTIONS_SUBSCRIBERS (1,000) real `graphql-ws` clients on one
 * instance's open hour, spread round robin over two gateway replicas sharing one redis-server.
 * Prints JSON.
 *
 *   npm run bench:subscriptions
 *   SUBSCRIPTIONS_SUBSCRIBERS=200 SUBSCRIPTIONS_STEPS=5 SUBSCRIPTIONS_TTL_MS=2000 npm run bench:subscriptions
 *
 * Processes (bench/harness): both replicas pinned to BENCH_SERVER_CPU (0), the CCC emulator (call
 * counting) to BENCH_UPSTREAM_CPU (1), a redis-server of our own on a free port
 * (test/helpers/redisServer), and the subscribers in this process (`npm run bench:subscriptions`
 * pins it to core 1; the redis-server inherits that).
 *
 * The replicas run with CACHE_OPEN_TTL_MS = SUBSCRIPTIONS_TTL_MS (3 s), so one poll per TTL makes
 * a run short. Steps: SUBSCRIPTIONS_STEPS (10) times, the emulator's `openHourExtraCalls` is set
 * to k x MARKER (k = 1, 2, ...), which changes the open hour's `callsOffered` at upstream; the
 * bench waits until every subscriber has received a bucket showing step k (floor(callsOffered /
 * MARKER) = k), then sets the next step. So that only the steps change the hour, emulator and
 * replicas run in a fixed-offset zone where it is now about 03:00 (the simulated centers are
 * closed from 01:00 to 06:59, no traffic of their own): SUBSCRIPTIONS_ZONE overrides it (e.g.
 * `Asia/Shanghai`: the simulation then changes the hour too, and those pushes are counted).
 *
 * Figures:
 *  - upstream calls per TTL: ListIntervalInstanceReport calls for the instance (emulator log) over
 *    the step window, divided by window / TTL (target: 1, whatever the subscribers and replicas);
 *    polls per replica (`ccc_gateway_live_polls_total`): one replica polls, the other's stays 0;
 *  - delivery delay: for each step, from the arrival at the emulator of the upstream call that
 *    carried it (the last call before the step's first delivery: the snapshot's refresh; its
 *    answer is a little later, so this is an upper bound)
 *    to the arrival of that bucket at each subscriber (Date.now() in this process; same host
 *    clock); p50/p99/max over every subscriber and step, per replica role (the polling replica,
 *    the one fed through Redis pub/sub) and overall (target: p99 < 1 s);
 *  - memory per idle subscriber: the replicas' RSS and V8 heap used (their /metrics, right after
 *    a full collection: they run with `--expose-gc` and bench/gcOnSignal.js, which collects on
 *    SIGUSR2) with a warm-up batch of 1% of the subscribers connected (the series, code paths and
 *    servers warm), then with all of them connected and idle; the delta per 1,000 subscribers
 *    and per subscriber;
 *  - CPU per push per 1,000 subscribers: the replicas' `process_cpu_seconds_total`
 *    (process.cpuUsage, user + system), both together. The baseline, in the same run: 6 idle
 *    intervals of one TTL with every subscriber connected and upstream unchanged (polls, upstream
 *    calls, Redis, timers, keepalives go on; no push in the quiet zone); its median rate. Each step
 *    runs from its change to the next one (one poll each); its cost is its CPU beyond the idle
 *    rate over its duration, per push (bucket versions each subscriber received in it), scaled
 *    to 1,000 subscribers; median and mean over the steps (a shared machine adds spikes).
 *
 * Indicative on a shared machine: the JSON carries the load average at start and end.
 */
import os from 'node:os';
import { join } from 'node:path';
import { startRedisServer } from '../test/helpers/redisServer';
import { startSubscribers, type TestSubscriber } from '../test/helpers/subscribers';
import { DIST, emulatorControl, gatewayEnvFor, SERVER_CPU, startEmulator, startGatewayProcess, UPSTREAM_CPU, type Started } from './harness';

const SUBSCRIBERS = Number(process.env.SUBSCRIPTIONS_SUBSCRIBERS ?? 1_000);
const STEPS = Number(process.env.SUBSCRIPTIONS_STEPS ?? 10);
const TTL_MS = Number(process.env.SUBSCRIPTIONS_TTL_MS ?? 3_000);
const INSTANCE = process.env.SUBSCRIPTIONS_INSTANCE ?? 'ccc-test';
const ZONE = process.env.SUBSCRIPTIONS_ZONE ?? quietZone();

/** `Etc/GMT-N` (UTC+N; the sign is POSIX's) where the local time is now 03:xx. */
function quietZone(): string {
  let offset = (3 - new Date().getUTCHours() + 24) % 24;
  if (offset > 14) offset -= 24;
  return offset === 0 ? 'Etc/GMT' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}
if (!(SUBSCRIBERS > 0) || !(STEPS > 0) || !(TTL_MS >= 500)) throw new Error('SUBSCRIPTIONS_SUBSCRIBERS and SUBSCRIPTIONS_STEPS must be positive, SUBSCRIPTIONS_TTL_MS at least 500');
/** Far above any simulated hour's own calls, so `floor(callsOffered / MARKER)` is the step. */
const MARKER = 100_000;
/** How long one step may take before the bench gives up on it: a few polls. */
const STEP_TIMEOUT_MS = 5 * TTL_MS + 10_000;
/** Idle intervals of one TTL each (one poll each) for the CPU baseline. */
const IDLE_INTERVALS = 6;

/** A wallboard's selection: a few headline figures of the open hour. */
const LIVE = `subscription Wallboard($id: ID!) {
  intervalReportUpdates(instanceId: $id) {
    id statsTime closed
    inbound { callsOffered callsHandled callsAbandoned serviceLevel20 averageWaitTime }
    overall { totalCalls occupancyRate }
  }
}`;

const progress = (message: string) => process.stderr.write(`[bench:subscriptions] ${message}\n`);
const round = (n: number, digits = 1) => +n.toFixed(digits);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
function summary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50Ms: round(percentile(sorted, 50)), p99Ms: round(percentile(sorted, 99)), maxMs: round(sorted.at(-1) ?? NaN) };
}

/** Samples of /metrics text: name{labels} value. */
async function metricsOf(replica: Started): Promise<{ name: string; labels: string; value: number }[]> {
  const text = await (await fetch(`${new URL(replica.url).origin}/metrics`)).text();
  const samples = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (match && !line.startsWith('#')) samples.push({ name: match[1], labels: match[2] ?? '', value: Number(match[3]) });
  }
  return samples;
}
const sum = (samples: { name: string; value: number }[], name: string) => samples.filter((s) => s.name === name).reduce((n, s) => n + s.value, 0);

/** CPU time (user + system, process.cpuUsage) of the replicas together, in ms. */
async function totalCpuMs(replicas: Started[]): Promise<number> {
  const seconds = await Promise.all(replicas.map(async (r) => sum(await metricsOf(r), 'process_cpu_seconds_total')));
  return seconds.reduce((a, b) => a + b, 0) * 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
}

/** RSS and heap used of each replica right after a full collection (the median of 3). */
async function memoryOf(replicas: Started[]): Promise<{ rssMiB: number; heapUsedMiB: number }[]> {
  const samples: { rssMiB: number; heapUsedMiB: number }[][] = replicas.map(() => []);
  for (let i = 0; i < 3; i++) {
    for (const replica of replicas) replica.process.kill('SIGUSR2');
    await sleep(500);
    const all = await Promise.all(replicas.map(metricsOf));
    all.forEach((m, r) => samples[r].push({ rssMiB: sum(m, 'process_resident_memory_bytes') / 2 ** 20, heapUsedMiB: sum(m, 'nodejs_heap_size_used_bytes') / 2 ** 20 }));
  }
  return samples.map((s) => ({ rssMiB: round(median(s.map((x) => x.rssMiB))), heapUsedMiB: round(median(s.map((x) => x.heapUsedMiB))) }));
}

const stepOf = (event: { result: { data?: any } }): number => {
  const bucket = event.result.data?.intervalReportUpdates;
  return bucket ? Math.floor(bucket.inbound.callsOffered / MARKER) : -1;
};

async function upstreamCalls(emulatorUrl: string): Promise<{ at: number }[]> {
  const stats = await emulatorControl(emulatorUrl, 'stats');
  return (stats.log as { at: number; action: string | null; instanceId: string | null }[]).filter(
    (c) => c.action === 'ListIntervalInstanceReport' && c.instanceId === INSTANCE,
  );
}

async function main(): Promise<void> {
  const loadAverageAtStart = os.loadavg().map((l) => round(l, 2));
  const redis = await startRedisServer();
  const emulator = await startEmulator({ EMULATOR_TIMEZONE: ZONE });
  const env = gatewayEnvFor(emulator.url, {
    REDIS_URL: redis.url,
    CCC_TIMEZONE: ZONE,
    CACHE_OPEN_TTL_MS: String(TTL_MS),
    // One bucket per poll: the previous hour is final as soon as it ends.
    CACHE_SETTLE_DELAY_MS: '0',
    // Every subscriber comes from 127.0.0.1, one caller for the gateway.
    MAX_SUBSCRIPTIONS_PER_CALLER: String(SUBSCRIBERS),
    RATE_LIMIT_PER_SECOND: '0',
    REJECTED_REQUESTS_PER_MINUTE: '0',
  });
  const nodeArgs = ['--expose-gc', '-r', join(DIST, 'bench/gcOnSignal.js')];
  const replicas = [await startGatewayProcess(env, nodeArgs), await startGatewayProcess(env, nodeArgs)];
  let subscribers: TestSubscriber[] = [];
  try {
    progress(`replicas ${replicas.map((r) => r.url).join(', ')}; idle baseline`);
    // Baseline: the replicas idle, without subscribers (after their start-up has settled).
    await sleep(3_000);
    // A warm-up batch, then the rest; each subscriber gets its current bucket.
    const urls = replicas.map((r) => r.url);
    const warm = Math.max(2, Math.round(SUBSCRIBERS / 100));
    progress(`${warm} warm-up subscribers, then ${SUBSCRIBERS - warm} more`);
    subscribers = await startSubscribers(urls, warm, LIVE, { id: INSTANCE });
    await sleep(TTL_MS);
    const memoryBefore = await memoryOf(replicas);
    const connectStart = Date.now();
    // Round robin continues where the warm-up batch stopped.
    const rest = await startSubscribers(warm % 2 === 0 ? urls : [...urls].reverse(), SUBSCRIBERS - warm, LIVE, { id: INSTANCE }, { firstEventTimeoutMs: 120_000 });
    subscribers = [...subscribers, ...rest];
    const connectMs = Date.now() - connectStart;
    await sleep(2 * TTL_MS);
    const memoryIdle = await memoryOf(replicas);
    await sleep(TTL_MS); // past the collections memoryOf asked for

    progress(`idle baseline: ${IDLE_INTERVALS} x ${TTL_MS} ms`);
    const eventsAtIdleStart = subscribers.map((s) => s.events.length);
    const idleIntervals: { ms: number; cpuMs: number }[] = [];
    for (let t = 0; t < IDLE_INTERVALS; t++) {
      const [at, cpu] = [Date.now(), await totalCpuMs(replicas)];
      await sleep(TTL_MS);
      idleIntervals.push({ cpuMs: (await totalCpuMs(replicas)) - cpu, ms: Date.now() - at });
    }
    const idlePushesPerSubscriber = subscribers.reduce((n, s, i) => n + s.events.length - eventsAtIdleStart[i], 0) / SUBSCRIBERS;
    const idleCpuMsPerSecond = median(idleIntervals.map((t) => (t.cpuMs * 1000) / t.ms));

    const pollsBefore = await Promise.all(replicas.map(async (r) => sum(await metricsOf(r), 'ccc_gateway_live_polls_total')));
    const pollerIndex = (await Promise.all(replicas.map(async (r) => (await metricsOf(r)).find((s) => s.name === 'ccc_gateway_live_series' && s.labels.includes('polled'))?.value ?? 0))).findIndex((v) => v > 0);

    progress(`${STEPS} steps, one every poll (${TTL_MS} ms)`);
    // Steps: change upstream, wait for every subscriber to see it.
    const eventsAtWindowStart = subscribers.map((s) => s.events.length);
    const windowStart = Date.now();
    const steps: { step: number; missing: number; setAt: number; cpuAtSet: number; pushesPerSubscriber?: number; ms?: number; cpuMs?: number }[] = [];
    let eventsAtStep = subscribers.map((s) => s.events.length);
    const closeStep = async (at: number, cpu: number) => {
      const previous = steps.at(-1);
      if (!previous) return;
      previous.ms = at - previous.setAt;
      previous.cpuMs = cpu - previous.cpuAtSet;
      const events = subscribers.map((s) => s.events.length);
      previous.pushesPerSubscriber = events.reduce((n, e, i) => n + e - eventsAtStep[i], 0) / SUBSCRIBERS;
      eventsAtStep = events;
    };
    for (let k = 1; k <= STEPS; k++) {
      // Steps tile the window: each runs from its change to the next one and holds one poll.
      const [setAt, cpuAtSet] = [Date.now(), await totalCpuMs(replicas)];
      await closeStep(setAt, cpuAtSet);
      await emulatorControl(emulator.url, 'options', { openHourExtraCalls: k * MARKER });
      const deadline = setAt + STEP_TIMEOUT_MS;
      let missing = SUBSCRIBERS;
      while (Date.now() < deadline) {
        missing = subscribers.filter((s) => !s.events.some((e) => stepOf(e) === k)).length;
        if (missing === 0) break;
        await sleep(50);
      }
      steps.push({ step: k, missing, setAt, cpuAtSet });
    }
    await sleep(Math.max(0, steps.at(-1)!.setAt + TTL_MS - Date.now()));
    await closeStep(Date.now(), await totalCpuMs(replicas));
    const windowEnd = Date.now();
    const windowMs = windowEnd - windowStart;
    const pollsAfter = await Promise.all(replicas.map(async (r) => sum(await metricsOf(r), 'ccc_gateway_live_polls_total')));

    // Upstream calls in the window, and the refresh that first carried each step.
    const calls = await upstreamCalls(emulator.url);
    const windowCalls = calls.filter((c) => c.at >= windowStart && c.at <= windowEnd);
    const delays: { all: number[]; poller: number[]; pubsub: number[] } = { all: [], poller: [], pubsub: [] };
    let undelivered = 0;
    for (const { step } of steps) {
      // The refresh that carried the step: the last upstream call before its first delivery.
      const firstDelivery = Math.min(...subscribers.map((s) => s.events.find((e) => stepOf(e) === step)?.at ?? Infinity));
      const refresh = calls.filter((c) => c.at <= firstDelivery).at(-1);
      if (!refresh) continue;
      subscribers.forEach((s, i) => {
        const received = s.events.find((e) => stepOf(e) === step);
        if (!received) return void undelivered++;
        const delay = received.at - refresh.at;
        delays.all.push(delay);
        (i % replicas.length === pollerIndex ? delays.poller : delays.pubsub).push(delay);
      });
    }

    // Pushes: bucket versions each subscriber received in the window (the steps and the
    // simulation's own changes), averaged over subscribers.
    const pushesPerSubscriber = subscribers.reduce((n, s, i) => n + s.events.length - eventsAtWindowStart[i], 0) / SUBSCRIBERS;
    const errors = subscribers.reduce((n, s) => n + s.events.filter((e) => e.result.errors).length, 0);
    const closed = subscribers.filter((s) => s.closes.length > 0 || s.error !== undefined).length;
    // Per step: its CPU beyond the idle rate over its duration, per push, per 1,000 subscribers.
    const perThousand = 1000 / SUBSCRIBERS;
    const costs = steps.map((s) => ((s.cpuMs! - (idleCpuMsPerSecond * s.ms!) / 1000) / Math.max(s.pushesPerSubscriber!, 1)) * perThousand);
    const memoryDelta = (key: 'rssMiB' | 'heapUsedMiB') => memoryIdle.reduce((n, m, i) => n + m[key] - memoryBefore[i][key], 0) / (SUBSCRIBERS - warm);

    process.stdout.write(
      `${JSON.stringify(
        {
          benchmark: 'subscriptions',
          config: { subscribers: SUBSCRIBERS, replicas: replicas.length, steps: STEPS, cacheOpenTtlMs: TTL_MS, instance: INSTANCE, zone: ZONE, redis: 'one redis-server (own, free port)' },
          machine: { cpus: os.cpus().length, node: process.version, serverCpu: SERVER_CPU, upstreamCpu: UPSTREAM_CPU, loadAverageAtStart, loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)) },
          connect: { subscribers: SUBSCRIBERS - warm, allSubscribedWithFirstBucketMs: connectMs },
          upstream: {
            windowSeconds: round(windowMs / 1000),
            calls: windowCalls.length,
            callsPerTtl: round(windowCalls.length / (windowMs / TTL_MS), 2),
            pollsPerReplica: pollsAfter.map((p, i) => p - pollsBefore[i]),
            pollingReplica: pollerIndex,
          },
          delivery: {
            from: 'upstream call arrival at the emulator (the refresh) to the bucket arriving at the subscriber',
            steps: steps.map((s) => ({ step: s.step, subscribersMissing: s.missing })),
            undelivered,
            all: summary(delays.all),
            pollingReplica: summary(delays.poller),
            pubSubReplica: summary(delays.pubsub),
            targetP99Ms: 1000,
            errorEvents: errors,
            subscribersClosed: closed,
          },
          memory: {
            afterGc: true,
            withWarmUpSubscribers: { subscribers: warm, replicas: memoryBefore },
            withAllSubscribersIdle: { subscribers: SUBSCRIBERS, replicas: memoryIdle },
            rssMiBPer1000Subscribers: round(memoryDelta('rssMiB') * 1000),
            heapUsedMiBPer1000Subscribers: round(memoryDelta('heapUsedMiB') * 1000),
            rssKiBPerSubscriber: round(memoryDelta('rssMiB') * 1024),
            heapUsedKiBPerSubscriber: round(memoryDelta('heapUsedMiB') * 1024),
          },
          cpu: {
            of: 'both replicas together, process_cpu_seconds_total',
            idle: { intervalsCpuMs: idleIntervals.map((t) => round(t.cpuMs)), medianCpuMsPerSecond: round(idleCpuMsPerSecond), pushesPerSubscriber: round(idlePushesPerSubscriber, 2) },
            steps: steps.map((s) => ({ ms: s.ms, cpuMs: round(s.cpuMs!), pushesPerSubscriber: round(s.pushesPerSubscriber!, 2) })),
            pushesPerSubscriber: round(pushesPerSubscriber, 2),
            cpuMsPerPushPer1000Subscribers: { median: round(median(costs)), mean: round(costs.reduce((a, b) => a + b, 0) / costs.length) },
          },
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    await Promise.all(subscribers.map((s) => s.dispose()));
    await Promise.all(replicas.map((r) => r.stop()));
    await emulator.stop();
    if (!redis.external) await redis.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
