/**
 * Raw activity of one simulated call-center hour: the events that the report metrics are
 * computed from. Times are epoch milliseconds; durations are whole seconds, as upstream reports
 * them.
 *
 * Every event belongs to the UTC hour in which it started: a call's whole talk, hold and work
 * time count in the hour of its arrival (or dialing), even when it goes on past the hour. Agent
 * periods are generated inside their hour so that logged-in time never spills over.
 */

/** How an inbound call left the system. */
export type InboundOutcome =
  /** Caller hung up in the IVR flow. */
  | 'abandonedInIvr'
  /** The IVR served the caller; the call never queued (offered, not queued). */
  | 'completedInIvr'
  /** Caller hung up while waiting in the queue. */
  | 'abandonedInQueue'
  /** The queue gave up on the call (overflow to voicemail); queued, neither rang nor abandoned. */
  | 'overflowedFromQueue'
  /** Caller hung up while an agent's phone was ringing. */
  | 'abandonedInRinging'
  /** An agent answered. */
  | 'handled';

export interface SatisfactionSurvey {
  /** Score 1..5 when the customer responded, null when the survey was offered but not answered. */
  readonly score: number | null;
}

export interface InboundCall {
  /** Arrival, epoch ms. */
  readonly arrival: number;
  readonly outcome: InboundOutcome;
  /** Seconds spent in the IVR flow (until hang-up when abandoned there). */
  readonly ivrSeconds: number;
  /** Seconds waited in the queue (until hang-up when abandoned there); 0 when never queued. */
  readonly queueSeconds: number;
  /** Seconds an agent's phone rang (until hang-up when abandoned while ringing); 0 when it never rang. */
  readonly ringSeconds: number;
  /** The remaining fields are 0/false/null unless the call was handled. */
  readonly talkSeconds: number;
  /** Number of times the call was put on hold. */
  readonly holds: number;
  /** Sum of all hold durations of the call (upstream's max hold time is per call, on this sum). */
  readonly holdSeconds: number;
  /** After-call work. */
  readonly workSeconds: number;
  readonly transferred: boolean;
  readonly consulted: boolean;
  readonly survey: SatisfactionSurvey | null;
}

export interface OutboundCall {
  /** Dialing start, epoch ms. */
  readonly dialed: number;
  /** Seconds from dialing until the callee answered or the attempt ended. */
  readonly dialingSeconds: number;
  /** The callee's phone rang. */
  readonly success: boolean;
  /** The callee answered (implies success). */
  readonly answered: boolean;
  readonly talkSeconds: number;
  readonly holds: number;
  readonly holdSeconds: number;
  readonly workSeconds: number;
  readonly survey: SatisfactionSurvey | null;
}

export type AgentPeriodKind = 'ready' | 'break';

export interface AgentPeriod {
  readonly kind: AgentPeriodKind;
  /** Start, epoch ms (whole seconds). */
  readonly start: number;
  readonly seconds: number;
}

/** One agent's logged-in span inside the hour, with the ready and break periods it contains. */
export interface AgentSession {
  readonly agent: number;
  /** Login (or hour start), epoch ms. */
  readonly start: number;
  readonly seconds: number;
  readonly periods: readonly AgentPeriod[];
}

export interface HourActivity {
  readonly instanceId: string;
  /** Start of the UTC hour, epoch ms. */
  readonly hourStart: number;
  readonly inbound: readonly InboundCall[];
  readonly outbound: readonly OutboundCall[];
  readonly agentSessions: readonly AgentSession[];
}

export const HOUR_MS = 3_600_000;

export function hasTraffic(activity: HourActivity): boolean {
  return activity.inbound.length > 0 || activity.outbound.length > 0 || activity.agentSessions.length > 0;
}

/**
 * The part of an hour's activity that had started before `now`: calls that arrived (or were
 * dialed) before `now`, whole; agent sessions and periods that started before `now`, cut at
 * `now` (so logged-in time grows as the hour passes). This is how the current hour grows.
 */
export function activityBefore(activity: HourActivity, now: number): HourActivity {
  // Agent sessions end inside their hour, so a closed hour is already complete.
  if (now >= activity.hourStart + HOUR_MS) return activity;
  const secondsUntilNow = (start: number, seconds: number): number =>
    Math.min(seconds, Math.max(0, Math.floor((now - start) / 1000)));
  return {
    instanceId: activity.instanceId,
    hourStart: activity.hourStart,
    inbound: activity.inbound.filter((call) => call.arrival < now),
    outbound: activity.outbound.filter((call) => call.dialed < now),
    agentSessions: activity.agentSessions
      .filter((session) => session.start < now)
      .map((session) => ({
        agent: session.agent,
        start: session.start,
        seconds: secondsUntilNow(session.start, session.seconds),
        periods: session.periods
          .filter((period) => period.start < now)
          .map((period) => ({ kind: period.kind, start: period.start, seconds: secondsUntilNow(period.start, period.seconds) })),
      })),
  };
}
