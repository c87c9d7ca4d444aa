import { Field, ID, ObjectType } from 'type-graphql';
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
  // Resolved by src/graphql/bucketResolvers.ts from `seriesKey`, `statsTime` and `endTime`, and
  // only when selected: most operations do not pay for a string per bucket.
  @Field(() => ID, {
    description:
      'Identity of what this bucket holds: its instance (or instance set), interval, time zone, statsTime and endTime. The same bucket has the same id in every operation and different buckets never share one (two TOTALs with the same start and different ends differ), so normalized client caches (Apollo Client InMemoryCache, urql Graphcache) merge it without configuration. Readable but opaque: `<instances>:<INTERVAL>:<zone>:<statsTime>:<endTime>`, instance sets sorted and joined by `+`, or named by their size and a SHA-256 prefix when longer than 100 characters; do not parse it.',
  })
  id?: string; // never on the row itself: see bucketResolvers.ts

  /** Not a GraphQL field: the identity of the bucket's series, which `id` is built from. */
  seriesKey!: string;

  @Field(() => ReportInterval, { description: 'Bucket size.' })
  interval!: ReportInterval;

  @Field(() => TimestampScalar, {
    description:
      'Bucket start (epoch milliseconds), as upstream StatsTime: the start of the hour, or the first midnight of the day, ISO week (Monday) or month in the bucket zone. The range is widened to whole buckets, never cut: the first bucket\'s statsTime is the start of the bucket holding startTime, at or before it; for WEEKLY the Monday of its week and for MONTHLY the 1st of its month, up to a week or a month before startTime, and its figures cover that whole bucket. TOTAL: startTime floored to the hour.',
  })
  statsTime!: number;

  @Field(() => TimestampScalar, {
    description:
      'Exclusive end of the period this bucket stands for (epoch milliseconds): the calendar end of its hour, day, week or month, also when the range\'s endTime falls inside it (the bucket is included whole). TOTAL: the range\'s endTime (default now) rounded up to the hour. A bucket that is still open (closed: false) holds data only up to now; its endTime and id stay the same while its numbers grow.',
  })
  endTime!: number;

  @Field({
    description:
      'True when the bucket has ended and the settle delay for late upstream events has passed: its numbers are final. False for the current (still open) bucket, whose numbers grow.',
  })
  closed!: boolean;

  @Field(() => InboundMetrics, { description: 'Inbound metrics of this bucket: calls into the call center (upstream Inbound).' })
  inbound!: InboundMetrics;

  @Field(() => OutboundMetrics, { description: 'Outbound metrics of this bucket: calls dialed by agents (upstream Outbound).' })
  outbound!: OutboundMetrics;

  @Field(() => OverallMetrics, { description: 'Overall metrics of this bucket: agent time and calls in both directions (upstream Overall).' })
  overall!: OverallMetrics;
}
