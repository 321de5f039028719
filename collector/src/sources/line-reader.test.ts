import { appendFileSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sleep } from '../../../common/retry.ts';
import { readLines, type SourceLine } from './line-reader.ts';

/** Polls until `cond` holds (or fails after 10 s): the reader polls the file on its own clock. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await sleep(20);
  if (!cond()) throw new Error('timed out');
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
    const abort = new AbortController();
    const got: string[] = [];
    const reading = (async () => {
      for await (const l of readLines(file, { follow: true, pollMs: 10, signal: abort.signal }))
        got.push(l.text);
    })();
    const bytes = Buffer.from('naïve\n');
    appendFileSync(file, bytes.subarray(0, 3)); // ends inside "ï"
    await sleep(60);
    appendFileSync(file, bytes.subarray(3));
    await until(() => got.length === 1);
    abort.abort();
    await reading;
    expect(got).toEqual(['naïve']);
  });

  it('follows a growing file across rotation, losing and repeating nothing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lines-'));
    const file = path.join(dir, 'events.log');
    writeFileSync(file, 'a1\na2\n');
    const abort = new AbortController();
    const got: string[] = [];
    const reading = (async () => {
      for await (const l of readLines(file, { follow: true, pollMs: 20, signal: abort.signal })) {
        got.push(`${l.text}@${l.lineNo}`);
      }
    })();
    await until(() => got.length === 2);
    appendFileSync(file, 'a3\na4'); // a4 is incomplete until its newline arrives
    await until(() => got.length === 3);
    await sleep(100);
    expect(got).toEqual(['a1@1', 'a2@2', 'a3@3']);
    // Lines written just before the rotation, one of them with a multi-byte character, and the
    // rename happening before the reader polls again.
    appendFileSync(file, '\na5 é\na6');
    renameSync(file, path.join(dir, 'events-1.log'));
    writeFileSync(file, 'b1\nb2\n');
    await until(() => got.length === 8);
    abort.abort();
    await reading;
    expect(got).toEqual(['a1@1', 'a2@2', 'a3@3', 'a4@4', 'a5 é@5', 'a6@6', 'b1@1', 'b2@2']);
  });
});
