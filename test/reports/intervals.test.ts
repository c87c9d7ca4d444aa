import fc from 'fast-check';
import { DateTime } from 'luxon';
import {
  DAY_MS,
  HOUR_MS,
  ReportInterval,
  assertTimeZone,
  bucketStart,
  bucketStartsInRange,
  isClosedInterval,
  isWholeHourOffsetZone,
  nextBucketStart,
} from '../../src/reports/intervals';

const utc = (iso: string): number => Date.parse(iso);
/** The instant of a local wall time in `zone`, via luxon, as an independent oracle. */
const local = (iso: string, zone: string): number => DateTime.fromISO(iso, { zone }).toMillis();

const SHANGHAI = 'Asia/Shanghai';
const NEW_YORK = 'America/New_York';
const KOLKATA = 'Asia/Kolkata';

describe('assertTimeZone', () => {
  it('accepts IANA zones', () => {
    expect(() => assertTimeZone(SHANGHAI)).not.toThrow();
    expect(() => assertTimeZone('UTC')).not.toThrow();
  });

  it('rejects unknown zones with a RangeError', () => {
    expect(() => assertTimeZone('Mars/Olympus')).toThrow(new RangeError('Unknown time zone "Mars/Olympus"'));
    expect(() => assertTimeZone('+08:00')).toThrow(RangeError);
    expect(() => assertTimeZone('')).toThrow(RangeError);
  });

  it('is applied by the bucket functions', () => {
    expect(() => bucketStart(0, 'DAILY', 'Mars/Olympus')).toThrow(RangeError);
    expect(() => nextBucketStart(0, 'HOURLY', 'Mars/Olympus')).toThrow(RangeError);
    expect(() => bucketStartsInRange(0, HOUR_MS, 'HOURLY', 'Mars/Olympus')).toThrow(RangeError);
  });
});

describe('non-finite instants', () => {
  it('are rejected instead of looping forever', () => {
    expect(() => bucketStartsInRange(0, Number.POSITIVE_INFINITY, 'HOURLY', 'UTC')).toThrow(RangeError);
    expect(() => bucketStart(Number.NaN, 'HOURLY', 'UTC')).toThrow(RangeError);
  });
});

describe('HOURLY', () => {
  it('floors to the UTC hour in whole-hour zones', () => {
    const t = utc('2026-03-10T05:37:12.345Z');
    expect(bucketStart(t, 'HOURLY', SHANGHAI)).toBe(utc('2026-03-10T05:00:00Z'));
    expect(bucketStart(t, 'HOURLY', NEW_YORK)).toBe(utc('2026-03-10T05:00:00Z'));
    expect(nextBucketStart(utc('2026-03-10T05:00:00Z'), 'HOURLY', SHANGHAI)).toBe(utc('2026-03-10T06:00:00Z'));
  });

  it('keeps an exact hour start as is', () => {
    const t = utc('2026-03-10T05:00:00Z');
    expect(bucketStart(t, 'HOURLY', SHANGHAI)).toBe(t);
  });

  it('floors to the local hour in half-hour zones', () => {
    // 05:37Z is 11:07 IST, so the bucket is 11:00 IST = 05:30Z.
    expect(bucketStart(utc('2026-03-10T05:37:00Z'), 'HOURLY', KOLKATA)).toBe(utc('2026-03-10T05:30:00Z'));
    expect(bucketStart(utc('2026-03-10T05:12:00Z'), 'HOURLY', KOLKATA)).toBe(utc('2026-03-10T04:30:00Z'));
    expect(nextBucketStart(utc('2026-03-10T05:30:00Z'), 'HOURLY', KOLKATA)).toBe(utc('2026-03-10T06:30:00Z'));
    // Nepal is UTC+5:45.
    expect(bucketStart(utc('2026-03-10T05:50:00Z'), 'HOURLY', 'Asia/Kathmandu')).toBe(utc('2026-03-10T05:15:00Z'));
  });

  it('has 23 buckets on the New York spring-forward day and 25 on the fall-back day', () => {
    const spring = bucketStartsInRange(local('2026-03-08T00:00', NEW_YORK), local('2026-03-09T00:00', NEW_YORK), 'HOURLY', NEW_YORK);
    const fall = bucketStartsInRange(local('2026-11-01T00:00', NEW_YORK), local('2026-11-02T00:00', NEW_YORK), 'HOURLY', NEW_YORK);
    expect(spring).toHaveLength(23);
    expect(fall).toHaveLength(25);
  });

  it('splits the wall hour in which Lord Howe shifts its clock by 30 minutes', () => {
    // 2026-04-05 02:00 +11:00 becomes 01:30 +10:30 at 15:00Z.
    const zone = 'Australia/Lord_Howe';
    const starts = bucketStartsInRange(utc('2026-04-04T13:00:00Z'), utc('2026-04-04T17:00:00Z'), 'HOURLY', zone);
    expect(starts.map((b) => new Date(b).toISOString())).toEqual([
      '2026-04-04T13:00:00.000Z', // 00:00 +11
      '2026-04-04T14:00:00.000Z', // 01:00 +11
      '2026-04-04T15:00:00.000Z', // 01:30 +10:30: the change itself starts a bucket
      '2026-04-04T15:30:00.000Z', // 02:00 +10:30
      '2026-04-04T16:30:00.000Z', // 03:00 +10:30
    ]);
  });
});

describe('DAILY', () => {
  it('starts at local midnight: 16:00 UTC the day before in Asia/Shanghai', () => {
    expect(bucketStart(utc('2026-03-10T05:00:00Z'), 'DAILY', SHANGHAI)).toBe(utc('2026-03-09T16:00:00Z'));
    expect(bucketStart(utc('2026-03-10T15:59:59.999Z'), 'DAILY', SHANGHAI)).toBe(utc('2026-03-09T16:00:00Z'));
    expect(bucketStart(utc('2026-03-10T16:00:00Z'), 'DAILY', SHANGHAI)).toBe(utc('2026-03-10T16:00:00Z'));
    expect(nextBucketStart(utc('2026-03-09T16:00:00Z'), 'DAILY', SHANGHAI)).toBe(utc('2026-03-10T16:00:00Z'));
  });

  it('is 23 h on the New York spring-forward day and 25 h on the fall-back day', () => {
    const spring = bucketStart(utc('2026-03-08T12:00:00Z'), 'DAILY', NEW_YORK);
    expect(spring).toBe(utc('2026-03-08T05:00:00Z'));
    expect(nextBucketStart(spring, 'DAILY', NEW_YORK) - spring).toBe(23 * HOUR_MS);

    const fall = bucketStart(utc('2026-11-01T12:00:00Z'), 'DAILY', NEW_YORK);
    expect(fall).toBe(utc('2026-11-01T04:00:00Z'));
    expect(nextBucketStart(fall, 'DAILY', NEW_YORK) - fall).toBe(25 * HOUR_MS);
  });

  it('starts a day whose midnight is skipped at the clock change (Havana springs 00:00 -> 01:00)', () => {
    const zone = 'America/Havana';
    const dayStart = bucketStart(utc('2026-03-08T12:00:00Z'), 'DAILY', zone);
    expect(dayStart).toBe(utc('2026-03-08T05:00:00Z')); // 01:00 -04:00, the first instant of the day
    expect(nextBucketStart(dayStart, 'DAILY', zone) - dayStart).toBe(23 * HOUR_MS);
  });

  it('starts a day whose midnight is repeated at its first midnight (Havana falls back 01:00 -> 00:00)', () => {
    const zone = 'America/Havana';
    const dayStart = bucketStart(utc('2026-11-01T12:00:00Z'), 'DAILY', zone);
    expect(dayStart).toBe(utc('2026-11-01T04:00:00Z')); // 00:00 -04:00, not the repeat at 00:00 -05:00
    expect(bucketStart(utc('2026-11-01T04:30:00Z'), 'DAILY', zone)).toBe(dayStart);
    expect(nextBucketStart(dayStart, 'DAILY', zone) - dayStart).toBe(25 * HOUR_MS);
  });

  it('gives the extra hour to the earlier day when a fall-back crosses midnight (Santiago 00:00 -> 23:00)', () => {
    const zone = 'America/Santiago';
    const saturday = utc('2026-04-04T03:00:00Z'); // 2026-04-04 00:00 -03:00
    const sunday = utc('2026-04-05T04:00:00Z'); // 2026-04-05 00:00 -04:00, after the repeated 23:00 hour
    expect(bucketStart(utc('2026-04-05T03:30:00Z'), 'DAILY', zone)).toBe(saturday); // reads 23:30 Saturday again
    expect(nextBucketStart(saturday, 'DAILY', zone)).toBe(sunday);
    expect(bucketStart(sunday, 'DAILY', zone)).toBe(sunday);
  });

  it('skips a calendar day that never happened (Samoa, 2011-12-30)', () => {
    const zone = 'Pacific/Apia';
    const dec29 = utc('2011-12-29T10:00:00Z'); // 00:00 -10:00
    const dec31 = utc('2011-12-30T10:00:00Z'); // 00:00 +14:00, the same instant as the end of Dec 29
    expect(bucketStart(utc('2011-12-30T09:59:59Z'), 'DAILY', zone)).toBe(dec29);
    expect(nextBucketStart(dec29, 'DAILY', zone)).toBe(dec31);
    expect(nextBucketStart(dec31, 'DAILY', zone)).toBe(dec31 + DAY_MS);
  });
});

describe('WEEKLY', () => {
  it('starts on Monday 00:00 local (ISO week)', () => {
    // 2026-03-12 is a Thursday; its ISO week starts Monday 2026-03-09.
    const monday = local('2026-03-09T00:00', SHANGHAI);
    expect(monday).toBe(utc('2026-03-08T16:00:00Z'));
    expect(bucketStart(local('2026-03-12T10:00', SHANGHAI), 'WEEKLY', SHANGHAI)).toBe(monday);
    expect(bucketStart(monday, 'WEEKLY', SHANGHAI)).toBe(monday);
    // Sunday late evening still belongs to the week that started the previous Monday.
    expect(bucketStart(local('2026-03-15T23:59:59.999', SHANGHAI), 'WEEKLY', SHANGHAI)).toBe(monday);
    expect(nextBucketStart(monday, 'WEEKLY', SHANGHAI)).toBe(local('2026-03-16T00:00', SHANGHAI));
  });

  it('is 7 days minus an hour for the New York week containing spring-forward', () => {
    const week = bucketStart(local('2026-03-08T12:00', NEW_YORK), 'WEEKLY', NEW_YORK);
    expect(week).toBe(local('2026-03-02T00:00', NEW_YORK));
    expect(nextBucketStart(week, 'WEEKLY', NEW_YORK) - week).toBe(7 * DAY_MS - HOUR_MS);
  });
});

describe('MONTHLY', () => {
  it('starts on the 1st at 00:00 local', () => {
    const march = bucketStart(local('2026-03-15T12:00', NEW_YORK), 'MONTHLY', NEW_YORK);
    expect(march).toBe(utc('2026-03-01T05:00:00Z'));
    expect(nextBucketStart(march, 'MONTHLY', NEW_YORK)).toBe(utc('2026-04-01T04:00:00Z'));
    expect(bucketStart(utc('2026-12-31T16:00:00Z'), 'MONTHLY', SHANGHAI)).toBe(utc('2026-12-31T16:00:00Z'));
    expect(nextBucketStart(utc('2026-12-31T16:00:00Z'), 'MONTHLY', SHANGHAI)).toBe(utc('2027-01-31T16:00:00Z'));
  });

  it('handles February in leap and common years', () => {
    const feb2028 = local('2028-02-01T00:00', SHANGHAI);
    expect(nextBucketStart(feb2028, 'MONTHLY', SHANGHAI) - feb2028).toBe(29 * DAY_MS);
    const feb2026 = local('2026-02-01T00:00', SHANGHAI);
    expect(nextBucketStart(feb2026, 'MONTHLY', SHANGHAI) - feb2026).toBe(28 * DAY_MS);
  });
});

describe('bucketStartsInRange', () => {
  it('includes the bucket a mid-bucket start falls in and excludes the end', () => {
    const starts = bucketStartsInRange(utc('2026-03-10T05:30:00Z'), utc('2026-03-10T08:00:00Z'), 'HOURLY', SHANGHAI);
    expect(starts).toEqual([utc('2026-03-10T05:00:00Z'), utc('2026-03-10T06:00:00Z'), utc('2026-03-10T07:00:00Z')]);
  });

  it('includes the bucket a mid-bucket end falls in', () => {
    const starts = bucketStartsInRange(utc('2026-03-10T05:00:00Z'), utc('2026-03-10T06:00:00.001Z'), 'HOURLY', SHANGHAI);
    expect(starts).toEqual([utc('2026-03-10T05:00:00Z'), utc('2026-03-10T06:00:00Z')]);
  });

  it('is empty when end <= start', () => {
    const t = utc('2026-03-10T05:00:00Z');
    expect(bucketStartsInRange(t, t, 'HOURLY', SHANGHAI)).toEqual([]);
    expect(bucketStartsInRange(t, t - 1, 'DAILY', SHANGHAI)).toEqual([]);
  });

  it('lists local days across DST in New York', () => {
    const starts = bucketStartsInRange(utc('2026-03-07T12:00:00Z'), utc('2026-03-09T04:00:00Z'), 'DAILY', NEW_YORK);
    expect(starts).toEqual([local('2026-03-07T00:00', NEW_YORK), local('2026-03-08T00:00', NEW_YORK)]);
  });

  it('lists half-hour-offset hours for Kolkata', () => {
    const starts = bucketStartsInRange(utc('2026-03-10T05:00:00Z'), utc('2026-03-10T07:00:00Z'), 'HOURLY', KOLKATA);
    expect(starts).toEqual([utc('2026-03-10T04:30:00Z'), utc('2026-03-10T05:30:00Z'), utc('2026-03-10T06:30:00Z')]);
  });

  it('handles 180 days of hourly buckets (4,320), one an hour apart', () => {
    const start = utc('2026-01-01T00:00:00Z');
    const starts = bucketStartsInRange(start, start + 180 * DAY_MS, 'HOURLY', NEW_YORK);
    expect(starts).toHaveLength(4320);
    expect(starts.every((t, i) => i === 0 || t - starts[i - 1] === 3_600_000)).toBe(true);
  });
});

describe('isClosedInterval', () => {
  const hour = utc('2026-03-10T10:00:00Z');
  const settle = 5 * 60_000;

  it('is closed once the bucket has ended and the settle delay has passed', () => {
    expect(isClosedInterval(hour, 'HOURLY', SHANGHAI, utc('2026-03-10T11:05:00Z'), settle)).toBe(true);
    expect(isClosedInterval(hour, 'HOURLY', SHANGHAI, utc('2026-03-10T11:04:59.999Z'), settle)).toBe(false);
    expect(isClosedInterval(hour, 'HOURLY', SHANGHAI, utc('2026-03-10T10:30:00Z'), 0)).toBe(false);
    expect(isClosedInterval(hour, 'HOURLY', SHANGHAI, utc('2026-03-10T11:00:00Z'), 0)).toBe(true);
  });

  it('uses the real length of DST days', () => {
    const fallDay = utc('2026-11-01T04:00:00Z');
    expect(isClosedInterval(fallDay, 'DAILY', NEW_YORK, fallDay + 24 * HOUR_MS, 0)).toBe(false);
    expect(isClosedInterval(fallDay, 'DAILY', NEW_YORK, fallDay + 25 * HOUR_MS, 0)).toBe(true);
  });
});

describe('isWholeHourOffsetZone', () => {
  const from = utc('2026-01-01T00:00:00Z');
  const to = utc('2027-01-01T00:00:00Z');

  it.each([SHANGHAI, NEW_YORK, 'UTC', 'Europe/London', 'America/Havana'])('is true for %s', (zone) => {
    expect(isWholeHourOffsetZone(zone, from, to)).toBe(true);
  });

  it.each([KOLKATA, 'Australia/Adelaide', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'Pacific/Chatham'])(
    'is false for %s',
    (zone) => {
      expect(isWholeHourOffsetZone(zone, from, to)).toBe(false);
    },
  );

  it('only looks at offsets in force in the range (Lord Howe is whole-hour during its summer)', () => {
    // Lord Howe is +11:00 from October to April and +10:30 otherwise.
    expect(isWholeHourOffsetZone('Australia/Lord_Howe', utc('2026-01-01T00:00:00Z'), utc('2026-02-01T00:00:00Z'))).toBe(true);
  });
});

/** Zones chosen for awkward rules: half/quarter-hour offsets, 30-min DST, DST at midnight, a skipped day. */
const AWKWARD_ZONES = [
  'UTC',
  SHANGHAI,
  NEW_YORK,
  KOLKATA,
  'Asia/Kathmandu',
  'Australia/Adelaide',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
  'America/Havana',
  'America/Santiago',
  'America/St_Johns',
  'Europe/London',
  'Pacific/Apia',
] as const;
const INTERVALS: ReportInterval[] = ['HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY'];

describe('properties: buckets partition time in any zone', () => {
  const instant = fc.integer({ min: utc('2010-01-01T00:00:00Z'), max: utc('2030-01-01T00:00:00Z') });
  /** Instants near DST changes, where bugs live. */
  const nearTransition = fc
    .record({
      year: fc.integer({ min: 2011, max: 2028 }),
      anchor: fc.constantFrom('03-08', '03-29', '04-05', '09-06', '10-04', '11-01', '12-30'),
      deltaMs: fc.integer({ min: -2 * DAY_MS, max: 2 * DAY_MS }),
    })
    .map(({ year, anchor, deltaMs }) => utc(`${year}-${anchor}T00:00:00Z`) + deltaMs);

  it('bucketStart(t) <= t < nextBucketStart(bucketStart(t)), and both ends are bucket starts', () => {
    fc.assert(
      fc.property(fc.oneof(instant, nearTransition), fc.constantFrom(...AWKWARD_ZONES), fc.constantFrom(...INTERVALS), (t, zone, interval) => {
        const start = bucketStart(t, interval, zone);
        const end = nextBucketStart(start, interval, zone);
        expect(start).toBeLessThanOrEqual(t);
        expect(end).toBeGreaterThan(t);
        expect(nextBucketStart(t, interval, zone)).toBe(end);
        expect(bucketStart(start, interval, zone)).toBe(start);
        expect(bucketStart(end, interval, zone)).toBe(end);
        expect(bucketStart(end - 1, interval, zone)).toBe(start);
      }),
      { numRuns: 2000 },
    );
  });

  it('calendar buckets start at local midnight whenever midnight exists that day', () => {
    fc.assert(
      fc.property(fc.oneof(instant, nearTransition), fc.constantFrom(...AWKWARD_ZONES), fc.constantFrom<ReportInterval>('DAILY', 'WEEKLY', 'MONTHLY'), (t, zone, interval) => {
        const start = DateTime.fromMillis(bucketStart(t, interval, zone), { zone });
        const midnight = start.startOf('day');
        if (midnight.hour === 0) expect(start.toFormat('HH:mm:ss.SSS')).toBe('00:00:00.000');
        if (interval === 'WEEKLY') expect(start.weekday).toBe(1);
        if (interval === 'MONTHLY') expect(start.day).toBe(1);
      }),
      { numRuns: 1000 },
    );
  });

  it('HOURLY in whole-hour zones is the UTC hour (fast path agrees with the general path)', () => {
    fc.assert(
      fc.property(fc.oneof(instant, nearTransition), fc.constantFrom(SHANGHAI, NEW_YORK, 'Europe/London', 'America/Havana'), fc.integer({ min: 1, max: 400 }), (t, zone, hours) => {
        const fast = bucketStartsInRange(t, t + hours * HOUR_MS, 'HOURLY', zone);
        const general: number[] = [];
        for (let b = bucketStart(t, 'HOURLY', zone); b < t + hours * HOUR_MS; b = nextBucketStart(b, 'HOURLY', zone)) general.push(b);
        expect(fast).toEqual(general);
        expect(fast[0]).toBe(Math.floor(t / HOUR_MS) * HOUR_MS);
      }),
      { numRuns: 200 },
    );
  });

  it('bucketStartsInRange lists exactly the buckets overlapping [start, end)', () => {
    fc.assert(
      fc.property(
        fc.oneof(instant, nearTransition),
        fc.integer({ min: 0, max: 40 * DAY_MS }),
        fc.constantFrom(...AWKWARD_ZONES),
        fc.constantFrom(...INTERVALS),
        (start, length, zone, interval) => {
          const end = start + length;
          const starts = bucketStartsInRange(start, end, interval, zone);
          if (length === 0) return expect(starts).toEqual([]);
          expect(starts[0]).toBe(bucketStart(start, interval, zone));
          expect(starts[starts.length - 1]).toBe(bucketStart(end - 1, interval, zone));
          for (let i = 1; i < starts.length; i++) expect(starts[i]).toBe(nextBucketStart(starts[i - 1], interval, zone));
        },
      ),
      { numRuns: 200 },
    );
  });
});
