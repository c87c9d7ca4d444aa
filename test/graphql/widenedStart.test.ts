/**
 * A range starting inside a bucket is widened to the bucket's start (buckets are whole): errors
 * about the range's start name the start it was widened to, with `extensions.widenedStartTime`,
 * and say which start leaves that bucket out.
 */
import { DateTime } from 'luxon';
import type { Gateway } from '../../src/server/createGateway';
import { graphql, startTestGateway } from '../helpers/gateway';

const ZONE = 'Asia/Shanghai'; // the emulator's instances
const NOW = DateTime.fromISO('2026-11-26T11:30:00', { zone: ZONE }).toMillis();

const report = (interval: string, startTime: string, endTime?: string) =>
  `{ intervalInstanceReport(instanceId: "ccc-test", interval: ${interval}, startTime: "${startTime}"${endTime ? `, endTime: "${endTime}"` : ''}) { statsTime } }`;

describe('errors about a widened range start', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startTestGateway({}, { now: () => NOW });
  });
  afterAll(() => gateway.close());

  it("names the month start when the widened MONTHLY range reaches past upstream's retention", async () => {
    // 179 days before NOW: inside upstream's 180 days; its month began 209 days before NOW.
    const answer = await graphql(gateway, report('MONTHLY', '2026-05-31T12:00:00+08:00'));
    expect(answer.errors).toHaveLength(1);
    const [error] = answer.errors!;
    expect(error.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      argumentName: 'startTime',
      widenedStartTime: Date.parse('2026-05-01T00:00:00+08:00'),
    });
    expect(error.message).toMatch(/180-day retention/);
    expect(error.message).toContain('this range starts at 2026-05-01T00:00:00+08:00, the start of the MONTHLY bucket holding startTime 2026-05-31T12:00:00+08:00 (Asia/Shanghai)');
    expect(error.message).toContain('start at 2026-06-01T00:00:00+08:00');
  });

  it('the start the message suggests is served', async () => {
    const answer = await graphql(gateway, report('MONTHLY', '2026-06-01T00:00:00+08:00'));
    expect(answer.errors).toBeUndefined();
    expect(answer.data.intervalInstanceReport[0].statsTime).toBe(Date.parse('2026-06-01T00:00:00+08:00'));
  });

  it('says nothing of widening when the range starts on a bucket start', async () => {
    const answer = await graphql(gateway, report('MONTHLY', '2026-05-01T00:00:00+08:00'));
    expect(answer.errors![0].message).toMatch(/180-day retention/);
    expect(answer.errors![0].message).not.toMatch(/this range starts at/);
    expect(answer.errors![0].extensions).not.toHaveProperty('widenedStartTime');
  });
});

describe('the bucket budget error', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ MAX_BUCKETS_PER_FIELD: '10' }, { now: () => NOW });
  });
  afterAll(() => gateway.close());

  it('names the Monday a WEEKLY range starting on a Wednesday was widened to', async () => {
    const answer = await graphql(gateway, report('WEEKLY', '2026-11-04T00:00:00+08:00', '2026-11-12T00:00:00+08:00'));
    const [error] = answer.errors!;
    expect(error.message).toMatch(/upstream buckets; at most 10 are allowed per field/);
    expect(error.message).toContain('this range starts at 2026-11-02T00:00:00+08:00, the start of the WEEKLY bucket holding startTime 2026-11-04T00:00:00+08:00');
    expect(error.message).toContain('start at 2026-11-09T00:00:00+08:00');
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', widenedStartTime: Date.parse('2026-11-02T00:00:00+08:00') });
  });
});
