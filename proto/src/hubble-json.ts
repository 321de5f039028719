/**
 * @module Hubble JSON lines ↔ typed messages.
 *
 * One line of `hubble observe -o json|jsonpb` is an `observer.GetFlowsResponse`; one line of the Hubble
 * exporter's events.log is an `observer.ExportEvent`. Both are protojson with proto field names:
 *
 *   {"flow":{"time":"2021-11-10T10:41:26.095336300Z","verdict":"FORWARDED","IP":{…},"l4":{"TCP":{…}},…},
 *    "node_name":"kind-control-plane","time":"2021-11-10T10:41:26.095336300Z"}
 *
 * with `node_status`, `lost_events`, `agent_event` or `debug_event` in place of `flow`. ExportEvent is a
 * superset of GetFlowsResponse on the wire and in JSON (same numbers and names), so every line is read as
 * an ExportEvent. Rules (shared/reference/hubble-json.md): see json-read.ts and json-write.ts.
 */
import type { ExportEvent, GetFlowsResponse } from '../gen/observer/observer.js';
import { HubbleJsonError } from './json-error.js';
import { type JsonReadOptions, readContext, readMessage } from './json-read.js';
import { type JsonObject, type JsonWriteOptions, writeMessage } from './json-write.js';

/** Options of the Hubble JSON codec. */
export type HubbleJsonOptions = JsonReadOptions & JsonWriteOptions;

/** Which member of the `response_types` oneof a Hubble JSON line carries. */
export type HubbleEventKind = 'flow' | 'node_status' | 'lost_events' | 'agent_event' | 'debug_event';

const EXPORT_EVENT = 'observer.ExportEvent';
const KINDS: readonly HubbleEventKind[] = [
  'flow',
  'node_status',
  'lost_events',
  'agent_event',
  'debug_event',
];

/** Characters Go's encoding/json (SetEscapeHTML, the default) and protojson write as \u escapes. */
const GO_ESCAPED = /[<>&\u007f\u2028\u2029]/g;

/**
 * Parses one Hubble JSON line (a string, or a value already parsed with JSON.parse) into an ExportEvent.
 * Unknown keys and enum names are skipped unless `ignoreUnknownFields: false`. Throws HubbleJsonError
 * naming the field and the reason (`flow.time: not an RFC 3339 timestamp …`).
 */
export function parseHubbleJson(input: unknown, options?: JsonReadOptions): ExportEvent {
  let json = input;
  if (typeof input === 'string') {
    try {
      json = JSON.parse(input);
    } catch (error) {
      throw new HubbleJsonError('', `invalid JSON: ${(error as Error).message}`, { cause: error });
    }
  }
  return readMessage(EXPORT_EVENT, json, '', readContext(options)) as unknown as ExportEvent;
}

/** The kind of event a parsed line carries, or undefined when it carries none (e.g. a bare legacy Flow). */
export function hubbleEventKind(event: ExportEvent | GetFlowsResponse): HubbleEventKind | undefined {
  const record = event as Partial<Record<HubbleEventKind, unknown>>;
  return KINDS.find((kind) => record[kind] !== undefined);
}

/** Serialises an ExportEvent or GetFlowsResponse as the JSON object Hubble writes (keys in Hubble's order). */
export function toHubbleJson(
  event: ExportEvent | GetFlowsResponse,
  options: JsonWriteOptions = {},
): JsonObject {
  return writeMessage(EXPORT_EVENT, event, '', options);
}

/**
 * Serialises an ExportEvent or GetFlowsResponse as the exact text of a Hubble JSON line (Go escapes
 * `<`, `>`, `&`, U+007F, U+2028 and U+2029), without the trailing newline.
 */
export function toHubbleJsonLine(
  event: ExportEvent | GetFlowsResponse,
  options: JsonWriteOptions = {},
): string {
  return JSON.stringify(toHubbleJson(event, options)).replace(
    GO_ESCAPED,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Reads any message of the schema from protojson, by full type name (`flow.Flow`, `flow.FlowFilter`,
 * `observer.GetFlowsRequest`): e.g. the CLI's `--allowlist '{"verdict":["DROPPED"]}'`. The caller names
 * the matching generated type as `T`.
 */
export function messageFromJson<T>(typeName: string, json: unknown, options?: JsonReadOptions): T {
  return readMessage(typeName, json, '', readContext(options)) as unknown as T;
}

/** Writes any message of the schema as protojson with proto names, by full type name. */
export function messageToJson(
  typeName: string,
  message: unknown,
  options: JsonWriteOptions = {},
): JsonObject {
  return writeMessage(typeName, message, '', options);
}
