/** Metrics, per-operation recording, request logging and health endpoints of the gateway. */
export * from './metrics';
export * from './operationMetricsPlugin';
export * from './requestLogging';
export * from './readiness';
