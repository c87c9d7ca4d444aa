import { registerEnumType } from 'type-graphql';

/** What to do with buckets that had no traffic. */
export enum EmptyIntervals {
  OMIT = 'OMIT',
  ZERO = 'ZERO',
}

registerEnumType(EmptyIntervals, {
  name: 'EmptyIntervals',
  description: 'Buckets without traffic: left out (as upstream) or filled with zeros for a dense series.',
  valuesConfig: {
    OMIT: { description: 'Leave them out, as upstream does.' },
    ZERO: { description: 'Return them with 0 counts, totals and maxima, and null averages and rates.' },
  },
});
