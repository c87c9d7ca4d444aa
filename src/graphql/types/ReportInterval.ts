import { registerEnumType } from 'type-graphql';

/** Bucket size of a report. Values are the domain's names, so no mapping is needed. */
export enum ReportInterval {
  HOURLY = 'HOURLY',
  DAILY = 'DAILY',
  WEEKLY = 'WEEKLY',
  MONTHLY = 'MONTHLY',
  TOTAL = 'TOTAL',
}

registerEnumType(ReportInterval, {
  name: 'ReportInterval',
  description: 'Bucket size of a report. HOURLY and DAILY in the instance\'s own zone are upstream\'s buckets one to one; the rest are combined exactly from them.',
  valuesConfig: {
    HOURLY: { description: 'One bucket per hour (upstream Hourly).' },
    DAILY: { description: 'One bucket per day, midnight to midnight in timeZone (upstream Daily when timeZone is the instance\'s).' },
    WEEKLY: { description: 'One bucket per ISO week, Monday 00:00 in timeZone.' },
    MONTHLY: { description: 'One bucket per calendar month in timeZone.' },
    TOTAL: { description: 'One bucket for the whole range (startTime floored and endTime rounded up to the hour).' },
  },
});
