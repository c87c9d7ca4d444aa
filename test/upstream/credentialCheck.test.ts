/**
 * A misconfigured credential source is reported at start, naming the sources configured and the
 * reason, without secrets (issue 10 §6). The credential chain reads `process.env` itself, so the
 * test sets the variables there and restores them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/server/logger';
import { CccClient } from '../../src/upstream/CccClient';
import { startTestGateway } from '../helpers/gateway';

const SECRET_MARKER = 'do-not-log-this-secret-9f8e7d';
const saved = { ...process.env };
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ccc-cred-'));
  // An empty home: no ~/.aliyun/config.json or ~/.alibabacloud/credentials of the machine's own.
  process.env.HOME = dir;
  // A credentials file that is not there (a typo in the path). Its path holds the value of the
  // secret variable, so the library's own message ("ENOENT ... '<path>'") carries a secret: what
  // is logged must not.
  process.env.ALIBABA_CLOUD_CREDENTIALS_FILE = join(dir, `${SECRET_MARKER}.ini`);
  process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET = SECRET_MARKER;
});
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

const client = () => new CccClient({ endpoint: '127.0.0.1:9', protocol: 'http', region: 'cn-shanghai', timeoutMs: 1_000 });

it('checkCredentials says why the chain failed, without the secret', async () => {
  const c = client();
  try {
    const result = await c.checkCredentials();
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toMatch(/ENOENT: no such file or directory, access '.*\[redacted\]\.ini'/);
    expect(result.reason).not.toContain(SECRET_MARKER);
  } finally {
    c.shutdown();
  }
});

it('checkCredentials names the provider that worked', async () => {
  process.env.ALIBABA_CLOUD_ACCESS_KEY_ID = 'LTAI-from-env';
  const c = client();
  try {
    expect(await c.checkCredentials()).toEqual({ ok: true, provider: expect.stringContaining('env') });
  } finally {
    c.shutdown();
  }
});

it('the gateway logs the failing source and reason at start', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const gateway = await startTestGateway(
    { CCC_ENDPOINT: 'http://127.0.0.1:9', ALIBABA_CLOUD_CREDENTIALS_FILE: process.env.ALIBABA_CLOUD_CREDENTIALS_FILE!, ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET_MARKER },
    { logger: createLogger('info', sink) },
  );
  try {
    for (let i = 0; i < 100 && !lines.some((l) => l.includes('credentials could not be resolved')); i++) await new Promise((r) => setTimeout(r, 50));
    const line = lines.find((l) => l.includes('credentials could not be resolved'));
    expect(line).toBeDefined();
    const entry = JSON.parse(line!);
    expect(entry.credentialSources).toEqual(['credentials file (ALIBABA_CLOUD_CREDENTIALS_FILE)']);
    expect(entry.failingSources).toEqual(['credentials file (ALIBABA_CLOUD_CREDENTIALS_FILE)']);
    expect(entry.reason).toMatch(/ENOENT/);
    expect(lines.join('')).not.toContain(SECRET_MARKER);
  } finally {
    await gateway.close();
  }
});

it('a profile that does not exist is named as the failing source', async () => {
  delete process.env.ALIBABA_CLOUD_CREDENTIALS_FILE;
  delete process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
  process.env.ALIBABA_CLOUD_PROFILE = 'no-such-profile';
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const gateway = await startTestGateway({ CCC_ENDPOINT: 'http://127.0.0.1:9', ALIBABA_CLOUD_PROFILE: 'no-such-profile' }, { logger: createLogger('info', sink) });
  try {
    for (let i = 0; i < 100 && !lines.some((l) => l.includes('credentials could not be resolved')); i++) await new Promise((r) => setTimeout(r, 50));
    const entry = JSON.parse(lines.find((l) => l.includes('credentials could not be resolved'))!);
    expect(entry.credentialSources).toEqual(['profile (ALIBABA_CLOUD_PROFILE)']);
    expect(entry.failingSources).toEqual(['profile (ALIBABA_CLOUD_PROFILE)']);
    expect(entry.reason).toMatch(/\.alibabacloud\/credentials/);
  } finally {
    await gateway.close();
  }
});
