/**
 * The alerts slice of the config file (`alerts:`): evaluation schedule, the built-in rules'
 * thresholds and allowlists, custom rules and webhook targets. The config loader composes this
 * schema with the other components'; this module only declares it and its defaults. Thresholds
 * count Hubble flow events, distinct peers and distinct ports, never bytes or packets: Hubble
 * flows carry no byte counters.
 * @module
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, errorMessage } from '../errors.ts';

/** Incident severities, lowest first (webhook `minSeverity` compares by this order). */
export const severities = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof severities)[number];

const severity = z.enum(severities);
const seconds = (def: number) => z.number().int().min(1).max(86_400).default(def);
const port = z.number().int().min(0).max(65_535);
const cidrOrHost = z.string().min(1).max(253);

/** Owners a rule never fires for (e.g. a tenant that runs a sanctioned scanner). */
const allowlist = {
  /** Tenants exempt from this rule. Default none. */
  allowTenants: z.array(z.string().min(1)).default([]),
  /** Accounts exempt from this rule. Default none. */
  allowAccounts: z.array(z.string().min(1)).default([]),
};

/** Fields every built-in rule has. */
const base = (sev: Severity, windowSeconds: number) => ({
  /** Whether the rule runs. Default true. */
  enabled: z.boolean().default(true),
  /** Severity of its incidents. */
  severity: severity.default(sev),
  /** Sliding window length, seconds. */
  windowSeconds: seconds(windowSeconds),
  ...allowlist,
});

/** Built-in rules, keyed by rule id. */
export const builtinRulesSchema = z
  .strictObject({
    /** Failed connections from one owner to >= minHosts distinct hosts on one port (Zeek scan.zeek). */
    'address-scan': z
      .strictObject({
        ...base('high', 300),
        /** Distinct hosts. Default 25. */ minHosts: z.number().int().min(1).default(25),
      })
      .prefault({}),
    /** Failed connections from one owner to >= minPorts distinct ports on one host (Zeek scan.zeek). */
    'port-scan': z
      .strictObject({
        ...base('medium', 300),
        /** Distinct ports. Default 15. */ minPorts: z.number().int().min(1).default(15),
      })
      .prefault({}),
    /** Flows to SMTP ports in the world from tenants not allowlisted, and any tenant's first-ever port-25 flow. */
    'smtp-egress': z
      .strictObject({
        ...base('medium', 300),
        /** Destination ports that count as mail submission or relay. Default 25, 465, 587. */
        ports: z.array(port).min(1).default([25, 465, 587]),
        /** Also fire on a tenant's first-ever port-25 flow to the world, allowlisted or not. Default true. */
        firstSeenPort25: z.boolean().default(true),
      })
      .prefault({}),
    /** Outbound flow events per second or distinct destinations per owner over a threshold. */
    flood: z
      .strictObject({
        ...base('high', 60),
        /** Flow events per second, averaged over the window. Default 500. */
        maxEventsPerSecond: z.number().positive().default(500),
        /** Distinct destination addresses in the window. Default 1000. */
        maxDestinations: z.number().int().positive().default(1000),
      })
      .prefault({}),
    /** Any flow from a tenant to a cloud metadata address. */
    'metadata-access': z
      .strictObject({
        ...base('high', 300),
        /** Metadata addresses (flows whose destination scope is `metadata` count as well). */
        addresses: z.array(z.string().min(2)).default(['169.254.169.254', 'fd00:ec2::254']),
      })
      .prefault({}),
    /** Policy-denied drops towards another tenant's endpoint. */
    'cross-tenant': z
      .strictObject({
        ...base('medium', 300),
        /** Drop reasons that mean "denied by policy". Default POLICY_DENIED, POLICY_DENY. */
        dropReasons: z.array(z.string().min(1)).default(['POLICY_DENIED', 'POLICY_DENY']),
        /** Denied flow events needed in one window. Default 1. */
        minEvents: z.number().int().min(1).default(1),
      })
      .prefault({}),
    /** Hubble reported events lost (flows missing from the record): a platform incident per target. */
    'lost-events': z
      .strictObject({
        ...base('high', 300),
        /** LostEvents reports from one Hubble target within the window. Default 1. */
        minReports: z.number().int().min(1).default(1),
      })
      .prefault({}),
    /** A miner-pool port together with a miner-pool DNS name (Falco's miner lists; a port alone is too noisy). */
    mining: z
      .strictObject({
        ...base('high', 300),
        /** Falco `miner_ports`. */
        ports: z
          .array(port)
          .default([
            25, 3333, 3334, 3335, 3336, 3357, 4444, 5555, 5556, 5588, 5730, 6099, 6666, 7777, 7778, 8000,
            8001, 8008, 8080, 8118, 8333, 8888, 8899, 9332, 9999, 14433, 14444, 45560, 45700,
          ]),
        /** Pool domains; a name matches when it equals one or ends with `.` + one. */
        domains: z
          .array(z.string().min(3))
          .default([
            'minexmr.com',
            'minergate.com',
            'supportxmr.com',
            'moneroocean.stream',
            'nanopool.org',
            'ethpool.org',
            'ethermine.org',
            'f2pool.com',
            '2miners.com',
            'hashvault.pro',
            'c3pool.com',
            'herominers.com',
            'unmineable.com',
            'nicehash.com',
            'slushpool.com',
            'dwarfpool.com',
            'miningpoolhub.com',
            'xmrpool.eu',
            'viabtc.com',
            'antpool.com',
          ]),
      })
      .prefault({}),
  })
  .prefault({});

/** Group-by choices of a custom rule: whose owner an incident belongs to. */
export const customGroupBys = ['source', 'destination'] as const;
/** What a custom rule's threshold counts in one window. */
export const customMetrics = [
  'events',
  'distinct-destinations',
  'distinct-sources',
  'distinct-ports',
] as const;

/** Names reserved by the built-in rules. */
export const builtinRuleIds = [
  'address-scan',
  'port-scan',
  'smtp-egress',
  'flood',
  'metadata-access',
  'cross-tenant',
  'mining',
  'lost-events',
] as const;
export type BuiltinRuleId = (typeof builtinRuleIds)[number];

/** A custom rule: a saved flow filter, a window, a threshold and a group-by. */
export const customRuleSchema = z.strictObject({
  /** Rule id (kebab-case, not a built-in id). */
  name: z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,62}$/, 'expected kebab-case, 2 to 63 characters')
    .refine((n) => !(builtinRuleIds as readonly string[]).includes(n), 'is a built-in rule id'),
  /** Shown in the rules list and the webhook payload. */
  description: z.string().default(''),
  enabled: z.boolean().default(true),
  severity: severity.default('medium'),
  /** Sliding window length, seconds. Default 300. */
  windowSeconds: seconds(300),
  /** The flow filter, as /api/v1/flows query parameters: `{ "to-port": ["22"], verdict: "DROPPED" }`. */
  filter: z.record(z.string(), z.union([z.string(), z.array(z.string())])).default({}),
  /** Whose owner the incident belongs to: the flow's source (default) or destination. */
  groupBy: z.enum(customGroupBys).default('source'),
  /** Fires when `metric` in one window is >= `min`. */
  threshold: z
    .strictObject({
      metric: z.enum(customMetrics).default('events'),
      min: z.number().int().min(1).default(1),
    })
    .prefault({}),
  ...allowlist,
});

/** One webhook destination. */
export const webhookTargetSchema = z.strictObject({
  /** Name used in the delivery log (the URL is never logged: Slack URLs are secrets). */
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected a short lowercase name'),
  /** http(s) URL receiving POSTs. */
  url: z.url({ protocol: /^https?$/ }),
  /** `json` (the documented Flowtrail payload) or `slack` (incoming-webhook text + blocks). Default json. */
  format: z.enum(['json', 'slack']).default('json'),
  /** HMAC-SHA256 key for X-Flowtrail-Signature; prefer `secretEnv`. */
  secret: z.string().min(16).optional(),
  /** Environment variable holding the HMAC key. */
  secretEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/)
    .optional(),
  /** Rule ids this target receives; empty means every rule (a global target). */
  rules: z.array(z.string().min(1)).default([]),
  /** Lowest severity delivered. Default info (everything). */
  minSeverity: severity.default('info'),
});

/** Webhook delivery settings and targets. */
export const webhooksConfigSchema = z
  .strictObject({
    targets: z.array(webhookTargetSchema).default([]),
    /**
     * Hosts or CIDRs that may be delivered to although they resolve to loopback, private,
     * link-local or metadata addresses (refused otherwise: SSRF guard). Default none.
     */
    allowPrivateTargets: z.array(cidrOrHost).default([]),
    /** Per-attempt timeout, milliseconds. Default 5000. */
    timeoutMs: z.number().int().min(100).max(60_000).default(5000),
    /** Attempts per delivery, first included. Default 6. */
    maxAttempts: z.number().int().min(1).max(20).default(6),
    /** First retry delay, milliseconds (doubles each attempt, with jitter). Default 1000. */
    initialDelayMs: z.number().int().min(1).default(1000),
    /** Largest retry delay, milliseconds. Default 60000. */
    maxDelayMs: z.number().int().min(1).default(60_000),
    /** Deliveries waiting to be sent before new ones are dropped (and counted). Default 1000. */
    maxQueued: z.number().int().min(1).default(1000),
  })
  .prefault({});

/** The alerts configuration. */
export const alertsConfigSchema = z
  .strictObject({
    /** Whether the engine evaluates on a schedule. Default true. */
    enabled: z.boolean().default(true),
    /** Evaluation interval (the window step), seconds. Default 60. */
    intervalSeconds: seconds(60),
    /** How far behind now the newest window ends, for flows still in flight, seconds. Default 30. */
    lagSeconds: z.number().int().min(0).max(3600).default(30),
    /** An ongoing incident absorbs new findings of the same rule and owner within this gap, seconds. Default 900. */
    quietPeriodSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .default(900),
    /** After downtime, the engine catches up at most this many intervals. Default 60. */
    maxCatchUpIntervals: z.number().int().min(1).max(10_000).default(60),
    /** Sample flows kept per incident. Default 5. */
    maxSamples: z.number().int().min(0).max(50).default(5),
    /** Prefix of evidence and incident links in webhooks (e.g. https://flowtrail.example.com). Default relative. */
    publicUrl: z.string().default(''),
    rules: builtinRulesSchema,
    custom: z
      .array(customRuleSchema)
      .default([])
      .refine((rs) => new Set(rs.map((r) => r.name)).size === rs.length, 'custom rule names must be unique'),
    webhooks: webhooksConfigSchema,
  })
  .prefault({});

/** The validated alerts configuration. */
export type AlertsConfig = z.infer<typeof alertsConfigSchema>;
export type BuiltinRulesConfig = AlertsConfig['rules'];
export type CustomRuleConfig = z.infer<typeof customRuleSchema>;
export type WebhooksConfig = AlertsConfig['webhooks'];
export type WebhookTarget = z.infer<typeof webhookTargetSchema>;

/** The defaults, as the loader produces them from an empty `alerts:` section. */
export const defaultAlertsConfig: AlertsConfig = Object.freeze(alertsConfigSchema.parse({}));

/**
 * Reads the `alerts:` section of the file named by `FLOWTRAIL_CONFIG` for commands that need
 * only this slice (`flowtrail alerts`), so they work whether or not the composed loader in
 * common/config knows the section yet. Other sections are not validated here.
 */
export function loadAlertsConfig(env: Readonly<Record<string, string | undefined>>): AlertsConfig {
  const file = env['FLOWTRAIL_CONFIG'];
  let doc: unknown = {};
  if (file) {
    try {
      doc = parseYaml(readFileSync(file, 'utf8')) ?? {};
    } catch (err) {
      throw new ConfigError(`cannot read FLOWTRAIL_CONFIG ${file}: ${errorMessage(err)}`, { cause: err });
    }
  }
  const section =
    typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)['alerts'] : undefined;
  const r = alertsConfigSchema.safeParse(section ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  alerts.${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`${file ?? 'config'} is invalid:\n${lines.join('\n')}`);
  }
  return r.data;
}
