/**
 * The sufficient statistics of a set of raw events: every count, sum and maximum that a report
 * metric is built from, including the counts upstream never reports (break periods, ready
 * periods, held calls of both directions, calls answered within 20 s, survey score sums).
 *
 * Why a tally: every metric is a count, a sum, a maximum or a ratio of two sums, so tallies of
 * disjoint sets of events combine exactly (add the sums, take the max of the maxima) and give
 * the same metrics as one pass over all the raw events. This lets closed hours be cached as a
 * few dozen integers instead of their calls, and still lets a 180-day Daily answer equal its
 * hours combined to the last digit (all fields are integers, so floating-point sums are exact).
 */
import { HourActivity } from './activity';

export interface Tally {
  // Inbound
  inOffered: number;
  inQueued: number;
  inRinged: number;
  inHandled: number;
  inAnsweredWithin20s: number;
  inAbandonedInIvr: number;
  inAbandonedInIvrSeconds: number;
  inAbandonedInIvrMax: number;
  inAbandonedInQueue: number;
  inAbandonedInQueueSeconds: number;
  inAbandonedInQueueMax: number;
  inAbandonedInRinging: number;
  inAbandonedInRingingSeconds: number;
  inAbandonedInRingingMax: number;
  inConsulted: number;
  inTransferred: number;
  inHeld: number;
  inHoldSeconds: number;
  inHoldMax: number;
  inRingSeconds: number;
  inRingMax: number;
  inTalkSeconds: number;
  inTalkMax: number;
  inWaitSeconds: number;
  inWaitMax: number;
  inWorkSeconds: number;
  inWorkMax: number;
  inSurveysOffered: number;
  inSurveysResponded: number;
  inScoreSum: number;
  // Outbound
  outDialed: number;
  outDialedSuccess: number;
  outAnswered: number;
  outDialingSeconds: number;
  outDialingMax: number;
  outHeld: number;
  outHoldSeconds: number;
  outHoldMax: number;
  outTalkSeconds: number;
  outTalkMax: number;
  outWorkSeconds: number;
  outWorkMax: number;
  outSurveysOffered: number;
  outSurveysResponded: number;
  outScoreSum: number;
  // Agents
  readyPeriods: number;
  readySeconds: number;
  readyMax: number;
  breakPeriods: number;
  breakSeconds: number;
  breakMax: number;
  /** Agent logged-in spans (not reported; it only tells an hour with agents from an empty one). */
  agentSessions: number;
  loggedInSeconds: number;
}

/** Fields that combine by maximum; all others add. */
const MAXIMUM_FIELDS: ReadonlySet<keyof Tally> = new Set<keyof Tally>([
  'inAbandonedInIvrMax',
  'inAbandonedInQueueMax',
  'inAbandonedInRingingMax',
  'inHoldMax',
  'inRingMax',
  'inTalkMax',
  'inWaitMax',
  'inWorkMax',
  'outDialingMax',
  'outHoldMax',
  'outTalkMax',
  'outWorkMax',
  'readyMax',
  'breakMax',
]);

/**
 * Calls answered less than this many seconds after entering the queue count toward
 * ServiceLevel20 (the seed: "从开始排队到接听时间少于20秒", strictly less than 20 s).
 */
export const SERVICE_LEVEL_SECONDS = 20;

export function emptyTally(): Tally {
  return {
    inOffered: 0, inQueued: 0, inRinged: 0, inHandled: 0, inAnsweredWithin20s: 0,
    inAbandonedInIvr: 0, inAbandonedInIvrSeconds: 0, inAbandonedInIvrMax: 0,
    inAbandonedInQueue: 0, inAbandonedInQueueSeconds: 0, inAbandonedInQueueMax: 0,
    inAbandonedInRinging: 0, inAbandonedInRingingSeconds: 0, inAbandonedInRingingMax: 0,
    inConsulted: 0, inTransferred: 0, inHeld: 0, inHoldSeconds: 0, inHoldMax: 0,
    inRingSeconds: 0, inRingMax: 0, inTalkSeconds: 0, inTalkMax: 0, inWaitSeconds: 0, inWaitMax: 0,
    inWorkSeconds: 0, inWorkMax: 0, inSurveysOffered: 0, inSurveysResponded: 0, inScoreSum: 0,
    outDialed: 0, outDialedSuccess: 0, outAnswered: 0, outDialingSeconds: 0, outDialingMax: 0,
    outHeld: 0, outHoldSeconds: 0, outHoldMax: 0, outTalkSeconds: 0, outTalkMax: 0,
    outWorkSeconds: 0, outWorkMax: 0, outSurveysOffered: 0, outSurveysResponded: 0, outScoreSum: 0,
    readyPeriods: 0, readySeconds: 0, readyMax: 0, breakPeriods: 0, breakSeconds: 0, breakMax: 0,
    agentSessions: 0, loggedInSeconds: 0,
  };
}

/** Fields that add, listed once: merging is the hot loop of long Daily ranges. */
const SUM_FIELDS = (Object.keys(emptyTally()) as (keyof Tally)[]).filter((key) => !MAXIMUM_FIELDS.has(key));
const MAX_FIELDS = [...MAXIMUM_FIELDS];

/** Adds `source` into `target` (mutating it) and returns `target`. */
export function addTally(target: Tally, source: Readonly<Tally>): Tally {
  for (const key of SUM_FIELDS) target[key] += source[key];
  for (const key of MAX_FIELDS) if (source[key] > target[key]) target[key] = source[key];
  return target;
}

export function tallyActivity(hours: readonly HourActivity[]): Tally {
  const t = emptyTally();
  for (const hour of hours) addHourToTally(t, hour);
  return t;
}

function addHourToTally(t: Tally, hour: HourActivity): void {
  for (const call of hour.inbound) {
    t.inOffered++;
    switch (call.outcome) {
      case 'abandonedInIvr':
        t.inAbandonedInIvr++;
        t.inAbandonedInIvrSeconds += call.ivrSeconds;
        t.inAbandonedInIvrMax = Math.max(t.inAbandonedInIvrMax, call.ivrSeconds);
        continue;
      case 'completedInIvr':
        continue;
      case 'abandonedInQueue':
        t.inQueued++;
        t.inAbandonedInQueue++;
        t.inAbandonedInQueueSeconds += call.queueSeconds;
        t.inAbandonedInQueueMax = Math.max(t.inAbandonedInQueueMax, call.queueSeconds);
        continue;
      case 'overflowedFromQueue':
        t.inQueued++;
        continue;
      case 'abandonedInRinging':
        t.inQueued++;
        t.inRinged++;
        t.inRingSeconds += call.ringSeconds;
        t.inRingMax = Math.max(t.inRingMax, call.ringSeconds);
        t.inAbandonedInRinging++;
        t.inAbandonedInRingingSeconds += call.ringSeconds;
        t.inAbandonedInRingingMax = Math.max(t.inAbandonedInRingingMax, call.ringSeconds);
        continue;
      case 'handled': {
        t.inQueued++;
        t.inRinged++;
        t.inHandled++;
        t.inRingSeconds += call.ringSeconds;
        t.inRingMax = Math.max(t.inRingMax, call.ringSeconds);
        // Wait = time from entering the queue until an agent picked up (queue + ringing).
        const wait = call.queueSeconds + call.ringSeconds;
        t.inWaitSeconds += wait;
        t.inWaitMax = Math.max(t.inWaitMax, wait);
        if (wait < SERVICE_LEVEL_SECONDS) t.inAnsweredWithin20s++;
        t.inTalkSeconds += call.talkSeconds;
        t.inTalkMax = Math.max(t.inTalkMax, call.talkSeconds);
        t.inWorkSeconds += call.workSeconds;
        t.inWorkMax = Math.max(t.inWorkMax, call.workSeconds);
        if (call.holds > 0) {
          t.inHeld++;
          t.inHoldSeconds += call.holdSeconds;
          t.inHoldMax = Math.max(t.inHoldMax, call.holdSeconds);
        }
        if (call.transferred) t.inTransferred++;
        if (call.consulted) t.inConsulted++;
        if (call.survey) {
          t.inSurveysOffered++;
          if (call.survey.score !== null) {
            t.inSurveysResponded++;
            t.inScoreSum += call.survey.score;
          }
        }
        continue;
      }
    }
  }

  for (const call of hour.outbound) {
    t.outDialed++;
    t.outDialingSeconds += call.dialingSeconds;
    t.outDialingMax = Math.max(t.outDialingMax, call.dialingSeconds);
    if (call.success) t.outDialedSuccess++;
    if (!call.answered) continue;
    t.outAnswered++;
    t.outTalkSeconds += call.talkSeconds;
    t.outTalkMax = Math.max(t.outTalkMax, call.talkSeconds);
    t.outWorkSeconds += call.workSeconds;
    t.outWorkMax = Math.max(t.outWorkMax, call.workSeconds);
    if (call.holds > 0) {
      t.outHeld++;
      t.outHoldSeconds += call.holdSeconds;
      t.outHoldMax = Math.max(t.outHoldMax, call.holdSeconds);
    }
    if (call.survey) {
      t.outSurveysOffered++;
      if (call.survey.score !== null) {
        t.outSurveysResponded++;
        t.outScoreSum += call.survey.score;
      }
    }
  }

  for (const session of hour.agentSessions) {
    t.agentSessions++;
    t.loggedInSeconds += session.seconds;
    for (const period of session.periods) {
      if (period.kind === 'ready') {
        t.readyPeriods++;
        t.readySeconds += period.seconds;
        t.readyMax = Math.max(t.readyMax, period.seconds);
      } else {
        t.breakPeriods++;
        t.breakSeconds += period.seconds;
        t.breakMax = Math.max(t.breakMax, period.seconds);
      }
    }
  }
}

/** True when the events contained no call and no agent activity (upstream omits such buckets). */
export function isEmptyTally(t: Readonly<Tally>): boolean {
  return t.inOffered === 0 && t.outDialed === 0 && t.agentSessions === 0;
}
