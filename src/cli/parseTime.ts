import { CliError } from './cliRedis';

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * A time argument: epoch milliseconds, or ISO-8601 with an offset (as the GraphQL `Timestamp`
 * takes it; without an offset the day boundary would depend on the machine's zone).
 */
export function parseTime(text: string, option: string): number {
  if (/^\d+$/.test(text)) {
    const ms = Number(text);
    if (Number.isSafeInteger(ms)) return ms;
  } else if (ISO_WITH_OFFSET.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new CliError(`${option} ${JSON.stringify(text)} is neither epoch milliseconds nor ISO-8601 with an offset (e.g. 2026-05-06T00:00:00+08:00)`);
}
