/**
 * Shared plumbing of the resilience tests: a gateway (built-in emulator, optionally a Redis of
 * the test's own), its /metrics and /readyz read over HTTP as an operator would, and fixed,
 * closed ranges far enough in the past that the pipeline stores them as final.
 */
import { DateTime } from 'luxon';
import { DAY_MS } from '../../src/reports/intervals';
import type { Gateway } from '../../src/server/createGateway';
import type { InjectedFailureCode } from '../../src/emulator/apiErrors';
import { startTestGateway } from '../helpers/gateway';

/** The clock of the pipeline and the emulator's simulated call center (not of retries or the breaker). */
export const NOW = DateTime.fromISO('2026-11-26T11:30:00', { zone: 'Asia/Shanghai' }).toMillis();
export const TODAY = DateTime.fromMillis(NOW, { zone: 'Asia/Shanghai' }).startOf('day').toMillis();
export { DAY_MS };

export const HOURLY_FIELD = (alias: string, instanceId: string, start: number, end: number) =>
  `${alias}: intervalInstanceReport(instanceId: "${instanceId}", interval: HOURLY, startTime: ${start}, endTime: ${end}) { statsTime closed inbound { callsOffered callsHandled } }`;

/** Defaults every resilience gateway shares; the rate limit is off unless a test turns it on. */
export async function resilienceGateway(env: Record<string, string>, redisKeyPrefix?: string): Promise<Gateway> {
  return startTestGateway(
    {
      RATE_LIMIT_PER_SECOND: '0',
      CACHE_SETTLE_DELAY_MS: String(10 * 60_000),
      ...env,
    },
    { now: () => NOW, redisKeyPrefix },
  );
}

export function setFailures(gateway: Gateway, rate: number, codes: InjectedFailureCode[], seed = 1): void {
  gateway.emulator!.options.failures = { rate, codes, seed };
}

export function origin(gateway: Gateway): string {
  return new URL(gateway.url).origin;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One scrape of /metrics, parsed (text exposition format 0.0.4, what prom-client writes). */
export class Scrape {
  constructor(readonly samples: Sample[]) {}

  /** Sum over the samples of `name` whose labels include `labels` (0 when none). */
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((total, s) => total + s.value, 0);
  }

  /** Label values of `label` seen on `name`, with their summed values. */
  by(name: string, label: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.samples) if (s.name === name && s.labels[label] !== undefined) out[s.labels[label]] = (out[s.labels[label]] ?? 0) + s.value;
    return out;
  }
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Scrape {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (match[2] ?? '').matchAll(LABEL)) labels[key] = raw;
    samples.push({ name: match[1], labels, value: match[3] === '+Inf' ? Infinity : Number(match[3]) });
  }
  return new Scrape(samples);
}

export async function scrape(gateway: Gateway): Promise<Scrape> {
  const response = await fetch(`${origin(gateway)}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return parseMetrics(await response.text());
}

export interface ReadyzBody {
  status: 'ready' | 'degraded' | 'unavailable';
  checks: Record<string, { status: string; reason?: string }>;
}

export async function readyz(gateway: Gateway): Promise<{ httpStatus: number; body: ReadyzBody }> {
  const response = await fetch(`${origin(gateway)}/readyz`);
  return { httpStatus: response.status, body: (await response.json()) as ReadyzBody };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true or `timeoutMs` passes; answers the last result. */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(everyMs);
  }
}

export { DEFAULT_BREAKER } from '../../src/upstream/CccClient';
