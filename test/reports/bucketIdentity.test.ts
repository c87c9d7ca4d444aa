import { createHash } from 'node:crypto';
import { bucketKey, bucketSeriesKey, instanceSetKey, MAX_SPELLED_OUT_INSTANCE_SET } from '../../src/reports/bucketIdentity';
import { canonicalTimeZone } from '../../src/reports/intervals';

describe('bucket identity', () => {
  it('spells out one instance, and a short set sorted and without repeats', () => {
    expect(instanceSetKey(['ccc-test'])).toBe('ccc-test');
    expect(instanceSetKey(['ccc-b', 'ccc-a', 'ccc-b'])).toBe('ccc-a+ccc-b');
    expect(bucketKey(bucketSeriesKey(['ccc-test'], 'HOURLY', 'Asia/Shanghai'), 1, 2)).toBe('ccc-test:HOURLY:Asia/Shanghai:1:2');
  });

  it('names a long set by its size and a SHA-256 prefix, so that 100 ids of 64 characters stay short', () => {
    const ids = Array.from({ length: 100 }, (_, i) => `ccc-${String(i).padStart(60, '0')}`);
    const key = instanceSetKey([...ids].reverse());
    expect(key).toBe(`100-instances#${createHash('sha256').update(ids.join('+')).digest('hex').slice(0, 24)}`);
    expect(instanceSetKey(ids)).toBe(key);
    expect(instanceSetKey(ids.slice(1))).not.toBe(key);
    expect(bucketKey(bucketSeriesKey(ids, 'MONTHLY', 'America/Argentina/ComodRivadavia'), 1e12, 2e12).length).toBeLessThanOrEqual(128);
  });

  it('spells out a set up to the limit and hashes it beyond', () => {
    const id = 'c'.repeat(49);
    expect(instanceSetKey([id, `${id}x`])).toBe(`${id}+${id}x`); // 100 characters
    expect(`${id}+${id}x`).toHaveLength(MAX_SPELLED_OUT_INSTANCE_SET);
    expect(instanceSetKey([id, `${id}xy`])).toMatch(/^2-instances#[0-9a-f]{24}$/);
  });

  it('spells a zone as the tz database does, whatever case it was given in', () => {
    for (const zone of ['asia/shanghai', 'ASIA/SHANGHAI', 'Asia/Shanghai']) expect(canonicalTimeZone(zone)).toBe('Asia/Shanghai');
    expect(canonicalTimeZone('utc')).toBe('UTC');
    expect(canonicalTimeZone('america/new_york')).toBe('America/New_York');
    expect(() => canonicalTimeZone('Mars/Olympus_Mons')).toThrow(RangeError);
  });
});
