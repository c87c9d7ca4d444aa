import { ArgsType, Field, ID } from 'type-graphql';
import { TimestampScalar } from '../scalars/Timestamp';
import { EmptyIntervals } from '../types/EmptyIntervals';
import { ReportInterval } from '../types/ReportInterval';

/** Range and zone: shared by every report field. */
@ArgsType()
export class ReportWindowArgs {
  @Field(() => TimestampScalar, {
    nullable: true,
    description: 'Range start, inclusive (floored to its bucket). Default: today 00:00 in timeZone.',
  })
  startTime?: number | null;

  @Field(() => TimestampScalar, {
    nullable: true,
    description: 'Range end: a bucket is included when it starts before endTime (as upstream, which rounds EndTime up to the hour). Default: now.',
  })
  endTime?: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'IANA time zone the buckets are cut in, e.g. "Europe/Berlin". Default: the instance\'s zone. Zones whose offset is not a whole number of hours are rejected.',
  })
  timeZone?: string | null;
}

@ArgsType()
export class ReportRangeArgs extends ReportWindowArgs {
  @Field(() => ReportInterval, { nullable: true, defaultValue: ReportInterval.DAILY, description: 'Bucket size. Default: DAILY.' })
  interval!: ReportInterval;

  @Field(() => EmptyIntervals, { nullable: true, defaultValue: EmptyIntervals.OMIT, description: 'Buckets without traffic: OMIT (default, as upstream) or ZERO.' })
  emptyIntervals!: EmptyIntervals;
}

@ArgsType()
export class InstanceReportArgs extends ReportRangeArgs {
  @Field(() => ID, { description: 'CCC instance id, e.g. "ccc-test".' })
  instanceId!: string;
}

@ArgsType()
export class CombinedReportArgs extends ReportRangeArgs {
  @Field(() => [ID], { description: 'The instances to combine (at least one, no duplicates).' })
  instanceIds!: string[];
}
