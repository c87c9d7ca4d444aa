/**
 * The instances an account has, as upstream `ListInstances` (CCC 2020-07-01) describes them.
 *
 * A port, like `ReportSource`: the real client pages through `ListInstances`, the emulator lists
 * its simulated instances, tests use a fake. The GraphQL layer (`CallCenterInstance.name`, ...)
 * and the archive (`ARCHIVE_INSTANCES=*`) both read instances through it.
 */

/** Upstream's lifecycle states; only RUNNING and STOPPED instances still have reports to read. */
export type InstanceStatus = 'RUNNING' | 'STOPPED' | 'CREATING' | 'RELEASED';

export interface InstanceInfo {
  id: string;
  name: string | null;
  status: InstanceStatus;
  /** Epoch ms (upstream's `CreateTime`). */
  createTime: number | null;
  description: string | null;
  domainName: string | null;
}

export interface InstanceDirectory {
  /** Every instance of the account, all pages, in upstream's order. */
  listInstances(): Promise<InstanceInfo[]>;
}

/** Instances whose closed buckets are still worth fetching (RELEASED keeps history, is no longer polled). */
export function hasReportsToFetch(instance: InstanceInfo): boolean {
  return instance.status === 'RUNNING' || instance.status === 'STOPPED';
}
