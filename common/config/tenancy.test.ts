import { describe, expect, it } from 'vitest';
import { defaultTenancyConfig, tenancyConfigSchema } from './tenancy.ts';

describe('common > config > tenancy', () => {
  it('has defaults that validate', () => {
    expect(tenancyConfigSchema.parse(defaultTenancyConfig)).toEqual(defaultTenancyConfig);
    expect(defaultTenancyConfig.jobMeta).toEqual({ tenant: 'tenant', account: 'account_id' });
    expect(defaultTenancyConfig.metadataCidrs).toContain('169.254.169.254/32');
  });

  it.each([
    { description: 'unknown key', input: { tenantKey: 'x' } },
    { description: 'bad cidr', input: { platformCidrs: ['10.0.0.0'] } },
    { description: 'empty meta key', input: { jobMeta: { tenant: '' } } },
  ])('rejects $description', ({ input }) => {
    expect(tenancyConfigSchema.safeParse(input).success).toBe(false);
  });

  it('fills partial meta keys', () => {
    expect(tenancyConfigSchema.parse({ jobMeta: { tenant: 'tenant_id' } }).jobMeta).toEqual({
      tenant: 'tenant_id',
      account: 'account_id',
    });
  });
});
