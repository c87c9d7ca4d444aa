/**
 * CCC emulator: an HTTP server behaving like Alibaba Cloud CCC ListIntervalInstanceReport,
 * backed by the deterministic call-center simulator.
 */
export { CccEmulator, CCC_API_VERSION, LIST_INTERVAL_INSTANCE_REPORT, LIST_INSTANCES } from './CccEmulator';
export { emulatedInstance, MAX_PAGE_SIZE } from './instanceList';
export type { EmulatedInstance, EmulatedInstanceStatus, InstanceDetails, InstancePageRequest } from './instanceList';
export {
  DEFAULT_ACCESS_KEY_ID,
  DEFAULT_ACCESS_KEY_SECRET,
  DEFAULT_INSTANCES,
  DEFAULT_INSTANCE_DETAILS,
  DEFAULT_INSTANCE_PATTERN,
  ALL_INJECTED_FAILURE_CODES,
  resolveOptions,
  isKnownInstance,
} from './options';
export type { CccEmulatorOptions, FailureInjection } from './options';
export type { InjectedFailureCode, ErrorBody } from './apiErrors';
export type { EmulatorStats, EmulatorCallRecord } from './stats';
export type { ReportSuccessBody } from './responseBody';
export { MAX_SPAN_DAYS, OLDEST_START_DAYS } from './reportRequest';
export type { ReportInterval } from './reportRequest';
export { CONTROL_PATH_PREFIX } from './controlEndpoints';
export { signRpcCall, acsDate } from './acs3Signer';
export type { RpcCallToSign, SignedHttpRequest } from './acs3Signer';
