/** Starts a real gateway (HTTP, Apollo, pipeline, built-in emulator) for a test, and queries it. */
import { loadConfig } from '../../src/config/config';
import { METRICS } from '../../src/reports/metrics';
import { startGateway, type Gateway, type GatewayOverrides } from '../../src/server/createGateway';

export async function startTestGateway(env: Record<string, string> = {}, overrides: GatewayOverrides = {}): Promise<Gateway> {
  // Tests fire hundreds of operations (and refused ones) from one address: rate limiting, the
  // per-caller budget of upstream calls and the budget of refused requests are off unless a test
  // sets them.
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_SECOND: '0',
    UPSTREAM_CALLS_PER_CALLER_PER_MINUTE: '0',
    REJECTED_REQUESTS_PER_MINUTE: '0',
    ...env,
  });
  return startGateway(config, overrides);
}

export interface GraphQLAnswer<T = any> {
  data?: T;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
  extensions?: Record<string, any>;
}

export async function graphql<T = any>(
  gateway: Gateway,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<GraphQLAnswer<T>> {
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLAnswer<T>;
}

/** Selection of all 82 metrics, built from the catalog. */
export const ALL_METRICS_SELECTION = `
  inbound { ${METRICS.inbound.map((m) => m.name).join(' ')} }
  outbound { ${METRICS.outbound.map((m) => m.name).join(' ')} }
  overall { ${METRICS.overall.map((m) => m.name).join(' ')} }
`;
