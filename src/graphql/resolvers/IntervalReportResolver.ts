import { Args, Ctx, Query, Resolver } from 'type-graphql';
import { InstanceReportArgs } from '../args/ReportRangeArgs';
import type { GatewayContext } from '../context';
import { IntervalReport } from '../types/IntervalReport';

@Resolver(() => IntervalReport)
export class IntervalReportResolver {
  @Query(() => [IntervalReport], {
    description:
      'ListIntervalInstanceReport, one to one: the buckets of one instance that had traffic (buckets without traffic are absent, as upstream).',
  })
  intervalInstanceReport(@Args() args: InstanceReportArgs, @Ctx() ctx: GatewayContext): Promise<IntervalReport[]> {
    return ctx.reports.intervalReports(args) as Promise<IntervalReport[]>;
  }
}
