import { z } from 'zod';

/** The spellings every boolean setting accepts, so operators need not remember two sets. */
export const envBoolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
