/**
 * Deterministic call-center simulator: raw activity per UTC hour, the 82 report metrics computed
 * from it, and exact metrics of any period (the oracle for roll-up tests).
 */
export * from './activity';
export { simulateHour } from './simulateHour';
export { computeMetrics, metricsFromTally } from './computeMetrics';
export type { AverageRounding, BucketMetrics, MetricsOptions } from './computeMetrics';
export {
  metricsForPeriod,
  periodTally,
  hourTally,
  cachedHourActivity,
  configureSimulatorCache,
  simulatorCacheSize,
} from './period';
export type { PeriodOptions } from './period';
export { toWireBucket } from './wireBucket';
export type { WireBucket, WireMetricValues } from './wireBucket';
export { instanceProfile, isClosedHour, expectedInboundCalls } from './profile';
export type { InstanceProfile } from './profile';
export * from './calendar';
export { emptyTally, addTally, tallyActivity, isEmptyTally } from './tally';
export type { Tally } from './tally';
