/**
 * Production never serves simulated data by accident: without credentials and without
 * CCC_ENDPOINT it refuses to start, saying what to set; CCC_EMULATOR=true is the only way to run
 * the built-in emulator there, and then the start logs a warning and /readyz says so.
 */
import { configProblems } from '../helpers/configProblems';
import { loadConfig } from '../../src/config/config';
import { startGateway, type Gateway } from '../../src/server/createGateway';
import { createLogger } from '../../src/server/logger';
import { readyz } from '../resilience/support';

const PRODUCTION = { NODE_ENV: 'production', AUTH_ALLOW_OFF_IN_PRODUCTION: 'true' };

const problems = configProblems;

/** A logger whose JSON lines are kept for the test to read. */
function capturingLogger() {
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('production and the built-in emulator', () => {
  it('refuses to start in production with neither credentials nor CCC_ENDPOINT, naming what to set', () => {
    const found = problems(PRODUCTION);
    expect(found).toHaveLength(1);
    const [message] = found;
    for (const name of ['ALIBABA_CLOUD_ACCESS_KEY_ID', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'ALIBABA_CLOUD_ROLE_ARN', 'CCC_ENDPOINT', 'CCC_EMULATOR=true']) {
      expect(message).toContain(name);
    }
    expect(message).toMatch(/emulator \(simulated data\)/);
  });

  it('starts in production with credentials (the real service), and on the emulator only with CCC_EMULATOR=true', () => {
    const real = loadConfig({ ...PRODUCTION, ALIBABA_CLOUD_ACCESS_KEY_ID: 'id', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'secret' });
    expect(real.upstreamMode).toBe('aliyun');
    expect(loadConfig({ ...PRODUCTION, ALIBABA_CLOUD_ROLE_ARN: 'acs:ram::1:role/x' }).upstreamMode).toBe('aliyun');
    expect(loadConfig({ ...PRODUCTION, CCC_EMULATOR: 'true' }).upstreamMode).toBe('emulator');
    // CCC_EMULATOR=false is not a way around it: then credentials are required.
    expect(problems({ ...PRODUCTION, CCC_EMULATOR: 'false' })).toEqual([expect.stringMatching(/^ALIBABA_CLOUD_ACCESS_KEY_ID: credentials are required/)]);
  });

  it('still runs the emulator with zero configuration outside production', () => {
    expect(loadConfig({}).upstreamMode).toBe('emulator');
    expect(loadConfig({ NODE_ENV: 'test' }).upstreamMode).toBe('emulator');
  });

  describe('NODE_ENV=production with CCC_EMULATOR=true', () => {
    let gateway: Gateway | undefined;
    afterEach(async () => {
      await gateway?.close();
      gateway = undefined;
    });

    it('warns at start and /readyz says the upstream is the emulator (still 200: it was asked for)', async () => {
      const { logger, lines } = capturingLogger();
      const config = loadConfig({ ...PRODUCTION, CCC_EMULATOR: 'true', PORT: '0', HOST: '127.0.0.1', RATE_LIMIT_PER_SECOND: '0' });
      gateway = await startGateway(config, { logger });
      const warnings = lines.filter((line) => line.level === 40 && /CCC_EMULATOR=true/.test(line.msg));
      expect(warnings).toHaveLength(1);
      expect(warnings[0].msg).toMatch(/simulated/);

      const { httpStatus, body } = await readyz(gateway);
      expect(httpStatus).toBe(200);
      expect(body).toMatchObject({ status: 'ready', upstream: 'emulator', warnings: [expect.stringMatching(/simulated by the built-in emulator/)] });
    });

    it('outside production /readyz names the upstream without a warning', async () => {
      const { logger } = capturingLogger();
      gateway = await startGateway(loadConfig({ PORT: '0', HOST: '127.0.0.1', RATE_LIMIT_PER_SECOND: '0' }), { logger });
      const { body } = await readyz(gateway);
      expect(body).toMatchObject({ status: 'ready', upstream: 'emulator' });
      expect(body).not.toHaveProperty('warnings');
    });
  });
});
