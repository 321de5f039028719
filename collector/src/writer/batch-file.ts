/**
 * A batch's rows on disk as they are encoded, so that its memory does not grow with its rows.
 *
 * The embedded sink encodes into one chunk-sized buffer; each time it is full (`ChunkPool.spill`) the
 * chunk is appended to the open batch's file by an asynchronous write (libuv's pool, off the main
 * thread) and its buffer goes back to the pool once written. A sealed batch is then a file that chdb
 * inserts from (it read every batch from a scratch file already: chdb-store.ts), and what the sink
 * holds is a few chunks whatever the batch's rows, where a batch used to be one buffer of up to 31 MiB
 * growing by doubling, with up to three of them alive at full rate (the open batch, two sealed). A
 * retried insert reads the same file again: the same bytes, the same token.
 *
 * On Linux the file is unlinked as soon as it is created and inserted through `/proc/self/fd/N`: the
 * kernel frees it when its descriptor is closed, or when the process dies, so a killed collector leaves
 * no batch files behind.
 * @module
 */
import { close, existsSync, mkdtempSync, openSync, rmSync, unlinkSync, write } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RowBinaryWriter } from '../../../common/clickhouse/row-binary.ts';
import type { RowBinaryFile } from '../../../common/clickhouse/store.ts';
import { ownAllocation } from './batch-buffers.ts';

const viaProc = existsSync('/proc/self/fd');

/**
 * One batch's file: appended to chunk by chunk, then inserted from (and re-read by a retry). A file
 * that cannot be created (no room, no temporary directory) keeps its chunks in memory and is created
 * by `ready`, so the insert fails and is retried like any other, and nothing pushed is lost.
 */
export class BatchFile {
  private fd = -1;
  private name = '';
  private data: RowBinaryFile | undefined;
  private openError: unknown;
  private readonly dir: () => string;
  private readonly seq: number;
  /** Bytes appended (written or being written). */
  bytes = 0;
  private writing = 0;
  /** Called once no write is in flight. */
  private idle: (() => void)[] = [];
  /** Chunks whose write failed (a full disk): kept, and written again by `ready`. */
  private readonly failed: { chunk: Buffer; at: number; error: unknown }[] = [];
  /** The bytes of `failed` (kept rather than summed: the sink reads it per flow). */
  private held = 0;
  private closed = false;
  private unlinked = false;

  /** `dir` gives the directory to create it in (and may throw: then so does `ready`). */
  constructor(dir: () => string, seq: number) {
    this.dir = dir;
    this.seq = seq;
    this.open();
  }

  /** Creates the file if it is not there yet; false (and `openError`) when it cannot. */
  private open(): boolean {
    if (this.data) return true;
    try {
      this.name = path.join(this.dir(), `${this.seq}.bin`);
      this.fd = openSync(this.name, 'w+');
    } catch (err) {
      this.openError = err;
      return false;
    }
    if (viaProc) {
      try {
        unlinkSync(this.name);
        this.unlinked = true;
      } catch {
        // Still readable by its name, and removed by name at close.
      }
    }
    this.data = { path: this.unlinked ? `/proc/self/fd/${this.fd}` : this.name };
    return true;
  }

  /** Appends `chunk` (written asynchronously); `done` gets it back once it is on file. */
  append(chunk: Buffer, done: (chunk: Buffer) => void): void {
    const at = this.bytes;
    this.bytes += chunk.length;
    if (!this.data) {
      this.hold(chunk, at, this.openError);
      return;
    }
    this.writing++;
    write(this.fd, chunk, 0, chunk.length, at, (err, n) => {
      if (err || n !== chunk.length) this.hold(chunk, at, err ?? new Error('short write'));
      else done(chunk);
      if (--this.writing === 0) for (const f of this.idle.splice(0)) f();
    });
  }

  /**
   * The file once every append is on it, for the insert. Chunks whose write failed (rare: a full disk)
   * are written again, one at a time; a failure still there rejects, and the insert's retry comes
   * back here.
   */
  async ready(): Promise<RowBinaryFile> {
    if (this.writing > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    if (!this.open()) throw this.openError;
    while (this.failed.length > 0) {
      const f = this.failed[0]!;
      await new Promise<void>((resolve, reject) => {
        write(this.fd, f.chunk, 0, f.chunk.length, f.at, (err, n) => {
          if (err || n !== f.chunk.length) reject(err ?? f.error);
          else resolve();
        });
      });
      this.failed.shift();
      this.held -= f.chunk.length;
    }
    return this.data!;
  }

  /**
   * The bytes held in memory for want of a file (writes failing: a full disk). The sink seals a
   * batch early on them, so that a failing disk, not a batch's size, bounds its memory.
   */
  get heldBytes(): number {
    return this.held;
  }

  private hold(chunk: Buffer, at: number, error: unknown): void {
    this.failed.push({ chunk, at, error });
    this.held += chunk.length;
  }

  /** Releases the file (inserted, or given up). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const release = () => {
      if (this.fd < 0) return;
      close(this.fd, () => {});
      if (!this.unlinked) rmSync(this.name, { force: true });
    };
    // Writes still in flight: close once they end (a descriptor closed under a write could be reused).
    if (this.writing > 0) this.idle.push(release);
    else release();
  }
}

/**
 * Chunk buffers for a writer that spills: the writer fills one, `spill` hands its bytes to a batch
 * file and gives the writer a free one. A chunk is free again once its write ends, so the pool holds
 * the chunks being written plus `keep` spare.
 */
export class ChunkPool {
  private readonly free: Buffer[] = [];
  /** The size of a chunk's buffer: a row that does not fit grows the writer's (and that buffer stays). */
  private readonly alloc: number;
  private readonly keep: number;
  private readonly release = (chunk: Buffer) => {
    const whole = ownAllocation(chunk);
    if (whole && this.free.length < this.keep && whole.length >= this.chunkBytes) this.free.push(whole);
  };

  readonly chunkBytes: number;

  /** Spill at `chunkBytes`; a buffer has a little more, so most rows that start a chunk fit. */
  constructor(chunkBytes: number, keep = 4) {
    this.chunkBytes = chunkBytes;
    this.alloc = chunkBytes + (chunkBytes >> 4);
    this.keep = keep;
  }

  /** Buffers allocated so far (the memory bound: the chunks being written, `keep` spare, the writer's). */
  allocated = 0;

  /** A buffer for a writer to start in. */
  take(): Buffer {
    const free = this.free.pop();
    if (free) return free;
    this.allocated++;
    return Buffer.allocUnsafe(this.alloc);
  }

  /** Appends what `w` holds to `file`; `w` goes on in a free buffer. */
  spill(w: RowBinaryWriter, file: BatchFile): void {
    if (w.length === 0) return;
    file.append(w.detach(this.take()), this.release);
  }
}

/**
 * A directory of this process's batch files. With `/proc/self/fd` the files are unlinked at once,
 * so the directory stays empty and is only where they are created.
 */
export class BatchFiles {
  private dir: string | undefined;
  private seq = 0;
  private readonly parent: string;

  constructor(parent = tmpdir()) {
    this.parent = parent;
  }

  /**
   * A new batch file (created on disk when it can be: see BatchFile). The directory is made again
   * when it is gone: it looks empty (its files are unlinked), so a temporary-file cleaner or a
   * person may remove it under a running collector.
   */
  open(): BatchFile {
    return new BatchFile(
      () => {
        if (!this.dir || !existsSync(this.dir))
          this.dir = mkdtempSync(path.join(this.parent, 'flowtrail-batches-'));
        return this.dir;
      },
      this.seq++,
    );
  }

  /** Removes the directory (files still open stay readable through their descriptors). */
  remove(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
