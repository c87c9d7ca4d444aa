/** The FORBIDDEN answer lives with the domain errors (InstanceReports enforces it). */
export { forbiddenInstance } from '../../reports/errors';
