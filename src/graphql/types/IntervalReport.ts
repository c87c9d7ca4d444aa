import { Field, ID, ObjectType } from 'type-graphql';
import { ReportBucketFields } from './ReportBucketFields';

@ObjectType({ simpleResolvers: true, description: 'One bucket of ListIntervalInstanceReport for one call center instance.' })
export class IntervalReport extends ReportBucketFields {
  @Field(() => ID, { description: 'The call center instance.' })
  instanceId!: string;
}
