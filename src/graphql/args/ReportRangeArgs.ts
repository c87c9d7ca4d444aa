import { ArgsType, Field, ID } from 'type-graphql';
import { TimestampScalar } from '../scalars/Timestamp';
import { ReportInterval } from '../types/ReportInterval';

@ArgsType()
export class ReportRangeArgs {
  @Field(() => TimestampScalar, {
    nullable: true,
    description: "Range start, inclusive (floored to its bucket). Default: today 00:00 in the instance's time zone.",
  })
  startTime?: number | null;

  @Field(() => TimestampScalar, {
    nullable: true,
    description: 'Range end: a bucket is included when it starts before endTime (as upstream, which rounds EndTime up to the hour). Default: now.',
  })
  endTime?: number | null;

  @Field(() => ReportInterval, { nullable: true, defaultValue: ReportInterval.DAILY, description: 'Bucket size. Default: DAILY.' })
  interval!: ReportInterval;
}

@ArgsType()
export class InstanceReportArgs extends ReportRangeArgs {
  @Field(() => ID, { description: 'CCC instance id, e.g. "ccc-test".' })
  instanceId!: string;
}
