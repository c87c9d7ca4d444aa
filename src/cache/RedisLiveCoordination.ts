/**
 * Live series shared by gateway replicas through Redis (docs/subscriptions.md):
 *  - a poller lease per series, `<prefix>live:{<series>}:poller` (SET NX PX, renewed by its
 *    holder every poll interval, released on drop or shutdown): one replica polls a series;
 *  - an interest key per series, `<prefix>live:{<series>}:interest`, refreshed with a TTL by every
 *    replica that has subscribers for it: the poller keeps polling while it exists, even with no
 *    subscribers of its own, and stops once it expires;
 *  - snapshots on one pub/sub channel, `<prefix>live:snapshots`, read on a dedicated subscriber
 *    connection (a connection in subscriber mode cannot run other commands). Classic
 *    PUBLISH/SUBSCRIBE rather than sharded pub/sub: in Redis Cluster a classic message reaches
 *    every node's subscribers, so one channel serves any cluster layout, and ioredis' Cluster client
 *    resubscribes by itself after a failover. Every replica receives every series' snapshots and
 *    keeps those it has subscribers for: a snapshot is a few kB per series per poll interval.
 * The series name is the key's hash tag: a series' keys share a cluster slot.
 */
import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { LiveCoordination, LiveSeriesSpec, LiveSnapshot } from '../reports/LiveCoordination';

/** Takes the lease, or renews it if this replica holds it. */
const CLAIM = `
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('pexpire', KEYS[1], ARGV[2])
  return 1
end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0`;

/** Deletes the lease only if this replica holds it. */
const RELEASE = `
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0`;

interface Envelope {
  from: string;
  snapshot: LiveSnapshot;
}

export interface RedisLiveCoordinationOptions {
  redis: Redis | Cluster;
  keyPrefix?: string;
  /** Malformed messages, and the subscriber connection's failures (once per outage). */
  onError?(error: unknown): void;
}

export class RedisLiveCoordination implements LiveCoordination {
  /** Tells this replica's own messages apart on the shared channel. */
  readonly replicaId = randomUUID();
  private readonly prefix: string;
  private readonly channel: string;
  private subscriber?: Redis | Cluster;
  private readonly listeners: ((snapshot: LiveSnapshot) => void)[] = [];
  private subscribed?: Promise<unknown>;

  constructor(private readonly options: RedisLiveCoordinationOptions) {
    this.prefix = options.keyPrefix ?? 'ccc:';
    this.channel = `${this.prefix}live:snapshots`;
  }

  /**
   * The subscriber connection, opened with this replica's first live series (a gateway nobody
   * subscribes to opens none). Subscriber mode takes the whole connection. Its offline queue is
   * on: SUBSCRIBE waits for the connection instead of failing, and ioredis resubscribes after
   * every reconnect.
   */
  private listen(): Promise<unknown> {
    if (this.subscribed) return this.subscribed;
    const { options } = this;
    const redis = options.redis;
    this.subscriber = isCluster(redis) ? redis.duplicate(undefined, { enableOfflineQueue: true }) : redis.duplicate({ enableOfflineQueue: true });
    // ioredis reports every failed reconnect attempt: one report per outage is enough.
    let failing = false;
    this.subscriber.on('error', (error: Error) => {
      if (!failing) options.onError?.(error);
      failing = true;
    });
    this.subscriber.on('ready', () => {
      failing = false;
    });
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.receive(message);
    });
    this.subscribed = this.subscriber.subscribe(this.channel).catch((error: unknown) => options.onError?.(error));
    return this.subscribed;
  }

  /** Resolves once the subscription is in place. */
  ready(): Promise<unknown> {
    return this.listen();
  }

  private key(seriesKey: string, what: 'poller' | 'interest'): string {
    return `${this.prefix}live:{${seriesKey}}:${what}`;
  }

  async declareInterest(spec: LiveSeriesSpec, ttlMs: number): Promise<void> {
    void this.listen();
    await this.options.redis.set(this.key(spec.key, 'interest'), '1', 'PX', ttlMs);
  }

  async hasInterest(key: string): Promise<boolean> {
    return (await this.options.redis.exists(this.key(key, 'interest'))) === 1;
  }

  async claimPoller(key: string, ttlMs: number): Promise<boolean> {
    void this.listen();
    return (await this.options.redis.eval(CLAIM, 1, this.key(key, 'poller'), this.replicaId, String(ttlMs))) === 1;
  }

  async releasePoller(key: string): Promise<void> {
    await this.options.redis.eval(RELEASE, 1, this.key(key, 'poller'), this.replicaId);
  }

  async publish(snapshot: LiveSnapshot): Promise<void> {
    const envelope: Envelope = { from: this.replicaId, snapshot };
    await this.options.redis.publish(this.channel, JSON.stringify(envelope));
  }

  onSnapshot(listener: (snapshot: LiveSnapshot) => void): void {
    this.listeners.push(listener);
  }

  private receive(message: string): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(message) as Envelope;
    } catch (error) {
      this.options.onError?.(error);
      return;
    }
    if (envelope.from === this.replicaId || typeof envelope.snapshot?.key !== 'string') return;
    for (const listener of this.listeners) listener(envelope.snapshot);
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect();
  }
}

function isCluster(redis: Redis | Cluster): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}
