/**
 * Simulates the raw activity of one UTC hour of one call-center instance.
 *
 * Deterministic: the hour's random source is seeded by `instanceId|timeZone|hourStart` only, so
 * the same hour always gives the same calls, whichever hours were simulated before and in any
 * process. The time zone is part of the seed because it decides the hour's place in the local
 * business day (a center in New York is closed at other UTC hours than one in Shanghai).
 *
 * Call flow modelled (inbound): IVR -> (abandon | self-service | queue) -> (abandon | overflow |
 * ring) -> (abandon while ringing | answered: talk, holds, after-call work, transfer, consult,
 * survey). Outbound: dial -> (fail | callee rings -> (no answer | answered: talk, holds, work,
 * survey)). Agents are staffed after the calls are drawn, so that the hour's occupancy stays
 * near the instance's target instead of exceeding 100 %.
 */
import {
  AgentPeriod,
  AgentSession,
  HOUR_MS,
  HourActivity,
  InboundCall,
  OutboundCall,
  SatisfactionSurvey,
} from './activity';
import { DEFAULT_TIME_ZONE, localTimeOf } from './calendar';
import { expectedInboundCalls, instanceProfile, InstanceProfile, isClosedHour } from './profile';
import { SeededRandom } from './random';

const HOUR_SECONDS = 3600;
/** Queued calls that waited this long are sent to voicemail (overflow), unless they hung up first. */
const QUEUE_OVERFLOW_SECONDS = 300;

export function simulateHour(instanceId: string, hourStart: number, timeZone: string = DEFAULT_TIME_ZONE): HourActivity {
  if (hourStart % HOUR_MS !== 0) throw new RangeError(`hourStart ${hourStart} is not the start of a UTC hour`);
  const empty: HourActivity = { instanceId, hourStart, inbound: [], outbound: [], agentSessions: [] };
  if (isClosedHour(localTimeOf(hourStart, timeZone).hour)) return empty;

  const random = new SeededRandom(`${instanceId}|${timeZone}|${hourStart}`);
  const profile = instanceProfile(instanceId);
  // Day-to-day noise around the curve, so that two Mondays differ by more than Poisson noise.
  const expectedInbound = expectedInboundCalls(profile, hourStart, timeZone) * random.between(0.8, 1.2);

  const inbound = drawArrivals(random, hourStart, random.poisson(expectedInbound)).map((arrival) =>
    simulateInboundCall(random, profile, arrival),
  );
  const outbound = drawArrivals(random, hourStart, random.poisson(expectedInbound * profile.outboundShare)).map((dialed) =>
    simulateOutboundCall(random, profile, dialed),
  );
  const agentSessions = staffAgents(random, profile, hourStart, busySecondsOf(inbound, outbound));
  return { instanceId, hourStart, inbound, outbound, agentSessions };
}

/** Start times (whole seconds) of `count` events spread uniformly over the hour, ascending. */
function drawArrivals(random: SeededRandom, hourStart: number, count: number): number[] {
  const times: number[] = [];
  for (let i = 0; i < count; i++) times.push(hourStart + random.int(0, HOUR_SECONDS - 1) * 1000);
  return times.sort((a, b) => a - b);
}

/** Whole seconds, at least `min`, at most `max`. */
function seconds(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(value)));
}

function drawSurvey(random: SeededRandom, profile: InstanceProfile, offerProbability: number): SatisfactionSurvey | null {
  if (!random.chance(offerProbability)) return null;
  if (!random.chance(profile.surveyResponseProbability)) return { score: null };
  return { score: 1 + random.weighted(profile.scoreWeights) };
}

function drawHolds(random: SeededRandom, probability: number): { holds: number; holdSeconds: number } {
  if (!random.chance(probability)) return { holds: 0, holdSeconds: 0 };
  const holds = random.weighted([6, 3, 1]) + 1;
  let holdSeconds = 0;
  for (let i = 0; i < holds; i++) holdSeconds += seconds(random.exponential(45), 5, 600);
  return { holds, holdSeconds };
}

function simulateInboundCall(random: SeededRandom, profile: InstanceProfile, arrival: number): InboundCall {
  const ivrSeconds = seconds(5 + random.exponential(25), 3, 600);
  const notHandled = {
    arrival,
    ivrSeconds,
    queueSeconds: 0,
    ringSeconds: 0,
    talkSeconds: 0,
    holds: 0,
    holdSeconds: 0,
    workSeconds: 0,
    transferred: false,
    consulted: false,
    survey: null,
  };

  const ivrRoll = random.next();
  if (ivrRoll < profile.ivrAbandonProbability) return { ...notHandled, outcome: 'abandonedInIvr' };
  if (ivrRoll < profile.ivrAbandonProbability + profile.ivrSelfServiceProbability) {
    return { ...notHandled, outcome: 'completedInIvr' };
  }

  const waitNeeded = random.exponential(profile.meanQueueSeconds);
  const patience = random.exponential(profile.meanPatienceSeconds);
  if (patience < waitNeeded && patience < QUEUE_OVERFLOW_SECONDS) {
    return { ...notHandled, outcome: 'abandonedInQueue', queueSeconds: seconds(patience, 1, QUEUE_OVERFLOW_SECONDS) };
  }
  if (waitNeeded >= QUEUE_OVERFLOW_SECONDS) {
    return { ...notHandled, outcome: 'overflowedFromQueue', queueSeconds: QUEUE_OVERFLOW_SECONDS };
  }
  const queueSeconds = seconds(waitNeeded, 0, QUEUE_OVERFLOW_SECONDS);
  const ringSeconds = seconds(2 + random.exponential(4), 1, 60);
  if (random.chance(profile.ringAbandonProbability)) {
    return { ...notHandled, outcome: 'abandonedInRinging', queueSeconds, ringSeconds };
  }

  const { holds, holdSeconds } = drawHolds(random, profile.holdProbability);
  return {
    arrival,
    outcome: 'handled',
    ivrSeconds,
    queueSeconds,
    ringSeconds,
    talkSeconds: seconds(random.logNormal(profile.medianTalkSeconds, 0.7), 5, 5400),
    holds,
    holdSeconds,
    workSeconds: seconds(3 + random.exponential(15), 0, 600),
    transferred: random.chance(0.07),
    consulted: random.chance(0.05),
    survey: drawSurvey(random, profile, profile.surveyOfferProbability),
  };
}

function simulateOutboundCall(random: SeededRandom, profile: InstanceProfile, dialed: number): OutboundCall {
  const success = random.chance(0.8);
  const answered = success && random.chance(0.7);
  const dialingSeconds = seconds(success ? 4 + random.exponential(10) : 2 + random.exponential(20), 1, 90);
  if (!answered) {
    return { dialed, dialingSeconds, success, answered, talkSeconds: 0, holds: 0, holdSeconds: 0, workSeconds: 0, survey: null };
  }
  const { holds, holdSeconds } = drawHolds(random, profile.holdProbability / 2);
  return {
    dialed,
    dialingSeconds,
    success,
    answered,
    talkSeconds: seconds(random.logNormal(profile.medianTalkSeconds * 0.7, 0.8), 3, 5400),
    holds,
    holdSeconds,
    workSeconds: seconds(2 + random.exponential(12), 0, 600),
    survey: drawSurvey(random, profile, profile.surveyOfferProbability / 3),
  };
}

/** Agent time the hour's calls take: talk + hold + after-call work, both directions. */
function busySecondsOf(inbound: readonly InboundCall[], outbound: readonly OutboundCall[]): number {
  let busy = 0;
  for (const call of inbound) busy += call.talkSeconds + call.holdSeconds + call.workSeconds;
  for (const call of outbound) busy += call.talkSeconds + call.holdSeconds + call.workSeconds;
  return busy;
}

/**
 * Logs in enough agents for the hour's workload and lays out each one's ready and break periods.
 * An open hour always has at least one agent, so every open hour has traffic (a bucket).
 */
function staffAgents(random: SeededRandom, profile: InstanceProfile, hourStart: number, busySeconds: number): AgentSession[] {
  const occupancy = profile.targetOccupancy * random.between(0.9, 1.1);
  const spans: { start: number; seconds: number }[] = [];
  let loggedIn = 0;
  const minimumAgents = Math.max(1, Math.ceil(busySeconds / (HOUR_SECONDS * occupancy)));
  // Add agents until the target count is reached and the (partly logged-in) team can carry the load.
  while (spans.length < minimumAgents || busySeconds > 0.9 * loggedIn) {
    const span = drawLoginSpan(random);
    spans.push(span);
    loggedIn += span.seconds;
  }
  return spans.map((span, agent) => {
    const busyShare = Math.floor((busySeconds * span.seconds) / loggedIn);
    return {
      agent,
      start: hourStart + span.start * 1000,
      seconds: span.seconds,
      periods: layOutPeriods(random, hourStart, span, busyShare),
    };
  });
}

/** Offset and length (s) of one agent's logged-in span inside the hour: mostly the whole hour. */
function drawLoginSpan(random: SeededRandom): { start: number; seconds: number } {
  const shape = random.weighted([80, 8, 8, 4]);
  if (shape === 0) return { start: 0, seconds: HOUR_SECONDS };
  const partial = random.int(600, HOUR_SECONDS - 600);
  if (shape === 1) return { start: HOUR_SECONDS - partial, seconds: partial }; // logs in during the hour
  if (shape === 2) return { start: 0, seconds: partial }; // logs out during the hour
  const start = random.int(0, HOUR_SECONDS - partial);
  return { start, seconds: partial }; // logs in and out
}

/**
 * Ready and break periods of one agent, in random order with the busy (and other not-ready)
 * time as gaps between them, all inside the agent's span.
 */
function layOutPeriods(
  random: SeededRandom,
  hourStart: number,
  span: { start: number; seconds: number },
  busySeconds: number,
): AgentPeriod[] {
  const available = span.seconds - busySeconds;
  const otherNotReady = Math.floor(available * random.between(0, 0.06));
  let free = available - otherNotReady;

  const durations: { kind: AgentPeriod['kind']; seconds: number }[] = [];
  const breaks = span.seconds >= 1800 ? random.weighted([65, 30, 5]) : 0;
  for (let i = 0; i < breaks; i++) {
    const length = random.int(180, 900);
    if (length > free - 60) break;
    durations.push({ kind: 'break', seconds: length });
    free -= length;
  }
  if (free > 0) {
    // Split the remaining free time into 1..6 ready periods of at least 10 s each.
    const pieces = Math.max(1, Math.min(random.int(1, 6), Math.floor(free / 10)));
    const cuts = Array.from({ length: pieces - 1 }, () => random.int(1, free - 1)).sort((a, b) => a - b);
    let previous = 0;
    for (const cut of [...cuts, free]) {
      if (cut > previous) durations.push({ kind: 'ready', seconds: cut - previous });
      previous = cut;
    }
  }

  // Shuffle (Fisher-Yates) so breaks are not always first.
  for (let i = durations.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [durations[i], durations[j]] = [durations[j], durations[i]];
  }
  let gaps = span.seconds - durations.reduce((sum, period) => sum + period.seconds, 0);
  let cursor = span.start;
  return durations.map((period, index) => {
    const remainingPeriods = durations.length - index;
    const gap = remainingPeriods === 1 ? random.int(0, gaps) : random.int(0, Math.floor((2 * gaps) / (remainingPeriods + 1)));
    gaps -= gap;
    cursor += gap;
    const placed = { kind: period.kind, start: hourStart + cursor * 1000, seconds: period.seconds };
    cursor += period.seconds;
    return placed;
  });
}
