import { describe, expect, it } from 'vitest';
import { defaultTenancyConfig, tenancyConfigSchema } from '../../../common/config/tenancy.ts';
import { createLabelParser } from './labels.ts';

describe('collector > enrich > labels', () => {
  const parse = createLabelParser(defaultTenancyConfig);
  it.each([
    {
      description: 'full netreap set',
      labels: [
        'netreap:nomad.job_id=web',
        'netreap:nomad.namespace=tenant-acme',
        'netreap:nomad.task_group_id=cache',
        'nomad:tenant=acme',
        'nomad:account_id=acct-0042',
        'nomad:example_workload/app_name=example',
      ],
      expected: {
        namespace: 'tenant-acme',
        job: 'web',
        group: 'cache',
        tenant: 'acme',
        account: 'acct-0042',
      },
    },
    {
      description: 'v0.1 labels without a group',
      labels: ['netreap:nomad.job_id=example', 'netreap:nomad.namespace=default', 'reserved:init'],
      expected: { namespace: 'default', job: 'example', group: '', tenant: '', account: '' },
    },
    {
      description: 'similar meta keys are not the tenant',
      labels: ['nomad:target=x', 'nomad:tenants=y'],
      expected: undefined,
    },
    { description: 'no netreap labels', labels: ['reserved:world', 'k8s:app=x'], expected: undefined },
    { description: 'empty', labels: [], expected: undefined },
  ])('$description', ({ labels, expected }) => {
    expect(parse(labels)).toEqual(expected);
  });

  it('uses configured keys, group keys winning over job keys', () => {
    const p = createLabelParser(
      tenancyConfigSchema.parse({ jobMeta: { tenant: 'tenant_id' }, groupMeta: { tenant: 'grp_tenant' } }),
    );
    expect(p(['nomad:tenant_id=job-level'])?.tenant).toBe('job-level');
    expect(p(['nomad:tenant_id=job-level', 'nomad:grp_tenant=group-level'])?.tenant).toBe('group-level');
  });
});
