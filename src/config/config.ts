/**
 * Configuration from environment variables, validated once at start.
 *
 * Every value has a default that makes `npm start` work with zero configuration (the built-in
 * emulator, an in-process cache). Bad values fail the start with one line per problem, naming the
 * variable, so an operator fixes them all in one go instead of one crash at a time.
 */
import { z } from 'zod';
import { INSTANCE_ID_PATTERN } from '../reports/InstanceReports';
import { assertTimeZone } from '../reports/intervals';
import { AuthConfigError, parseAuthConfig, type AuthConfig } from '../server/auth/authConfig';
import { DEVELOPMENT_CORS_ORIGINS, parseCorsOrigins, type CorsConfig } from './corsOrigins';
import { envBoolean } from './envBoolean';

const boolean = envBoolean;

const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().nonnegative();

const timeZone = z.string().superRefine((zone, ctx) => {
  try {
    assertTimeZone(zone);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});

/** `ccc-us=America/New_York,ccc-eu=Europe/Berlin`: instances whose day boundary differs from CCC_TIMEZONE. */
const instanceTimeZones = z
  .string()
  .transform((text, ctx) => {
    const map: Record<string, string> = {};
    for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
      const [id, zone] = pair.split('=').map((p) => p.trim());
      if (!id || !zone) {
        ctx.addIssue({ code: 'custom', message: `"${pair}" is not instanceId=Area/City` });
        continue;
      }
      try {
        assertTimeZone(zone);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
      }
      map[id] = zone;
    }
    return map;
  });

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  CCC_ENDPOINT: z.string().optional(),
  CCC_REGION: z.string().regex(/^[a-z0-9-]+$/, 'a region id such as cn-shanghai').default('cn-shanghai'),
  CCC_TIMEZONE: timeZone.default('Asia/Shanghai'),
  CCC_INSTANCE_TIMEZONES: instanceTimeZones.default({}),
  CCC_TIMEOUT_MS: positiveInt.default(10_000),
  CCC_EMULATOR: boolean.optional(),
  UPSTREAM_CONCURRENCY: positiveInt.default(4),
  // New upstream calls one caller may cause per minute (0: no budget). One call brings up to 10
  // days of hourly buckets: a cold 7-day dashboard of 10 instances costs 10, a cold 180-day
  // hourly history of one instance 18; cached buckets cost nothing. Unset: see
  // callerBudgetDefaults (off without authentication).
  UPSTREAM_CALLS_PER_CALLER_PER_MINUTE: nonNegativeInt.optional(),

  REDIS_URL: z.string().url().optional(),
  REDIS_CLUSTER_NODES: z.string().optional(),
  REDIS_COMMAND_TIMEOUT_MS: positiveInt.default(500),
  CACHE_SETTLE_DELAY_MS: nonNegativeInt.default(10 * 60_000),
  CACHE_OPEN_TTL_MS: positiveInt.default(30_000),
  // Stale-while-revalidate: an open snapshot this fraction of CACHE_OPEN_TTL_MS old is refreshed
  // in the background while it is still served (never beyond 2x CACHE_OPEN_TTL_MS).
  CACHE_OPEN_REFRESH_FRACTION: z.coerce.number().gt(0).max(1).default(0.8),
  // How long one ListInstances listing (names, statuses) is served before it is read again.
  INSTANCE_DIRECTORY_TTL_MS: positiveInt.default(60_000),
  // Cached buckets are compact (about 0.9 KB of heap each, key included): 50,000 is about 45 MB.
  CACHE_MEMORY_MAX_BUCKETS: positiveInt.default(50_000),
  CACHE_ENABLED: boolean.default(true),
  CACHE_LEASE_MS: nonNegativeInt.default(5_000),
  RESPONSE_CACHE_MAX_BYTES: nonNegativeInt.default(64 * 1024 * 1024),

  MAX_BUCKETS_PER_FIELD: positiveInt.default(50_000),
  MAX_INSTANCES_PER_FIELD: positiveInt.default(100),
  OPERATION_MAX_COST: positiveInt.default(100_000),
  MAX_QUERY_DEPTH: positiveInt.default(10),
  MAX_ALIASES: positiveInt.default(50),
  MAX_DOCUMENT_BYTES: positiveInt.default(16_384),
  // Parse and validation bounds (src/server/limits/documentLimits.ts): the largest real operation
  // here (50 aliased reports of all 82 metrics through one fragment) has about 1,150 tokens, and
  // validating an accepted document costs about 2 microseconds per token.
  MAX_TOKENS: positiveInt.default(2_000),
  MAX_DIRECTIVES: positiveInt.default(50),
  /**
   * How operations execute: `planned` runs report operations from a per-operation plan where that
   * is exactly graphql-js's answer, graphql-js otherwise (src/server/reportExecution.ts);
   * `graphql-js`: every operation on graphql-js.
   */
  GRAPHQL_EXECUTOR: z.enum(['planned', 'graphql-js']).default('planned'),
  // Refused requests (400, 413) per caller per minute before the caller is refused outright (0: off).
  // Unset: see callerBudgetDefaults (off without authentication).
  REJECTED_REQUESTS_PER_MINUTE: nonNegativeInt.optional(),
  RATE_LIMIT_PER_SECOND: nonNegativeInt.default(50),
  RATE_LIMIT_BURST: nonNegativeInt.default(200),
  UPSTREAM_MAX_ATTEMPTS: positiveInt.default(3),
  UPSTREAM_DEADLINE_MS: positiveInt.default(20_000),
  CIRCUIT_RESET_MS: positiveInt.default(5_000),
  // After SIGTERM/SIGINT: how long in-flight operations may take before their connections are
  // cut. The process exits at the latest a few seconds after this (closing Redis, the emulator).
  SHUTDOWN_GRACE_MS: positiveInt.default(10_000),
  /** GraphiQL on GET /graphql and introspection; unset: on unless NODE_ENV=production. */
  EXPLORER: boolean.optional(),
  /** What a browser's GET /graphql shows; both stay reachable at /graphiql and /playground. */
  EXPLORER_UI: z.enum(['graphiql', 'playground']).default('graphiql'),
  /** Origins allowed to call /graphql from a browser; unset: none in production, loopback origins otherwise. */
  CORS_ORIGINS: z.string().optional(),
  CORS_CREDENTIALS: boolean.default(false),
  /** apq: automatic persisted queries (Redis when configured); safelist: only the generated manifest; off. */
  PERSISTED_QUERIES: z.enum(['apq', 'safelist', 'off']).default('apq'),
  /** How long an APQ registration lives (seconds); a client re-registers after a PERSISTED_QUERY_NOT_FOUND. */
  PERSISTED_QUERIES_TTL_S: positiveInt.max(30 * 86_400).default(86_400),
  /** Live report subscriptions (docs/subscriptions.md): open at once per caller, per replica. */
  MAX_SUBSCRIPTIONS_PER_CALLER: positiveInt.default(100),
  /**
   * WebSocket connections one caller may hold open at once, per replica. Unset: twice
   * MAX_SUBSCRIPTIONS_PER_CALLER (routers open one connection per subscription; the rest is room
   * for reconnects whose old sockets are still closing).
   */
  MAX_CONNECTIONS_PER_CALLER: positiveInt.optional(),
  /** Updates one subscriber may leave unread before its connection is closed (slow consumer). */
  SUBSCRIPTION_QUEUE_MAX: positiveInt.default(32),
  /** WebSocket ping interval; a client that does not pong within it is disconnected (0: off). */
  SUBSCRIPTION_KEEPALIVE_MS: nonNegativeInt.default(12_000),
  /** The archive (docs/archive.md): `*` (every RUNNING and STOPPED instance) or a comma list of ids; unset: off. */
  ARCHIVE_INSTANCES: z.string().optional(),
  ARCHIVE_MAX_CALLS_PER_MINUTE: positiveInt.default(30),
  /** How often the archiving replica looks for newly closed buckets (and retries missing ones). */
  ARCHIVE_PASS_INTERVAL_MS: positiveInt.default(60_000),
  /** The archive lock's lease: a replica that dies is replaced within this. */
  ARCHIVE_LOCK_TTL_MS: z.coerce.number().int().min(1_000).default(15_000),

  // Credential chain markers: only used to decide whether real credentials are configured.
  ALIBABA_CLOUD_ACCESS_KEY_ID: z.string().optional(),
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: z.string().optional(),
  ALIBABA_CLOUD_PROFILE: z.string().optional(),
  ALIBABA_CLOUD_CREDENTIALS_FILE: z.string().optional(),
  ALIBABA_CLOUD_ROLE_ARN: z.string().optional(),
  ALIBABA_CLOUD_ECS_METADATA: z.string().optional(),
});

export type Env = z.infer<typeof EnvSchema>;

export interface UpstreamEndpoint {
  /** host[:port], as @alicloud/openapi-core wants it. */
  host: string;
  protocol: 'http' | 'https';
}

export interface GatewayConfig {
  env: Env['NODE_ENV'];
  port: number;
  host: string;
  logLevel: Env['LOG_LEVEL'];
  /** 'emulator': start the built-in CCC emulator and talk to it; 'aliyun': the configured endpoint only. */
  upstreamMode: 'emulator' | 'aliyun';
  upstream: {
    endpoint?: UpstreamEndpoint;
    region: string;
    timeoutMs: number;
    concurrency: number;
    /** New upstream calls per caller per minute; 0: unlimited. */
    callsPerCallerPerMinute: number;
  };
  timeZone: string;
  instanceTimeZones: Record<string, string>;
  redis?: { url?: string; clusterNodes?: { host: string; port: number }[]; commandTimeoutMs: number };
  cache: { enabled: boolean; leaseMs: number; responseCacheMaxBytes: number; settleDelayMs: number; openTtlMs: number; openRefreshFraction: number; memoryMaxBuckets: number; instanceDirectoryTtlMs: number };
  limits: { maxBucketsPerField: number; maxInstancesPerField: number };
  operationLimits: { maxCost: number; maxDepth: number; maxAliases: number; maxDocumentBytes: number; maxTokens: number; maxDirectives: number; rejectedRequestsPerMinute: number };
  /** GRAPHQL_EXECUTOR: report operations from a plan where exactly equivalent (`planned`), or graphql-js for every operation. */
  graphqlExecutor: Env['GRAPHQL_EXECUTOR'];
  rateLimit: { perSecond: number; burst: number };
  resilience: { maxAttempts: number; deadlineMs: number; circuitResetMs: number };
  /** In-flight operations get this long after a termination signal (SHUTDOWN_GRACE_MS). */
  shutdownGraceMs: number;
  auth: AuthConfig;
  /** The offline explorers (GraphiQL, GraphQL Playground) and introspection, together. */
  explorer: boolean;
  /** Which explorer a browser's GET /graphql shows. */
  explorerUi: Env['EXPLORER_UI'];
  cors: CorsConfig;
  /** PERSISTED_QUERIES and the APQ registration TTL (src/server/persistedQueries). */
  persistedQueries: { mode: Env['PERSISTED_QUERIES']; ttlSeconds: number };
  /** Live report subscriptions over graphql-ws (src/server/subscriptions). */
  subscriptions: { maxPerCaller: number; maxConnectionsPerCaller: number; queueMax: number; keepAliveMs: number };
  /** The archive of closed buckets (docs/archive.md); `instances` undefined: off. */
  archive: { instances?: '*' | string[]; maxCallsPerMinute: number; passIntervalMs: number; lockTtlMs: number };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** `ccc.cn-shanghai.aliyuncs.com`, `https://host`, or `http://127.0.0.1:8080` for an emulator. */
export function parseEndpoint(value: string): UpstreamEndpoint {
  if (/^https?:\/\//i.test(value)) {
    const url = new URL(value);
    if (url.pathname !== '/' || url.search) throw new Error('must not have a path or query');
    return { host: url.host, protocol: url.protocol === 'http:' ? 'http' : 'https' };
  }
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(value)) throw new Error('must be a host name or an http(s) URL');
  return { host: value, protocol: 'https' };
}

function parseClusterNodes(value: string): { host: string; port: number }[] {
  return value.split(',').map((node) => {
    const match = /^\s*([^:\s]+):(\d{1,5})\s*$/.exec(node);
    if (!match) throw new Error(`"${node}" is not host:port`);
    return { host: match[1], port: Number(match[2]) };
  });
}

/** `*`, or instance ids separated by commas (ids as the GraphQL arguments accept them). */
function parseArchiveInstances(value: string): '*' | string[] {
  if (value.trim() === '*') return '*';
  const ids = [...new Set(value.split(',').map((id) => id.trim()).filter(Boolean))];
  const bad = ids.find((id) => !INSTANCE_ID_PATTERN.test(id));
  if (bad !== undefined) throw new Error(`"${bad}" is not an instance id (letters, digits, "-" and "_"); use * for every instance`);
  if (ids.length === 0) throw new Error('no instance id: list ids separated by commas, or * for every RUNNING and STOPPED instance');
  return ids;
}

function hasCredentials(env: Env): boolean {
  return Boolean(
    env.ALIBABA_CLOUD_ACCESS_KEY_ID ||
      env.ALIBABA_CLOUD_PROFILE ||
      env.ALIBABA_CLOUD_CREDENTIALS_FILE ||
      env.ALIBABA_CLOUD_ROLE_ARN ||
      env.ALIBABA_CLOUD_ECS_METADATA,
  );
}

/**
 * Defaults of the per-caller budgets that lock a caller out (refused requests, upstream calls),
 * by auth mode. With authentication off the caller key is the client address, and behind a
 * router, load balancer or NAT every client shares that address: one misbehaving client would
 * exhaust the budget and lock out everyone. So without authentication they are off unless set
 * explicitly (an explicit value, 0 included, is always honoured); with JWT each caller is a
 * token identity and the budgets apply by default.
 */
export const callerBudgetDefaults = {
  jwt: { rejectedRequestsPerMinute: 60, upstreamCallsPerCallerPerMinute: 1_000 },
  off: { rejectedRequestsPerMinute: 0, upstreamCallsPerCallerPerMinute: 0 },
} as const;

/**
 * For a process's entry point: the configuration, or undefined once the problems have been
 * written to stderr (one line each) for the caller to exit with 2, like a refused start.
 */
export function loadConfigOrExplain(source: NodeJS.ProcessEnv = process.env): GatewayConfig | undefined {
  try {
    return loadConfig(source);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(e.message);
    return undefined;
  }
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): GatewayConfig {
  // Empty strings mean "unset" (docker-compose and shells produce them freely).
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const env = parsed.data;
  const problems: string[] = [];
  let auth: AuthConfig = { mode: 'off' };
  try {
    auth = parseAuthConfig(cleaned);
  } catch (e) {
    if (!(e instanceof AuthConfigError)) throw e;
    problems.push(...e.problems);
  }

  let endpoint: UpstreamEndpoint | undefined;
  if (env.CCC_ENDPOINT) {
    try {
      endpoint = parseEndpoint(env.CCC_ENDPOINT);
    } catch (e) {
      problems.push(`CCC_ENDPOINT: ${(e as Error).message}`);
    }
  }
  let clusterNodes: { host: string; port: number }[] | undefined;
  if (env.REDIS_CLUSTER_NODES) {
    try {
      clusterNodes = parseClusterNodes(env.REDIS_CLUSTER_NODES);
    } catch (e) {
      problems.push(`REDIS_CLUSTER_NODES: ${(e as Error).message}`);
    }
  }
  // Unset: loopback origins on any port outside production (a frontend dev server), none in
  // production. Set but empty (CORS_ORIGINS=) counts as unset, like every variable here.
  let corsOrigins: string[] = env.NODE_ENV === 'production' ? [] : DEVELOPMENT_CORS_ORIGINS;
  if (env.CORS_ORIGINS) {
    try {
      corsOrigins = parseCorsOrigins(env.CORS_ORIGINS);
    } catch (e) {
      problems.push(`CORS_ORIGINS: ${(e as Error).message}`);
    }
  }
  if (env.ALIBABA_CLOUD_ACCESS_KEY_ID && !env.ALIBABA_CLOUD_ACCESS_KEY_SECRET) {
    problems.push('ALIBABA_CLOUD_ACCESS_KEY_SECRET: required when ALIBABA_CLOUD_ACCESS_KEY_ID is set');
  }

  // The emulator runs only when nothing points at real Alibaba Cloud: with credentials or an
  // endpoint configured, the gateway talks to that and nothing else (no silent fallback).
  // CCC_EMULATOR=true forces the emulator explicitly.
  const useEmulator = env.CCC_EMULATOR ?? !(hasCredentials(env) || endpoint);
  const upstreamMode = useEmulator ? 'emulator' : 'aliyun';
  if (upstreamMode === 'aliyun' && !hasCredentials(env)) {
    problems.push('ALIBABA_CLOUD_ACCESS_KEY_ID: credentials are required to call Alibaba Cloud (or set CCC_EMULATOR=true)');
  }
  // The emulator serves simulated numbers: a production deployment that forgot its credentials
  // must not start serving them (and caching them as final) as if they were real.
  if (env.NODE_ENV === 'production' && upstreamMode === 'emulator' && env.CCC_EMULATOR !== true) {
    problems.push(
      'CCC_ENDPOINT / ALIBABA_CLOUD_ACCESS_KEY_ID: refusing to start in production on the built-in emulator (simulated data): ' +
        'set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (or another credential source: ALIBABA_CLOUD_PROFILE, ' +
        'ALIBABA_CLOUD_CREDENTIALS_FILE, ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_ECS_METADATA), with CCC_ENDPOINT if not ccc.<CCC_REGION>.aliyuncs.com; ' +
        'or set CCC_EMULATOR=true to run the emulator on purpose',
    );
  }
  let archiveInstances: '*' | string[] | undefined;
  if (env.ARCHIVE_INSTANCES) {
    try {
      archiveInstances = parseArchiveInstances(env.ARCHIVE_INSTANCES);
    } catch (e) {
      problems.push(`ARCHIVE_INSTANCES: ${(e as Error).message}`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  const budgetDefaults = callerBudgetDefaults[auth.mode];

  return {
    env: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    upstreamMode,
    upstream: {
      endpoint: endpoint ?? (upstreamMode === 'aliyun' ? { host: `ccc.${env.CCC_REGION}.aliyuncs.com`, protocol: 'https' } : undefined),
      region: env.CCC_REGION,
      timeoutMs: env.CCC_TIMEOUT_MS,
      concurrency: env.UPSTREAM_CONCURRENCY,
      callsPerCallerPerMinute: env.UPSTREAM_CALLS_PER_CALLER_PER_MINUTE ?? budgetDefaults.upstreamCallsPerCallerPerMinute,
    },
    timeZone: env.CCC_TIMEZONE,
    instanceTimeZones: env.CCC_INSTANCE_TIMEZONES,
    redis:
      env.REDIS_URL || clusterNodes
        ? { url: env.REDIS_URL, clusterNodes, commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS }
        : undefined,
    cache: {
      enabled: env.CACHE_ENABLED,
      leaseMs: env.CACHE_LEASE_MS,
      responseCacheMaxBytes: env.RESPONSE_CACHE_MAX_BYTES,
      settleDelayMs: env.CACHE_SETTLE_DELAY_MS,
      openTtlMs: env.CACHE_OPEN_TTL_MS,
      openRefreshFraction: env.CACHE_OPEN_REFRESH_FRACTION,
      memoryMaxBuckets: env.CACHE_MEMORY_MAX_BUCKETS,
      instanceDirectoryTtlMs: env.INSTANCE_DIRECTORY_TTL_MS,
    },
    limits: { maxBucketsPerField: env.MAX_BUCKETS_PER_FIELD, maxInstancesPerField: env.MAX_INSTANCES_PER_FIELD },
    operationLimits: { maxCost: env.OPERATION_MAX_COST, maxDepth: env.MAX_QUERY_DEPTH, maxAliases: env.MAX_ALIASES, maxDocumentBytes: env.MAX_DOCUMENT_BYTES, maxTokens: env.MAX_TOKENS, maxDirectives: env.MAX_DIRECTIVES, rejectedRequestsPerMinute: env.REJECTED_REQUESTS_PER_MINUTE ?? budgetDefaults.rejectedRequestsPerMinute },
    graphqlExecutor: env.GRAPHQL_EXECUTOR,
    rateLimit: { perSecond: env.RATE_LIMIT_PER_SECOND, burst: env.RATE_LIMIT_BURST },
    resilience: { maxAttempts: env.UPSTREAM_MAX_ATTEMPTS, deadlineMs: env.UPSTREAM_DEADLINE_MS, circuitResetMs: env.CIRCUIT_RESET_MS },
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    auth,
    explorer: env.EXPLORER ?? env.NODE_ENV !== 'production',
    explorerUi: env.EXPLORER_UI,
    cors: { origins: corsOrigins, credentials: env.CORS_CREDENTIALS },
    persistedQueries: { mode: env.PERSISTED_QUERIES, ttlSeconds: env.PERSISTED_QUERIES_TTL_S },
    subscriptions: { maxPerCaller: env.MAX_SUBSCRIPTIONS_PER_CALLER, maxConnectionsPerCaller: env.MAX_CONNECTIONS_PER_CALLER ?? 2 * env.MAX_SUBSCRIPTIONS_PER_CALLER, queueMax: env.SUBSCRIPTION_QUEUE_MAX, keepAliveMs: env.SUBSCRIPTION_KEEPALIVE_MS },
    archive: {
      instances: archiveInstances,
      maxCallsPerMinute: env.ARCHIVE_MAX_CALLS_PER_MINUTE,
      passIntervalMs: env.ARCHIVE_PASS_INTERVAL_MS,
      lockTtlMs: env.ARCHIVE_LOCK_TTL_MS,
    },
  };
}
