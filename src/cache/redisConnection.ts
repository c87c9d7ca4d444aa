/**
 * The ioredis client of the shared cache, configured so that a dead Redis costs a request at most
 * one command timeout.
 *
 * ioredis' defaults suit a primary database: commands wait in an offline queue while the client
 * reconnects and are retried up to 20 times. For a cache that is the wrong trade: a request must
 * rather miss and ask upstream than wait for Redis. So:
 *  - `enableOfflineQueue: false`: while disconnected, commands fail at once instead of queueing;
 *  - `maxRetriesPerRequest: 0`: commands in flight when the connection drops fail instead of
 *    being resent after the reconnect;
 *  - `commandTimeout`: a connected but unresponsive server (overloaded, network black hole)
 *    fails the command after this long;
 *  - reconnection never gives up, with a capped exponential backoff, so the cache comes back by
 *    itself when Redis does (no restart of the gateway).
 * The store adds its own deadline on top (see RedisBucketStore), in case a path of ioredis does
 * not honour these.
 */
import Redis, { Cluster } from 'ioredis';

export interface RedisConnectionOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://...` (TLS). */
  url?: string;
  /** Seed nodes of a Redis Cluster; when given, a cluster client is created (auth from `url` is not used). */
  clusterNodes?: readonly { host: string; port: number }[];
  /** Longest a command may take before it fails. */
  commandTimeoutMs: number;
  /** Upper bound of the reconnect backoff (default 2 s). */
  maxReconnectDelayMs?: number;
  /** Time to establish a connection before it counts as failed (default 5 s). */
  connectTimeoutMs?: number;
  /**
   * Connection errors (every failed reconnect emits one). Without a listener ioredis prints each
   * one to stderr; the store logs outages once from its own failed commands, so the default
   * ignores them.
   */
  onError?: (error: Error) => void;
}

const DEFAULT_MAX_RECONNECT_DELAY_MS = 2_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const FIRST_RECONNECT_DELAY_MS = 50;

export function createRedisConnection(options: RedisConnectionOptions): Redis | Cluster {
  const maxDelay = options.maxReconnectDelayMs ?? DEFAULT_MAX_RECONNECT_DELAY_MS;
  // 50, 100, 200, ... ms, capped. Returning a number (never null) means: keep trying forever.
  const reconnectDelay = (attempt: number): number =>
    Math.min(maxDelay, FIRST_RECONNECT_DELAY_MS * 2 ** Math.min(Math.max(attempt - 1, 0), 16));
  const failFast = {
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
  };

  let client: Redis | Cluster;
  if (options.clusterNodes && options.clusterNodes.length > 0) {
    client = new Cluster(
      options.clusterNodes.map((node) => ({ host: node.host, port: node.port })),
      {
        enableOfflineQueue: false,
        clusterRetryStrategy: reconnectDelay,
        // Node connections: ioredis forces their offline queue on (it routes through it while
        // slots are refreshed) and, by default, replaces a lost node through a slots refresh
        // rather than reconnecting it; the timeout still bounds every command.
        redisOptions: failFast,
      },
    );
  } else if (options.url) {
    client = new Redis(options.url, { ...failFast, enableOfflineQueue: false, retryStrategy: reconnectDelay });
  } else {
    throw new Error('createRedisConnection needs a url or cluster nodes');
  }
  client.on('error', options.onError ?? (() => undefined));
  return client;
}
