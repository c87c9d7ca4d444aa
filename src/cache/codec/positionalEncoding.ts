/**
 * The positional bucket encoding, for one fixed metric order (a layout): one version character,
 * then one value per layout row, without separators.
 *
 *  - An integer (counts, seconds) is written in a terminator-coded base 32: high digits `0-9a-v`,
 *    then one final digit `A-Z` holding value mod 26. 0..25 is one character, 7 is `H`, 4470 is
 *    `6iW`.
 *  - An average that equals total / count exactly (bit-identical), the usual case, is one
 *    character, `=`, and recomputed on decode.
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
 * `statsTime` is not stored: it is part of the cache key and passed back to `decode`.
 *
 * The layout names metrics by their upstream names; decoded values are keyed by the current
 * catalog's GraphQL names, found through the catalog's upstream names and aliases, so a metric the
 * catalog renamed (keeping the old name as an alias) is still read into the right field. A catalog
 * metric the layout does not have (added later) decodes as null: that version never stored it.
 */
import { METRIC_GROUPS, METRICS, type MetricGroup, type MetricKind, type ReportBucket } from '../../reports/metrics';

/** One position of a layout: group, upstream name, kind, and the numerator and denominator it is defined on. */
export type LayoutRow = readonly [
  group: MetricGroup,
  upstreamName: string,
  kind: MetricKind,
  numerator?: string,
  denominator?: string | null,
];

/** One version of the bucket encoding. */
export interface BucketEncoding {
  /** One character, the first of every encoded (non-empty) bucket. */
  readonly version: string;
  /** The layout's length: how many values a bucket of this version holds. */
  readonly size: number;
  encode(data: ReportBucket): string;
  /** Throws BucketDecodeError on anything that is not a well-formed bucket of this version. */
  decode(text: string, statsTime: number): ReportBucket;
}

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
  kind: MetricKind;
  /** The current catalog's GraphQL name of this metric (the key in `ReportBucket`). */
  name: string;
  /** For messages. */
  upstreamName: string;
  /** Position of the average's numerator, when it can be used for recomputation. */
  numerator?: number;
  /** Position of the average's or ratio's denominator, when it can be used for recomputation. */
  denominator?: number;
}

export function positionalEncoding(version: string, layout: readonly LayoutRow[]): BucketEncoding {
  if (version.length !== 1 || version === '0') throw new Error(`an encoding version is one character other than "0", got ${JSON.stringify(version)}`);
  const slots = buildSlots(layout);
  // Catalog metrics this layout does not hold: decoded as null.
  const absent = METRIC_GROUPS.flatMap((group) =>
    METRICS[group].filter((metric) => !slots.some((s) => s.group === group && s.name === metric.name)).map((metric) => ({ group, name: metric.name })),
  );

  return {
    version,
    size: slots.length,
    encode(data) {
      const values = slots.map((slot) => valueOf(data, slot));
      return version + values.map((value, i) => encodeValue(value, slots[i], values)).join('');
    },
    decode(text, statsTime) {
      if (text.charAt(0) !== version) {
        throw new BucketDecodeError(`format version ${JSON.stringify(text.charAt(0))}, expected ${version}`);
      }
      const reader = new ValueReader(text, 1);
      const values: (number | null)[] = new Array(slots.length);
      // Recomputed values need every stored one: they are filled in after the scan.
      const derived: number[] = [];
      const hidden: { index: number; integer: number }[] = [];
      for (let i = 0; i < slots.length; i++) {
        const token = reader.next();
        if (token === undefined) throw new BucketDecodeError(`${i} values, expected ${slots.length}`);
        if (token === DERIVED) derived.push(i);
        else if (typeof token === 'object' && token !== null) hidden.push({ index: i, integer: token.hidden });
        else values[i] = token;
      }
      if (!reader.atEnd()) throw new BucketDecodeError(`more than ${slots.length} values`);
      for (const i of derived) {
        const value = derivedValue(slots[i], values);
        if (value === undefined) throw new BucketDecodeError(`${slots[i].group}.${slots[i].name} cannot be recomputed`);
        values[i] = value;
      }
      for (const { index, integer } of hidden) values[index] = fromHiddenInteger(slots, index, integer, values);

      const bucket: ReportBucket = { statsTime, inbound: {}, outbound: {}, overall: {} };
      for (let i = 0; i < slots.length; i++) bucket[slots[i].group][slots[i].name] = values[i];
      for (const { group, name } of absent) bucket[group][name] = null;
      return bucket;
    },
  };
}

function buildSlots(layout: readonly LayoutRow[]): Slot[] {
  const slots: Slot[] = layout.map(([group, upstreamName, kind]) => ({ group, kind, upstreamName, name: catalogName(group, upstreamName) }));
  const seen = new Set<string>();
  for (const slot of slots) {
    const id = `${slot.group}.${slot.name}`;
    if (seen.has(id)) throw new Error(`layout holds ${id} twice`);
    seen.add(id);
  }
  const position = (group: MetricGroup, upstreamName: string | null | undefined): number | undefined => {
    if (!upstreamName) return undefined;
    const index = slots.findIndex((s) => s.group === group && s.upstreamName === upstreamName);
    // Only plain counts and totals may be referenced: they are decoded in the first pass, so a
    // recomputation never depends on another recomputation.
    if (index < 0 || !['count', 'total'].includes(slots[index].kind)) return undefined;
    return index;
  };
  layout.forEach(([group, , kind, numerator, denominator], i) => {
    if (kind === 'average') slots[i].numerator = position(group, numerator);
    if (kind === 'average' || kind === 'ratio') slots[i].denominator = position(group, denominator);
  });
  return slots;
}

/** The catalog's GraphQL name for an upstream name (or one of its aliases); else the name derived from it. */
function catalogName(group: MetricGroup, upstreamName: string): string {
  const metric = METRICS[group].find((m) => m.upstreamName === upstreamName || m.aliases?.includes(upstreamName));
  return metric?.name ?? upstreamName.charAt(0).toLowerCase() + upstreamName.slice(1);
}

/** A metric absent from the object (normalized buckets always have all) is stored as null. */
function valueOf(data: ReportBucket, slot: Slot): number | null {
  const value = data[slot.group][slot.name];
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
  if (slot.kind === 'ratio' && slot.denominator !== undefined) {
    const denominator = values[slot.denominator];
    if (denominator === null) return undefined;
    candidate = Math.round(value * denominator);
  } else if (slot.kind === 'average' && slot.denominator === undefined && slot.numerator !== undefined) {
    const numerator = values[slot.numerator];
    if (numerator === null) return undefined;
    candidate = Math.round(numerator / value);
  } else {
    return undefined;
  }
  if (!isPlainInteger(candidate)) return undefined;
  return Object.is(rebuild(slot, candidate, values), value) ? candidate : undefined;
}

function rebuild(slot: Slot, integer: number, values: readonly (number | null)[]): number | undefined {
  if (slot.kind === 'ratio' && slot.denominator !== undefined) {
    const denominator = values[slot.denominator];
    return denominator === null ? undefined : integer / denominator;
  }
  if (slot.kind === 'average' && slot.denominator === undefined && slot.numerator !== undefined) {
    const numerator = values[slot.numerator];
    return numerator === null ? undefined : numerator / integer;
  }
  return undefined;
}

function fromHiddenInteger(slots: readonly Slot[], index: number, integer: number, values: readonly (number | null)[]): number {
  const slot = slots[index];
  const value = rebuild(slot, integer, values);
  if (value === undefined) {
    const reference = slot.kind === 'ratio' ? slot.denominator : slot.numerator;
    if (reference === undefined) throw new BucketDecodeError(`${slot.group}.${slot.name} cannot be rebuilt from an integer`);
    throw new BucketDecodeError(`${slots[reference].group}.${slots[reference].name} is needed but null`);
  }
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
