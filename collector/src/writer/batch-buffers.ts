/**
 * Buffers of inserted batches, handed to the next ones: the Kafka writer's batch memory (the embedded
 * sink puts its batches on file instead: batch-file.ts). A batch of tens of thousands of rows is tens
 * of MB of RowBinary: a writer that starts every batch small copies it at each doubling (the Kafka
 * writer spent ~250 ms of a 100,000-flow run there) and takes fresh pages from the OS each time, which
 * then wait for the garbage collector. Pages once written stay resident, so at most `keep` freed
 * buffers wait here.
 * @module
 */
import { RowBinaryWriter } from '../../../common/clickhouse/row-binary.ts';

/**
 * The whole allocation behind a batch's bytes, when the batch owns it. A small Buffer can be a
 * slice of Node's shared pool: widening it to its ArrayBuffer would hand out memory other buffers
 * still use.
 */
export function ownAllocation(data: Buffer): Buffer | undefined {
  if (data.byteOffset !== 0 || data.buffer.byteLength <= Buffer.poolSize) return undefined;
  return Buffer.from(data.buffer, 0, data.buffer.byteLength);
}

/** A few freed buffers, and the size the last batch needed. */
export class BatchBuffers {
  private readonly free: Buffer[] = [];
  private nextBytes: number;
  private readonly keep: number;

  /** Keeps at most `keep` freed buffers (each is resident memory while it waits). `initialBytes`: the first batch's buffer. */
  constructor(keep: number, initialBytes = 1 << 20) {
    this.keep = keep;
    this.nextBytes = initialBytes;
  }

  /**
   * A writer for one batch (the Kafka writer's, one per offset range): on a freed buffer, else on
   * a fresh one the size the last batch needed.
   */
  writer(): RowBinaryWriter {
    const w = new RowBinaryWriter(0);
    w.detach(this.free.pop() ?? Buffer.allocUnsafe(this.nextBytes));
    return w;
  }

  /** Takes back the bytes of a batch that is done with them (inserted, or dropped). */
  give(data: Buffer): void {
    // A quarter more than the largest batch lately: the next one of about that size does not grow.
    this.nextBytes = Math.max(this.nextBytes, Math.ceil(data.length * 1.25));
    const whole = ownAllocation(data);
    if (!whole) return;
    if (this.free.length < this.keep) {
      this.free.push(whole);
      return;
    }
    // Full: keep the largest (a batch that grew into it needs no growing next time).
    let smallest = 0;
    for (let i = 1; i < this.free.length; i++) {
      if (this.free[i]!.length < this.free[smallest]!.length) smallest = i;
    }
    if (this.keep > 0 && this.free[smallest]!.length < whole.length) this.free[smallest] = whole;
  }
}
