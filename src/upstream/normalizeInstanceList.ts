/**
 * Turns one page of an upstream `ListInstances` (CCC 2020-07-01) body into `InstanceInfo`s, after
 * validating the whole page, as `normalizeReportBody` does for reports: a page is trusted as a
 * whole or rejected as a whole (`MalformedUpstreamAnswer`, an `UPSTREAM_ERROR` carrying upstream's
 * RequestId), and nothing from a rejected page is cached.
 *
 * Rejected: `Data` missing or not an object; `Data.List` missing or not an array; `TotalCount`
 * missing or not a non-negative integer; `PageNumber` other than the page asked for; an item that
 * is not an object, without a non-empty string `Id`, with a `Status` outside RUNNING | STOPPED |
 * CREATING | RELEASED, a `CreateTime` that is not a non-negative integer, or a `Name`,
 * `Description` or `DomainName` that is not a string; two items with the same `Id`.
 * Tolerated, as the report API sends them: numbers as JSON strings ("1764518400000"), and absent or
 * empty optional texts (null). An unknown `Status` is rejected rather than guessed: the archive
 * decides from it whether an instance is still polled, and the schema's enum could not carry it.
 */
import type { InstanceInfo, InstanceStatus } from '../reports/InstanceDirectory';
import { excerpt, MalformedUpstreamAnswer } from './normalizeReport';

export const INSTANCE_STATUSES: readonly InstanceStatus[] = ['RUNNING', 'STOPPED', 'CREATING', 'RELEASED'];

export interface InstancePage {
  instances: InstanceInfo[];
  /** Instances of the account, all pages together, as this page states it. */
  totalCount: number;
  requestId?: string;
}

class Problem {
  constructor(
    readonly problem: string,
    readonly offending: unknown,
  ) {}
}

const NUMERIC_STRING = /^\d{1,16}$/;

/** A non-negative safe integer, given as a number or a decimal string; undefined when absent. */
function readCount(value: unknown, where: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && NUMERIC_STRING.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new Problem(`${where} is not a non-negative integer`, { [where]: value });
  return n;
}

function readText(value: unknown, where: string): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw new Problem(`${where} is not a string`, { [where]: value });
  return value;
}

function readItem(raw: unknown, index: number): InstanceInfo {
  const where = `Data.List[${index}]`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Problem(`${where} is not an object`, raw);
  const item = raw as Record<string, unknown>;
  if (typeof item.Id !== 'string' || item.Id.trim() === '') throw new Problem(`${where}.Id is missing or not a string`, { Id: item.Id ?? null });
  const status = item.Status;
  if (typeof status !== 'string' || !INSTANCE_STATUSES.includes(status as InstanceStatus)) {
    throw new Problem(`${where}.Status is not one of ${INSTANCE_STATUSES.join(', ')}`, { Status: status ?? null });
  }
  return {
    id: item.Id,
    name: readText(item.Name, `${where}.Name`),
    status: status as InstanceStatus,
    createTime: readCount(item.CreateTime, `${where}.CreateTime`) ?? null,
    description: readText(item.Description, `${where}.Description`),
    domainName: readText(item.DomainName, `${where}.DomainName`),
  };
}

function readPage(body: unknown, pageNumber: number): Omit<InstancePage, 'requestId'> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Problem('the body is not a JSON object', body);
  const b = body as Record<string, unknown>;
  const status = b.HttpStatusCode === undefined ? 200 : readCount(b.HttpStatusCode, 'HttpStatusCode');
  if (b.Code !== 'OK' || status !== 200) {
    throw new Problem(`Code ${excerpt(b.Code, 40)} / HttpStatusCode ${status} in a success response`, { Code: b.Code, HttpStatusCode: b.HttpStatusCode });
  }
  const data = b.Data;
  if (data === null || data === undefined || typeof data !== 'object' || Array.isArray(data)) {
    throw new Problem(`Data is ${data === undefined ? 'missing' : data === null ? 'null' : 'not an object'}`, { Data: data ?? null });
  }
  const d = data as Record<string, unknown>;
  if (!Array.isArray(d.List)) throw new Problem(`Data.List is ${d.List === undefined ? 'missing' : 'not an array'}`, { List: d.List ?? null });
  const totalCount = readCount(d.TotalCount, 'Data.TotalCount');
  if (totalCount === undefined) throw new Problem('Data.TotalCount is missing', { TotalCount: null });
  const echoedPage = readCount(d.PageNumber, 'Data.PageNumber');
  if (echoedPage !== undefined && echoedPage !== pageNumber) {
    throw new Problem(`Data.PageNumber is ${echoedPage}, page ${pageNumber} was asked for`, { PageNumber: d.PageNumber });
  }
  const seen = new Map<string, number>();
  const instances = d.List.map((raw, i) => {
    const instance = readItem(raw, i);
    const first = seen.get(instance.id);
    if (first !== undefined) throw new Problem(`Data.List[${first}] and Data.List[${i}] have the same Id`, { Id: instance.id });
    seen.set(instance.id, i);
    return instance;
  });
  return { instances, totalCount };
}

function requestIdOf(body: unknown): string | undefined {
  const id = body && typeof body === 'object' ? (body as Record<string, unknown>).RequestId : undefined;
  return typeof id === 'string' && id.length > 0 ? id.slice(0, 128) : undefined;
}

/** Validates one page (the answer to `PageNumber` = `pageNumber`), or throws a `MalformedUpstreamAnswer` (and nothing else). */
export function normalizeInstancePage(body: unknown, pageNumber: number): InstancePage {
  let requestId: string | undefined;
  try {
    requestId = requestIdOf(body);
    return { ...readPage(body, pageNumber), requestId };
  } catch (error) {
    if (error instanceof MalformedUpstreamAnswer) throw error;
    if (error instanceof Problem) throw new MalformedUpstreamAnswer(error.problem, excerpt(error.offending), requestId);
    const name = error instanceof Error ? error.name : typeof error;
    throw new MalformedUpstreamAnswer(`the answer could not be read (${name})`, excerpt(error instanceof Error ? error.message : error), requestId);
  }
}
