import type { ArchiveStatus } from '../reports/archive/archiveStatus';
import type { InstanceCatalog } from '../reports/InstanceCatalog';
import type { InstanceReports } from '../reports/InstanceReports';
import type { LiveReports } from '../reports/LiveReports';
import type { PipelineTrace } from '../reports/ReportPipeline';
import type { Principal } from '../server/auth/principal';
import type { ResponseCacheRequest } from '../server/responseCache';

/** Per-operation context: everything a resolver may touch. Resolvers never see transport. */
export interface GatewayContext {
  reports: InstanceReports;
  /** The account's instances as ListInstances lists them (name, status, ...), one listing per operation. */
  instances: InstanceCatalog;
  /** The archive's progress (docs/archive.md); absent when there is neither Redis nor an archive in this process. */
  archive?: { status(instanceId: string): Promise<ArchiveStatus | undefined> };
  trace: PipelineTrace;
  requestId: string;
  principal: Principal;
  /** Live report subscriptions: only operations over WebSocket (src/server/subscriptions) have them. */
  live?: LiveReports;
  /** Set when this operation's answer may be stored in the response cache if it turns out final. */
  responseCacheKey?: string;
  /** What the response cache needs to store this operation's answer (./server/responseCache). */
  cacheRequest?: ResponseCacheRequest;
}
