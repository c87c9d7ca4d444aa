
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayError } from '../../src/reports/errors';
import { parseAuthConfig } from '../../src/server/auth/authConfig';
import { createAuthenticator, type Authenticator } from '../../src/server/auth/Authenticator';
import { base64url, gatewayError, keyPair, NOW_S, sign, unsignedToken, type KeyPair } from './tokens';

let dir: string;
let rsa: KeyPair;
let ec: KeyPair;
/** Not in any key set: signs forgeries. */
let stranger: KeyPair;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'auth-jwks-'));
  [rsa, ec, stranger] = await Promise.all([keyPair('RS256', 'rsa-1'), keyPair('ES256', 'ec-1'), keyPair('RS256', 'rsa-1')]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fileAuthenticator(keys: KeyPair[], env: Record<string, string> = {}): Authenticator {
  const path = join(dir, `jwks-${keys.map((k) => k.kid).join('-')}.json`);
  writeFileSync(path, JSON.stringify({ keys: keys.map((k) => k.publicJwk) }));
  return createAuthenticator(parseAuthConfig({ AUTH_MODE: 'jwt', AUTH_JWKS_FILE: path, ...env }));
}

const signWith = (pair: KeyPair, claims: Record<string, unknown> = { ccc_instances: ['ccc-test'] }, kid: string | undefined = pair.kid) =>
  sign(claims, pair.privateKey, { alg: pair.alg, kid });

async function unauthenticated(auth: Authenticator, token: string): Promise<string> {
  const error = await gatewayError(auth.authenticate(`Bearer ${token}`));
  expect(error.code).toBe('UNAUTHENTICATED');
  expect(error.message).not.toContain(token.split('.')[1]);
  return error.message;
}

describe('a local JWKS file (AUTH_JWKS_FILE)', () => {
  it.each(['RS256', 'ES256'] as const)('verifies %s tokens', async (alg) => {
    const pair = alg === 'RS256' ? rsa : ec;
    const principal = await fileAuthenticator([rsa, ec]).authenticate(`Bearer ${await signWith(pair)}`);
    expect(principal.subject).toBe('svc-reporting');
    expect(principal.canRead('ccc-test')).toBe(true);
    expect(principal.canRead('ccc-other')).toBe(false);
  });

  it('finds the key without a kid too, by algorithm', async () => {
    await expect(fileAuthenticator([rsa, ec]).authenticate(`Bearer ${await signWith(ec, undefined, undefined as never)}`)).resolves.toBeDefined();
  });

  it('rejects a token signed by a key not in the set, even with a known kid', async () => {
    expect(await unauthenticated(fileAuthenticator([rsa]), await signWith(stranger))).toBe('invalid bearer token: signature');
  });

  it('rejects a token whose kid is not in the set', async () => {
    expect(await unauthenticated(fileAuthenticator([rsa]), await signWith(rsa, undefined, 'rsa-2'))).toBe('invalid bearer token: unknown signing key');
  });

  it('rejects algorithm confusion: HS256 "signed" with the public key as the HMAC secret', async () => {
    // The classic attack on verifiers that let the token pick the algorithm: the public key is
    // public, so anyone can compute this MAC.
    const auth = fileAuthenticator([rsa]);
    for (const secret of [JSON.stringify(rsa.publicJwk), String(rsa.publicJwk.n)]) {
      const signingInput = `${base64url({ alg: 'HS256', kid: rsa.kid })}.${base64url({ sub: 'attacker', exp: NOW_S() + 3600, ccc_instances: '*' })}`;
      const token = `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
      expect(await unauthenticated(auth, token)).toBe('invalid bearer token: algorithm not allowed');
    }
  });

  it('rejects an HS256 token made with a shared secret', async () => {
    expect(await unauthenticated(fileAuthenticator([rsa]), await sign({ ccc_instances: '*' }))).toBe('invalid bearer token: algorithm not allowed');
  });

  it('rejects alg "none"', async () => {
    expect(await unauthenticated(fileAuthenticator([rsa]), unsignedToken({ ccc_instances: '*' }))).toBe('invalid bearer token: algorithm not allowed');
  });

  it('rejects RS512 even when the set holds the RS512 key: only RS256 and ES256 are accepted', async () => {
    const rs512 = await keyPair('RS512', 'rsa-512');
    expect(await unauthenticated(fileAuthenticator([rsa, rs512]), await signWith(rs512))).toBe('invalid bearer token: algorithm not allowed');
  });

  it('checks issuer, audience and expiry as with a secret', async () => {
    const auth = fileAuthenticator([ec], { AUTH_JWT_ISSUER: 'https://idp.example', AUTH_JWT_AUDIENCE: 'ccc-report-gateway' });
    const good = { iss: 'https://idp.example', aud: 'ccc-report-gateway' };
    await expect(auth.authenticate(`Bearer ${await signWith(ec, good)}`)).resolves.toBeDefined();
    expect(await unauthenticated(auth, await signWith(ec, { ...good, aud: 'other' }))).toBe('invalid bearer token: audience');
    expect(await unauthenticated(auth, await signWith(ec, { ...good, iss: 'https://evil.example' }))).toBe('invalid bearer token: issuer');
    const expired = await sign(good, ec.privateKey, { alg: 'ES256', kid: ec.kid, expiresIn: -3600 });
    expect(await unauthenticated(auth, expired)).toBe('invalid bearer token: expired');
  });
});

describe('a remote JWKS (AUTH_JWKS_URL)', () => {
  let server: http.Server;
  let url: string;
  let keys: KeyPair[];
  let status = 200;
  let hits = 0;

  beforeAll(async () => {
    keys = [rsa];
    server = http.createServer((_req, res) => {
      hits++;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 200 ? JSON.stringify({ keys: keys.map((k) => k.publicJwk) }) : '{"error":"down"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    keys = [rsa];
    status = 200;
    hits = 0;
  });

  const remote = () => createAuthenticator(parseAuthConfig({ AUTH_MODE: 'jwt', AUTH_JWKS_URL: url }));

  it('verifies tokens with keys fetched once, then from its cache', async () => {
    const auth = remote();
    for (let i = 0; i < 3; i++) {
      const principal = await auth.authenticate(`Bearer ${await signWith(rsa)}`);
      expect(principal.canRead('ccc-test')).toBe(true);
    }
    expect(hits).toBe(1);
  });

  it('rejects forged, confused and unsigned tokens', async () => {
    const auth = remote();
    expect(await unauthenticated(auth, await signWith(stranger))).toBe('invalid bearer token: signature');
    expect(await unauthenticated(auth, await sign({ ccc_instances: '*' }, new TextEncoder().encode(JSON.stringify(rsa.publicJwk)), { kid: rsa.kid }))).toBe(
      'invalid bearer token: algorithm not allowed',
    );
    expect(await unauthenticated(auth, unsignedToken({ ccc_instances: '*' }))).toBe('invalid bearer token: algorithm not allowed');
  });

  it('made-up kids do not make it refetch on every request', async () => {
    const auth = remote();
    await auth.authenticate(`Bearer ${await signWith(rsa)}`);
    for (let i = 0; i < 5; i++) {
      expect(await unauthenticated(auth, await signWith(stranger, undefined, `made-up-${i}`))).toBe('invalid bearer token: unknown signing key');
    }
    // One refetch for the first unknown kid, then the cooldown (30 s) holds.
    expect(hits).toBeLessThanOrEqual(2);
  });

  it('an unreachable or failing JWKS endpoint is the gateway\'s problem, not UNAUTHENTICATED', async () => {
    status = 503;
    const token = await signWith(rsa);
    const error = await remote()
      .authenticate(`Bearer ${token}`)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(GatewayError);
    expect((error as Error).message).toBe('cannot verify bearer tokens: the JWKS endpoint failed');
    expect((error as Error).message).not.toContain(token);
    expect(String((error as Error).cause)).not.toContain(token);

    const closed = createAuthenticator(parseAuthConfig({ AUTH_MODE: 'jwt', AUTH_JWKS_URL: 'http://127.0.0.1:1/jwks.json' }));
    const refused = await closed.authenticate(`Bearer ${token}`).catch((e: unknown) => e);
    expect(refused).not.toBeInstanceOf(GatewayError);
    expect((refused as Error).message).toBe('cannot verify bearer tokens: the JWKS endpoint failed');
  });
});
