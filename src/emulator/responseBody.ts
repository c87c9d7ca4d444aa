/**
 * The success body of ListIntervalInstanceReport, as the service sends it, optionally with every
 * number as a JSON string, as in the seed document's JSON example (`"HttpStatusCode": "200"`,
 * `"StatsTime": "1620291600000"`, `"CallsOffered": "7"`): clients must cope with both.
 */
import { ReportBucket } from '../reports/metrics';
import { toWireBucket, WireBucket } from './simulator/wireBucket';

export interface ReportSuccessBody {
  RequestId: string;
  Message: string;
  HttpStatusCode: number;
  Code: 'OK';
  Data: WireBucket[];
}

export function reportSuccessBody(requestId: string, buckets: readonly ReportBucket[]): ReportSuccessBody {
  return { RequestId: requestId, Message: '', HttpStatusCode: 200, Code: 'OK', Data: buckets.map(toWireBucket) };
}

/** A deep copy of `value` with every number replaced by its decimal string. */
export function numbersToStrings(value: unknown): unknown {
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return value.map(numbersToStrings);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, numbersToStrings(item)]));
  }
  return value;
}
