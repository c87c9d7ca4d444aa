/**
 * Metrics of live report subscriptions, on the gateway's registry: subscribers and series (read
 * from the hub at each scrape), pushes, polls per instance, delivery lag, and why connections
 * were closed. Instance labels are capped (MAX_INSTANCE_LABELS, then `other`): ids come from callers.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { LiveDropReason, LiveHubObserver } from '../../reports/LiveReportHub';

const MAX_INSTANCE_LABELS = 200;

/** Why the gateway closed a subscription connection. */
export type LiveDisconnectReason = LiveDropReason | 'token-expired' | 'unauthenticated' | 'too-many-connections' | 'shutdown';

export interface LiveMetrics extends LiveHubObserver {
  disconnected(reason: LiveDisconnectReason): void;
  /** Subscriptions refused before they started (limits, auth, validation), by code. */
  refused(code: string): void;
}

export function createLiveMetrics(registry: Registry, hubStats: () => { subscribers: number; series: number; polling: number }): LiveMetrics {
  const registers = [registry];
  new Gauge({
    name: 'ccc_gateway_live_subscribers',
    help: 'Live report subscriptions open on this replica',
    registers,
    collect() {
      this.set(hubStats().subscribers);
    },
  });
  new Gauge({
    name: 'ccc_gateway_live_series',
    help: 'Live series (instances, interval, zone) this replica has subscribers for or polls',
    labelNames: ['role'],
    registers,
    collect() {
      const stats = hubStats();
      this.set({ role: 'watched' }, stats.series);
      this.set({ role: 'polled' }, stats.polling);
    },
  });
  const pushes = new Counter({ name: 'ccc_gateway_live_pushes_total', help: 'Bucket updates and poll errors queued for subscribers', registers });
  const polls = new Counter({
    name: 'ccc_gateway_live_polls_total',
    help: 'Polls of live series by this replica (each a pipeline read: at most one upstream call per series per CACHE_OPEN_TTL_MS), per instance',
    labelNames: ['instance', 'outcome'],
    registers,
  });
  const lag = new Histogram({
    name: 'ccc_gateway_live_delivery_lag_seconds',
    help: "From a poll's answer being published to its update being taken for sending to a subscriber",
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const disconnects = new Counter({
    name: 'ccc_gateway_live_disconnects_total',
    help: 'Subscription connections closed by the gateway, by reason',
    labelNames: ['reason'],
    registers,
  });
  const refusals = new Counter({ name: 'ccc_gateway_live_refused_total', help: 'Subscriptions refused before they started, by code', labelNames: ['code'], registers });
  pushes.inc(0);
  const instances = new Set<string>();
  const instanceLabel = (id: string) => {
    if (instances.has(id)) return id;
    if (instances.size >= MAX_INSTANCE_LABELS) return 'other';
    instances.add(id);
    return id;
  };
  return {
    polled(spec, outcome) {
      for (const id of spec.instanceIds) polls.inc({ instance: instanceLabel(id), outcome });
    },
    pushed(count) {
      pushes.inc(count);
    },
    delivered(lagMs) {
      lag.observe(lagMs / 1000);
    },
    dropped() {
      // Counted as a disconnect by the transport, which closes the connection.
    },
    disconnected(reason) {
      disconnects.inc({ reason });
    },
    refused(code) {
      refusals.inc({ code: /^[A-Z_]{1,40}$/.test(code) ? code : 'OTHER' });
    },
  };
}
