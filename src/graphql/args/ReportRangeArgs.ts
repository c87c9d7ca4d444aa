import { ArgsType, Field, ID } from 'type-graphql';
import { TimestampScalar } from '../scalars/Timestamp';
import { EmptyIntervals } from '../types/EmptyIntervals';
import { ReportInterval } from '../types/ReportInterval';

/** Range and zone: shared by every report field. */
@ArgsType()
export class ReportWindowArgs {
  @Field(() => TimestampScalar, {
    nullable: true,
    description:
      'Range start, inclusive. Buckets are whole, so the range is widened to the start of the bucket holding startTime, in timeZone: its hour (HOURLY; TOTAL and summary floor to the hour), the midnight of its day (DAILY), Monday 00:00 of its ISO week (WEEKLY) or 00:00 on the 1st of its month (MONTHLY). A WEEKLY or MONTHLY range can thus start, and count traffic from, up to a week or a month before startTime: the first bucket\'s statsTime is that widened start, and errors about the range name it (extensions.widenedStartTime). Default: today 00:00 in timeZone.',
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
