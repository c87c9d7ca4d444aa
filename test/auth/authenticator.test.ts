
import { parseAuthConfig } from '../../src/server/auth/authConfig';
import { createAuthenticator, type Authenticator } from '../../src/server/auth/Authenticator';
import { SignJWT } from 'jose';
import { base64url, gatewayError, NOW_S, SECRET, SECRET_BYTES, sign, unsignedToken } from './tokens';

const ISSUER = 'https://idp.example';
const AUDIENCE = 'ccc-report-gateway';

function authenticator(env: Record<string, string> = {}): Authenticator {
  return createAuthenticator(parseAuthConfig({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, ...env }));
}

/** Every rejection message of this file, checked at the end for tokens and claims. */
const rejections: { token: string; message: string }[] = [];

async function rejected(auth: Authenticator, token: string, header = `Bearer ${token}`): Promise<string> {
  const error = await gatewayError(auth.authenticate(header));
  expect(error.code).toBe('UNAUTHENTICATED');
  rejections.push({ token, message: error.message });
  return error.message;
}

describe('AUTH_MODE=off', () => {
  it('lets everybody read everything, header or not', async () => {
    const auth = createAuthenticator(parseAuthConfig({}));
    for (const header of [undefined, 'Bearer whatever', 'Basic dXNlcjpwYXNz']) {
      const principal = await auth.authenticate(header);
      expect(principal.subject).toBe('anonymous');
      expect(principal.instances).toBe('*');
      expect(principal.canRead('ccc-test')).toBe(true);
    }
  });
});

describe('HS256 bearer tokens', () => {
  it('a valid token grants exactly the instances of its claim', async () => {
    const principal = await authenticator().authenticate(`Bearer ${await sign({ ccc_instances: ['ccc-test'] })}`);
    expect(principal.subject).toBe('svc-reporting');
    expect(principal.instances).toEqual(new Set(['ccc-test']));
    expect(principal.canRead('ccc-test')).toBe(true);
    expect(principal.canRead('ccc-other')).toBe(false);
    expect(principal.canRead('CCC-TEST')).toBe(false);
    expect(principal.canRead('*')).toBe(false);
  });

  it('"*" grants every instance', async () => {
    const principal = await authenticator().authenticate(`Bearer ${await sign({ ccc_instances: '*' })}`);
    expect(principal.instances).toBe('*');
    expect(principal.canRead('ccc-anything')).toBe(true);
  });

  it('reads the claim named by AUTH_INSTANCES_CLAIM, and only that one', async () => {
    const auth = authenticator({ AUTH_INSTANCES_CLAIM: 'https://example.com/instances' });
    const principal = await auth.authenticate(`Bearer ${await sign({ 'https://example.com/instances': ['ccc-a'], ccc_instances: '*' })}`);
    expect(principal.canRead('ccc-a')).toBe(true);
    expect(principal.canRead('ccc-b')).toBe(false);
  });

  it.each([
    ['a space-separated string', 'ccc-a ccc-b', ['ccc-a', 'ccc-b']],
    ['a comma-separated string', 'ccc-a,ccc-b', ['ccc-a', 'ccc-b']],
    ['commas and spaces', ' ccc-a, ccc-b ,,ccc-c ', ['ccc-a', 'ccc-b', 'ccc-c']],
    ['an empty array', [], []],
    ['"*" inside an array (only the whole claim means all)', ['*'], ['*']],
    ['"*" among ids in a string', 'ccc-a *', ['ccc-a', '*']],
  ])('accepts the claim as %s', async (_shape, claim, instances) => {
    const principal = await authenticator().authenticate(`Bearer ${await sign({ ccc_instances: claim })}`);
    expect(principal.instances).toEqual(new Set(instances));
    expect(principal.canRead('ccc-z')).toBe(false);
  });

  it.each([
    ['absent', undefined],
    ['a number', 42],
    ['an object', { 'ccc-a': true }],
    ['an array holding a non-string', ['ccc-a', 7]],
    ['null', null],
    ['true', true],
  ])('grants no instances when the claim is %s (authenticated, not authorized)', async (_shape, claim) => {
    const principal = await authenticator().authenticate(`Bearer ${await sign(claim === undefined ? {} : { ccc_instances: claim as never })}`);
    expect(principal.subject).toBe('svc-reporting');
    expect(principal.instances).toEqual(new Set());
    expect(principal.canRead('ccc-a')).toBe(false);
  });

  it('a token without sub still authenticates, as "unknown"', async () => {
    const principal = await authenticator().authenticate(`Bearer ${await sign({ sub: undefined, ccc_instances: ['ccc-a'] })}`);
    expect(principal.subject).toBe('unknown');
  });

  it('gives each token without sub its own caller identity, and tokens with one their subject', async () => {
    const auth = authenticator();
    const first = await auth.authenticate(`Bearer ${await sign({ sub: undefined, ccc_instances: ['ccc-a'] })}`);
    const second = await auth.authenticate(`Bearer ${await sign({ sub: undefined, ccc_instances: ['ccc-b'] })}`);
    expect(first.callerKey).toMatch(/^token:[0-9a-f]{32}$/);
    expect(second.callerKey).toMatch(/^token:[0-9a-f]{32}$/);
    expect(first.callerKey).not.toBe(second.callerKey);
    const named = await auth.authenticate(`Bearer ${await sign({ ccc_instances: ['ccc-a'] })}`);
    expect(named.callerKey).toBe('sub:svc-reporting');
  });

  it('rejects a token issued in the future beyond the clock tolerance', async () => {
    const issuedAt = (offsetSeconds: number) =>
      new SignJWT({ sub: 'svc-reporting' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuedAt(NOW_S() + offsetSeconds)
        .setExpirationTime(NOW_S() + 7200)
        .sign(SECRET_BYTES);
    const auth = authenticator();
    expect(await rejected(auth, await issuedAt(3600))).toBe('invalid bearer token: issued in the future');
    // 10 s ahead is within the default 30 s tolerance: clocks drift.
    await expect(auth.authenticate(`Bearer ${await issuedAt(10)}`)).resolves.toBeDefined();
    const strict = authenticator({ AUTH_CLOCK_TOLERANCE_S: '0' });
    expect(await rejected(strict, await issuedAt(10))).toBe('invalid bearer token: issued in the future');
  });

  it('grants debug extensions only to a token whose gateway_debug claim is exactly true', async () => {
    const auth = authenticator();
    expect((await auth.authenticate(`Bearer ${await sign({ gateway_debug: true })}`)).debug).toBe(true);
    for (const claim of ['true', 1, 'yes', undefined]) {
      expect((await auth.authenticate(`Bearer ${await sign({ gateway_debug: claim as never })}`)).debug).toBe(false);
    }
  });

  it('accepts the scheme in any case', async () => {
    const token = await sign({ ccc_instances: ['ccc-a'] });
    expect((await authenticator().authenticate(`bearer ${token}`)).canRead('ccc-a')).toBe(true);
    expect((await authenticator().authenticate(`BEARER  ${token}`)).canRead('ccc-a')).toBe(true);
  });

  it('rejects a forged token (signed with another secret)', async () => {
    const forged = await sign({ ccc_instances: '*' }, new TextEncoder().encode('another-secret-that-is-long-enough!!'));
    expect(await rejected(authenticator(), forged)).toBe('invalid bearer token: signature');
  });

  it('rejects a token whose payload was changed after signing', async () => {
    const [header, , signature] = (await sign({ ccc_instances: ['ccc-a'] })).split('.');
    const tampered = `${header}.${base64url({ sub: 'svc-reporting', exp: NOW_S() + 60, ccc_instances: '*' })}.${signature}`;
    expect(await rejected(authenticator(), tampered)).toBe('invalid bearer token: signature');
  });

  it('rejects an expired token, within the clock tolerance only', async () => {
    const auth = authenticator();
    expect(await rejected(auth, await sign({}, undefined, { expiresIn: -120 }))).toBe('invalid bearer token: expired');
    // 10 s late is within the default 30 s tolerance...
    await expect(auth.authenticate(`Bearer ${await sign({}, undefined, { expiresIn: -10 })}`)).resolves.toBeDefined();
    // ...and not within none.
    const strict = authenticator({ AUTH_CLOCK_TOLERANCE_S: '0' });
    expect(await rejected(strict, await sign({}, undefined, { expiresIn: -10 }))).toBe('invalid bearer token: expired');
  });

  it('rejects a token that is not valid yet, within the clock tolerance only', async () => {
    const auth = authenticator();
    expect(await rejected(auth, await sign({}, undefined, { notBefore: 120 }))).toBe('invalid bearer token: not yet valid');
    await expect(auth.authenticate(`Bearer ${await sign({}, undefined, { notBefore: 10 })}`)).resolves.toBeDefined();
  });

  it('rejects a token without exp: it would be valid forever', async () => {
    expect(await rejected(authenticator(), await sign({}, undefined, { expiresIn: null }))).toBe('invalid bearer token: exp claim missing');
  });

  it('checks the audience when configured', async () => {
    const auth = authenticator({ AUTH_JWT_AUDIENCE: AUDIENCE });
    await expect(auth.authenticate(`Bearer ${await sign({ aud: AUDIENCE })}`)).resolves.toBeDefined();
    await expect(auth.authenticate(`Bearer ${await sign({ aud: ['other-api', AUDIENCE] })}`)).resolves.toBeDefined();
    expect(await rejected(auth, await sign({ aud: 'other-api' }))).toBe('invalid bearer token: audience');
    expect(await rejected(auth, await sign({}))).toBe('invalid bearer token: aud claim missing');
    // Not configured: not checked.
    await expect(authenticator().authenticate(`Bearer ${await sign({ aud: 'other-api' })}`)).resolves.toBeDefined();
  });

  it('checks the issuer when configured', async () => {
    const auth = authenticator({ AUTH_JWT_ISSUER: ISSUER });
    await expect(auth.authenticate(`Bearer ${await sign({ iss: ISSUER })}`)).resolves.toBeDefined();
    expect(await rejected(auth, await sign({ iss: 'https://evil.example' }))).toBe('invalid bearer token: issuer');
    expect(await rejected(auth, await sign({}))).toBe('invalid bearer token: iss claim missing');
  });

  it('rejects alg "none", crafted by hand', async () => {
    const token = unsignedToken({ ccc_instances: '*' });
    expect(await rejected(authenticator(), token)).toBe('invalid bearer token: algorithm not allowed');
    // Also with a signature part that is not empty.
    expect(await rejected(authenticator(), `${token}c2ln`)).toBe('invalid bearer token: algorithm not allowed');
  });

  it('rejects other HMAC algorithms, even signed with the right secret', async () => {
    const hs512 = await sign({}, new TextEncoder().encode(SECRET.repeat(2)), { alg: 'HS512' });
    expect(await rejected(authenticator(), hs512)).toBe('invalid bearer token: algorithm not allowed');
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['Basic', 'Basic c3ZjOnBhc3N3b3Jk'],
    ['a bare token without scheme', 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln'],
    ['the scheme without a token', 'Bearer'],
    ['the scheme and a space', 'Bearer '],
    ['two tokens', 'Bearer abc def'],
    ['a token with forbidden characters', 'Bearer abc<def>'],
  ])('rejects a header that is %s: a bearer token is required', async (_what, header) => {
    const error = await gatewayError(authenticator().authenticate(header));
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.message).toBe('a bearer token is required');
  });

  it.each([
    ['not a JWT at all', 'garbage'],
    ['three segments of garbage', 'a.b.c'],
    ['a header that is not JSON', `${Buffer.from('{not json').toString('base64url')}.e30.c2ln`],
    ['a payload that is not JSON', `${base64url({ alg: 'HS256' })}.${Buffer.from('[1,').toString('base64url')}.c2ln`],
    ['too many segments', `${base64url({ alg: 'HS256' })}.e30.c2ln.ZXh0cmE`],
  ])('rejects a token that is %s as malformed', async (_what, token) => {
    expect(await rejected(authenticator(), token)).toMatch(/^invalid bearer token: (malformed|signature)$/);
  });

  it('rejects a payload that is not JSON after checking the signature, as malformed', async () => {
    // Correctly signed, so only the claims set itself is wrong.
    const { createHmac } = await import('node:crypto');
    const signingInput = `${base64url({ alg: 'HS256' })}.${Buffer.from('not json').toString('base64url')}`;
    const token = `${signingInput}.${createHmac('sha256', SECRET).update(signingInput).digest('base64url')}`;
    expect(await rejected(authenticator(), token)).toBe('invalid bearer token: malformed');
  });

  it('never echoes the token or its claims in an error', async () => {
    expect(rejections.length).toBeGreaterThan(15);
    for (const { token, message } of rejections) {
      expect(message).toMatch(/^invalid bearer token: [a-z ]+$/);
      for (const part of token.split('.').filter((p) => p.length > 3)) expect(message).not.toContain(part);
      expect(message).not.toMatch(/svc-reporting|ccc-|evil|other-api/);
    }
  });
});
