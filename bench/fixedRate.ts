/**
 * Requests at a fixed overall rate with autocannon, and the latencies they saw: the load and the
 * probes of the hostile-document bench (./hostileDocuments.ts, ./latencyProbe.ts).
 */
import autocannon from 'autocannon';

export interface Latency {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
}

export interface FixedRateOptions {
  method: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
  rate: number;
  connections: number;
  seconds: number;
  /** A body per request (the n-th request's), instead of `body`. */
  bodyFor?: (n: number) => string;
}

export function fixedRate(url: string, options: FixedRateOptions): Promise<Latency> {
  let sent = 0;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        method: options.method,
        headers: options.headers,
        body: options.body,
        connections: options.connections,
        overallRate: options.rate,
        duration: options.seconds,
        ...(options.bodyFor ? { requests: [{ setupRequest: (request: autocannon.Request) => ({ ...request, body: options.bodyFor!(sent++) }) }] } : {}),
      },
      (error, result) => {
        if (error) return reject(error);
        resolve({
          requests: result.requests.total,
          requestsPerSecond: +(result.requests.total / result.duration).toFixed(1),
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
          maxMs: result.latency.max,
          non2xx: result.non2xx,
          errors: result.errors,
          statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats.count ?? 0])),
        });
      },
    );
  });
}
