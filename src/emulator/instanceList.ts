/**
 * ListInstances (CCC 2020-07-01) in the emulator: its simulated instances as the service lists
 * them, page by page.
 *
 *   PageNumber  required, integer 1.. ; blank -> Parameter.Blank; below 1 -> Parameter.Minimum
 *   PageSize    required, integer 1..100; above 100 -> Parameter.Maximum
 *
 * The listed instances are `options.instances`, in that order (the `ccc-sim-*` family exists for
 * reports but is endless, so it is not listed, as an account lists only what it has). Each one's
 * name, status, creation time, description and domain are derived from its id, deterministically,
 * unless `options.instanceDetails` sets them: tests list RELEASED or STOPPED instances that way,
 * and list more than a page by giving more than 100 ids.
 */
import { createHash } from 'node:crypto';
import { parameterErrors } from './apiErrors';

export type EmulatedInstanceStatus = 'RUNNING' | 'STOPPED' | 'CREATING' | 'RELEASED';

/** One item of `Data.List`, with the service's field names. */
export interface EmulatedInstance {
  Id: string;
  Name: string;
  Status: EmulatedInstanceStatus;
  /** Epoch ms. */
  CreateTime: number;
  Description: string;
  DomainName: string;
}

export type InstanceDetails = Partial<Omit<EmulatedInstance, 'Id'>>;

export interface InstancePageRequest {
  pageNumber: number;
  pageSize: number;
}

export const MAX_PAGE_SIZE = 100;

/** 2024-01-01T00:00:00Z: simulated instances were created within the year after it. */
const FIRST_CREATE_TIME = Date.UTC(2024, 0, 1);
const DAY_MS = 86_400_000;

/** The instance as listed: derived from its id, then `details` on top. */
export function emulatedInstance(id: string, details: InstanceDetails = {}): EmulatedInstance {
  const hash = createHash('sha256').update(id).digest().readUInt32BE(0);
  return {
    Id: id,
    Name: `Simulated call center ${id}`,
    Status: 'RUNNING',
    // A whole minute within 2024, from the id: stable across runs and processes.
    CreateTime: FIRST_CREATE_TIME + (hash % 366) * DAY_MS + (hash % 1440) * 60_000,
    Description: 'A call center simulated by the CCC emulator (deterministic traffic).',
    DomainName: id,
    ...details,
  };
}

export function parseInstancePageRequest(params: ReadonlyMap<string, string>): InstancePageRequest {
  return { pageNumber: requiredInteger(params, 'PageNumber', 1, Number.MAX_SAFE_INTEGER), pageSize: requiredInteger(params, 'PageSize', 1, MAX_PAGE_SIZE) };
}

export function instancePageBody(
  requestId: string,
  page: InstancePageRequest,
  ids: readonly string[],
  details: Readonly<Record<string, InstanceDetails>>,
): { RequestId: string; Message: string; HttpStatusCode: number; Code: 'OK'; Data: { PageNumber: number; PageSize: number; TotalCount: number; List: EmulatedInstance[] } } {
  const first = (page.pageNumber - 1) * page.pageSize;
  const list = ids.slice(first, first + page.pageSize).map((id) => emulatedInstance(id, Object.hasOwn(details, id) ? details[id] : {}));
  return {
    RequestId: requestId,
    Message: '',
    HttpStatusCode: 200,
    Code: 'OK',
    Data: { PageNumber: page.pageNumber, PageSize: page.pageSize, TotalCount: ids.length, List: list },
  };
}

function requiredInteger(params: ReadonlyMap<string, string>, name: string, minimum: number, maximum: number): number {
  const value = params.get(name)?.trim() ?? '';
  if (value === '') throw parameterErrors.blank(name);
  if (!/^-?\d{1,16}$/.test(value)) throw parameterErrors.invalid(name, `expected an integer, got ${value}.`);
  const n = Number(value);
  if (n < minimum) throw parameterErrors.minimum(name, minimum, `at least ${minimum}`);
  if (n > maximum) throw parameterErrors.maximum(name, maximum, `at most ${maximum}`);
  return n;
}
