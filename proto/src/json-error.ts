/**
 * @module The one error type of the JSON codec.
 */

/**
 * Thrown when a Hubble JSON value cannot be read or a message cannot be written as JSON. `path` says where
 * (`flow.l4.TCP.source_port`, `flow.source.labels[2]`; empty for the whole value) and `reason` says why, so
 * that an importer can report "line 12: flow.time: …" and go on with the next line.
 */
export class HubbleJsonError extends Error {
  /** Dotted path of the offending field; empty for the value as a whole. */
  readonly path: string;
  /** What is wrong with it, without the path. */
  readonly reason: string;

  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super(path ? `${path}: ${reason}` : reason, options);
    this.name = 'HubbleJsonError';
    this.path = path;
    this.reason = reason;
  }
}

/** Describes a JSON value for an error message: its type and a short excerpt. */
export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  const excerpt = text.length > 40 ? `${text.slice(0, 37)}...` : text;
  return `${typeof value} ${excerpt}`;
}

/** Appends a field name to a path. */
export function joinPath(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}
