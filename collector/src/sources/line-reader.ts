/**
 * Reads a file (or stdin) line by line with line numbers, optionally following it as it grows
 * and across rotation (the exporter's lumberjack renames events.log and starts a new one).
 * @module
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { StringDecoder } from 'node:string_decoder';
import { sleep } from '../../../common/retry.ts';

/** One line and where it came from. */
export interface SourceLine {
  text: string;
  /** 1-based line number in the current file generation. */
  lineNo: number;
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
}

/** Yields the lines of `path` ('-' for stdin). */
export async function* readLines(path: string, opts: LineReaderOptions = {}): AsyncGenerator<SourceLine> {
  if (path === '-') {
    let lineNo = 0;
    for await (const text of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
      yield { text, lineNo: ++lineNo };
    }
    return;
  }
  if (!opts.follow) {
    let lineNo = 0;
    const input = createReadStream(path);
    for await (const text of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
      yield { text, lineNo: ++lineNo };
    }
    return;
  }
  yield* followLines(path, opts);
}

/** Tails a file: reads complete lines as they are appended, restarts at line 1 after rotation. */
async function* followLines(path: string, opts: LineReaderOptions): AsyncGenerator<SourceLine> {
  const pollMs = opts.pollMs ?? 250;
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  let ino = -1;
  let offset = 0;
  let lineNo = 0;
  let carry = '';
  // A multi-byte character may straddle two reads: the decoder keeps its first bytes.
  let decoder = new StringDecoder('utf8');
  const chunk = Buffer.allocUnsafe(1 << 20);
  /** Splits decoded text into complete lines, keeping the unfinished tail in `carry`. */
  const split = (text: string): string[] => {
    const lines = (carry + text).split('\n');
    carry = lines.pop() ?? '';
    return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  };
  try {
    while (!opts.signal?.aborted) {
      if (!handle) {
        try {
          handle = await open(path, 'r');
          ino = (await handle.stat()).ino;
          offset = 0;
          lineNo = 0;
          carry = '';
          decoder = new StringDecoder('utf8');
        } catch {
          await sleep(pollMs, opts.signal).catch(() => {});
          continue;
        }
      }
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset);
      if (bytesRead > 0) {
        offset += bytesRead;
        for (const text of split(decoder.write(chunk.subarray(0, bytesRead))))
          yield { text, lineNo: ++lineNo };
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
            for (const text of split(decoder.write(chunk.subarray(0, more))))
              yield { text, lineNo: ++lineNo };
          }
        }
        // What is left is the old generation's last, unterminated line, if any.
        const rest = carry + decoder.end();
        if (rest) yield { text: rest.endsWith('\r') ? rest.slice(0, -1) : rest, lineNo: ++lineNo };
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
