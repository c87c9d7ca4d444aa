import { METRICS, METRIC_GROUPS, UPSTREAM_GROUP_NAME } from '../../src/reports/metrics';
import { seedFieldTable } from '../helpers/seed';

describe('metric catalog', () => {
  const seed = seedFieldTable();

  it('has exactly the seed fields of each group, with their upstream types', () => {
    expect(METRICS.inbound).toHaveLength(44);
    expect(METRICS.outbound).toHaveLength(17);
    expect(METRICS.overall).toHaveLength(21);
    for (const group of METRIC_GROUPS) {
      const fromSeed = seed[UPSTREAM_GROUP_NAME[group] as keyof typeof seed];
      expect(METRICS[group].map((m) => `${m.upstreamName}:${m.type}`).sort()).toEqual(
        fromSeed.map((f) => `${f.name}:${f.type}`).sort(),
      );
    }
  });

  it('names GraphQL fields by lower-casing the first letter', () => {
    const inbound = new Map(METRICS.inbound.map((m) => [m.upstreamName, m.name]));
    expect(inbound.get('CallsOffered')).toBe('callsOffered');
    expect(inbound.get('AverageAbandonedInIVRTime')).toBe('averageAbandonedInIVRTime');
  });

  it.each(METRIC_GROUPS)('%s: averages and ratios refer to totals and counts of their own group', (group) => {
    const byName = new Map(METRICS[group].map((m) => [m.upstreamName, m]));
    for (const metric of METRICS[group]) {
      if (metric.kind === 'average') {
        expect(byName.get(metric.numerator!)?.kind).toBe('total');
        if (metric.denominator !== null) expect(byName.get(metric.denominator!)?.kind).toBe('count');
      }
      if (metric.kind === 'ratio') expect(['count', 'total']).toContain(byName.get(metric.denominator!)?.kind);
      if (metric.type === 'Long') expect(['count', 'total', 'max']).toContain(metric.kind);
      expect(metric.description.length).toBeGreaterThan(10);
    }
  });
});
