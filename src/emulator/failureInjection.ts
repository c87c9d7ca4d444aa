/**
 * Decides which API calls fail on purpose. Deterministic: the n-th call since the last reset
 * fails or not, and with which code, as a pure function of (seed, n), so a test or benchmark run
 * sees the same failures every time, while the share of failures over many calls approaches
 * `rate`.
 */
import type { InjectedFailureCode } from './apiErrors';
import type { FailureInjection } from './options';
import { hashString128 } from './simulator/random';

export function injectedFailure(failures: FailureInjection, sequence: number): InjectedFailureCode | null {
  if (failures.rate <= 0 || failures.codes.length === 0) return null;
  const [failRoll, codeRoll] = hashString128(`failure|${failures.seed ?? 1}|${sequence}`);
  if (failRoll / 4294967296 >= failures.rate) return null;
  return failures.codes[codeRoll % failures.codes.length];
}
