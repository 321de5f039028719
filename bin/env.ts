/**
 * The process environment, read once for every command: the one place besides main that touches
 * `process.env`. Commands take typed values from here and pass them down (common/config/env.ts
 * documents every variable).
 * @module
 */
import { loadServiceConfig, type ServiceConfig } from '../common/config/env.ts';

let loaded: ServiceConfig | undefined;

/** The parsed environment and config file of this process (parsed on first use, then cached). */
export function serviceConfig(): ServiceConfig {
  loaded ??= loadServiceConfig(process.env);
  return loaded;
}
