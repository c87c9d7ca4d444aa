import { registerEnumType } from 'type-graphql';

/** Bucket size of a report. Values are the domain's names, so no mapping is needed. */
export enum ReportInterval {
  HOURLY = 'HOURLY',
  DAILY = 'DAILY',
}

registerEnumType(ReportInterval, {
  name: 'ReportInterval',
  description: 'Bucket size of a report.',
  valuesConfig: {
    HOURLY: { description: 'One bucket per hour (upstream Hourly).' },
    DAILY: { description: "One bucket per day, midnight to midnight in the instance's time zone (upstream Daily)." },
  },
});
