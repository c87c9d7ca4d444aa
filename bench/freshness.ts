/**
 * Freshness under load (issue 12, target 1): how old can the open bucket's numbers be in an
 * answer, for the gateway and for the Yoga peer?
 *
 * While both serve a dashboard ending now under load, the upstream numbers of the open hour
 * change at moments of our choosing: the emulator adds `MARKER x k` IVR-completed calls to the
 * hour containing now (`openHourExtraCalls`), and the peer's in-memory answer gets the same
 * change at the same moment (its resolvers are as fresh as can be; only its response cache
 * stands between the change and the client). A probe per server polls the same dashboard and
 * reads `k` back from the open bucket's `callsOffered`.
 *
 * Per change and server: `visibleAfterMs` (first answer showing it) and `maxAgeMs` (the last
 * answer still showing older numbers, received how long after the change: the age of the oldest
 * open bucket served). Times are taken in this process, at send/receipt, with the change's time
 * taken before the control requests leave, so both figures are upper bounds (they include the
 * probe's own request latency under load).
 */
import autocannon from 'autocannon';
import { setTimeout as sleep } from 'node:timers/promises';
import { HOUR_MS, DAY_MS } from '../src/reports/intervals';
import { fixturesFromAnswer } from './fixtureSchema';
import { emulatorControl } from './harness';

/** Far above any simulated hour's own calls, so `floor(callsOffered / MARKER)` is the change number. */
const MARKER = 100_000;
const PROBE_GAP_MS = 20;

export interface FreshnessOptions {
  emulatorUrl: string;
  gatewayUrl: string;
  peerUrl: string;
  ttlMs: number;
  instanceId: string;
  selection: string;
  /** Measured changes (after a first one that seeds the open bucket). */
  changes: number;
  loadConnections: number;
}

interface Observation {
  sentAt: number;
  receivedAt: number;
  /** Change number the open bucket shows; -1 for an error or a missing open bucket. */
  k: number;
}

interface ServerFreshness {
  /** Per change: ms from the change until the first answer showing it. */
  visibleAfterMs: number[];
  /** Per change: ms from the change until the last answer still showing older numbers. */
  ageMs: number[];
  maxAgeMs: number;
  /** Answers showing older numbers after newer ones had been served (flip-flops). */
  regressions: number;
  probes: number;
  failedProbes: number;
}

export interface FreshnessResult {
  openTtlMs: number;
  changes: number;
  probeGapMs: number;
  loadConnectionsEach: number;
  gateway: ServerFreshness;
  yogaPeer: ServerFreshness;
  /** The gateway never served an open bucket older than CACHE_OPEN_TTL_MS. */
  gatewayWithinTtl: boolean;
  gatewayFresherThanPeer: boolean;
}

async function postAnswer(url: string, query: string): Promise<any> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return response.json();
}

function shownChange(answer: any, openHour: number): number {
  const buckets = answer?.data?.r0;
  if (!Array.isArray(buckets) || answer.errors) return -1;
  const open = buckets.find((b: any) => Number(b.statsTime) === openHour || Date.parse(b.statsTime) === openHour);
  return open ? Math.floor(open.inbound.callsOffered / MARKER) : -1;
}

export async function measureFreshness(options: FreshnessOptions): Promise<FreshnessResult> {
  const { ttlMs } = options;
  const perChangeTimeout = 3 * ttlMs + 5_000;
  // The whole check must fall inside one hour: the extra calls follow the hour containing now.
  // A change takes about two TTLs (phase wait, then the refresh); near the hour's end, wait.
  const expectedMs = (options.changes + 1) * 2 * ttlMs + 10_000;
  const untilNextHour = HOUR_MS - (Date.now() % HOUR_MS);
  if (untilNextHour < expectedMs) await sleep(untilNextHour + 2_000);

  const now = Date.now();
  const openHour = Math.floor(now / HOUR_MS) * HOUR_MS;
  const query = `{ r0: intervalInstanceReport(instanceId: "${options.instanceId}", startTime: ${openHour - 7 * DAY_MS + HOUR_MS}, endTime: ${now}, interval: HOURLY) { ${options.selection} } }`;

  // Change 1 seeds the open bucket (a quiet hour has none); the peer gets the gateway's answer.
  await emulatorControl(options.emulatorUrl, 'options', { openHourExtraCalls: MARKER });
  const seedDeadline = Date.now() + perChangeTimeout;
  let base: any;
  for (;;) {
    base = await postAnswer(options.gatewayUrl, query);
    if (shownChange(base, openHour) === 1) break;
    if (Date.now() > seedDeadline) throw new Error(`freshness: the gateway did not show the first change within ${perChangeTimeout} ms`);
    await sleep(50);
  }
  const peerFixtures = (k: number) =>
    fixturesFromAnswer(query, {
      r0: base.data.r0.map((b: any) =>
        shownChange({ data: { r0: [b] } }, openHour) === 1 ? { ...b, inbound: { ...b.inbound, callsOffered: b.inbound.callsOffered + (k - 1) * MARKER } } : b,
      ),
    });
  const setPeer = (k: number) => fetch(`${options.peerUrl.replace(/\/graphql$/, '')}/__peer/fixtures`, { method: 'POST', body: JSON.stringify(peerFixtures(k)) });
  await setPeer(1);

  // Load on both servers and a probe per server, until every change has been seen (or timed out).
  const body = JSON.stringify({ query });
  const loads = [options.gatewayUrl, options.peerUrl].map((url) =>
    autocannon({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: options.loadConnections, duration: 3_600 }, () => {}),
  );
  let probing = true;
  const observations: Record<'gateway' | 'yogaPeer', Observation[]> = { gateway: [], yogaPeer: [] };
  const probe = async (url: string, into: Observation[]) => {
    while (probing) {
      const sentAt = performance.now();
      let k = -1;
      try {
        k = shownChange(await postAnswer(url, query), openHour);
      } catch {
        // counted as a failed probe (k = -1)
      }
      into.push({ sentAt, receivedAt: performance.now(), k });
      await sleep(PROBE_GAP_MS);
    }
  };
  const probes = [probe(options.gatewayUrl, observations.gateway), probe(options.peerUrl, observations.yogaPeer)];

  const changedAt: number[] = [];
  try {
    for (let k = 2; k <= options.changes + 1; k++) {
      // A random phase against the servers' refresh cycles.
      await sleep((0.2 + 0.8 * Math.random()) * ttlMs);
      const at = performance.now();
      await Promise.all([emulatorControl(options.emulatorUrl, 'options', { openHourExtraCalls: k * MARKER }), setPeer(k)]);
      changedAt.push(at);
      const deadline = at + perChangeTimeout;
      while (performance.now() < deadline) {
        const seen = (list: Observation[]) => list.some((o) => o.sentAt >= at && o.k >= k);
        if (seen(observations.gateway) && seen(observations.yogaPeer)) break;
        await sleep(50);
      }
    }
    // One more probe round after the last change is seen, so a late flip-flop would be caught.
    await sleep(4 * PROBE_GAP_MS);
  } finally {
    probing = false;
    for (const load of loads) load.stop();
    await Promise.all(probes);
    await emulatorControl(options.emulatorUrl, 'options', { openHourExtraCalls: 0 });
  }

  const summarize = (list: Observation[]): ServerFreshness => {
    const visibleAfterMs: number[] = [];
    const ageMs: number[] = [];
    changedAt.forEach((at, i) => {
      const k = i + 2;
      const next = changedAt[i + 1] ?? Infinity;
      const after = list.filter((o) => o.receivedAt >= at && o.sentAt < next && o.k >= 0);
      const firstFresh = after.find((o) => o.sentAt >= at && o.k >= k);
      const stale = after.filter((o) => o.k < k);
      visibleAfterMs.push(firstFresh ? Math.round(firstFresh.receivedAt - at) : -1);
      // Not seen within the timeout: the age is at least the timeout.
      ageMs.push(firstFresh ? Math.round(stale.length ? stale.at(-1)!.receivedAt - at : 0) : Math.round(perChangeTimeout));
    });
    let highest = -1;
    let regressions = 0;
    for (const o of list) {
      if (o.k < 0) continue;
      if (o.k < highest) regressions++;
      highest = Math.max(highest, o.k);
    }
    return {
      visibleAfterMs,
      ageMs,
      maxAgeMs: Math.max(0, ...ageMs),
      regressions,
      probes: list.length,
      failedProbes: list.filter((o) => o.k < 0).length,
    };
  };
  const gateway = summarize(observations.gateway);
  const yogaPeer = summarize(observations.yogaPeer);
  return {
    openTtlMs: ttlMs,
    changes: changedAt.length,
    probeGapMs: PROBE_GAP_MS,
    loadConnectionsEach: options.loadConnections,
    gateway,
    yogaPeer,
    gatewayWithinTtl: gateway.maxAgeMs <= ttlMs && gateway.regressions === 0 && gateway.visibleAfterMs.every((v) => v >= 0),
    gatewayFresherThanPeer: gateway.maxAgeMs <= yogaPeer.maxAgeMs,
  };
}
