/**
 * The built-in emulator as a process's upstream when no Alibaba Cloud credentials are configured:
 * `npm start` (the gateway) and `npm run archive` start it the same way, on a free port, with one
 * AccessKey pair that only this process knows.
 */
import { CccEmulator } from './CccEmulator';

export const EMULATOR_ACCESS_KEY = { id: 'embedded-emulator-key-id', secret: 'embedded-emulator-key-secret' };

export interface EmbeddedEmulator {
  emulator: CccEmulator;
  url: string;
  endpoint: { host: string; protocol: 'http' };
  accessKey: { id: string; secret: string };
}

export async function startEmbeddedEmulator(options: { timeZone: string; now: () => number; overrides?: ConstructorParameters<typeof CccEmulator>[0] }): Promise<EmbeddedEmulator> {
  const emulator = new CccEmulator({
    accessKeys: { [EMULATOR_ACCESS_KEY.id]: EMULATOR_ACCESS_KEY.secret },
    timeZone: options.timeZone,
    now: options.now,
    ...options.overrides,
  });
  const { url } = await emulator.start(0);
  return { emulator, url, endpoint: { host: new URL(url).host, protocol: 'http' }, accessKey: EMULATOR_ACCESS_KEY };
}
