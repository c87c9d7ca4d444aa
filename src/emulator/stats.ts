/**
 * What the emulator was asked: totals, answers by code, and a bounded log of recent calls, so
 * tests and benchmarks can check how many upstream calls a gateway made and for which ranges.
 */

export interface EmulatorCallRecord {
  /** The emulator's clock (`options.now`) when the call arrived. */
  at: number;
  action: string | null;
  /** Parameters as received on the wire (strings), null when absent. */
  instanceId: string | null;
  interval: string | null;
  startTime: string | null;
  endTime: string | null;
  /** `OK` or the error code answered. */
  code: string;
  httpStatus: number;
  /** Buckets returned (0 for errors). */
  buckets: number;
}

export interface EmulatorStats {
  /** API calls received since the last reset (control endpoints excluded). */
  callsReceived: number;
  /** Answers by code (`OK`, `Throttling.User`, `SignatureDoesNotMatch`, ...). */
  byCode: Record<string, number>;
  /** The most recent calls, oldest first. */
  log: EmulatorCallRecord[];
}

export function emptyStats(): EmulatorStats {
  return { callsReceived: 0, byCode: {}, log: [] };
}

export function recordCall(stats: EmulatorStats, record: EmulatorCallRecord, maxLogEntries: number): void {
  stats.callsReceived++;
  stats.byCode[record.code] = (stats.byCode[record.code] ?? 0) + 1;
  stats.log.push(record);
  // Trim in batches: one splice per tenth of the limit instead of a shift per call.
  if (stats.log.length > maxLogEntries + Math.ceil(maxLogEntries / 10)) stats.log.splice(0, stats.log.length - maxLogEntries);
}

/** Empties the stats in place, so references held by callers stay valid. */
export function clearStats(stats: EmulatorStats): void {
  stats.callsReceived = 0;
  for (const code of Object.keys(stats.byCode)) delete stats.byCode[code];
  stats.log.length = 0;
}
