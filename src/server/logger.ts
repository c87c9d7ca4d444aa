/**
 * Structured JSON logs (pino). Secrets are redacted by path wherever they might appear, so a
 * careless `log.info({ config })` cannot print the AccessKey secret or a bearer token.
 */
import pino, { type Logger } from 'pino';

export const REDACT_PATHS = [
  'accessKeySecret',
  '*.accessKeySecret',
  'accessKey.secret',
  '*.accessKey.secret',
  'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
  '*.ALIBABA_CLOUD_ACCESS_KEY_SECRET',
  'req.headers.authorization',
  'headers.authorization',
  '*.headers.authorization',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'ccc-report-gateway' } }, destination);
}

export type { Logger };
