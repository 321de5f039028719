/**
 * Turns what ClickHouse (chdb or a server) throws into a typed ClickHouseError with its code,
 * and classifies codes in one table: which are retriable, which are limits the user hit.
 * @module
 */
import { FlowtrailError, LimitError } from '../errors.ts';

/** A ClickHouse error with the server's numeric code and symbolic type when known. */
export class ClickHouseError extends FlowtrailError {
  readonly code: number | undefined;
  readonly type: string | undefined;

  constructor(
    message: string,
    code: number | undefined,
    type: string | undefined,
    retriable: boolean,
    cause?: unknown,
  ) {
    super(message, { retriable, cause });
    this.code = code;
    this.type = type;
  }
}

/** Codes that describe a limit the caller hit (the request must be narrowed, not retried). */
const limitCodes: Record<number, string> = {
  158: 'max_rows_to_read',
  159: 'max_execution_time',
  160: 'max_execution_speed',
  241: 'max_memory_usage',
  396: 'max_result_rows',
  307: 'max_bytes_to_read',
  394: 'query_cancelled',
};

/** Codes worth retrying: the server was busy or briefly unreachable. */
const retriableCodes = new Set([
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  203, // NO_FREE_CONNECTION
  209, // SOCKET_TIMEOUT
  210, // NETWORK_ERROR
  242, // TABLE_IS_READ_ONLY
  252, // TOO_MANY_PARTS
  319, // UNKNOWN_STATUS_OF_INSERT
  425, // SYSTEM_ERROR
  999, // KEEPER_EXCEPTION
]);

/** Parses a thrown value into a ClickHouseError (or a LimitError for limit codes). */
export function parseClickHouseError(err: unknown, sql?: string): FlowtrailError {
  if (err instanceof FlowtrailError) return err;
  const anyErr = err as { message?: string; code?: unknown; clickhouseCode?: unknown; type?: unknown };
  const message = anyErr?.message ?? String(err);
  let code =
    typeof anyErr?.clickhouseCode === 'number'
      ? anyErr.clickhouseCode
      : typeof anyErr?.code === 'string' && /^\d+$/.test(anyErr.code)
        ? Number(anyErr.code)
        : undefined;
  // Server and engine texts look like "Code: 159. DB::Exception: … (TIMEOUT_EXCEEDED)".
  const m = /Code:\s*(\d+)\.[^(]*?(?:\(([A-Z_]+)\))?/s.exec(message);
  if (code === undefined && m?.[1]) code = Number(m[1]);
  const type =
    typeof anyErr?.type === 'string'
      ? anyErr.type
      : (/\(([A-Z_]+)\)\s*(?:\(version|$)/m.exec(message)?.[1] ?? undefined);
  if (code !== undefined && limitCodes[code]) {
    // The engine's text (codes, settings, SQL) stays in the cause, for the log only.
    return new LimitError(
      limitCodes[code]!,
      `query limit reached (${limitCodes[code]}): narrow the time range or the filters`,
      new ClickHouseError(`clickhouse: ${firstLine(message)}`, code, type, false, err),
    );
  }
  const networkish = /ECONNREFUSED|ECONNRESET|socket hang up|ETIMEDOUT/.test(message);
  const retriable = networkish || (code !== undefined && retriableCodes.has(code));
  const where = sql ? ` [${sql.slice(0, 120).replace(/\s+/g, ' ')}]` : '';
  return new ClickHouseError(`clickhouse: ${firstLine(message)}${where}`, code, type, retriable, err);
}

function firstLine(s: string): string {
  const line = s.split('\n')[0] ?? s;
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}
