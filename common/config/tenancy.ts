/**
 * The tenancy slice of the config file: where tenant and account ids live in Nomad metadata and
 * netreap labels, and which address ranges are platform-internal, private or cloud metadata.
 * The config loader composes this schema with the other components' schemas; this module only
 * declares it and its defaults.
 * @module
 */
import { z } from 'zod';

/** The meta keys that hold the tenant and the account at one level (namespace, job, group). */
const metaKeysSchema = z
  .object({
    /** Meta key holding the tenant id. Default `tenant`. */
    tenant: z.string().min(1).default('tenant'),
    /** Meta key holding the account id. Default `account_id`. */
    account: z.string().min(1).default('account_id'),
  })
  .strict();

const cidr = z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, 'expected a CIDR such as 10.0.0.0/8 or fd00::/8');

/** A CIDR whose addresses belong to a known owner that is not a Nomad allocation (a NAT gateway, a database). */
const cidrOwnerSchema = z
  .object({
    /** The range, e.g. `10.20.0.0/24`. */
    cidr,
    /** Shown as the owner's job (e.g. `nat-gateway`). */
    name: z.string().min(1),
    /** Tenant that owns the range; empty for platform ranges. */
    tenant: z.string().default(''),
    /** Account that owns the range; empty when not known. */
    account: z.string().default(''),
  })
  .strict();

/**
 * Tenancy and address-scope rules. Precedence for tenant and account: netreap `nomad:<key>`
 * labels (job meta merged with group meta), then group meta, job meta and namespace meta of
 * the owning allocation (most specific wins).
 */
export const tenancyConfigSchema = z
  .object({
    /** Keys in namespace meta. Defaults `tenant` / `account_id`. */
    namespaceMeta: metaKeysSchema.prefault({}),
    /** Keys in job meta (and in `nomad:<key>=` labels, which netreap copies from job meta). */
    jobMeta: metaKeysSchema.prefault({}),
    /** Keys in task-group meta (netreap merges group meta over job meta into the same labels). */
    groupMeta: metaKeysSchema.prefault({}),
    /** Nomad namespaces run by the platform itself: their workloads get scope `platform`. */
    platformNamespaces: z.array(z.string().min(1)).default([]),
    /** Platform-internal ranges (node subnets, control plane, load balancers): scope `platform`. */
    platformCidrs: z.array(cidr).default([]),
    /** Private ranges beyond RFC 1918, RFC 6598 and fc00::/7 (e.g. a cloud's non-RFC VPC range). */
    extraPrivateCidrs: z.array(cidr).default([]),
    /** Cloud metadata endpoints. Default 169.254.169.254/32 and fd00:ec2::254/128. */
    metadataCidrs: z.array(cidr).default(['169.254.169.254/32', 'fd00:ec2::254/128']),
    /** Ranges with a known owner outside Nomad: attribution source `cidr`. */
    cidrOwners: z.array(cidrOwnerSchema).default([]),
  })
  .strict();

/** The validated, fully defaulted tenancy configuration. */
export type TenancyConfig = z.infer<typeof tenancyConfigSchema>;

/** The defaults, as the loader would produce them from an empty `tenancy:` section. */
export const defaultTenancyConfig: TenancyConfig = Object.freeze(tenancyConfigSchema.parse({}));
