import { Directive, Field, ID, ObjectType } from 'type-graphql';
import type { InstanceInfo } from '../../reports/InstanceDirectory';

/** Federation entity: other subgraphs reference a call center by id; this one adds its reports and what ListInstances says of it. */
@Directive('@key(fields: "id")')
@ObjectType({ description: 'An Alibaba Cloud Cloud Call Center instance.' })
export class CallCenterInstance {
  @Field(() => ID, { description: 'CCC instance id, e.g. "ccc-test".' })
  id!: string;

  /**
   * Not a field: the instance as listed, when the parent already read it (Query.callCenterInstances);
   * otherwise its fields look it up through the operation's InstanceCatalog.
   */
  info?: InstanceInfo;
}
