import { Arg, Args, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import { assertInstanceId } from '../../reports/InstanceReports';
import { ReportRangeArgs, ReportWindowArgs } from '../args/ReportRangeArgs';
import type { GatewayContext } from '../context';
import { CallCenterInstance } from '../types/CallCenterInstance';
import { IntervalReport } from '../types/IntervalReport';

@Resolver(() => CallCenterInstance)
export class CallCenterInstanceResolver {
  @Query(() => CallCenterInstance, {
    description: 'A call center instance by id. Existence is checked when its reports are read.',
  })
  callCenterInstance(@Arg('id', () => ID, { description: 'CCC instance id, e.g. "ccc-test" (letters, digits, "-" and "_").' }) id: string): CallCenterInstance {
    assertInstanceId(id, 'id');
    return { id };
  }

  @FieldResolver(() => [IntervalReport], { nullable: true, description: 'Report buckets of this instance (see Query.intervalInstanceReport).' })
  async intervalReports(@Root() instance: CallCenterInstance, @Args() args: ReportRangeArgs, @Ctx() ctx: GatewayContext): Promise<IntervalReport[]> {
    const rows = await ctx.reports.read({ ...args, instanceIds: [instance.id] });
    for (const row of rows) (row as IntervalReport).instanceId = instance.id;
    return rows as IntervalReport[];
  }

  @FieldResolver(() => IntervalReport, {
    nullable: true,
    description: 'The whole range as one bucket (interval TOTAL, zero-filled when there was no traffic). Null only for an empty range.',
  })
  async summary(@Root() instance: CallCenterInstance, @Args() args: ReportWindowArgs, @Ctx() ctx: GatewayContext): Promise<IntervalReport | null> {
    const [row] = await ctx.reports.read({ ...args, interval: 'TOTAL', emptyIntervals: 'ZERO', instanceIds: [instance.id] });
    return row ? ({ ...row, instanceId: instance.id } as IntervalReport) : null;
  }
}
