/**
 * The metric catalog: every metric of CCC `ListIntervalInstanceReport` (API 2020-07-01), once.
 *
 * Everything else is derived from this table: the GraphQL object types, the normalization of
 * upstream answers (including renamed fields), the emulator's output, the compact cache encoding
 * and the roll-up rules. A metric is added or fixed here and nowhere else.
 *
 * `kind` says how a metric combines over time and across instances:
 *   - count / total: add;
 *   - max: take the maximum;
 *   - average: combined `numerator` total over combined `denominator` count. Where upstream
 *     reports no denominator (`denominator: null`), each bucket's count is recovered as
 *     total / average;
 *   - ratio: a rate or index weighted by its `denominator` (rate x denominator recovers the
 *     numerator of each bucket).
 *
 * Ratios are fractions (0..1): the service's own example reports 7 handled of 7 queued as
 * `HandleRate: 1`, although the field table says "%".
 *
 * Where the API document is silent, ambiguous or garbled, a description says how the gateway reads
 * it, marked as the gateway's reading so a caller does not take it for the API's word: the count
 * each average is taken over (derived below from `denominator`, so the text cannot drift from the
 * roll-up rule), and each `reading` of a row.
 */

export type MetricGroup = 'inbound' | 'outbound' | 'overall';
export type MetricKind = 'count' | 'total' | 'max' | 'average' | 'ratio';
export type MetricUnit = 'calls' | 'surveys' | 'seconds' | 'fraction' | 'score';

export interface MetricDefinition {
  /** Upstream field name, as in the seed document (`CallsOffered`). */
  readonly upstreamName: string;
  /** GraphQL field name: upstream name with its first letter lower-cased. */
  readonly name: string;
  /** Upstream type: `Long` (integer counts and seconds) or `Float` (averages, ratios). */
  readonly type: 'Long' | 'Float';
  readonly kind: MetricKind;
  readonly unit: MetricUnit;
  /** What the metric is, ending with the gateway's reading where the API document is not clear. */
  readonly description: string;
  /** For averages: the total (same group) whose combined value is divided. */
  readonly numerator?: string;
  /** For averages and ratios: the count (same group) it is defined on; null when upstream does not report it. */
  readonly denominator?: string | null;
  /** Other upstream names for the same metric (the current SDK renamed a few). */
  readonly aliases?: readonly string[];
}

type Row = [
  upstreamName: string,
  type: 'Long' | 'Float',
  kind: MetricKind,
  unit: MetricUnit,
  description: string,
  extra?: {
    numerator?: string;
    denominator?: string | null;
    aliases?: string[];
    /** How the gateway reads what the API document leaves unclear (appended to the description). */
    reading?: string;
  },
];

const INBOUND_ROWS: Row[] = [
  ['AbandonedRate', 'Float', 'ratio', 'fraction', 'Abandon rate: (calls abandoned in queue + calls abandoned while ringing) / calls queued, as a fraction (1 = 100%).', { denominator: 'CallsQueued', aliases: ['AbandonRate'], reading: 'the "+". The document\'s formula is garbled (a line break splits it and leaves a "-" between the two counts); a rate of abandons adds both kinds, and the emulator and the roll-up consistency check (rate_inconsistent) use the sum. Roll-ups weight the reported rate by callsQueued.' }],
  ['AverageAbandonTime', 'Float', 'average', 'seconds', 'Average time before abandoning, in seconds.', { numerator: 'TotalAbandonTime', denominator: 'CallsAbandoned' }],
  ['AverageAbandonedInIVRTime', 'Float', 'average', 'seconds', 'Average time before abandoning in the IVR, in seconds.', { numerator: 'TotalAbandonedInIVRTime', denominator: 'CallsAbandonedInIVR' }],
  ['AverageAbandonedInQueueTime', 'Float', 'average', 'seconds', 'Average time before abandoning in the queue, in seconds.', { numerator: 'TotalAbandonedInQueueTime', denominator: 'CallsAbandonedInQueue' }],
  ['AverageAbandonedInRingTime', 'Float', 'average', 'seconds', 'Average time before abandoning while ringing, in seconds.', { numerator: 'TotalAbandonedInRingTime', denominator: 'CallsAbandonedInRinging' }],
  ['AverageHoldTime', 'Float', 'average', 'seconds', 'Average hold time per held call, in seconds.', { numerator: 'TotalHoldTime', denominator: 'CallsHold' }],
  ['AverageRingTime', 'Float', 'average', 'seconds', 'Average ringing time per ringed call, in seconds.', { numerator: 'TotalRingTime', denominator: 'CallsRinged' }],
  ['AverageTalkTime', 'Float', 'average', 'seconds', 'Average talk time per handled call, in seconds.', { numerator: 'TotalTalkTime', denominator: 'CallsHandled' }],
  ['AverageWaitTime', 'Float', 'average', 'seconds', 'Average wait time of a call until an agent answered it, in seconds.', { numerator: 'TotalWaitTime', denominator: 'CallsHandled', reading: 'taken over callsHandled (totalWaitTime / callsHandled). The document says "per call, until the agent answers" but names no count field.' }],
  ['AverageWorkTime', 'Float', 'average', 'seconds', 'Average after-call work time per handled call, in seconds.', { numerator: 'TotalWorkTime', denominator: 'CallsHandled' }],
  ['CallsAbandoned', 'Long', 'count', 'calls', 'Calls abandoned.'],
  ['CallsAbandonedInIVR', 'Long', 'count', 'calls', 'Calls abandoned in the IVR flow after entering it.'],
  ['CallsAbandonedInQueue', 'Long', 'count', 'calls', 'Calls abandoned while waiting in a skill-group queue.'],
  ['CallsAbandonedInRinging', 'Long', 'count', 'calls', 'Calls abandoned while ringing an agent.', { aliases: ['CallsAbandonedInRing'] }],
  ['CallsConsulted', 'Long', 'count', 'calls', 'Calls in which a consultation was started (several consultations in one call count once).'],
  ['CallsHandled', 'Long', 'count', 'calls', 'Calls answered by an agent. A call offered to several agents counts once; a call hung up during a transfer is not counted as abandoned.'],
  ['CallsHold', 'Long', 'count', 'calls', 'Calls put on hold (several holds in one call count once; their durations add up).'],
  ['CallsOffered', 'Long', 'count', 'calls', 'Inbound calls offered.'],
  ['CallsQueued', 'Long', 'count', 'calls', 'Calls that entered a queue (a call queued several times counts once).'],
  ['CallsRinged', 'Long', 'count', 'calls', 'Calls that rang an agent (a call offered to several agents counts once).'],
  ['CallsTransferred', 'Long', 'count', 'calls', 'Calls transferred, attended and blind.'],
  ['HandleRate', 'Float', 'ratio', 'fraction', 'Handle rate: calls handled / calls queued, as a fraction (1 = 100%).', { denominator: 'CallsQueued' }],
  ['MaxAbandonTime', 'Long', 'max', 'seconds', 'Longest time before abandoning, in seconds.'],
  ['MaxAbandonedInIVRTime', 'Long', 'max', 'seconds', 'Longest time before abandoning in the IVR, in seconds.'],
  ['MaxAbandonedInQueueTime', 'Long', 'max', 'seconds', 'Longest time before abandoning in the queue, in seconds.'],
  ['MaxAbandonedInRingTime', 'Long', 'max', 'seconds', 'Longest time before abandoning while ringing, in seconds.'],
  ['MaxHoldTime', 'Long', 'max', 'seconds', 'Longest hold time of a call, in seconds.'],
  ['MaxRingTime', 'Long', 'max', 'seconds', 'Longest ringing time, in seconds.'],
  ['MaxTalkTime', 'Long', 'max', 'seconds', 'Longest talk time, in seconds.'],
  ['MaxWaitTime', 'Long', 'max', 'seconds', 'Longest wait time until answered, in seconds.'],
  ['MaxWorkTime', 'Long', 'max', 'seconds', 'Longest after-call work time, in seconds.'],
  ['SatisfactionIndex', 'Float', 'ratio', 'score', 'Satisfaction index: the average score of the surveys responded.', { denominator: 'SatisfactionSurveysResponded', reading: 'the average is over satisfactionSurveysResponded, which roll-ups weight it by; the document says only "the average satisfaction".' }],
  ['SatisfactionSurveysOffered', 'Long', 'count', 'surveys', 'Satisfaction surveys sent.'],
  ['SatisfactionSurveysResponded', 'Long', 'count', 'surveys', 'Satisfaction surveys responded.'],
  ['ServiceLevel20', 'Float', 'ratio', 'fraction', 'Service level: calls answered within 20 seconds of entering the queue / calls queued, as a fraction (1 = 100%).', { denominator: 'CallsQueued' }],
  ['TotalAbandonTime', 'Long', 'total', 'seconds', 'Total time before abandoning, in seconds.'],
  ['TotalAbandonedInIVRTime', 'Long', 'total', 'seconds', 'Total time before abandoning in the IVR, in seconds.'],
  ['TotalAbandonedInQueueTime', 'Long', 'total', 'seconds', 'Total time before abandoning in the queue, in seconds.'],
  ['TotalAbandonedInRingTime', 'Long', 'total', 'seconds', 'Total time before abandoning while ringing, in seconds.'],
  ['TotalHoldTime', 'Long', 'total', 'seconds', 'Total hold time, in seconds.'],
  ['TotalRingTime', 'Long', 'total', 'seconds', 'Total ringing time, in seconds.'],
  ['TotalTalkTime', 'Long', 'total', 'seconds', 'Total talk time, in seconds.'],
  ['TotalWaitTime', 'Long', 'total', 'seconds', 'Total wait time until answered, in seconds.'],
  ['TotalWorkTime', 'Long', 'total', 'seconds', 'Total after-call work time, in seconds.'],
];

const OUTBOUND_ROWS: Row[] = [
  ['AnswerRate', 'Float', 'ratio', 'fraction', 'Answer rate: calls answered / calls dialed, as a fraction (1 = 100%).', { denominator: 'CallsDialed', reading: 'the formula; the document gives only the name and the unit. Roll-ups weight the reported rate by callsDialed.' }],
  ['AverageDialingTime', 'Float', 'average', 'seconds', 'Average dialing time per dialed call, in seconds.', { numerator: 'TotalDialingTime', denominator: 'CallsDialed' }],
  ['AverageTalkTime', 'Float', 'average', 'seconds', 'Average talk time per answered call, in seconds.', { numerator: 'TotalTalkTime', denominator: 'CallsAnswered' }],
  ['AverageWorkTime', 'Float', 'average', 'seconds', 'Average after-call work time per answered call, in seconds.', { numerator: 'TotalWorkTime', denominator: 'CallsAnswered' }],
  ['CallsAnswered', 'Long', 'count', 'calls', 'Outbound calls answered by the callee.'],
  ['CallsDialed', 'Long', 'count', 'calls', 'Outbound calls dialed.'],
  ['CallsDialedSuccess', 'Long', 'count', 'calls', 'Outbound calls dialed successfully (the callee rang).'],
  ['MaxDialingTime', 'Long', 'max', 'seconds', 'Longest dialing time, in seconds.'],
  ['MaxTalkTime', 'Long', 'max', 'seconds', 'Longest talk time, in seconds.'],
  ['MaxWorkTime', 'Long', 'max', 'seconds', 'Longest after-call work time, in seconds.'],
  ['SatisfactionIndex', 'Float', 'ratio', 'score', 'Satisfaction index: the average score of the surveys responded.', { denominator: 'SatisfactionSurveysResponded', reading: 'the average is over satisfactionSurveysResponded, which roll-ups weight it by; the document says only "the average satisfaction".' }],
  ['SatisfactionSurveysOffered', 'Long', 'count', 'surveys', 'Satisfaction surveys sent.'],
  ['SatisfactionSurveysResponded', 'Long', 'count', 'surveys', 'Satisfaction surveys responded.'],
  ['TotalDialingTime', 'Long', 'total', 'seconds', 'Total dialing time, in seconds.'],
  ['TotalHoldTime', 'Long', 'total', 'seconds', 'Total hold time, in seconds.'],
  ['TotalTalkTime', 'Long', 'total', 'seconds', 'Total talk time, in seconds.'],
  ['TotalWorkTime', 'Long', 'total', 'seconds', 'Total after-call work time, in seconds.'],
];

const OVERALL_ROWS: Row[] = [
  ['AverageBreakTime', 'Float', 'average', 'seconds', 'Average length of an agent break, in seconds.', { numerator: 'TotalBreakTime', denominator: null }],
  ['AverageHoldTime', 'Float', 'average', 'seconds', 'Average hold time per held call, inbound and outbound, in seconds.', { numerator: 'TotalHoldTime', denominator: null }],
  ['AverageReadyTime', 'Float', 'average', 'seconds', 'Average length of an agent ready period, in seconds.', { numerator: 'TotalReadyTime', denominator: null }],
  ['AverageTalkTime', 'Float', 'average', 'seconds', 'Average talk time per call (inbound handled and outbound answered), in seconds.', { numerator: 'TotalTalkTime', denominator: 'TotalCalls' }],
  ['AverageWorkTime', 'Float', 'average', 'seconds', 'Average after-call work time per call, in seconds.', { numerator: 'TotalWorkTime', denominator: 'TotalCalls' }],
  ['MaxBreakTime', 'Long', 'max', 'seconds', 'Longest agent break, in seconds.'],
  ['MaxHoldTime', 'Long', 'max', 'seconds', 'Longest hold time of a call, in seconds.'],
  ['MaxReadyTime', 'Long', 'max', 'seconds', 'Longest agent ready period, in seconds.'],
  ['MaxTalkTime', 'Long', 'max', 'seconds', 'Longest talk time, in seconds.'],
  ['MaxWorkTime', 'Long', 'max', 'seconds', 'Longest after-call work time, in seconds.'],
  ['OccupancyRate', 'Float', 'ratio', 'fraction', 'Agent occupancy: (talk + hold + after-call work time) / logged-in time, as a fraction (1 = 100%).', { denominator: 'TotalLoggedInTime', reading: 'the formula; the document says only "agent utilization, in %". Roll-ups weight the reported rate by totalLoggedInTime.' }],
  ['SatisfactionIndex', 'Float', 'ratio', 'score', 'Satisfaction index: the average score of the surveys responded.', { denominator: 'SatisfactionSurveysResponded', reading: 'the average is over satisfactionSurveysResponded, which roll-ups weight it by; the document says only "the average satisfaction".' }],
  ['SatisfactionSurveysOffered', 'Long', 'count', 'surveys', 'Satisfaction surveys sent.'],
  ['SatisfactionSurveysResponded', 'Long', 'count', 'surveys', 'Satisfaction surveys responded.'],
  ['TotalBreakTime', 'Long', 'total', 'seconds', 'Total agent break time, in seconds.'],
  ['TotalCalls', 'Long', 'count', 'calls', 'Calls handled in all: answered inbound calls plus connected outbound calls, as the API document defines it.', { reading: 'that this is inbound.callsHandled + outbound.callsAnswered of the same bucket. The document\'s own example reports an all-zero Overall (TotalCalls 0) beside 7 handled inbound calls, so upstream may count otherwise; the gateway passes upstream\'s figure through, never recomputes it, and takes overall averageTalkTime and averageWorkTime over it.' }],
  ['TotalHoldTime', 'Long', 'total', 'seconds', 'Total hold time, in seconds.'],
  ['TotalLoggedInTime', 'Long', 'total', 'seconds', 'Total agent logged-in time, in seconds.'],
  ['TotalReadyTime', 'Long', 'total', 'seconds', 'Total agent ready time, in seconds.'],
  ['TotalTalkTime', 'Long', 'total', 'seconds', 'Total talk time, in seconds.'],
  ['TotalWorkTime', 'Long', 'total', 'seconds', 'Total after-call work time, in seconds.'],
];

const graphqlName = (upstreamName: string) => upstreamName.charAt(0).toLowerCase() + upstreamName.slice(1);

/** Marks what the gateway reads into the API document, as opposed to what the document says. */
export const GATEWAY_READING = "Gateway's reading, not the API document's word:";

/**
 * The reading appended to a description: the row's own, or for an average the count it is taken
 * over (the catalog's denominator, which is also what roll-ups divide by). The API document gives
 * no average's count, only "average X time, in seconds".
 */
function readingOf([upstreamName, , kind, , , extra]: Row): string | undefined {
  if (extra?.reading) return extra.reading;
  if (kind !== 'average') return undefined;
  const total = graphqlName(extra!.numerator!);
  if (extra!.denominator === null) {
    return `taken over a count upstream does not report and the document does not name; roll-ups recover each bucket's count as ${total} / ${graphqlName(upstreamName)}.`;
  }
  const count = graphqlName(extra!.denominator!);
  return `taken over ${count} (${total} / ${count}); the document does not say which count an average is over.`;
}

function toDefinition(row: Row): MetricDefinition {
  const [upstreamName, type, kind, unit, description, extra] = row;
  const { reading: _reading, ...references } = extra ?? {};
  const reading = readingOf(row);
  return {
    upstreamName,
    name: graphqlName(upstreamName),
    type,
    kind,
    unit,
    description: reading ? `${description} ${GATEWAY_READING} ${reading}` : description,
    ...references,
  };
}

export const METRICS: Readonly<Record<MetricGroup, readonly MetricDefinition[]>> = {
  inbound: INBOUND_ROWS.map(toDefinition),
  outbound: OUTBOUND_ROWS.map(toDefinition),
  overall: OVERALL_ROWS.map(toDefinition),
};

export const METRIC_GROUPS: readonly MetricGroup[] = ['inbound', 'outbound', 'overall'];

/** Upstream's name of each group's struct in `Data[]`. */
export const UPSTREAM_GROUP_NAME: Readonly<Record<MetricGroup, string>> = {
  inbound: 'Inbound',
  outbound: 'Outbound',
  overall: 'Overall',
};

/** One group's metric values keyed by GraphQL name; `null` when upstream did not report it. */
export type MetricValues = Record<string, number | null>;

/** One bucket of one instance, as the domain sees it (no GraphQL, no transport). */
export interface ReportBucket {
  /** Bucket start, epoch milliseconds. */
  statsTime: number;
  inbound: MetricValues;
  outbound: MetricValues;
  overall: MetricValues;
}
