import { Field, Int, ObjectType } from 'type-graphql';
import { TimestampScalar } from '../scalars/Timestamp';

@ObjectType({
  description:
    'What the gateway\'s archive holds of an instance (docs/archive.md): closed HOURLY and DAILY buckets fetched once, kept past upstream\'s 180-day retention.',
})
export class ArchiveStatus {
  @Field(() => TimestampScalar, { description: 'Start of the oldest archived bucket (epoch milliseconds).' })
  earliest!: number;

  @Field(() => TimestampScalar, {
    description: 'Exclusive end of the newest bucket the archive has gone through (epoch milliseconds); closed buckets after it are archived within minutes of settling.',
  })
  latest!: number;

  @Field(() => Int, {
    description:
      'Closed buckets (HOURLY and DAILY) between earliest and latest that are not stored, e.g. after an upstream error: every archive pass retries them, none is skipped. 0 when the span is complete.',
  })
  missingBuckets!: number;
}
