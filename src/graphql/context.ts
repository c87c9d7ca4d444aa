import type { InstanceReports } from '../reports/InstanceReports';
import type { PipelineTrace } from '../reports/ReportPipeline';
import type { Principal } from '../server/auth/principal';

/** Per-operation context: everything a resolver may touch. Resolvers never see transport. */
export interface GatewayContext {
  reports: InstanceReports;
  trace: PipelineTrace;
  requestId: string;
  principal: Principal;
  /** Set when this operation's answer may be stored in the response cache if it turns out final. */
  responseCacheKey?: string;
}
