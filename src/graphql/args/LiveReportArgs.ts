import { ArgsType, Field, ID } from 'type-graphql';
import { ReportInterval } from '../types/ReportInterval';

/** Bucket size and zone of a live report subscription. */
@ArgsType()
export class LiveWindowArgs {
  @Field(() => ReportInterval, {
    nullable: true,
    defaultValue: ReportInterval.HOURLY,
    description: 'Bucket size to follow: HOURLY (default), DAILY, WEEKLY or MONTHLY (TOTAL has no current bucket: BAD_USER_INPUT).',
  })
  interval!: ReportInterval;

  @Field(() => String, {
    nullable: true,
    description: 'IANA time zone the buckets are cut in, e.g. "Europe/Berlin". Default: the instance\'s zone.',
  })
  timeZone?: string | null;
}

@ArgsType()
export class LiveInstanceArgs extends LiveWindowArgs {
  @Field(() => ID, { description: 'CCC instance id, e.g. "ccc-test".' })
  instanceId!: string;
}

@ArgsType()
export class LiveCombinedArgs extends LiveWindowArgs {
  @Field(() => [ID], { description: 'The instances to combine (at least one, no duplicates).' })
  instanceIds!: string[];
}
