import { Args, Ctx, Query, Resolver } from 'type-graphql';
import { CombinedReportArgs, InstanceReportArgs } from '../args/ReportRangeArgs';
import type { GatewayContext } from '../context';
import { CombinedIntervalReport } from '../types/CombinedIntervalReport';
import { IntervalReport } from '../types/IntervalReport';

@Resolver()
export class IntervalReportResolver {
  @Query(() => [IntervalReport], {
    description:
      'ListIntervalInstanceReport for one instance. HOURLY and DAILY in the instance\'s zone are upstream\'s buckets one to one (buckets without traffic absent unless emptyIntervals: ZERO); other intervals and zones are combined exactly.',
  })
  async intervalInstanceReport(@Args() { instanceId, ...args }: InstanceReportArgs, @Ctx() ctx: GatewayContext): Promise<IntervalReport[]> {
    const rows = await ctx.reports.read({ ...args, instanceIds: [instanceId] });
    return rows.map((row) => ({ ...row, instanceId }) as IntervalReport);
  }

  @Query(() => [CombinedIntervalReport], {
    description: 'Several instances combined into one series, with the same exact rules as roll-ups (a company-wide figure).',
  })
  async combinedIntervalReport(@Args() { instanceIds, ...args }: CombinedReportArgs, @Ctx() ctx: GatewayContext): Promise<CombinedIntervalReport[]> {
    const rows = await ctx.reports.read({ ...args, instanceIds });
    return rows.map((row) => ({ ...row, instanceIds }) as CombinedIntervalReport);
  }
}
