/**
 * Loads the config file named by `FLOWTRAIL_CONFIG` (YAML or JSON, chosen by content since JSON
 * is YAML), validates it once against the composed schema, applies the few environment
 * overrides, and returns a frozen, fully defaulted object. No file means all defaults.
 * @module
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, errorMessage } from '../errors.ts';
import { type FlowtrailConfig, flowtrailConfigSchema } from './schema.ts';

/** Where the config came from, for the startup log. */
export interface LoadedConfig {
  config: FlowtrailConfig;
  /** The file read, or undefined when none was configured. */
  path: string | undefined;
}

/** Validates an already-parsed document (tests and `--check` use it directly). */
export function parseConfig(doc: unknown, source = 'config'): FlowtrailConfig {
  const r = flowtrailConfigSchema.safeParse(doc ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}`);
  }
  return deepFreeze(r.data);
}

/**
 * Loads the configuration: the file at `env.FLOWTRAIL_CONFIG` when set, then overrides:
 * `FLOWTRAIL_AUTH_MODE` (`open` or `tokens`).
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): LoadedConfig {
  const path = env['FLOWTRAIL_CONFIG'] || undefined;
  let doc: unknown = {};
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read FLOWTRAIL_CONFIG ${path}: ${errorMessage(err)}`, { cause: err });
    }
    try {
      doc = parseYaml(text) ?? {};
    } catch (err) {
      throw new ConfigError(`cannot parse ${path}: ${errorMessage(err)}`, { cause: err });
    }
  }
  const mode = env['FLOWTRAIL_AUTH_MODE'];
  if (mode) {
    const obj = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
    const auth = (typeof obj['auth'] === 'object' && obj['auth'] !== null ? obj['auth'] : {}) as Record<
      string,
      unknown
    >;
    doc = { ...obj, auth: { ...auth, mode } };
  }
  return { config: parseConfig(doc, path ?? 'FLOWTRAIL_AUTH_MODE'), path };
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}
