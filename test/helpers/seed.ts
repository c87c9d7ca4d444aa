/** The API document's own examples and field table (copied verbatim from the seed into fixtures). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const FIXTURES = join(__dirname, '..', 'fixtures');

export const SEED_JSON_TEXT = readFileSync(join(FIXTURES, 'seed-example.json'), 'utf8');
export const SEED_XML_TEXT = readFileSync(join(FIXTURES, 'seed-example.xml'), 'utf8');

/** The response field table, split by the group struct it belongs to. */
export function seedFieldTable(): Record<'Inbound' | 'Outbound' | 'Overall', { name: string; type: string }[]> {
  const lines = readFileSync(join(FIXTURES, 'seed-response-fields.txt'), 'utf8').trim().split('\n');
  const result = { Inbound: [], Outbound: [], Overall: [] } as Record<'Inbound' | 'Outbound' | 'Overall', { name: string; type: string }[]>;
  let group: keyof typeof result | undefined;
  for (const line of lines) {
    const [name, type] = line.split(' ');
    if (type === 'Struct') {
      group = name as keyof typeof result;
      continue;
    }
    if (name === 'StatsTime') group = undefined;
    if (group) result[group].push({ name, type });
  }
  return result;
}

/** Values of the XML example, per group: `{ Inbound: { CallsOffered: '7', ... } }`. */
export function seedXmlValues(): Record<string, Record<string, string>> {
  const groups: Record<string, Record<string, string>> = {};
  for (const group of ['Inbound', 'Outbound', 'Overall']) {
    const body = new RegExp(`<${group}>([\\s\\S]*?)</${group}>`).exec(SEED_XML_TEXT)![1];
    groups[group] = Object.fromEntries([...body.matchAll(/<(\w+)>([^<]*)<\/\1>/g)].map((m) => [m[1], m[2]]));
  }
  return groups;
}
