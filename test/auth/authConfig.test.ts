import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { AuthConfigError, parseAuthConfig, type AuthConfig } from '../../src/server/auth/authConfig';

const SECRET = 'a-shared-secret-of-at-least-32-bytes!';

function problems(env: Record<string, string | undefined>): string[] {
  try {
    parseAuthConfig(env);
  } catch (e) {
    if (e instanceof AuthConfigError) return e.problems;
    throw e;
  }
  return [];
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'auth-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const RSA_PUBLIC = { kty: 'RSA', n: 'sXch', e: 'AQAB', kid: 'k1' };

describe('auth configuration', () => {
  it('is off by default, outside production', () => {
    expect(parseAuthConfig({})).toEqual({ mode: 'off' });
    expect(parseAuthConfig({ NODE_ENV: 'development' })).toEqual({ mode: 'off' });
    expect(parseAuthConfig({ NODE_ENV: 'test', AUTH_MODE: 'off' })).toEqual({ mode: 'off' });
  });

  it('refuses to start in production with AUTH_MODE=off, unless explicitly allowed', () => {
    const message = 'AUTH_MODE: refusing to start in production with AUTH_MODE=off; set AUTH_MODE=jwt or AUTH_ALLOW_OFF_IN_PRODUCTION=true';
    expect(problems({ NODE_ENV: 'production' })).toEqual([message]);
    expect(problems({ NODE_ENV: 'production', AUTH_MODE: 'off', AUTH_ALLOW_OFF_IN_PRODUCTION: 'false' })).toEqual([message]);
    expect(() => parseAuthConfig({ NODE_ENV: 'production' })).toThrow(message);
    expect(parseAuthConfig({ NODE_ENV: 'production', AUTH_ALLOW_OFF_IN_PRODUCTION: 'true' })).toEqual({ mode: 'off' });
    expect(parseAuthConfig({ NODE_ENV: 'production', AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET }).mode).toBe('jwt');
  });

  it('reports the production refusal even when another value is bad too', () => {
    expect(problems({ NODE_ENV: 'production', AUTH_CLOCK_TOLERANCE_S: 'soon' })).toEqual([
      expect.stringMatching(/^AUTH_CLOCK_TOLERANCE_S: /),
      expect.stringMatching(/^AUTH_MODE: refusing to start in production/),
    ]);
  });

  it('jwt with a shared secret: defaults for everything else', () => {
    const config = parseAuthConfig({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET });
    expect(config).toMatchObject({
      mode: 'jwt',
      key: { kind: 'secret' },
      issuer: undefined,
      audience: undefined,
      instancesClaim: 'ccc_instances',
      clockToleranceSeconds: 30,
    });
    const key = (config as Extract<AuthConfig, { mode: 'jwt' }>).key as { secret: Uint8Array };
    expect(Buffer.from(key.secret).toString()).toBe(SECRET);
  });

  it('takes issuer, audience, claim name and clock tolerance', () => {
    expect(
      parseAuthConfig({
        AUTH_MODE: 'jwt',
        AUTH_JWT_SECRET: SECRET,
        AUTH_JWT_ISSUER: 'https://idp.example',
        AUTH_JWT_AUDIENCE: 'ccc-report-gateway',
        AUTH_INSTANCES_CLAIM: 'https://example.com/ccc_instances',
        AUTH_CLOCK_TOLERANCE_S: '5',
      }),
    ).toMatchObject({
      issuer: 'https://idp.example',
      audience: 'ccc-report-gateway',
      instancesClaim: 'https://example.com/ccc_instances',
      clockToleranceSeconds: 5,
    });
  });

  it('never shows the secret when the configuration is logged or printed', () => {
    const config = parseAuthConfig({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET });
    const bytes = Array.from(Buffer.from(SECRET)).join(',');
    for (const text of [JSON.stringify(config), inspect(config, { depth: 10 }), String(Object.keys((config as { key: object }).key))]) {
      expect(text).not.toContain(SECRET);
      expect(text.replace(/\s/g, '')).not.toContain(bytes);
    }
  });

  it('a JWKS URL: https, or http on loopback only', () => {
    expect(parseAuthConfig({ AUTH_MODE: 'jwt', AUTH_JWKS_URL: 'https://idp.example/.well-known/jwks.json' })).toMatchObject({
      key: { kind: 'jwksUrl', url: new URL('https://idp.example/.well-known/jwks.json') },
    });
    for (const local of ['http://127.0.0.1:8080/jwks', 'http://localhost/jwks', 'http://[::1]:1/jwks']) {
      expect(parseAuthConfig({ AUTH_MODE: 'jwt', AUTH_JWKS_URL: local })).toMatchObject({ key: { kind: 'jwksUrl' } });
    }
    expect(problems({ AUTH_MODE: 'jwt', AUTH_JWKS_URL: 'http://idp.example/jwks' })).toEqual([
      'AUTH_JWKS_URL: must be an https URL (http only for localhost)',
    ]);
    expect(problems({ AUTH_MODE: 'jwt', AUTH_JWKS_URL: 'ftp://idp.example/jwks' })).toEqual([
      'AUTH_JWKS_URL: must be an https URL (http only for localhost)',
    ]);
    expect(problems({ AUTH_MODE: 'jwt', AUTH_JWKS_URL: 'idp.example/jwks' })).toEqual(['AUTH_JWKS_URL: must be an http(s) URL']);
  });

  it('a JWKS file: read and checked at start', () => {
    const path = file('good.json', JSON.stringify({ keys: [RSA_PUBLIC, { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] }));
    expect(parseAuthConfig({ AUTH_MODE: 'jwt', AUTH_JWKS_FILE: path })).toMatchObject({
      key: { kind: 'jwksFile', path, jwks: { keys: [RSA_PUBLIC, { kty: 'EC' }] } },
    });
  });

  it.each([
    ['missing', () => join(dir, 'nope.json'), /^AUTH_JWKS_FILE: cannot read .*nope\.json \(ENOENT\)$/],
    ['not JSON', () => file('text.json', 'keys: []'), /^AUTH_JWKS_FILE: .*text\.json is not JSON$/],
    ['not a key set', () => file('array.json', '[{"kty":"RSA"}]'), /is not a JWKS/],
    ['an empty key set', () => file('empty.json', '{"keys":[]}'), /is not a JWKS/],
    ['a key without kty', () => file('nokty.json', '{"keys":[{"n":"x"}]}'), /key 0 is not a JWK/],
    ['a symmetric key', () => file('oct.json', JSON.stringify({ keys: [RSA_PUBLIC, { kty: 'oct', k: 'c2VjcmV0' }] })), /key 1 has kty "oct"; only RSA and EC public keys/],
    ['a private key', () => file('private.json', JSON.stringify({ keys: [{ ...RSA_PUBLIC, d: 'secret' }] })), /key 0 contains private key material/],
  ])('refuses a JWKS file that is %s', (_what, path, message) => {
    const found = problems({ AUTH_MODE: 'jwt', AUTH_JWKS_FILE: path() });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^AUTH_JWKS_FILE: /);
    expect(found[0]).toMatch(message);
    // The private exponent is not repeated in the message.
    expect(found[0]).not.toContain('"secret"');
  });

  it('jwt needs exactly one key source', () => {
    expect(problems({ AUTH_MODE: 'jwt' })).toEqual(['AUTH_MODE: jwt needs one key source: AUTH_JWT_SECRET, AUTH_JWKS_URL, AUTH_JWKS_FILE']);
    const jwks = file('one.json', JSON.stringify({ keys: [RSA_PUBLIC] }));
    expect(problems({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_JWKS_URL: 'https://idp.example/jwks' })).toEqual([
      'AUTH_JWT_SECRET, AUTH_JWKS_URL: set exactly one key source, not 2',
    ]);
    expect(problems({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_JWKS_FILE: jwks })).toEqual([
      'AUTH_JWT_SECRET, AUTH_JWKS_URL, AUTH_JWKS_FILE: set exactly one key source, not 3',
    ]);
  });

  it('a key source with AUTH_MODE=off is a mistake, not something to ignore', () => {
    expect(problems({ AUTH_JWT_SECRET: SECRET })).toEqual(['AUTH_JWT_SECRET: set while AUTH_MODE=off; set AUTH_MODE=jwt to use it, or unset it']);
    expect(problems({ AUTH_MODE: 'off', AUTH_JWKS_URL: 'https://idp.example/jwks' })).toEqual([
      'AUTH_JWKS_URL: set while AUTH_MODE=off; set AUTH_MODE=jwt to use it, or unset it',
    ]);
  });

  it.each([
    [{ AUTH_MODE: 'oauth' }, 'AUTH_MODE'],
    [{ AUTH_MODE: 'JWT' }, 'AUTH_MODE'],
    [{ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: 'short-secret' }, 'AUTH_JWT_SECRET'],
    [{ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_INSTANCES_CLAIM: 'ccc instances' }, 'AUTH_INSTANCES_CLAIM'],
    [{ AUTH_ALLOW_OFF_IN_PRODUCTION: 'maybe' }, 'AUTH_ALLOW_OFF_IN_PRODUCTION'],
    [{ AUTH_CLOCK_TOLERANCE_S: 'soon' }, 'AUTH_CLOCK_TOLERANCE_S'],
    [{ AUTH_CLOCK_TOLERANCE_S: '-1' }, 'AUTH_CLOCK_TOLERANCE_S'],
    [{ AUTH_CLOCK_TOLERANCE_S: '1.5' }, 'AUTH_CLOCK_TOLERANCE_S'],
    [{ AUTH_CLOCK_TOLERANCE_S: '301' }, 'AUTH_CLOCK_TOLERANCE_S'],
  ])('rejects %j, naming %s', (env, variable) => {
    const found = problems(env);
    expect(found).toHaveLength(1);
    expect(found[0].startsWith(`${variable}: `)).toBe(true);
  });

  it('measures the secret in bytes (UTF-8), and never repeats it', () => {
    const short = 'é'.repeat(15); // 30 bytes
    expect(problems({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: short })).toEqual(['AUTH_JWT_SECRET: must be at least 32 bytes']);
    expect(parseAuthConfig({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: 'é'.repeat(16) }).mode).toBe('jwt');
  });

  it('reports every problem at once, one line each, naming the variable', () => {
    let error: unknown;
    try {
      parseAuthConfig({
        AUTH_MODE: 'jwt',
        AUTH_JWT_SECRET: 'too-short',
        AUTH_JWKS_URL: 'http://idp.example/jwks',
        AUTH_CLOCK_TOLERANCE_S: 'x',
        AUTH_ALLOW_OFF_IN_PRODUCTION: 'maybe',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AuthConfigError);
    const lines = (error as Error).message.split('\n');
    expect(lines).toEqual((error as AuthConfigError).problems);
    expect(lines.map((l) => l.split(':')[0]).sort()).toEqual([
      'AUTH_ALLOW_OFF_IN_PRODUCTION',
      'AUTH_CLOCK_TOLERANCE_S',
      'AUTH_JWKS_URL',
      'AUTH_JWT_SECRET',
      'AUTH_JWT_SECRET, AUTH_JWKS_URL',
    ]);
    expect((error as Error).message).not.toContain('too-short');
  });

  it('treats empty strings as unset', () => {
    expect(parseAuthConfig({ AUTH_MODE: '', AUTH_JWT_SECRET: '', AUTH_CLOCK_TOLERANCE_S: '', AUTH_JWKS_URL: undefined })).toEqual({ mode: 'off' });
    expect(parseAuthConfig({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_JWKS_FILE: '', AUTH_JWT_AUDIENCE: '' })).toMatchObject({
      key: { kind: 'secret' },
      audience: undefined,
    });
  });
});
