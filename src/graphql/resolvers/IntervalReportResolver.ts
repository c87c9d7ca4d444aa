import { Args, Ctx, Query, Resolver } from 'type-graphql';
import { CombinedReportArgs, InstanceReportArgs } from '../args/ReportRangeArgs';
import type { GatewayContext } from '../context';
import { CombinedIntervalReport } from '../types/CombinedIntervalReport';
import { IntervalReport } from '../types/IntervalReport';

/**
 * Report fields are nullable on purpose: when upstream cannot deliver part of an operation, that
 * field is null with an error carrying its path, and every other field of the operation keeps its
 * data (a non-null field would null its parent, up to the whole response).
 */
@Resolver()
export class IntervalReportResolver {
  @Query(() => [IntervalReport], {
    nullable: true,
    description:
      'ListIntervalInstanceReport for one instance. HOURLY and DAILY in the instance\'s zone are upstream\'s buckets one to one (buckets without traffic absent unless emptyIntervals: ZERO); other intervals and zones are combined exactly.',
  })
  async intervalInstanceReport(@Args() { instanceId, ...args }: InstanceReportArgs, @Ctx() ctx: GatewayContext): Promise<IntervalReport[]> {
    const rows = await ctx.reports.read({ ...args, instanceIds: [instanceId] });
    // Rows are fresh objects of this operation: label them in place rather than copy them.
    for (const row of rows) (row as IntervalReport).instanceId = instanceId;
    return rows as IntervalReport[];
  }

  @Query(() => [CombinedIntervalReport], {
    nullable: true,
    description: 'Several instances combined into one series, with the same exact rules as roll-ups (a company-wide figure).',
  })
  async combinedIntervalReport(@Args() { instanceIds, ...args }: CombinedReportArgs, @Ctx() ctx: GatewayContext): Promise<CombinedIntervalReport[]> {
    const rows = await ctx.reports.read({ ...args, instanceIds });
    for (const row of rows) (row as CombinedIntervalReport).instanceIds = instanceIds;
    return rows as CombinedIntervalReport[];
  }
}
