/**
 * The whole config file (`FLOWTRAIL_CONFIG`): one strict schema composed from each component's
 * slice, so an unknown or misspelt key anywhere is an error at startup rather than a silently
 * ignored setting.
 * @module
 */
import { z } from 'zod';
import { alertsConfigSchema } from './alerts.ts';
import { apiConfigSchema } from './api.ts';
import { authConfigSchema, tokensSchema } from './auth.ts';
import { tenancyConfigSchema } from './tenancy.ts';

/** The config file's schema. */
export const flowtrailConfigSchema = z.strictObject({
  /** Tenancy and address scopes (common/config/tenancy.ts). */
  tenancy: tenancyConfigSchema.prefault({}),
  /** Authentication mode. */
  auth: authConfigSchema,
  /** API tokens. */
  tokens: tokensSchema,
  /** Query API limits. */
  api: apiConfigSchema,
  /** Alert rules, thresholds and webhooks (query-api/src/alerts/config.ts). */
  alerts: alertsConfigSchema.prefault({}),
});

/** The validated, fully defaulted configuration. */
export type FlowtrailConfig = z.infer<typeof flowtrailConfigSchema>;
