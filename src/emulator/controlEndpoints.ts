/**
 * Unsigned control endpoints, for driving an emulator in another process (benchmarks):
 *
 *   GET  /__emulator/stats    -> the stats (calls, answers by code, recent calls)
 *   POST /__emulator/reset    -> empties the stats and restarts the failure sequence
 *   POST /__emulator/options  -> JSON merge patch of { latencyMs, failures, numbersAsStrings,
 *                                averageRounding, openHourExtraCalls }; answers the resulting values
 *
 * They live under a path no Alibaba Cloud API uses, and carry no secrets.
 */
import type { AverageRounding } from './simulator/computeMetrics';
import { CccEmulatorOptions, FailureInjection, validateFailures } from './options';

export const CONTROL_PATH_PREFIX = '/__emulator/';

export interface ControlAnswer {
  status: number;
  body: unknown;
}

export interface ControlTarget {
  options: CccEmulatorOptions;
  readonly stats: unknown;
  resetStats(): void;
}

export function handleControl(target: ControlTarget, method: string, path: string, body: Buffer): ControlAnswer {
  const route = `${method} ${path}`;
  switch (route) {
    case `GET ${CONTROL_PATH_PREFIX}stats`:
      return { status: 200, body: target.stats };
    case `POST ${CONTROL_PATH_PREFIX}reset`:
      target.resetStats();
      return { status: 200, body: { ok: true } };
    case `POST ${CONTROL_PATH_PREFIX}options`:
      return patchOptions(target, body);
    default:
      return { status: 404, body: { error: `no control endpoint ${route}` } };
  }
}

export function controllableOptions(options: CccEmulatorOptions) {
  return {
    latencyMs: options.latencyMs,
    failures: options.failures,
    numbersAsStrings: options.numbersAsStrings,
    averageRounding: options.averageRounding,
    openHourExtraCalls: options.openHourExtraCalls,
  };
}

function patchOptions(target: ControlTarget, body: Buffer): ControlAnswer {
  let patch: Record<string, unknown>;
  try {
    patch = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
  } catch {
    return { status: 400, body: { error: 'the body must be JSON' } };
  }
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    return { status: 400, body: { error: 'the body must be a JSON object' } };
  }
  // Validate everything first, then apply, so a bad patch changes nothing.
  const next = { ...target.options };
  for (const [key, value] of Object.entries(patch)) {
    switch (key) {
      case 'latencyMs':
        if (typeof value !== 'number' || !(value >= 0)) return invalid('latencyMs must be a number >= 0');
        next.latencyMs = value;
        break;
      case 'numbersAsStrings':
        if (typeof value !== 'boolean') return invalid('numbersAsStrings must be a boolean');
        next.numbersAsStrings = value;
        break;
      case 'averageRounding':
        if (value !== 'none' && value !== 'ceil' && value !== 'round') return invalid('averageRounding must be none, ceil or round');
        next.averageRounding = value as AverageRounding;
        break;
      case 'openHourExtraCalls':
        if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return invalid('openHourExtraCalls must be an integer >= 0');
        next.openHourExtraCalls = value;
        break;
      case 'failures': {
        if (value === null || typeof value !== 'object' || Array.isArray(value)) return invalid('failures must be an object');
        const failures = { ...next.failures, ...(value as Partial<FailureInjection>) };
        try {
          validateFailures(failures);
        } catch (error) {
          return invalid((error as Error).message);
        }
        next.failures = failures;
        break;
      }
      default:
        return invalid(`option ${key} cannot be changed at run time`);
    }
  }
  target.options = next;
  return { status: 200, body: controllableOptions(next) };
}

function invalid(message: string): ControlAnswer {
  return { status: 400, body: { error: message } };
}
