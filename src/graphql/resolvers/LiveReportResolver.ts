import { Args, Resolver, Root, Subscription } from 'type-graphql';
import { GatewayError } from '../../reports/errors';
import type { LiveEvent } from '../../reports/LiveReportHub';
import type { LiveRequest } from '../../reports/LiveReports';
import { LiveCombinedArgs, LiveInstanceArgs } from '../args/LiveReportArgs';
import type { GatewayContext } from '../context';
import { CombinedIntervalReport } from '../types/CombinedIntervalReport';
import { IntervalReport } from '../types/IntervalReport';

/** The subscription's stream, from the operation's live reports (only WebSocket operations have them). */
function updates(context: GatewayContext, request: LiveRequest): Promise<AsyncIterableIterator<LiveEvent>> {
  if (!context.live) {
    return Promise.reject(new GatewayError('BAD_USER_INPUT', 'Subscriptions are served over WebSocket (graphql-ws, subprotocol graphql-transport-ws) at /graphql, not over HTTP'));
  }
  return context.live.subscribe(request);
}

/** An event's bucket; a failed poll is this event's error (the subscription goes on). */
function rowOf(event: LiveEvent) {
  if (event.error) throw event.error;
  return event.row;
}

const SEQUENCE =
  'First the current bucket (and, during the settle delay after a bucket ended, that bucket too), then a bucket again each time its numbers change, a last time with closed: true once it has settled, and the next bucket as soon as it exists. Buckets are the ones queries return, with the same ids (empty buckets as zeros). The gateway polls upstream once per CACHE_OPEN_TTL_MS per series, whatever the number of subscribers and replicas. An event is null with an error when a poll failed; the subscription goes on and the next poll tries again.';

@Resolver()
export class LiveReportResolver {
  @Subscription(() => IntervalReport, {
    nullable: true,
    description: `The current bucket of one instance, pushed as it changes. ${SEQUENCE}`,
    subscribe: ({ args, context }) => updates(context, { instanceIds: [args.instanceId], interval: args.interval, timeZone: args.timeZone }),
  })
  intervalReportUpdates(@Root() event: LiveEvent, @Args() { instanceId }: LiveInstanceArgs): IntervalReport {
    return { ...rowOf(event), instanceId } as IntervalReport;
  }

  @Subscription(() => CombinedIntervalReport, {
    nullable: true,
    description: `The current bucket of several instances combined (a company-wide wallboard), pushed as it changes. ${SEQUENCE}`,
    subscribe: ({ args, context }) => updates(context, { instanceIds: args.instanceIds, interval: args.interval, timeZone: args.timeZone }),
  })
  combinedIntervalReportUpdates(@Root() event: LiveEvent, @Args() { instanceIds }: LiveCombinedArgs): CombinedIntervalReport {
    return { ...rowOf(event), instanceIds } as CombinedIntervalReport;
  }
}
