/**
 * The answer when a principal may not read an instance.
 *
 * One message for every id, whether or not the instance exists: a different answer for unknown
 * ids (NOT_FOUND) would let anyone enumerate the instances of other tenants. For the same reason
 * callers must check `canRead` before anything touches upstream, so neither the code nor the
 * timing of the answer depends on what upstream knows.
 */
import { GatewayError } from '../../reports/errors';

/** Longest id echoed back: ids are short; a megabyte of "id" need not come back in the error. */
const MAX_ECHOED_LENGTH = 64;

export function forbiddenInstance(instanceId: string): GatewayError {
  const shown = instanceId.length > MAX_ECHOED_LENGTH ? `${instanceId.slice(0, MAX_ECHOED_LENGTH)}…` : instanceId;
  return new GatewayError('FORBIDDEN', `not allowed to read call center instance ${shown}`);
}
