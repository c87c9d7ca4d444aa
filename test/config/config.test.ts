import { configProblems } from '../helpers/configProblems';
import { loadConfig, parseEndpoint } from '../../src/config/config';

const JWT_SECRET = 'config-test-secret-0123456789-abcdef';

const problems = configProblems;

describe('configuration', () => {
  it('runs on the built-in emulator with an in-process cache when nothing is set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      upstreamMode: 'emulator',
      timeZone: 'Asia/Shanghai',
      upstream: { region: 'cn-shanghai', endpoint: undefined },
      redis: undefined,
      cache: { settleDelayMs: 600_000, openTtlMs: 30_000 },
    });
  });

  it('talks to the configured endpoint with credentials, and to nothing else', () => {
    const config = loadConfig({
      ALIBABA_CLOUD_ACCESS_KEY_ID: 'id',
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'secret',
      CCC_ENDPOINT: 'http://127.0.0.1:8080',
    });
    expect(config.upstreamMode).toBe('aliyun');
    expect(config.upstream.endpoint).toEqual({ host: '127.0.0.1:8080', protocol: 'http' });
    expect(loadConfig({ ALIBABA_CLOUD_ACCESS_KEY_ID: 'id', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 's', CCC_REGION: 'cn-beijing' }).upstream.endpoint).toEqual({
      host: 'ccc.cn-beijing.aliyuncs.com',
      protocol: 'https',
    });
  });

  it('refuses an endpoint without credentials instead of falling back to the emulator', () => {
    expect(problems({ CCC_ENDPOINT: 'ccc.cn-shanghai.aliyuncs.com' })).toEqual([
      expect.stringMatching(/^ALIBABA_CLOUD_ACCESS_KEY_ID: credentials are required/),
    ]);
  });

  it('reports every bad value at once, one line each, naming the variable', () => {
    const found = problems({ PORT: 'eighty', CCC_TIMEZONE: 'Mars/Olympus', REDIS_URL: 'not a url', CACHE_OPEN_TTL_MS: '-5', CCC_EMULATOR: 'maybe' });
    expect(found.map((p) => p.split(':')[0]).sort()).toEqual(['CACHE_OPEN_TTL_MS', 'CCC_EMULATOR', 'CCC_TIMEZONE', 'PORT', 'REDIS_URL']);
    expect(found.join('\n')).toMatch(/Unknown time zone "Mars\/Olympus"/);
  });

  it('budgets upstream calls per caller per minute by default with JWT; 0 turns the budget off; a negative budget is refused', () => {
    expect(loadConfig({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: JWT_SECRET }).upstream.callsPerCallerPerMinute).toBe(1_000);
    expect(loadConfig({ UPSTREAM_CALLS_PER_CALLER_PER_MINUTE: '0' }).upstream.callsPerCallerPerMinute).toBe(0);
    expect(problems({ UPSTREAM_CALLS_PER_CALLER_PER_MINUTE: '-1' })).toEqual([expect.stringMatching(/^UPSTREAM_CALLS_PER_CALLER_PER_MINUTE: /)]);
    expect(problems({ UPSTREAM_CALLS_PER_CALLER_PER_MINUTE: 'lots' })).toEqual([expect.stringMatching(/^UPSTREAM_CALLS_PER_CALLER_PER_MINUTE: /)]);
  });

  // With auth off the caller key is the client address, which behind a router is every client's:
  // a budget that locks a caller out would lock out everyone, so it is off unless set explicitly.
  it('with auth off, the budgets that lock a caller out are off by default; an explicit value is honoured', () => {
    for (const env of [{}, { AUTH_MODE: 'off' }]) {
      const config = loadConfig(env);
      expect(config.upstream.callsPerCallerPerMinute).toBe(0);
      expect(config.operationLimits.rejectedRequestsPerMinute).toBe(0);
    }
    const explicit = loadConfig({ UPSTREAM_CALLS_PER_CALLER_PER_MINUTE: '500', REJECTED_REQUESTS_PER_MINUTE: '30' });
    expect(explicit.upstream.callsPerCallerPerMinute).toBe(500);
    expect(explicit.operationLimits.rejectedRequestsPerMinute).toBe(30);
  });

  it('with JWT, the budgets apply by default (60 refused requests, 1,000 upstream calls a minute); an explicit value, 0 included, is honoured', () => {
    const jwt = { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: JWT_SECRET };
    expect(loadConfig(jwt).upstream.callsPerCallerPerMinute).toBe(1_000);
    expect(loadConfig(jwt).operationLimits.rejectedRequestsPerMinute).toBe(60);
    const explicit = loadConfig({ ...jwt, UPSTREAM_CALLS_PER_CALLER_PER_MINUTE: '0', REJECTED_REQUESTS_PER_MINUTE: '0' });
    expect(explicit.upstream.callsPerCallerPerMinute).toBe(0);
    expect(explicit.operationLimits.rejectedRequestsPerMinute).toBe(0);
    expect(problems({ ...jwt, REJECTED_REQUESTS_PER_MINUTE: '-1' })).toEqual([expect.stringMatching(/^REJECTED_REQUESTS_PER_MINUTE: /)]);
  });

  it('persisted queries: apq for a day by default; safelist, off; a TTL over 30 days or an unknown mode is refused', () => {
    expect(loadConfig({}).persistedQueries).toEqual({ mode: 'apq', ttlSeconds: 86_400 });
    expect(loadConfig({ PERSISTED_QUERIES: 'safelist', PERSISTED_QUERIES_TTL_S: '3600' }).persistedQueries).toEqual({ mode: 'safelist', ttlSeconds: 3_600 });
    expect(loadConfig({ PERSISTED_QUERIES: 'off' }).persistedQueries.mode).toBe('off');
    expect(problems({ PERSISTED_QUERIES: 'allowlist', PERSISTED_QUERIES_TTL_S: String(31 * 86_400) }).map((p) => p.split(':')[0]).sort()).toEqual([
      'PERSISTED_QUERIES',
      'PERSISTED_QUERIES_TTL_S',
    ]);
  });

  it('parses per-instance time zones and Redis cluster nodes', () => {
    const config = loadConfig({ CCC_INSTANCE_TIMEZONES: 'ccc-us=America/New_York, ccc-eu=Europe/Berlin', REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7001' });
    expect(config.instanceTimeZones).toEqual({ 'ccc-us': 'America/New_York', 'ccc-eu': 'Europe/Berlin' });
    expect(config.redis?.clusterNodes).toEqual([{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }]);
    expect(problems({ CCC_INSTANCE_TIMEZONES: 'ccc-us' })[0]).toMatch(/CCC_INSTANCE_TIMEZONES/);
  });

  it('reads endpoints as hosts or http(s) URLs', () => {
    expect(parseEndpoint('ccc.aliyuncs.com')).toEqual({ host: 'ccc.aliyuncs.com', protocol: 'https' });
    expect(parseEndpoint('https://ccc.aliyuncs.com')).toEqual({ host: 'ccc.aliyuncs.com', protocol: 'https' });
    expect(() => parseEndpoint('http://x/path')).toThrow(/path/);
    expect(() => parseEndpoint('bad host!')).toThrow();
  });
});
