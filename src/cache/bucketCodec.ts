/**
 * Compact text encoding of one bucket's metric values, for the shared cache (Redis).
 *
 * Size is the point: a gateway caches every hourly bucket of every instance for 180 days
 * (4,320 keys per instance), and `JSON.stringify` of one bucket is ~2,000 bytes (~2,150 bytes of
 * `MEMORY USAGE`). Redis allocates a string value in jemalloc size classes, so what counts is the
 * class a value lands in: with a typical key (~40 bytes) `MEMORY USAGE` is 280 bytes for a value
 * of <= 188 bytes, 312 up to 220, 344 up to 252 and already 408 from 253 to 314 bytes (Redis 7.0).
 * The encoding keeps a busy hour (all 82 metrics non-zero: counts in the tens, totals in the
 * thousands of seconds) at ~180 bytes, 280 bytes of `MEMORY USAGE`; a simulated week of one
 * instance has a median of 216 (`bench/cacheEncoding.ts`).
 *
 *  - Values in catalog order (`METRIC_GROUPS`, then `METRICS[group]`), no names. The order is
 *    part of the format: changing the catalog means bumping `CODEC_VERSION` (a test guards this).
 *  - No separators. An integer is written as its base-32 high digits (`0-9a-v`, exactly
 *    `Number#toString(32)`) followed by one final digit, its value mod 26, as a capital letter
 *    `A-Z`. The capital letter ends the number, so 0..25 take one character, up to 831 two, up to
 *    26,623 three. Comma-separated base-36 (the readable alternative) measured 252..255 bytes
 *    for the same busy hours, half of them in the 408-byte class; the 81 commas were the
 *    difference. (Comma-separated decimal: ~300 bytes.)
 *  - An average that is exactly its catalog numerator / denominator (computed as JS computes it,
 *    from the same bucket's values) is one character, `=`, and recomputed on decode.
 *  - A ratio is rebuilt from its hidden integer numerator: `~k` means value = k / denominator
 *    (HandleRate 37/41 is `~1L` instead of `0.9024390243902439`). The same marker on an average
 *    whose count upstream does not report (`denominator: null`) carries that count: value =
 *    numerator / k. Both are only used when the recomputation is bit-identical, checked on encode.
 *  - Anything else (a fraction that is not derivable, -0, NaN, Infinity, negative numbers) is a
 *    literal: `'` + `String(value)` + `'` (`'-0'` for -0), which JS parses back to the same
 *    double: `String` writes the shortest decimal that round-trips.
 *  - `_` is null (metric not reported).
 *
 * Every number round-trips bit-identically (`Object.is`), null included. The bucket's
 * `statsTime` is not stored: it is part of the cache key and passed back to `decodeBucket`.
 *
 * Layout: one version character (`CODEC_VERSION`), then 82 values. A bucket without traffic
 * (`null`) is the single character `0`, which no version character will ever be.
 */
import { METRIC_GROUPS, METRICS, type MetricDefinition, type MetricGroup, type MetricValues, type ReportBucket } from '../reports/metrics';

/** Bump whenever the layout or the catalog order changes; also part of the cache key. */
export const CODEC_VERSION = '1';

/** The whole encoding of a bucket without traffic. */
export const EMPTY_BUCKET = '0';

export class BucketDecodeError extends Error {
  constructor(message: string) {
    super(`Undecodable cached bucket: ${message}`);
    this.name = 'BucketDecodeError';
  }
}

const NULL_VALUE = '_';
const DERIVED = '=';
const HIDDEN_INTEGER = '~';
const LITERAL_QUOTE = "'";
const FINAL_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const FINAL_BASE = FINAL_DIGITS.length;
// High digits are `Number#toString(32)` digits: 0-9, then a-v.
const CODE_0 = 48;
const CODE_9 = 57;
const CODE_LOWER_A = 97;
const CODE_LOWER_V = 118;
const CODE_UPPER_A = 65;
const CODE_UPPER_Z = 90;

/** One metric's place in the encoding and the positions of the metrics it is defined on. */
interface Slot {
  group: MetricGroup;
  metric: MetricDefinition;
  /** Position of the average's numerator, when it can be used for recomputation. */
  numerator?: number;
  /** Position of the average's or ratio's denominator, when it can be used for recomputation. */
  denominator?: number;
}

const SLOTS: readonly Slot[] = buildSlots();

function buildSlots(): Slot[] {
  const slots: Slot[] = METRIC_GROUPS.flatMap((group) => METRICS[group].map((metric) => ({ group, metric })));
  const position = (group: MetricGroup, upstreamName: string | null | undefined): number | undefined => {
    if (!upstreamName) return undefined;
    const index = slots.findIndex((s) => s.group === group && s.metric.upstreamName === upstreamName);
    // Only plain counts and totals may be referenced: they are decoded in the first pass, so a
    // recomputation never depends on another recomputation.
    if (index < 0 || !['count', 'total'].includes(slots[index].metric.kind)) return undefined;
    return index;
  };
  for (const slot of slots) {
    if (slot.metric.kind === 'average') slot.numerator = position(slot.group, slot.metric.numerator);
    if (slot.metric.kind === 'average' || slot.metric.kind === 'ratio') {
      slot.denominator = position(slot.group, slot.metric.denominator);
    }
  }
  return slots;
}

export function encodeBucket(data: ReportBucket | null): string {
  if (data === null) return EMPTY_BUCKET;
  const values = SLOTS.map((slot) => valueOf(data[slot.group], slot.metric.name));
  return CODEC_VERSION + values.map((value, i) => encodeValue(value, SLOTS[i], values)).join('');
}

export function decodeBucket(text: string, statsTime: number): ReportBucket | null {
  if (text === EMPTY_BUCKET) return null;
  if (text.charAt(0) !== CODEC_VERSION) {
    throw new BucketDecodeError(`format version ${JSON.stringify(text.charAt(0))}, expected ${CODEC_VERSION}`);
  }
  const reader = new ValueReader(text, 1);
  const values: (number | null)[] = new Array(SLOTS.length);
  // Recomputed values need every stored one: they are filled in after the scan.
  const derived: number[] = [];
  const hidden: { index: number; integer: number }[] = [];
  for (let i = 0; i < SLOTS.length; i++) {
    const token = reader.next();
    if (token === undefined) throw new BucketDecodeError(`${i} values, expected ${SLOTS.length}`);
    if (token === DERIVED) derived.push(i);
    else if (typeof token === 'object' && token !== null) hidden.push({ index: i, integer: token.hidden });
    else values[i] = token;
  }
  if (!reader.atEnd()) throw new BucketDecodeError(`more than ${SLOTS.length} values`);
  for (const i of derived) {
    const value = derivedValue(SLOTS[i], values);
    if (value === undefined) throw new BucketDecodeError(`${SLOTS[i].group}.${SLOTS[i].metric.name} cannot be recomputed`);
    values[i] = value;
  }
  for (const { index, integer } of hidden) values[index] = fromHiddenInteger(SLOTS[index], integer, values);

  const bucket: ReportBucket = { statsTime, inbound: {}, outbound: {}, overall: {} };
  for (let i = 0; i < SLOTS.length; i++) bucket[SLOTS[i].group][SLOTS[i].metric.name] = values[i];
  return bucket;
}

/** A metric absent from the object (normalized buckets always have all) is stored as null. */
function valueOf(values: MetricValues, name: string): number | null {
  const value = values[name];
  return value === undefined ? null : value;
}

/**
 * The representation of one value, shortest first: `=` (1 character), an integer, an integer
 * the value is rebuilt from, and only then the literal (formatting a double is the slow part).
 */
function encodeValue(value: number | null, slot: Slot, values: readonly (number | null)[]): string {
  if (value === null) return NULL_VALUE;
  // Object.is, not ===: it tells -0 from 0 and finds NaN equal to itself.
  if (Object.is(derivedValue(slot, values), value)) return DERIVED;
  if (isPlainInteger(value)) return encodeInteger(value);
  const hidden = hiddenInteger(slot, value, values);
  if (hidden !== undefined) return HIDDEN_INTEGER + encodeInteger(hidden);
  return LITERAL_QUOTE + numberToText(value) + LITERAL_QUOTE;
}

/** numerator / denominator of an average, when both are in the bucket. */
function derivedValue(slot: Slot, values: readonly (number | null)[]): number | undefined {
  if (slot.numerator === undefined || slot.denominator === undefined) return undefined;
  const numerator = values[slot.numerator];
  const denominator = values[slot.denominator];
  if (numerator === null || denominator === null) return undefined;
  return numerator / denominator;
}

/**
 * The integer a ratio or a count-less average is made of (a ratio's numerator, an average's
 * count), when recomputing the value from it is bit-identical.
 */
function hiddenInteger(slot: Slot, value: number, values: readonly (number | null)[]): number | undefined {
  let candidate: number;
  if (slot.metric.kind === 'ratio' && slot.denominator !== undefined) {
    const denominator = values[slot.denominator];
    if (denominator === null) return undefined;
    candidate = Math.round(value * denominator);
  } else if (slot.metric.kind === 'average' && slot.denominator === undefined && slot.numerator !== undefined) {
    const numerator = values[slot.numerator];
    if (numerator === null) return undefined;
    candidate = Math.round(numerator / value);
  } else {
    return undefined;
  }
  if (!isPlainInteger(candidate)) return undefined;
  return Object.is(fromHiddenInteger(slot, candidate, values), value) ? candidate : undefined;
}

function fromHiddenInteger(slot: Slot, integer: number, values: readonly (number | null)[]): number {
  if (slot.metric.kind === 'ratio' && slot.denominator !== undefined) {
    return integer / requireValue(values, slot.denominator);
  }
  if (slot.metric.kind === 'average' && slot.denominator === undefined && slot.numerator !== undefined) {
    return requireValue(values, slot.numerator) / integer;
  }
  throw new BucketDecodeError(`${slot.group}.${slot.metric.name} cannot be rebuilt from an integer`);
}

function requireValue(values: readonly (number | null)[], index: number): number {
  const value = values[index];
  if (value === null) throw new BucketDecodeError(`${SLOTS[index].group}.${SLOTS[index].metric.name} is needed but null`);
  return value;
}

/** A non-negative safe integer other than -0: what `encodeInteger` writes exactly. */
function isPlainInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && !Object.is(value, -0);
}

/** `String(value)`, except that -0 keeps its sign (String(-0) is "0"). */
function numberToText(value: number): string {
  return Object.is(value, -0) ? '-0' : String(value);
}

function encodeInteger(value: number): string {
  const last = value % FINAL_BASE;
  // Exact by construction (value - last is a multiple of 26): no float division to reason about.
  const high = (value - last) / FINAL_BASE;
  return (high === 0 ? '' : high.toString(32)) + FINAL_DIGITS[last];
}

/** `=`, a stored value, or the integer behind a `~` value; one at a time. */
type Token = number | null | typeof DERIVED | { hidden: number };

/** Scans the values of an encoded bucket (char codes, not regular expressions: decoding is on every cache read). */
class ValueReader {
  constructor(
    private readonly text: string,
    private at: number,
  ) {}

  atEnd(): boolean {
    return this.at >= this.text.length;
  }

  /** The next value, or undefined at the end of the text. */
  next(): Token | undefined {
    if (this.atEnd()) return undefined;
    const char = this.text[this.at];
    if (char === NULL_VALUE) {
      this.at++;
      return null;
    }
    if (char === DERIVED) {
      this.at++;
      return DERIVED;
    }
    if (char === HIDDEN_INTEGER) {
      this.at++;
      return { hidden: this.integer() };
    }
    if (char === LITERAL_QUOTE) return this.literal();
    return this.integer();
  }

  /** High digits (`0-9a-v`, base 32), then the final digit (`A-Z`, value mod 26). */
  private integer(): number {
    const from = this.at;
    let high = 0;
    for (;;) {
      const code = this.text.charCodeAt(this.at); // NaN past the end: no digit
      if (code >= CODE_0 && code <= CODE_9) high = high * 32 + (code - CODE_0);
      else if (code >= CODE_LOWER_A && code <= CODE_LOWER_V) high = high * 32 + (code - CODE_LOWER_A + 10);
      else if (code >= CODE_UPPER_A && code <= CODE_UPPER_Z) {
        this.at++;
        const value = high * FINAL_BASE + (code - CODE_UPPER_A);
        if (!Number.isSafeInteger(value)) throw new BucketDecodeError(`integer out of range at ${from}`);
        return value;
      } else throw new BucketDecodeError(`integer without final digit at ${from}`);
      this.at++;
    }
  }

  private literal(): number {
    const end = this.text.indexOf(LITERAL_QUOTE, this.at + 1);
    if (end < 0) throw new BucketDecodeError(`unterminated literal at ${this.at}`);
    const literal = this.text.slice(this.at + 1, end);
    const value = Number(literal);
    // Number('') is 0 and Number('0x1') is 1: only accept what numberToText produces.
    if (numberToText(value) !== literal) throw new BucketDecodeError(`bad literal ${JSON.stringify(literal)}`);
    this.at = end + 1;
    return value;
  }
}
