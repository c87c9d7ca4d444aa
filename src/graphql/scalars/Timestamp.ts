/**
 * `Timestamp`: a point in time as epoch milliseconds.
 *
 * Output is always an integer of milliseconds (what the upstream API and JavaScript `Date` use).
 * Input accepts an integer of milliseconds or an ISO-8601 string with an explicit offset
 * (`2026-05-06T00:00:00+08:00`): a string without an offset would be read in the server's zone,
 * which silently shifts a day boundary, so it is rejected.
 */
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';

/** 9999-12-31: anything later is a typo, not a report range. */
const MAX_MS = 253_402_300_799_999;
/**
 * Below 1e11 ms (1973-03-03) a number is almost surely epoch *seconds* (1e11 s is in the year
 * 5138): a range "from 1970" would be silently clamped to upstream's 180 days or rejected later
 * with a confusing message, so it is rejected here, saying what was probably meant.
 */
const MIN_PLAUSIBLE_MS = 1e11;
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}

export function parseTimestamp(value: unknown): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw badInput(`Timestamp must be an integer number of epoch milliseconds, got ${value}`);
    }
    if (value < 0) throw badInput(`Timestamp ${value} is negative; Timestamps are epoch milliseconds since 1970-01-01T00:00:00Z`);
    if (value < MIN_PLAUSIBLE_MS) {
      throw badInput(
        `Timestamp ${value} looks like epoch seconds; Timestamps are epoch milliseconds (did you mean ${value * 1000}?)`,
      );
    }
    if (value > MAX_MS) throw badInput(`Timestamp ${value} is out of range (after the year 9999)`);
    return value;
  }
  if (typeof value === 'string') {
    if (!ISO_WITH_OFFSET.test(value)) {
      throw badInput(
        `Timestamp "${value.slice(0, 64)}" is not an ISO-8601 date-time with an offset (e.g. 2026-05-06T00:00:00+08:00) or epoch milliseconds`,
      );
    }
    const ms = Date.parse(value);
    // Date.parse rolls impossible dates over (2026-02-30 becomes March 2): check the calendar.
    const [year, month, day] = value.slice(0, 10).split('-').map(Number);
    const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (Number.isNaN(ms) || month < 1 || month > 12 || day < 1 || day > lastDay) {
      throw badInput(`Timestamp "${value.slice(0, 64)}" is not a valid date-time`);
    }
    if (ms < MIN_PLAUSIBLE_MS) throw badInput(`Timestamp "${value.slice(0, 64)}" is before 1973-03-03, earlier than any report`);
    return parseTimestamp(ms);
  }
  throw badInput(`Timestamp must be epoch milliseconds (integer) or an ISO-8601 string with offset, got ${typeof value}`);
}

function parseLiteral(ast: ValueNode): number {
  if (ast.kind === Kind.INT) return parseTimestamp(Number(ast.value));
  if (ast.kind === Kind.FLOAT) return parseTimestamp(Number(ast.value));
  if (ast.kind === Kind.STRING) return parseTimestamp(ast.value);
  throw badInput(`Timestamp must be an integer of epoch milliseconds or an ISO-8601 string, got ${ast.kind}`);
}

export const TimestampScalar = new GraphQLScalarType<number, number>({
  name: 'Timestamp',
  description:
    'A point in time as epoch milliseconds: an ECMAScript time value (see @specifiedBy), integral milliseconds since 1970-01-01T00:00:00Z. Output: always epoch milliseconds (integer). Input: epoch milliseconds, or an ISO-8601 / RFC 3339 date-time with an explicit offset, e.g. "2026-05-06T00:00:00+08:00" (without an offset it is rejected: the server\'s zone would shift day boundaries).',
  // @specifiedBy names the document that defines what the scalar *is*, and a client generator
  // may map the scalar from it: this one is an ECMAScript time value (integral milliseconds since
  // 1970-01-01T00:00:00Z, leap seconds ignored), which is what every response carries. RFC 3339
  // (the previous URL) describes date-time *strings*, which are only one accepted input form, and
  // made tools expect strings out; the input forms are in the description.
  specifiedByURL: 'https://tc39.es/ecma262/#sec-time-values-and-time-range',
  serialize(value) {
    if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
    if (value instanceof Date) return value.getTime();
    throw new GraphQLError(`Timestamp cannot represent ${String(value)}`);
  },
  parseValue: parseTimestamp,
  parseLiteral,
});
