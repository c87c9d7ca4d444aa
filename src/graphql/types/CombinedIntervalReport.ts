import { Field, ID, ObjectType } from 'type-graphql';
import { ReportBucketFields } from './ReportBucketFields';

@ObjectType({ simpleResolvers: true, description: 'One bucket of several call center instances combined exactly (counts add, averages and rates re-weighted).' })
export class CombinedIntervalReport extends ReportBucketFields {
  @Field(() => [ID], { description: 'The instances combined in this bucket.' })
  instanceIds!: string[];
}
