import { Arg, Args, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import { assertInstanceId } from '../../reports/InstanceReports';
import { ReportRangeArgs } from '../args/ReportRangeArgs';
import type { GatewayContext } from '../context';
import { CallCenterInstance } from '../types/CallCenterInstance';
import { IntervalReport } from '../types/IntervalReport';

@Resolver(() => CallCenterInstance)
export class CallCenterInstanceResolver {
  @Query(() => CallCenterInstance, {
    description: 'A call center instance by id. Existence is checked when its reports are read.',
  })
  callCenterInstance(@Arg('id', () => ID) id: string): CallCenterInstance {
    assertInstanceId(id, 'id');
    return { id };
  }

  @FieldResolver(() => [IntervalReport], { description: 'Report buckets of this instance that had traffic.' })
  intervalReports(
    @Root() instance: CallCenterInstance,
    @Args() args: ReportRangeArgs,
    @Ctx() ctx: GatewayContext,
  ): Promise<IntervalReport[]> {
    return ctx.reports.intervalReports({ ...args, instanceId: instance.id }) as Promise<IntervalReport[]>;
  }
}
