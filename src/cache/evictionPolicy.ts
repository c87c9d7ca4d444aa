/**
 * Reads Redis's `maxmemory-policy` on every master and judges whether it can lose history.
 *
 * Closed buckets are stored without a TTL and never refetched while cached; after 180 days
 * upstream no longer has them, so the cache is their only copy. Policies named `allkeys-*`
 * (`allkeys-lru`, `allkeys-lfu`, `allkeys-random`) evict keys without a TTL when memory runs out:
 * they would drop that history silently. `noeviction` (writes fail instead: see the store's
 * out-of-memory handling) and `volatile-*` (only keys with a TTL, here the open snapshots, are
 * evicted) keep every closed bucket.
 *
 * Managed Redis services often forbid `CONFIG` (renamed command, ACL): then the policy is
 * `unchecked`, which is reported, not treated as a failure.
 */
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';

export type EvictionPolicyVerdict =
  /** Every master answered with a policy that keeps keys without a TTL. */
  | { state: 'safe'; policies: string[] }
  /** At least one master may evict keys without a TTL. */
  | { state: 'unsafe'; policies: string[]; unsafePolicies: string[] }
  /** At least one master did not tell (CONFIG forbidden, timeout), none said something unsafe. */
  | { state: 'unchecked'; policies: string[]; reason: string };

/** True for a policy that may evict keys without a TTL. */
export function mayEvictKeysWithoutTtl(policy: string): boolean {
  return policy.toLowerCase().startsWith('allkeys-');
}

/**
 * Asks each master (one server, or every master of a cluster) for its policy. Never rejects:
 * a node that does not answer makes the verdict `unchecked`.
 */
export async function checkEvictionPolicy(redis: Redis | Cluster, timeoutMs: number): Promise<EvictionPolicyVerdict> {
  const nodes: Redis[] = redis.isCluster ? (redis as Cluster).nodes('master') : [redis as Redis];
  if (nodes.length === 0) return { state: 'unchecked', policies: [], reason: 'no Redis master known yet' };
  const answers = await Promise.all(nodes.map((node) => readPolicy(node, timeoutMs)));
  const policies = [...new Set(answers.filter((a): a is { policy: string } => 'policy' in a).map((a) => a.policy))].sort();
  const unsafePolicies = policies.filter(mayEvictKeysWithoutTtl);
  if (unsafePolicies.length > 0) return { state: 'unsafe', policies, unsafePolicies };
  const failure = answers.find((a): a is { failure: string } => 'failure' in a);
  if (failure) return { state: 'unchecked', policies, reason: failure.failure };
  return { state: 'safe', policies };
}

async function readPolicy(node: Redis, timeoutMs: number): Promise<{ policy: string } | { failure: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
  });
  try {
    const reply = (await Promise.race([node.call('CONFIG', 'GET', 'maxmemory-policy'), timeout])) as unknown;
    // RESP2: ['maxmemory-policy', 'noeviction']; RESP3 clients may answer a map.
    const policy = Array.isArray(reply) ? reply[1] : (reply as Record<string, unknown> | null)?.['maxmemory-policy'];
    if (typeof policy !== 'string') return { failure: 'CONFIG GET maxmemory-policy gave no value' };
    return { policy };
  } catch (error) {
    // Generic reasons only: they end up on the unauthenticated /readyz.
    const message = String((error as Error)?.message ?? error);
    if (message === 'timeout') return { failure: 'CONFIG GET maxmemory-policy timed out' };
    if (/unknown command|NOPERM|no permissions|not allowed/i.test(message)) {
      return { failure: 'CONFIG GET is not permitted on this Redis (managed service or ACL)' };
    }
    return { failure: 'CONFIG GET maxmemory-policy failed' };
  } finally {
    clearTimeout(timer);
  }
}
