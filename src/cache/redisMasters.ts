/**
 * The servers a keyspace-wide SCAN must visit: the server itself, or every master of a cluster
 * (SCAN walks one node's keys), as the cluster sees them now: the slot map is refreshed first, so
 * a master that failed over since the client last looked is replaced by its promoted replica.
 */
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';

export async function currentMasters(redis: Redis | Cluster): Promise<Redis[]> {
  if (!redis.isCluster) return [redis as Redis];
  const cluster = redis as Cluster;
  await new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
  return cluster.nodes('master');
}
