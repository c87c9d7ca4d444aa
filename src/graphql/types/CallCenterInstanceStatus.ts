import { registerEnumType } from 'type-graphql';

/** Upstream's lifecycle states (ListInstances `Status`). Values are the domain's, so no mapping is needed. */
export enum CallCenterInstanceStatus {
  RUNNING = 'RUNNING',
  STOPPED = 'STOPPED',
  CREATING = 'CREATING',
  RELEASED = 'RELEASED',
}

registerEnumType(CallCenterInstanceStatus, {
  name: 'CallCenterInstanceStatus',
  description: 'Lifecycle state of a call center instance, as ListInstances reports it.',
  valuesConfig: {
    RUNNING: { description: 'In service: its reports grow.' },
    STOPPED: { description: 'Stopped: no new traffic, its reports are still readable.' },
    CREATING: { description: 'Being created: no reports yet.' },
    RELEASED: { description: 'Released (deleted): upstream no longer serves it; reports the gateway stored earlier stay readable.' },
  },
});
