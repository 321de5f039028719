/**
 * Output formats of flow-returning endpoints: content negotiation (`format=` wins over Accept),
 * CSV quoting, and writing a stream of lines with back-pressure so a slow client slows the
 * query instead of growing memory.
 * @module
 */
import type { Request, Response } from 'express';
import type { FlowFormat } from '../filters/index.ts';

/** Picks the format from an explicit `format=` or the Accept header; JSON by default. */
export function negotiateFormat(req: Request, explicit: string | undefined): FlowFormat {
  if (explicit === 'json' || explicit === 'ndjson' || explicit === 'csv') return explicit;
  const chosen = req.accepts(['application/json', 'application/x-ndjson', 'application/ndjson', 'text/csv']);
  if (chosen === 'text/csv') return 'csv';
  if (chosen === 'application/x-ndjson' || chosen === 'application/ndjson') return 'ndjson';
  return 'json';
}

/** Content types of the formats. */
export const contentTypes: Readonly<Record<FlowFormat, string>> = {
  json: 'application/json; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

/** A plain number (what a spreadsheet reads as a number, never a formula). */
const plainNumber = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * Quotes one CSV field (RFC 4180). A value a spreadsheet would run as a formula (leading =, +,
 * -, @, tab or CR) is prefixed with ' (OWASP CSV injection), unless it is a plain number:
 * `-1+1+cmd|' /C calc'!A0` starts with a digit after the minus and is still a formula.
 */
export function csvField(v: unknown): string {
  let s = v === null || v === undefined ? '' : typeof v === 'string' ? v : String(v);
  if (/^[=+\-@\t\r]/.test(s) && !plainNumber.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV record with CRLF. */
export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/** Writes a chunk, waiting for 'drain' when the socket buffer is full. */
export async function writeChunk(res: Response, chunk: string, signal: AbortSignal): Promise<void> {
  if (res.write(chunk)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.on('drain', done);
    signal.addEventListener('abort', done);
  });
}
