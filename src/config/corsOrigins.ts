/**
 * CORS_ORIGINS: which browser origins may call the GraphQL endpoint (the middleware is
 * src/server/cors.ts). Pure parsing and matching, so that the configuration can validate it.
 */

export interface CorsConfig {
  /** Allowed origins, normalized (`https://app.example.com`, `http://localhost:*`). */
  origins: string[];
  /** `Access-Control-Allow-Credentials: true`: cookies and HTTP auth on cross-origin requests (the gateway itself uses neither). */
  credentials: boolean;
}

/** Loopback origins on any port: the default outside production, for frontend dev servers. */
export const DEVELOPMENT_CORS_ORIGINS = ['http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*'];

/**
 * `https://app.example.com,http://localhost:*` -> normalized origins; `none` -> no origin.
 * Throws one message for all bad entries (an origin is scheme://host[:port] and nothing else:
 * no path, no wildcard host).
 */
export function parseCorsOrigins(text: string): string[] {
  // `none`: no origin at all (the only way to switch off the development default).
  if (text.trim().toLowerCase() === 'none') return [];
  const problems: string[] = [];
  const origins: string[] = [];
  for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
    try {
      origins.push(normalizeOrigin(entry));
    } catch (e) {
      problems.push(`"${entry}" ${(e as Error).message}`);
    }
  }
  if (problems.length) throw new Error(problems.join('; '));
  return [...new Set(origins)];
}

function normalizeOrigin(entry: string): string {
  if (entry === '*') throw new Error('is not allowed: list the origins (a wildcard would let any site read the answers)');
  // `http://localhost:*`: any port of that scheme and host. Validated with a stand-in port.
  const wildcardPort = /^(https?:\/\/(?:[^/:@[\]]+|\[[^\]]+\])):\*\/?$/i.exec(entry);
  // URL accepts `*` in a host name (`https://*.example.com`), which no browser ever sends.
  if (!wildcardPort && entry.includes('*')) throw new Error('has a wildcard: only the port may be `*` (http://localhost:*)');
  let url: URL;
  try {
    url = new URL(wildcardPort ? `${wildcardPort[1]}:1` : entry);
  } catch {
    throw new Error('is not an origin (scheme://host[:port], for example https://app.example.com)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('is not an http(s) origin');
  if (url.username || url.password || url.search || url.hash || url.pathname !== '/' || /[?#]/.test(entry)) {
    throw new Error('is not an origin: only scheme://host[:port], without path, query or credentials');
  }
  // URL lower-cases the host and drops a default port: the form browsers send in `Origin`.
  return wildcardPort ? `${url.protocol}//${url.hostname}:*` : url.origin;
}

/** A predicate on the `Origin` request header. */
export function originMatcher(origins: string[]): (origin: string) => boolean {
  const exact = new Set(origins.filter((o) => !o.endsWith(':*')));
  const anyPort = new Set(origins.filter((o) => o.endsWith(':*')).map((o) => o.slice(0, -2)));
  return (origin) => {
    if (exact.has(origin)) return true;
    if (anyPort.size === 0) return false;
    try {
      const url = new URL(origin);
      return url.origin === origin && anyPort.has(`${url.protocol}//${url.hostname}`);
    } catch {
      return false;
    }
  };
}

