/**
 * The form in which a long-lived cache keeps a bucket: its 82 metric values in one array of
 * doubles, in catalog order, read through getters generated from the catalog.
 *
 * Why: a bucket as three objects keyed by metric name (what upstream answers and the Redis codec
 * decode to) takes about 5 KB of heap, because objects with this many named properties end up in
 * V8's dictionary mode; the in-process tier holds up to `CACHE_MEMORY_MAX_BUCKETS` of them. One
 * double array is 8 bytes a value (about 750 bytes a bucket, `npm run bench:memory`).
 *
 * Readers do not change: a `CompactBucket` is a `ReportBucket`. `bucket.inbound` is a small view
 * (one field: the shared array) whose prototype has one getter per catalog metric, so
 * `bucket.inbound.callsOffered`, `group[name]` and graphql-js's default resolver all read the
 * array without copying it; roll-ups, which read every metric of many buckets, read the array by
 * position (`compactValues`). A view is made per `inbound`/`outbound`/`overall` read (a row reads
 * each group once), not kept per bucket: three kept views measured about 120 bytes a bucket more.
 * Views are read-only: writing a metric throws.
 *
 * Exact: every value reads back as it was stored (`Object.is`): -0, integers up to 2^53, any
 * double. `null` (not reported) is stored as NaN; a genuine NaN (never seen in practice: JSON
 * cannot carry one) is told apart by two bit masks appended to the array only when the bucket
 * has one, so the common read is one load and one `v === v`.
 *
 * `JSON.stringify` gives the plain form (`toJSON`); `toPlainBucket` gives it as objects, for
 * whoever needs own enumerable properties (spreads, deep equality in tests).
 */
import { METRIC_GROUPS, METRICS, type MetricGroup, type MetricValues, type ReportBucket } from './metrics';

/** Where each group's values start in the array (catalog order, as the Redis codec's). */
const OFFSET: Readonly<Record<MetricGroup, number>> = (() => {
  const offsets = {} as Record<MetricGroup, number>;
  let at = 0;
  for (const group of METRIC_GROUPS) {
    offsets[group] = at;
    at += METRICS[group].length;
  }
  return offsets;
})();

/** Number of metric values in a bucket (82). */
export const METRIC_COUNT = METRIC_GROUPS.reduce((n, group) => n + METRICS[group].length, 0);
const STATS_TIME = METRIC_COUNT;
/** Bits per NaN mask: below 2^53, so a mask is an exact double. */
const MASK_BITS = 48;
const NAN_MASKS = Math.ceil(METRIC_COUNT / MASK_BITS);
const PLAIN_LENGTH = METRIC_COUNT + 1;

type Values = readonly number[];

/** The value at `at` when it is NaN: null, unless the bucket marks it as a genuine NaN. */
function nanOrNull(values: Values, at: number): number | null {
  if (values.length === PLAIN_LENGTH) return null;
  const mask = values[PLAIN_LENGTH + Math.floor(at / MASK_BITS)];
  return Math.floor(mask / 2 ** (at % MASK_BITS)) % 2 === 1 ? NaN : null;
}

/**
 * The view's one field. A symbol key keeps it out of `Object.keys`, `for..in` and JSON, where only
 * metrics belong; the getters live outside the class body, so it cannot be a `#private` field.
 */
const VALUES = Symbol('values');

/** A group's metrics read off the bucket's array (it also has `toJSON`, giving the plain form). */
type GroupViewClass = new (values: Values) => MetricValues;

/** What the three groups' views have in common (`instanceof` tells a view from a plain object fast). */
class GroupView {
  [VALUES]: Values;

  constructor(values: Values) {
    this[VALUES] = values;
  }
}

function groupViewClass(group: MetricGroup): GroupViewClass {
  const offset = OFFSET[group];
  const metrics = METRICS[group];
  const View = class extends GroupView {
    toJSON(): MetricValues {
      const plain: MetricValues = {};
      for (let i = 0; i < metrics.length; i++) plain[metrics[i].name] = valueAt(this[VALUES], offset + i);
      return plain;
    }
  };
  for (let i = 0; i < metrics.length; i++) {
    const at = offset + i;
    Object.defineProperty(View.prototype, metrics[i].name, {
      get(this: InstanceType<typeof View>) {
        const values = this[VALUES];
        const value = values[at];
        return value === value ? value : nanOrNull(values, at);
      },
      enumerable: true,
    });
  }
  return View as unknown as GroupViewClass;
}

/**
 * The array behind a group view, or undefined for any other object. For readers that go through
 * many metrics of many buckets by name (roll-ups): `group[name]` on a view is a getter call, and
 * at a call site that sees many names V8 finds it by a slow generic lookup; `values[position]`
 * is one array load. At a metric's position (`metricPosition`) NaN means null or NaN (not
 * reported, either way, to a roll-up).
 */
export function compactValues(group: MetricValues): Values | undefined {
  return group instanceof GroupView ? group[VALUES] : undefined;
}

/** Where a metric of a group is in a compact bucket's array. */
export function metricPosition(group: MetricGroup, name: string): number {
  const index = METRICS[group].findIndex((m) => m.name === name);
  if (index < 0) throw new Error(`no metric ${group}.${name} in the catalog`);
  return OFFSET[group] + index;
}

function valueAt(values: Values, at: number): number | null {
  const value = values[at];
  return value === value ? value : nanOrNull(values, at);
}

const InboundView = groupViewClass('inbound');
const OutboundView = groupViewClass('outbound');
const OverallView = groupViewClass('overall');

export class CompactBucket implements ReportBucket {
  /** Catalog-ordered values, then statsTime, then (only with a genuine NaN) the NaN masks. */
  readonly #values: Values;

  private constructor(values: Values) {
    this.#values = values;
  }

  /** The compact form of a bucket (itself when it already is one). */
  static from(bucket: ReportBucket): CompactBucket {
    if (bucket instanceof CompactBucket) return bucket;
    // Filled with a double first, so the array holds unboxed doubles from the start (V8's
    // double elements: 8 bytes a value, no number objects).
    const values: number[] = new Array(PLAIN_LENGTH).fill(NaN);
    let masks: number[] | undefined;
    for (const group of METRIC_GROUPS) {
      const source = bucket[group];
      const metrics = METRICS[group];
      const offset = OFFSET[group];
      for (let i = 0; i < metrics.length; i++) {
        const value = source[metrics[i].name];
        // Absent (undefined) is stored as null, as the Redis codec stores it.
        if (value === null || value === undefined) continue;
        values[offset + i] = value;
        if (value !== value) {
          masks ??= new Array(NAN_MASKS).fill(0);
          masks[Math.floor((offset + i) / MASK_BITS)] += 2 ** ((offset + i) % MASK_BITS);
        }
      }
    }
    values[STATS_TIME] = bucket.statsTime;
    if (masks) values.push(...masks);
    return new CompactBucket(values);
  }

  get statsTime(): number {
    return this.#values[STATS_TIME];
  }

  get inbound(): MetricValues {
    return new InboundView(this.#values);
  }

  get outbound(): MetricValues {
    return new OutboundView(this.#values);
  }

  get overall(): MetricValues {
    return new OverallView(this.#values);
  }

  toJSON(): ReportBucket {
    return toPlainBucket(this);
  }
}

/** A bucket as plain objects with one own property per catalog metric. */
export function toPlainBucket(bucket: ReportBucket): ReportBucket {
  const plain: ReportBucket = { statsTime: bucket.statsTime, inbound: {}, outbound: {}, overall: {} };
  for (const group of METRIC_GROUPS) {
    const source = bucket[group];
    for (const { name } of METRICS[group]) {
      const value = source[name];
      plain[group][name] = value === undefined ? null : value;
    }
  }
  return plain;
}
