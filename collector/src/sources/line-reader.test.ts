import {
  appendFileSync,
  closeSync,
  mkdtempSync,
  openSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sleep } from '../../../common/retry.ts';
import {
  type LineReaderOptions,
  type LineReaderStats,
  LineSplitter,
  readLines,
  type SourceLine,
} from './line-reader.ts';

/** Polls until `cond` holds, failing after a generous 60 s: the reader runs on its own clock. */
async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(10);
  }
}

/**
 * A following reader whose every yielded line lands in `got`, with a way to wait until it has consumed
 * everything written so far, and a way to run an action inside its next read-came-back-empty window.
 */
function follow(file: string, format: (l: SourceLine) => string = (l) => l.text) {
  const abort = new AbortController();
  const got: string[] = [];
  let idle = 0;
  let inWindow: (() => void) | undefined;
  const opts: LineReaderOptions = {
    follow: true,
    pollMs: 5,
    signal: abort.signal,
    onCaughtUp: () => {
      idle++;
      const act = inWindow;
      inWindow = undefined;
      act?.();
    },
  };
  const reading = (async () => {
    for await (const l of readLines(file, opts)) got.push(format(l));
  })();
  return {
    got,
    /**
     * Resolves once the reader has read everything written before this call: two empty reads from now,
     * since the first may have started before the caller's last write.
     */
    async caughtUp(): Promise<void> {
      const from = idle;
      await until(() => idle >= from + 2);
    },
    /** Runs `act` synchronously between the reader's next empty read and its rotation check. */
    inNextWindow(act: () => void): void {
      inWindow = act;
    },
    async stop(): Promise<void> {
      abort.abort();
      await reading;
    },
  };
}

describe('collector > sources > line-reader', () => {
  it('reads complete lines with their numbers, without following', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'lines-')), 'a.json');
    writeFileSync(file, 'one\r\ntwo\n\nthree');
    const got: SourceLine[] = [];
    for await (const l of readLines(file)) got.push(l);
    expect(got).toEqual([
      { text: 'one', lineNo: 1 },
      { text: 'two', lineNo: 2 },
      { text: '', lineNo: 3 },
      { text: 'three', lineNo: 4 },
    ]);
  });

  it('keeps a multi-byte character split across reads', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'lines-')), 'u.json');
    writeFileSync(file, '');
    const reader = follow(file);
    const bytes = Buffer.from('naïve\n');
    appendFileSync(file, bytes.subarray(0, 3)); // ends inside "ï"
    await reader.caughtUp();
    expect(reader.got).toEqual([]);
    appendFileSync(file, bytes.subarray(3));
    await until(() => reader.got.length === 1);
    await reader.stop();
    expect(reader.got).toEqual(['naïve']);
  });

  it('follows a growing file across rotation, losing and repeating nothing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lines-'));
    const file = path.join(dir, 'events.log');
    writeFileSync(file, 'a1\na2\n');
    const reader = follow(file, (l) => `${l.text}@${l.lineNo}`);
    await until(() => reader.got.length === 2);
    appendFileSync(file, 'a3\na4'); // a4 is incomplete until its newline arrives
    await reader.caughtUp();
    expect(reader.got).toEqual(['a1@1', 'a2@2', 'a3@3']);
    appendFileSync(file, '\na5 é\n');
    renameSync(file, path.join(dir, 'events-1.log'));
    writeFileSync(file, 'b1\nb2\n');
    await until(() => reader.got.length === 7);
    await reader.caughtUp();
    await reader.stop();
    expect(reader.got).toEqual(['a1@1', 'a2@2', 'a3@3', 'a4@4', 'a5 é@5', 'b1@1', 'b2@2']);
  });

  it('keeps the lines written between an empty read and the rotation check', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lines-'));
    const file = path.join(dir, 'events.log');
    writeFileSync(file, 'a1\na2\na3\na4');
    const reader = follow(file, (l) => `${l.text}@${l.lineNo}`);
    await reader.caughtUp();
    expect(reader.got).toEqual(['a1@1', 'a2@2', 'a3@3']);
    // The race, by construction: the reader has just found nothing new; before it stats the path the
    // writer appends to the old generation, one line with a multi-byte character, and rotates.
    reader.inNextWindow(() => {
      appendFileSync(file, '\na5 é\na6');
      renameSync(file, path.join(dir, 'events-1.log'));
      writeFileSync(file, 'b1\nb2\n');
    });
    await until(() => reader.got.includes('b2@2'));
    await reader.caughtUp();
    await reader.stop();
    expect(reader.got).toEqual(['a1@1', 'a2@2', 'a3@3', 'a4@4', 'a5 é@5', 'a6@6', 'b1@1', 'b2@2']);
  });

  it('starts again at line 1 when the file is truncated in place', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'lines-')), 't.log');
    writeFileSync(file, 'x1\nx2\nx3\n');
    const reader = follow(file, (l) => `${l.text}@${l.lineNo}`);
    await until(() => reader.got.length === 3);
    writeFileSync(file, 'y1\n');
    await until(() => reader.got.length === 4);
    await reader.caughtUp();
    await reader.stop();
    expect(reader.got).toEqual(['x1@1', 'x2@2', 'x3@3', 'y1@1']);
  });

  it('skips a line far longer than the cap without holding it: at most cap + one read chunk', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'lines-')), 'huge.json');
    const cap = 1 << 20;
    // 64 MiB of one line between two short ones, written in pieces (the test never holds it either).
    const fd = openSync(file, 'w');
    writeSync(fd, 'first\n');
    const piece = Buffer.alloc(1 << 20, 'x');
    for (let i = 0; i < 64; i++) writeSync(fd, piece);
    writeSync(fd, '\nlast é\r\nunterminated ');
    writeSync(fd, piece.subarray(0, 10));
    closeSync(fd);
    for (const follow of [false, true]) {
      const stats: LineReaderStats = { maxHeldBytes: 0 };
      const abort = new AbortController();
      const got: SourceLine[] = [];
      for await (const l of readLines(file, {
        maxLineBytes: cap,
        stats,
        follow,
        pollMs: 5,
        signal: abort.signal,
      })) {
        got.push(l);
        if (follow && got.length === 3) abort.abort(); // a followed file's last line waits for its newline
      }
      expect(got.slice(0, 3), `follow ${follow}`).toEqual([
        { text: 'first', lineNo: 1 },
        { text: '', lineNo: 2, tooLong: 64 << 20 },
        { text: 'last é', lineNo: 3 },
      ]);
      if (!follow) expect(got[3]).toEqual({ text: `unterminated ${'x'.repeat(10)}`, lineNo: 4 });
      // The reader's own read buffer is one chunk (64 KiB for a file, 1 MiB when following);
      // what it holds of an unfinished line never passes the cap.
      expect(stats.maxHeldBytes, `follow ${follow}`).toBeLessThanOrEqual(cap);
      expect(stats.maxHeldBytes, `follow ${follow}`).toBeGreaterThan(0);
    }
  });

  it('cuts lines at the cap exactly, across chunk boundaries, and keeps multi-byte characters', () => {
    const stats: LineReaderStats = { maxHeldBytes: 0 };
    const s = new LineSplitter(8, stats);
    const bytes = Buffer.from('12345678\n123456789\nnaïve\n\nabc');
    const out = [];
    // One byte at a time: every boundary falls inside a line (and inside "ï").
    for (let i = 0; i < bytes.length; i++) out.push(...s.push(bytes.subarray(i, i + 1)));
    out.push(s.end());
    expect(out).toEqual([
      { text: '12345678' },
      { text: '', tooLong: 9 },
      { text: 'naïve' },
      { text: '' },
      { text: 'abc' },
    ]);
    expect(stats.maxHeldBytes).toBe(8);
    expect(s.end()).toBeUndefined();
  });
});
