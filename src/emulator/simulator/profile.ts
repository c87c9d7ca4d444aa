/**
 * How busy and how well served a simulated call center is: one profile per instance, derived
 * from a hash of its id so that instances differ (volume, queue speed, survey habits) but each
 * one is stable across runs.
 *
 * Volume follows the local clock of the center: a business-day curve, lower on weekends, and no
 * activity at all at night (01:00-06:59 local), so those hours produce no upstream bucket.
 */
import { hashToUnit } from './random';
import { localTimeOf } from './calendar';

export interface InstanceProfile {
  /** Mean inbound calls in the busiest weekday hour. */
  readonly peakInboundPerHour: number;
  /** Outbound calls as a share of inbound volume. */
  readonly outboundShare: number;
  readonly ivrAbandonProbability: number;
  readonly ivrSelfServiceProbability: number;
  /** Mean queue wait (s) before an agent's phone rings. */
  readonly meanQueueSeconds: number;
  /** Mean caller patience (s) in the queue. */
  readonly meanPatienceSeconds: number;
  readonly ringAbandonProbability: number;
  /** Median inbound talk time (s). */
  readonly medianTalkSeconds: number;
  readonly holdProbability: number;
  readonly surveyOfferProbability: number;
  readonly surveyResponseProbability: number;
  /** Weights of scores 1..5. */
  readonly scoreWeights: readonly number[];
  /** Target share of logged-in time agents spend on calls (drives staffing). */
  readonly targetOccupancy: number;
}

/** Share of the peak hour's volume by local hour of day; 01:00-06:59 is closed. */
const HOURLY_CURVE: readonly number[] = [
  0.12, 0, 0, 0, 0, 0, 0, 0.25, 0.55, 0.9, 1.0, 0.95,
  0.65, 0.8, 0.95, 0.9, 0.8, 0.6, 0.4, 0.3, 0.25, 0.2, 0.16, 0.12,
];

/** Share of a weekday's volume by ISO weekday (1 = Monday .. 7 = Sunday). */
const WEEKDAY_FACTOR: readonly number[] = [0, 1.0, 1.0, 0.97, 0.95, 0.9, 0.45, 0.35];

/** Local hours in which the center is closed: no calls, no agents, no bucket upstream. */
export function isClosedHour(localHour: number): boolean {
  return HOURLY_CURVE[localHour] === 0;
}

export function instanceProfile(instanceId: string): InstanceProfile {
  // One independent uniform per trait, each from its own hash, so traits do not move together.
  const trait = (name: string): number => hashToUnit(`${instanceId}#${name}`);
  const satisfaction = trait('satisfaction');
  return {
    peakInboundPerHour: 6 + 54 * trait('volume'),
    outboundShare: 0.1 + 0.5 * trait('outbound'),
    ivrAbandonProbability: 0.02 + 0.06 * trait('ivrAbandon'),
    ivrSelfServiceProbability: 0.03 + 0.12 * trait('selfService'),
    meanQueueSeconds: 8 + 35 * trait('queue'),
    meanPatienceSeconds: 60 + 120 * trait('patience'),
    ringAbandonProbability: 0.01 + 0.05 * trait('ringAbandon'),
    medianTalkSeconds: 90 + 150 * trait('talk'),
    holdProbability: 0.1 + 0.25 * trait('hold'),
    surveyOfferProbability: 0.3 + 0.6 * trait('surveyOffer'),
    surveyResponseProbability: 0.2 + 0.5 * trait('surveyResponse'),
    scoreWeights: [1, 1 + satisfaction, 2 + 2 * satisfaction, 4 + 4 * satisfaction, 4 + 8 * satisfaction],
    targetOccupancy: 0.55 + 0.25 * trait('occupancy'),
  };
}

/** Expected inbound calls of the hour starting at `hourStart` (0 when the center is closed). */
export function expectedInboundCalls(profile: InstanceProfile, hourStart: number, timeZone: string): number {
  const { hour, weekday } = localTimeOf(hourStart, timeZone);
  return profile.peakInboundPerHour * HOURLY_CURVE[hour] * WEEKDAY_FACTOR[weekday];
}
