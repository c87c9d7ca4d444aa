/**
 * A small parser of the Prometheus text exposition format (0.0.4), enough for tests to read
 * what a scrape would: samples with their labels, and the TYPE of each family.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  /** Samples of one series name whose labels include `labels`. */
  find(name: string, labels?: Record<string, string>): Sample[];
  /** The value of the one sample matching exactly, or undefined. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Sum over samples of `name` whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice('# TYPE '.length).split(' ');
      types.set(name, type);
      continue;
    }
    if (line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (match[2] ?? '').matchAll(LABEL)) {
      labels[key] = raw.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    const value = match[3] === '+Inf' ? Infinity : match[3] === '-Inf' ? -Infinity : Number(match[3]);
    samples.push({ name: match[1], labels, value });
  }
  const includes = (sample: Sample, labels: Record<string, string>) => Object.entries(labels).every(([k, v]) => sample.labels[k] === v);
  const find = (name: string, labels: Record<string, string> = {}) => samples.filter((s) => s.name === name && includes(s, labels));
  return {
    samples,
    types,
    find,
    value(name, labels = {}) {
      const exact = samples.filter(
        (s) => s.name === name && includes(s, labels) && Object.keys(s.labels).length === Object.keys(labels).length,
      );
      if (exact.length > 1) throw new Error(`${exact.length} samples of ${name} match ${JSON.stringify(labels)}`);
      return exact[0]?.value;
    },
    sum(name, labels = {}) {
      return find(name, labels).reduce((total, s) => total + s.value, 0);
    },
  };
}
