/**
 * Heap per bucket in the in-process tier, and the warm read path, before and after compact
 * buckets (issue 12, target 7). Prints JSON.
 *
 *   npm run bench:memory                  # BENCH_BUCKETS=50000 (the CACHE_MEMORY_MAX_BUCKETS default)
 *
 * Both forms are measured in the same run, in the same process:
 *  - `objects` (before): the tier as it was, an LRU of what the Redis codec decodes (three
 *    objects keyed by metric name) under `bucketId` keys;
 *  - `compact` (after): `MemoryBucketStore` as it is (`CompactBucket` values, flat keys).
 *
 * Buckets are simulated hours (src/emulator/simulator) of 1,000 instances, encoded and decoded
 * with the Redis codec as the tier receives them from Redis. Sections:
 *  - heap: `heapUsed` (and off-heap `external`) after a full GC (`--expose-gc`), before and after
 *    filling a tier with BENCH_BUCKETS buckets, divided by that count: everything a cached bucket
 *    costs (key, LRU entry, stored wrapper, the bucket). `entryOnly` fills with `data: null`, the
 *    part that is not the bucket itself.
 *  - readLoop: every cached bucket read by id and 7 metrics read off it (the soak dashboard's
 *    selection), nanoseconds per bucket, rounds alternating between the forms, median.
 *  - combine: `combineBuckets` over a 30-day month of hours (720 parts, every metric read by
 *    name), microseconds per roll-up, alternating, median.
 *  - execute: the 7-day HOURLY dashboard (168 buckets) executed with graphql-js against the
 *    gateway's schema and pipeline, warm, on each form; microseconds per operation, alternating,
 *    median. 7 metrics, and all 82.
 * Speedups are objects / compact (above 1: compact is faster): of the medians, and the median of
 * each round's ratio (its two runs are adjacent in time, so less exposed to a shared machine).
 * Rounds swap the forms' order and collect garbage before each run. Times are CPU time of this
 * process (`process.cpuUsage`), not wall time, so that other processes on the core count less.
 */
import { execute, parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import os from 'node:os';
import { LRUCache } from 'lru-cache';
import { decodeBucket, encodeBucket } from '../src/cache/bucketCodec';
import { MemoryBucketStore } from '../src/cache/MemoryBucketStore';
import { metricsForPeriod } from '../src/emulator/simulator';
import { buildGatewaySchema } from '../src/graphql/schema';
import type { BucketRef, BucketWrite } from '../src/reports/BucketStore';
import { bucketId, type BucketSeries, type StoredBucket } from '../src/reports/buckets';
import { CompactBucket } from '../src/reports/compactBucket';
import { combineBuckets } from '../src/reports/combine';
import { InstanceReports } from '../src/reports/InstanceReports';
import { HOUR_MS } from '../src/reports/intervals';
import { METRICS, type ReportBucket } from '../src/reports/metrics';
import type { ReportAnswer, ReportQuery, ReportSource } from '../src/reports/ReportSource';
import { PipelineTrace, ReportPipeline } from '../src/reports/ReportPipeline';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:memory does)');
const BUCKETS = Number(process.env.BENCH_BUCKETS ?? 50_000);
const INSTANCES = 1_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const NOW = Date.UTC(2026, 10, 26, 4, 30);
/** BENCH_ONLY=heap,read,combine,execute (default all): the sections to run. */
const ONLY = new Set((process.env.BENCH_ONLY ?? 'heap,read,combine,execute').split(','));
const FIRST_HOUR = Date.UTC(2026, 9, 1);

/** The tier as it was before compact buckets: decoded objects under template-literal keys. */
class ObjectsMemoryBucketStore extends MemoryBucketStore {
  private readonly objects: LRUCache<string, StoredBucket>;
  constructor(maxBuckets: number) {
    super(1);
    this.objects = new LRUCache<string, StoredBucket>({ max: maxBuckets });
  }
  override get(ref: BucketRef): StoredBucket | undefined {
    return this.objects.get(bucketId(ref.series, ref.statsTime));
  }
  override getById(id: string): StoredBucket | undefined {
    return this.objects.get(id);
  }
  override set(write: BucketWrite): void {
    const key = bucketId(write.series, write.statsTime);
    if (write.value.final) this.objects.set(key, write.value);
    else this.objects.set(key, write.value, { ttl: write.ttlMs });
  }
  override get size(): number {
    return this.objects.size;
  }
  override clear(): void {
    this.objects.clear();
  }
}

type Form = 'objects' | 'compact';
const storeOf = (form: Form, max: number): MemoryBucketStore => (form === 'objects' ? new ObjectsMemoryBucketStore(max) : new MemoryBucketStore(max));

// A pool of simulated busy and quiet hours, encoded as Redis holds them.
const POOL = 500;
const encoded: string[] = [];
for (let h = 0; encoded.length < POOL; h++) {
  const start = FIRST_HOUR + h * HOUR_MS;
  const bucket = metricsForPeriod(`ccc-sim-${h % 40}`, start, start + HOUR_MS);
  if (bucket) encoded.push(encodeBucket({ ...bucket, statsTime: start }));
}

const seriesOf = (i: number): BucketSeries => ({ instanceId: `ccc-sim-soak-${i % INSTANCES}`, interval: 'HOURLY', zone: 'UTC' });
const hourOf = (i: number) => FIRST_HOUR + Math.floor(i / INSTANCES) * HOUR_MS;

function fill(store: MemoryBucketStore, count: number, withData: boolean): void {
  for (let i = 0; i < count; i++) {
    const statsTime = hourOf(i);
    // Decoded per entry, as every Redis read decodes its own copy.
    const data = withData ? decodeBucket(encoded[i % POOL], statsTime) : null;
    store.set({ series: seriesOf(i), statsTime, value: { data, final: true } });
  }
}

function memory() {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, offHeap: m.external + m.arrayBuffers };
}

function heapPerBucket(form: Form, withData: boolean) {
  const before = memory();
  const store = storeOf(form, BUCKETS);
  fill(store, BUCKETS, withData);
  const after = memory();
  const result = {
    heapBytesPerBucket: Math.round((after.heapUsed - before.heapUsed) / BUCKETS),
    offHeapBytesPerBucket: Math.round((after.offHeap - before.offHeap) / BUCKETS),
    heapUsedMiB: { before: +(before.heapUsed / 2 ** 20).toFixed(1), after: +(after.heapUsed / 2 ** 20).toFixed(1) },
    cached: store.size,
  };
  store.clear();
  return result;
}

/**
 * CPU time of this process (user + system), in nanoseconds. Timings use it rather than the wall
 * clock: on a shared machine the wall clock also counts the time other processes hold the core.
 */
function cpuNs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * The two forms in a round's order: swapped every round, and each run starts from a collected
 * heap, so neither form pays for the other's garbage or always runs second.
 */
function formsOfRound(round: number): readonly Form[] {
  return round % 2 === 0 ? ['objects', 'compact'] : ['compact', 'objects'];
}

const DASHBOARD_INBOUND = ['callsOffered', 'callsHandled', 'callsAbandoned', 'serviceLevel20', 'averageWaitTime'];
const DASHBOARD_OVERALL = ['totalCalls', 'occupancyRate'];

function readLoopNs(store: MemoryBucketStore, ids: string[]): number {
  let sum = 0;
  const started = cpuNs();
  for (const id of ids) {
    const data = store.getById(id)!.data as ReportBucket;
    const inbound = data.inbound;
    for (const name of DASHBOARD_INBOUND) sum += inbound[name] ?? 0;
    const overall = data.overall;
    for (const name of DASHBOARD_OVERALL) sum += overall[name] ?? 0;
  }
  const ns = (cpuNs() - started) / ids.length;
  if (!(sum > 0)) throw new Error('nothing read');
  return ns;
}

/** Answers any range with the pool's hours (the execute section is warm: it is called once per form). */
class PoolSource implements ReportSource {
  async listIntervalInstanceReport(query: ReportQuery): Promise<ReportAnswer> {
    const buckets: ReportBucket[] = [];
    for (let t = query.startTime, i = 0; t <= query.endTime; t += HOUR_MS, i++) buckets.push(decodeBucket(encoded[i % POOL], t)!);
    return { buckets };
  }
}

function pipelineOf(form: Form): ReportPipeline {
  return new ReportPipeline({
    source: new PoolSource(),
    memory: storeOf(form, 100_000),
    now: () => NOW,
    settleDelayMs: 10 * 60_000,
    // The open hour stays fresh for the whole bench: the warm path, no refresh.
    openTtlMs: 24 * HOUR_MS,
    upstreamConcurrency: 4,
  });
}

async function executeUs(schema: GraphQLSchema, pipeline: ReportPipeline, document: DocumentNode, operations: number): Promise<number> {
  const started = cpuNs();
  for (let i = 0; i < operations; i++) {
    const trace = new PipelineTrace();
    const reports = new InstanceReports(pipeline.createLoader(trace), { zoneFor: () => 'Asia/Shanghai', maxBucketsPerField: 100_000, maxInstancesPerField: 50 }, NOW, () => true, trace);
    const result = await execute({ schema, document, contextValue: { reports, trace, requestId: 'bench', principal: undefined } });
    if (result.errors) throw new Error(result.errors[0].message);
  }
  return (cpuNs() - started) / operations / 1000;
}

async function main(): Promise<void> {
  const heap = ONLY.has('heap')
    ? {
        objects: heapPerBucket('objects', true),
        compact: heapPerBucket('compact', true),
        entryOnly: { objects: heapPerBucket('objects', false), compact: heapPerBucket('compact', false) },
      }
    : undefined;

  // Read loop: both tiers filled, rounds alternate.
  const reads: Record<Form, number[]> = { objects: [], compact: [] };
  if (ONLY.has('read')) {
    const stores = { objects: storeOf('objects', BUCKETS), compact: storeOf('compact', BUCKETS) };
    fill(stores.objects, BUCKETS, true);
    fill(stores.compact, BUCKETS, true);
    const ids = Array.from({ length: BUCKETS }, (_, i) => bucketId(seriesOf(i), hourOf(i)));
    for (let round = 0; round < ROUNDS + 1; round++) {
      for (const form of formsOfRound(round)) {
        gc!();
        const ns = readLoopNs(stores[form], ids);
        if (round > 0) reads[form].push(ns); // round 0 warms the JIT
      }
    }
    stores.objects.clear();
    stores.compact.clear();
  }

  // Roll-ups read every metric of every part by name (`part[name]`): a 30-day month of hours.
  const combined: Record<Form, number[]> = { objects: [], compact: [] };
  if (ONLY.has('combine')) {
    const month = Array.from({ length: 720 }, (_, i) => decodeBucket(encoded[i % POOL], FIRST_HOUR + i * HOUR_MS)!);
    const parts: Record<Form, ReportBucket[]> = { objects: month, compact: month.map((b) => CompactBucket.from(b)) };
    for (let round = 0; round < ROUNDS + 1; round++) {
      for (const form of formsOfRound(round)) {
        gc!();
        const started = cpuNs();
        for (let i = 0; i < 20; i++) combineBuckets(parts[form]);
        if (round > 0) combined[form].push((cpuNs() - started) / 20 / 1000);
      }
    }
  }

  // GraphQL execution of the dashboard, warm.
  const schema = await buildGatewaySchema();
  const range = `instanceId: "ccc-sim-1", startTime: ${NOW - 7 * 24 * HOUR_MS}, endTime: ${NOW}, interval: HOURLY`;
  const documents = {
    metrics7: parse(`{ intervalInstanceReport(${range}) { statsTime closed inbound { ${DASHBOARD_INBOUND.join(' ')} } overall { ${DASHBOARD_OVERALL.join(' ')} } } }`),
    metrics82: parse(`{ intervalInstanceReport(${range}) { statsTime closed inbound { ${METRICS.inbound.map((m) => m.name).join(' ')} } outbound { ${METRICS.outbound.map((m) => m.name).join(' ')} } overall { ${METRICS.overall.map((m) => m.name).join(' ')} } } }`),
  };
  const pipelines = { objects: pipelineOf('objects'), compact: pipelineOf('compact') };
  const executed: Record<string, Record<Form, number[]>> = {};
  for (const [name, document] of Object.entries(documents)) {
    const samples: Record<Form, number[]> = { objects: [], compact: [] };
    for (const form of ['objects', 'compact'] as const) {
      const first = await execute({ schema, document, contextValue: { reports: new InstanceReports(pipelines[form].createLoader(), { zoneFor: () => 'Asia/Shanghai', maxBucketsPerField: 100_000, maxInstancesPerField: 50 }, NOW), trace: new PipelineTrace() } });
      if (first.errors) throw new Error(first.errors[0].message);
    }
    const operations = name === 'metrics7' ? 200 : 30;
    for (let round = 0; round < (ONLY.has('execute') ? ROUNDS + 1 : 0); round++) {
      for (const form of formsOfRound(round)) {
        gc!();
        const us = await executeUs(schema, pipelines[form], document, operations);
        if (round > 0) samples[form].push(us);
      }
    }
    executed[name] = samples;
  }
  // Same answers from both forms (the test suite checks this in depth; here a cheap guard).
  const answers = await Promise.all(
    (['objects', 'compact'] as const).map(async (form) => JSON.stringify(await execute({ schema, document: documents.metrics82, contextValue: { reports: new InstanceReports(pipelines[form].createLoader(), { zoneFor: () => 'Asia/Shanghai', maxBucketsPerField: 100_000, maxInstancesPerField: 50 }, NOW), trace: new PipelineTrace() } }))),
  );

  const ratio = (before: number, after: number) => +(before / after).toFixed(2);
  console.log(
    JSON.stringify(
      {
        config: { buckets: BUCKETS, instances: INSTANCES, rounds: ROUNDS, node: process.version, cpus: os.cpus().length, loadAverage: os.loadavg().map((l) => +l.toFixed(2)) },
        heap: heap && {
          objects: heap.objects,
          compact: heap.compact,
          heapReduction: ratio(heap.objects.heapBytesPerBucket, heap.compact.heapBytesPerBucket),
          entryOnly: { objects: heap.entryOnly.objects.heapBytesPerBucket, compact: heap.entryOnly.compact.heapBytesPerBucket },
          compactBucketItself: heap.compact.heapBytesPerBucket - heap.entryOnly.compact.heapBytesPerBucket,
          targetMet: heap.compact.heapBytesPerBucket + heap.compact.offHeapBytesPerBucket <= 1024,
        },
        readLoopNsPerBucket: ONLY.has('read')
          ? {
              objects: +median(reads.objects).toFixed(1),
              compact: +median(reads.compact).toFixed(1),
              speedup: ratio(median(reads.objects), median(reads.compact)),
              pairedSpeedupMedian: +median(reads.objects.map((o, i) => o / reads.compact[i])).toFixed(2),
            }
          : undefined,
        combineMonthUs: ONLY.has('combine')
          ? {
              objects: +median(combined.objects).toFixed(1),
              compact: +median(combined.compact).toFixed(1),
              speedup: ratio(median(combined.objects), median(combined.compact)),
              pairedSpeedupMedian: +median(combined.objects.map((o, i) => o / combined.compact[i])).toFixed(2),
            }
          : undefined,
        executeUsPerOperation: Object.fromEntries(
          Object.entries(ONLY.has('execute') ? executed : {}).map(([name, s]) => [
            name,
            {
              objects: +median(s.objects).toFixed(1),
              compact: +median(s.compact).toFixed(1),
              speedup: ratio(median(s.objects), median(s.compact)),
              // Each round's two runs are adjacent in time: their ratio is less exposed to a shared machine.
              pairedSpeedupMedian: +median(s.objects.map((o, i) => o / s.compact[i])).toFixed(2),
            },
          ]),
        ),
        sameAnswers: answers[0] === answers[1],
      },
      null,
      2,
    ),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
