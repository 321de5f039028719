/**
 * @module Configuration of the traffic generator and the JSON-lines replay, validated once.
 */
import { ConfigError } from '../../../common/errors.ts';
import { ABUSE_PATTERNS, type AbusePattern } from './abuse.ts';

/** Hubble's default ring size (flows a node keeps). */
export const HUBBLE_RING_SIZE = 4095;

/** What a reader that falls a full ring behind costs: lost events (Hubble) or a paused generator. */
export type OverflowPolicy = 'lose' | 'wait';

/** Options of `createGenerator`; every field is optional (see `defaultGeneratorConfig`). */
export interface GeneratorConfig {
  /** Flows per second when started; 0 = as fast as possible (pair with overflow 'wait'). @default 1000 */
  rate?: number;
  /** Seed for reproducible traffic (and uuids); absent = random. */
  seed?: number;
  /** Ring capacity: how many recent events are kept for GetFlows. @default 4095 */
  maxFlows?: number;
  /** Cilium cluster name; node_name becomes `<cluster>/<node>` unless it is `default`. @default 'default' */
  clusterName?: string;
  /** Abuse patterns emitted in turn, one burst every `abuseIntervalMs` (or every `abuseEveryFlows`). @default [] */
  abuse?: readonly AbusePattern[];
  /** Milliseconds between abuse bursts while started. @default 5000 */
  abuseIntervalMs?: number;
  /** When set, one abuse burst every this many flows (deterministic, independent of time). */
  abuseEveryFlows?: number;
  /** Emit a LostEvent every this many flows (0 = never), to exercise lost-event accounting. @default 0 */
  lostEvery?: number;
  /** What happens when a following reader is a full ring behind. @default 'lose' (like Hubble) */
  overflow?: OverflowPolicy;
  /** Pre-encode each flow's GetFlowsResponse bytes at generation time. @default true */
  encode?: boolean;
  /** Pacing tick in milliseconds. @default 10 */
  tickMs?: number;
}

/** The fully defaulted generator configuration. */
export type ResolvedGeneratorConfig = Required<Omit<GeneratorConfig, 'seed' | 'abuseEveryFlows'>> &
  Pick<GeneratorConfig, 'seed' | 'abuseEveryFlows'>;

/** Defaults: Hubble's ring, 1000 flows/s, no abuse, no lost events. */
export const defaultGeneratorConfig: ResolvedGeneratorConfig = Object.freeze({
  rate: 1000,
  maxFlows: HUBBLE_RING_SIZE,
  clusterName: 'default',
  abuse: [],
  abuseIntervalMs: 5000,
  lostEvery: 0,
  overflow: 'lose',
  encode: true,
  tickMs: 10,
});

/** Applies defaults and rejects bad values with a ConfigError naming the field. */
export function resolveGeneratorConfig(config: GeneratorConfig = {}): ResolvedGeneratorConfig {
  const c: ResolvedGeneratorConfig = { ...defaultGeneratorConfig, ...stripUndefined(config) };
  const nonNegative = (name: keyof ResolvedGeneratorConfig, v: number | undefined) => {
    if (v !== undefined && (!Number.isFinite(v) || v < 0))
      throw new ConfigError(`generator.${name} must be a number ≥ 0, got ${v}`);
  };
  nonNegative('rate', c.rate);
  nonNegative('lostEvery', c.lostEvery);
  nonNegative('abuseIntervalMs', c.abuseIntervalMs);
  if (!Number.isInteger(c.maxFlows) || c.maxFlows < 1)
    throw new ConfigError(`generator.maxFlows must be an integer ≥ 1, got ${c.maxFlows}`);
  if (c.tickMs < 1) throw new ConfigError(`generator.tickMs must be ≥ 1, got ${c.tickMs}`);
  if (c.overflow !== 'lose' && c.overflow !== 'wait')
    throw new ConfigError(`generator.overflow must be 'lose' or 'wait', got ${c.overflow}`);
  for (const p of c.abuse) {
    if (!(ABUSE_PATTERNS as readonly string[]).includes(p)) {
      throw new ConfigError(`generator.abuse: unknown pattern "${p}" (known: ${ABUSE_PATTERNS.join(', ')})`);
    }
  }
  if (c.abuseEveryFlows !== undefined && (!Number.isInteger(c.abuseEveryFlows) || c.abuseEveryFlows < 1)) {
    throw new ConfigError(`generator.abuseEveryFlows must be an integer ≥ 1, got ${c.abuseEveryFlows}`);
  }
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
