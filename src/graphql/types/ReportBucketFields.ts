import { Field, ObjectType } from 'type-graphql';
import { TimestampScalar } from '../scalars/Timestamp';
import { InboundMetrics } from './InboundMetrics';
import { OutboundMetrics } from './OutboundMetrics';
import { OverallMetrics } from './OverallMetrics';
import { ReportInterval } from './ReportInterval';

/**
 * The fields every report bucket has, whoever it belongs to (one instance, or several combined).
 * Subclasses inherit its fields; unreferenced itself, it never appears in the schema.
 */
@ObjectType({ simpleResolvers: true })
export abstract class ReportBucketFields {
  @Field(() => ReportInterval, { description: 'Bucket size.' })
  interval!: ReportInterval;

  @Field(() => TimestampScalar, { description: 'Bucket start (epoch milliseconds), as upstream StatsTime.' })
  statsTime!: number;

  @Field({
    description:
      'True when the bucket has ended and the settle delay for late upstream events has passed: its numbers are final. False for the current (still open) bucket, whose numbers grow.',
  })
  closed!: boolean;

  @Field(() => InboundMetrics)
  inbound!: InboundMetrics;

  @Field(() => OutboundMetrics)
  outbound!: OutboundMetrics;

  @Field(() => OverallMetrics)
  overall!: OverallMetrics;
}
