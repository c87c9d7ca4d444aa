/**
 * Live operations go first: in a real gateway with one upstream slot, while the archive backfills
 * unpaced, a live operation's calls are all dispatched before the archive's next call.
 */
import { ARCHIVE_CALLER } from '../../src/archive/createArchive';
import type { Gateway } from '../../src/server/createGateway';
import { graphql, startTestGateway } from '../helpers/gateway';
import { eventually } from '../resilience/support';

const T0 = Date.UTC(2026, 10, 30, 5, 30);
const DAY_MS = 86_400_000;
const HOUR0 = T0 - (T0 % 3_600_000);

let gateway: Gateway | undefined;
afterEach(async () => {
  await gateway?.close();
});

it('dispatches every call of a live operation before the next archive call', async () => {
  gateway = await startTestGateway(
    { UPSTREAM_CONCURRENCY: '1', ARCHIVE_INSTANCES: 'ccc-sim-a,ccc-sim-b,ccc-sim-c', ARCHIVE_MAX_CALLS_PER_MINUTE: '6000000' },
    { now: () => T0, emulator: { latencyMs: 30 } },
  );
  const dispatched: string[] = [];
  gateway.pipeline.scheduler.observe((event) => {
    if (event.type === 'dispatch') dispatched.push(event.callerKey === ARCHIVE_CALLER ? 'archive' : 'live');
  });
  expect(await eventually(async () => dispatched.filter((d) => d === 'archive').length >= 3, 20_000, 5)).toBe(true);

  // 60 days of HOURLY of a fresh instance: 6 calls, queued at once behind the archive's call in flight.
  const answer = await graphql(
    gateway,
    `{ intervalInstanceReport(instanceId: "ccc-sim-live", interval: HOURLY, startTime: ${HOUR0 - 61 * DAY_MS}, endTime: ${HOUR0 - DAY_MS}) { statsTime } }`,
  );
  expect(answer.errors).toBeUndefined();
  const first = dispatched.indexOf('live');
  const last = dispatched.lastIndexOf('live');
  expect(dispatched.filter((d) => d === 'live')).toHaveLength(6);
  // No archive call in between: the background class waited while any live call was queued.
  expect(dispatched.slice(first, last + 1).every((d) => d === 'live')).toBe(true);
  // And the archive went on afterwards.
  expect(await eventually(async () => dispatched.slice(last + 1).includes('archive'), 20_000, 5)).toBe(true);
});
