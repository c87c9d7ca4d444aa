import { Arg, Args, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import type { InstanceInfo } from '../../reports/InstanceDirectory';
import { assertInstanceId } from '../../reports/InstanceReports';
import { ReportRangeArgs, ReportWindowArgs } from '../args/ReportRangeArgs';
import type { GatewayContext } from '../context';
import { TimestampScalar } from '../scalars/Timestamp';
import { CallCenterInstance } from '../types/CallCenterInstance';
import { CallCenterInstanceStatus } from '../types/CallCenterInstanceStatus';
import { IntervalReport } from '../types/IntervalReport';

/** What every ListInstances field's description says about where it comes from and its errors. */
const LISTED =
  'From the account\'s instance list (ListInstances), read once per operation and shared for INSTANCE_DIRECTORY_TTL_MS (60 s by default). ' +
  'An id that list does not hold: null with a NOT_FOUND error at this field (as its reports answer); an instance the token may not read: FORBIDDEN; the list unreadable: an UPSTREAM_* error.';

function listed(instance: CallCenterInstance, ctx: GatewayContext): Promise<InstanceInfo> {
  return instance.info ? Promise.resolve(instance.info) : ctx.instances.info(instance.id);
}

@Resolver(() => CallCenterInstance)
export class CallCenterInstanceResolver {
  @Query(() => CallCenterInstance, {
    description: 'A call center instance by id. Existence is checked when its reports or its listed fields (name, status, ...) are read.',
  })
  callCenterInstance(@Arg('id', () => ID, { description: 'CCC instance id, e.g. "ccc-test" (letters, digits, "-" and "_").' }) id: string): CallCenterInstance {
    assertInstanceId(id, 'id');
    return { id };
  }

  @Query(() => [CallCenterInstance], {
    nullable: true,
    description:
      'The instances of the account that the caller may read (every one with a token whose instances claim is "*"), in ListInstances\' order. ' +
      'Read once per operation from the instance list shared for INSTANCE_DIRECTORY_TTL_MS (60 s by default); null with an UPSTREAM_* error when that list cannot be read. ' +
      'Report fields selected under it are priced for every instance listed.',
  })
  async callCenterInstances(
    @Arg('statuses', () => [CallCenterInstanceStatus], {
      nullable: true,
      description: 'Only instances in one of these states (e.g. [RUNNING, STOPPED] for those with reports to read); all when absent or empty.',
    })
    statuses: CallCenterInstanceStatus[] | null | undefined,
    @Ctx() ctx: GatewayContext,
  ): Promise<CallCenterInstance[]> {
    const instances = await ctx.instances.readable(statuses);
    return instances.map((info) => ({ id: info.id, info }));
  }

  @FieldResolver(() => String, { nullable: true, description: `Display name (ListInstances Name); null when the instance has none. ${LISTED}` })
  async name(@Root() instance: CallCenterInstance, @Ctx() ctx: GatewayContext): Promise<string | null> {
    return (await listed(instance, ctx)).name;
  }

  @FieldResolver(() => CallCenterInstanceStatus, { nullable: true, description: `Lifecycle state (ListInstances Status). ${LISTED}` })
  async status(@Root() instance: CallCenterInstance, @Ctx() ctx: GatewayContext): Promise<CallCenterInstanceStatus> {
    return (await listed(instance, ctx)).status as CallCenterInstanceStatus;
  }

  @FieldResolver(() => TimestampScalar, { nullable: true, description: `When the instance was created (ListInstances CreateTime, epoch milliseconds); null when upstream does not say. ${LISTED}` })
  async createTime(@Root() instance: CallCenterInstance, @Ctx() ctx: GatewayContext): Promise<number | null> {
    return (await listed(instance, ctx)).createTime;
  }

  @FieldResolver(() => String, { nullable: true, description: `Free-text description (ListInstances Description); null when empty. ${LISTED}` })
  async description(@Root() instance: CallCenterInstance, @Ctx() ctx: GatewayContext): Promise<string | null> {
    return (await listed(instance, ctx)).description;
  }

  @FieldResolver(() => String, { nullable: true, description: `Domain prefix of the instance's workbench (ListInstances DomainName); null when empty. ${LISTED}` })
  async domainName(@Root() instance: CallCenterInstance, @Ctx() ctx: GatewayContext): Promise<string | null> {
    return (await listed(instance, ctx)).domainName;
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
