/**
 * @module The Hubble-compatible traffic generator's public surface: synthetic traffic (`createGenerator`),
 * JSON-lines replay (`createReplay`) and the Observer gRPC server over either (`startObserverServer`).
 */
export { ABUSE_PATTERNS, type AbusePattern, ADDRESS_SCAN_HOSTS, PORT_SCAN_PORTS } from './abuse.ts';
export {
  defaultGeneratorConfig,
  type GeneratorConfig,
  HUBBLE_RING_SIZE,
  type OverflowPolicy,
  type ResolvedGeneratorConfig,
} from './config.ts';
export { createGenerator, type Generator, type GeneratorDeps } from './generator.ts';
export {
  createObserverServer,
  OBSERVER_HEALTH_SERVICE,
  type ObserverServer,
  type ObserverServerOptions,
  type ObserverServerStats,
  startObserverServer,
} from './observer-server.ts';
export {
  createStaticPopulation,
  netreapLabels,
  type Population,
  type StaticPopulationOptions,
  type WorkloadEndpoint,
} from './population.ts';
export { createReplay, type Replay, type ReplayConfig, type ReplayProblem } from './replay.ts';
export { FlowRing, type RingEvent } from './ring.ts';
export type { FlowSupply } from './supply.ts';
