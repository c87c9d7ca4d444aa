import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** Federation entity: other subgraphs reference a call center by id; this one adds its reports. */
@Directive('@key(fields: "id")')
@ObjectType({ description: 'An Alibaba Cloud Cloud Call Center instance.' })
export class CallCenterInstance {
  @Field(() => ID, { description: 'CCC instance id, e.g. "ccc-test".' })
  id!: string;
}
