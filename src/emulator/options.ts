/**
 * Everything that shapes the emulator's behaviour, with defaults that make it usable with no
 * configuration: one dev AccessKey pair, a handful of instances plus any `ccc-sim-*` id, the real
 * service's time zone, and no latency or failures.
 */
import type { InjectedFailureCode } from './apiErrors';
import type { AverageRounding } from './simulator/computeMetrics';
import type { ReportRequest } from './reportRequest';
import type { InstanceDetails, InstancePageRequest } from './instanceList';
import { DEFAULT_TIME_ZONE, isValidTimeZone } from './simulator/calendar';

export interface FailureInjection {
  /** Share of API calls (0..1) answered with one of `codes` instead of data. */
  rate: number;
  codes: InjectedFailureCode[];
  /** Same seed, same sequence of failures after each `resetStats()`. */
  seed?: number;
}

export interface CccEmulatorOptions {
  /** AccessKeyId -> AccessKeySecret accepted by the signature check. */
  accessKeys: Record<string, string>;
  /** Instance ids that exist, and that ListInstances lists (in this order). */
  instances: readonly string[];
  /**
   * ListInstances' fields of listed instances (Name, Status, CreateTime, Description, DomainName),
   * by id, over the ones derived from the id (`emulatedInstance`). Tests list RELEASED or STOPPED
   * instances with it. Reports of an instance are served whatever its status.
   */
  instanceDetails: Readonly<Record<string, InstanceDetails>>;
  /** Further instance ids that exist (tests use many instances); null for none. */
  instancePattern: RegExp | null;
  /** Zone of Daily buckets and default StartTime (and of the simulated centers' business hours). */
  timeZone: string;
  /** Clock of the simulated call center: what "now" is for the reports. */
  now: () => number;
  /** Clock checked against the signed `x-acs-date` (the client signs with real time). */
  wallClock: () => number;
  /** Answer like the seed's JSON example: every number, StatsTime and HttpStatusCode included, as a string. */
  numbersAsStrings: boolean;
  /** Response time of every API answer, from its arrival (the simulation time is part of it). */
  latencyMs: number;
  failures: FailureInjection;
  averageRounding: AverageRounding;
  /**
   * Extra inbound calls, each completed in the IVR (offered, never queued), counted in the hour
   * that contains `now` (and in the Daily bucket holding it). Benchmarks raise it to change the
   * open hour's numbers at a moment of their choosing and time how soon a server shows the
   * change; the report's invariants still hold. 0 (the default) adds nothing.
   */
  openHourExtraCalls: number;
  /** Reject a repeated `x-acs-signature-nonce` within 15 minutes, as the service does. */
  rejectReusedNonces: boolean;
  /** Most recent calls kept in `stats.log`. */
  maxLogEntries: number;
  /**
   * Tests only: rewrites a success body just before it is sent (after `numbersAsStrings`), to
   * play an upstream that answers wrongly through the real signed client path. Not settable
   * through the control endpoints.
   */
  transformAnswer?: (body: unknown, request: ReportRequest) => unknown;
  /** Tests only: the same for a ListInstances success body (a page). */
  transformInstancePage?: (body: unknown, page: InstancePageRequest) => unknown;
}

export const DEFAULT_ACCESS_KEY_ID = 'emulator-access-key-id';
export const DEFAULT_ACCESS_KEY_SECRET = 'emulator-access-key-secret';
export const DEFAULT_INSTANCES: readonly string[] = ['ccc-test', 'ccc-demo-1', 'ccc-demo-2', 'ccc-demo-3', 'ccc-demo-4', 'ccc-demo-5'];
/** One stopped instance among the defaults, so a frontend sees more than one status. */
export const DEFAULT_INSTANCE_DETAILS: Readonly<Record<string, InstanceDetails>> = {
  'ccc-test': { Name: 'Test call center' },
  'ccc-demo-5': { Status: 'STOPPED' },
};
export const DEFAULT_INSTANCE_PATTERN = /^ccc-sim-[A-Za-z0-9_-]+$/;
export const ALL_INJECTED_FAILURE_CODES: InjectedFailureCode[] = ['Throttling.User', 'ServiceUnavailable', 'InternalError'];

export function resolveOptions(overrides: Partial<CccEmulatorOptions> = {}): CccEmulatorOptions {
  const options: CccEmulatorOptions = {
    accessKeys: { [DEFAULT_ACCESS_KEY_ID]: DEFAULT_ACCESS_KEY_SECRET },
    instances: DEFAULT_INSTANCES,
    instanceDetails: DEFAULT_INSTANCE_DETAILS,
    instancePattern: DEFAULT_INSTANCE_PATTERN,
    timeZone: DEFAULT_TIME_ZONE,
    now: () => Date.now(),
    wallClock: () => Date.now(),
    numbersAsStrings: false,
    latencyMs: 0,
    failures: { rate: 0, codes: [...ALL_INJECTED_FAILURE_CODES], seed: 1 },
    averageRounding: 'none',
    openHourExtraCalls: 0,
    rejectReusedNonces: true,
    maxLogEntries: 10_000,
    ...withoutUndefined(overrides),
  };
  validateOptions(options);
  return options;
}

export function validateOptions(options: CccEmulatorOptions): void {
  if (!isValidTimeZone(options.timeZone)) throw new RangeError(`unknown time zone ${options.timeZone}`);
  validateFailures(options.failures);
  if (!(options.latencyMs >= 0)) throw new RangeError(`latencyMs must be >= 0, got ${options.latencyMs}`);
  if (!(Number.isSafeInteger(options.openHourExtraCalls) && options.openHourExtraCalls >= 0)) {
    throw new RangeError(`openHourExtraCalls must be an integer >= 0, got ${options.openHourExtraCalls}`);
  }
}

export function validateFailures(failures: FailureInjection): void {
  if (!(failures.rate >= 0 && failures.rate <= 1)) throw new RangeError(`failures.rate must be in 0..1, got ${failures.rate}`);
  if (failures.rate > 0 && failures.codes.length === 0) throw new RangeError('failures.codes must not be empty when rate > 0');
  for (const code of failures.codes) {
    if (!ALL_INJECTED_FAILURE_CODES.includes(code)) throw new RangeError(`unknown failure code ${code}`);
  }
}

export function isKnownInstance(options: CccEmulatorOptions, instanceId: string): boolean {
  return options.instances.includes(instanceId) || (options.instancePattern?.test(instanceId) ?? false);
}

/** `{ latencyMs: undefined }` means "not given", so spreading it must not erase a default. */
function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
