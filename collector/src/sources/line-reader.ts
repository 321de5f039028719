/**
 * Reads a file (or stdin) line by line with line numbers, optionally following it as it grows
 * and across rotation (the exporter's lumberjack renames events.log and starts a new one).
 * A line longer than `maxLineBytes` is never held whole: once it passes the cap its bytes are
 * counted and dropped up to the next newline, and it is reported with its size only, so a 50 MB
 * line costs the cap, not 50 MB (one splitter for every mode: stdin, a file, a followed file).
 * @module
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { sleep } from '../../../common/retry.ts';

/** One line and where it came from. */
export interface SourceLine {
  /** The line without its newline (and trailing CR); empty when `tooLong` is set. */
  text: string;
  /** 1-based line number in the current file generation. */
  lineNo: number;
  /** Set for a line longer than `maxLineBytes`: its size in bytes. Its text was not kept. */
  tooLong?: number;
}

/** What a reader held, for tests and diagnostics. */
export interface LineReaderStats {
  /** The most bytes of unfinished lines the reader held at once (besides its read buffer). */
  maxHeldBytes: number;
}

export interface LineReaderOptions {
  /** Keep reading as the file grows, and reopen it when rotated. */
  follow?: boolean;
  /** How often to look for growth or rotation when following, in ms. Default 250. */
  pollMs?: number;
  /** Stops following. */
  signal?: AbortSignal;
  /**
   * Called when following and a read found no new bytes, before the reader looks for rotation. Tests use
   * it to know the reader has consumed everything written so far, and to put a write and a rename in
   * exactly that window.
   */
  onCaughtUp?: () => void | Promise<void>;
  /** Longer lines (bytes, newline excluded) are skipped and reported with `tooLong`. Default: no cap. */
  maxLineBytes?: number;
  /** Updated as the reader goes (maxHeldBytes). */
  stats?: LineReaderStats;
}

/** A line cut from the bytes: its text, or only its size when it passed the cap. */
type Piece = { text: string; tooLong?: undefined } | { text: ''; tooLong: number };

/**
 * Cuts byte chunks into lines at '\n'. Bytes are decoded per complete line, so a multi-byte
 * character split across chunks stays whole. Holds at most `maxLineBytes` of an unfinished line;
 * the caller's chunk is never kept (it may be a reused buffer).
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private held = 0;
  private lineBytes = 0;
  private skipping = false;
  private readonly maxLineBytes: number;
  private readonly stats: LineReaderStats | undefined;

  constructor(maxLineBytes = Number.POSITIVE_INFINITY, stats?: LineReaderStats) {
    this.maxLineBytes = maxLineBytes;
    this.stats = stats;
  }

  /** Adds a chunk; returns the lines it completes. */
  push(chunk: Uint8Array): Piece[] {
    const out: Piece[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      const end = nl < 0 ? chunk.length : nl;
      this.lineBytes += end - start;
      if (!this.skipping && this.lineBytes > this.maxLineBytes) {
        // Past the cap: let go of what is held and only count up to the newline.
        this.skipping = true;
        this.parts = [];
        this.held = 0;
      }
      if (nl < 0) {
        if (!this.skipping && end > start) {
          this.parts.push(Buffer.from(chunk.subarray(start, end)));
          this.held += end - start;
          if (this.stats && this.held > this.stats.maxHeldBytes) this.stats.maxHeldBytes = this.held;
        }
        return out;
      }
      out.push(this.take(chunk.subarray(start, end)));
      start = nl + 1;
    }
  }

  /** The last, unterminated line (if any) once the input has ended. */
  end(): Piece | undefined {
    if (this.lineBytes === 0) return undefined;
    return this.take(new Uint8Array(0));
  }

  private take(tail: Uint8Array): Piece {
    let piece: Piece;
    if (this.skipping) piece = { text: '', tooLong: this.lineBytes };
    else {
      const bytes = this.parts.length === 0 ? Buffer.from(tail) : Buffer.concat([...this.parts, tail]);
      const n = bytes.length > 0 && bytes[bytes.length - 1] === 13 ? bytes.length - 1 : bytes.length;
      piece = { text: bytes.toString('utf8', 0, n) };
    }
    this.parts = [];
    this.held = 0;
    this.lineBytes = 0;
    this.skipping = false;
    return piece;
  }
}

/** Yields the lines of `path` ('-' for stdin). */
export async function* readLines(path: string, opts: LineReaderOptions = {}): AsyncGenerator<SourceLine> {
  if (path !== '-' && opts.follow) {
    yield* followLines(path, opts);
    return;
  }
  const input: AsyncIterable<Buffer> = path === '-' ? process.stdin : createReadStream(path);
  const splitter = new LineSplitter(opts.maxLineBytes, opts.stats);
  let lineNo = 0;
  for await (const chunk of input) for (const p of splitter.push(chunk)) yield { ...p, lineNo: ++lineNo };
  const last = splitter.end();
  if (last) yield { ...last, lineNo: ++lineNo };
}

/** Tails a file: reads complete lines as they are appended, restarts at line 1 after rotation. */
async function* followLines(path: string, opts: LineReaderOptions): AsyncGenerator<SourceLine> {
  const pollMs = opts.pollMs ?? 250;
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  let ino = -1;
  let offset = 0;
  let lineNo = 0;
  let splitter = new LineSplitter(opts.maxLineBytes, opts.stats);
  const chunk = Buffer.allocUnsafe(1 << 20);
  try {
    while (!opts.signal?.aborted) {
      if (!handle) {
        try {
          handle = await open(path, 'r');
          ino = (await handle.stat()).ino;
          offset = 0;
          lineNo = 0;
          splitter = new LineSplitter(opts.maxLineBytes, opts.stats);
        } catch {
          await sleep(pollMs, opts.signal).catch(() => {});
          continue;
        }
      }
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset);
      if (bytesRead > 0) {
        offset += bytesRead;
        for (const p of splitter.push(chunk.subarray(0, bytesRead))) yield { ...p, lineNo: ++lineNo };
        continue;
      }
      await opts.onCaughtUp?.();
      // No new bytes: has the file been rotated (new inode) or truncated?
      const current = await stat(path).catch(() => undefined);
      if (current && (current.ino !== ino || current.size < offset)) {
        if (current.ino !== ino) {
          // Rotated. The writer may have appended to the old generation after the read above came back
          // empty and before it renamed the file: read the old handle to its end before switching.
          for (;;) {
            const { bytesRead: more } = await handle.read(chunk, 0, chunk.length, offset);
            if (more === 0) break;
            offset += more;
            for (const p of splitter.push(chunk.subarray(0, more))) yield { ...p, lineNo: ++lineNo };
          }
        }
        // What is left is the old generation's last, unterminated line, if any.
        const rest = splitter.end();
        if (rest) yield { ...rest, lineNo: ++lineNo };
        await handle.close();
        handle = undefined;
        continue;
      }
      await sleep(pollMs, opts.signal).catch(() => {});
    }
  } finally {
    await handle?.close();
  }
}
