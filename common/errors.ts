/**
 * The one error hierarchy of Flowtrail. Every error says whether retrying can help, so retry
 * logic (common/retry.ts) decides from `retriable` alone and never from message text.
 * @module
 */

/** Base of every error Flowtrail raises on purpose. */
export class FlowtrailError extends Error {
  readonly retriable: boolean;

  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** Bad configuration: fatal at startup, never retried. */
export class ConfigError extends FlowtrailError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retriable: false, cause: options.cause });
  }
}

/** Bad user input (a request parameter, a CLI argument): reported, never retried. */
export class InputError extends FlowtrailError {
  /** Which parameter or argument was wrong. */
  readonly param: string | undefined;

  constructor(message: string, param?: string) {
    super(message, { retriable: false });
    this.param = param;
  }
}

/** A flow source (Hubble gRPC, a file) failed; usually retriable after a reconnect. */
export class SourceError extends FlowtrailError {
  readonly source: string;

  constructor(source: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(`${source}: ${message}`, { retriable: options.retriable ?? true, cause: options.cause });
    this.source = source;
  }
}

/** Writing to a sink (ClickHouse, Kafka) failed. */
export class SinkError extends FlowtrailError {
  readonly sink: string;
  readonly table: string | undefined;

  constructor(
    sink: string,
    message: string,
    options: { retriable?: boolean; cause?: unknown; table?: string } = {},
  ) {
    super(`${sink}${options.table ? ` (${options.table})` : ''}: ${message}`, {
      retriable: options.retriable ?? true,
      cause: options.cause,
    });
    this.sink = sink;
    this.table = options.table;
  }
}

/** A query or resource limit was hit (time, memory, rows, range): the caller must narrow the request. */
export class LimitError extends FlowtrailError {
  readonly limit: string;

  /** `message` is shown to the caller; `cause` (e.g. the engine's own text) only to the log. */
  constructor(limit: string, message: string, cause?: unknown) {
    super(message, { retriable: false, cause });
    this.limit = limit;
  }
}

/** The caller is not allowed to do this. */
export class AccessError extends FlowtrailError {
  readonly status: 401 | 403;

  constructor(status: 401 | 403, message: string) {
    super(message, { retriable: false });
    this.status = status;
  }
}

/** Returns the message of anything thrown, for logs and reports. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
