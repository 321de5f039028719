/**
 * @module A bounded ring of recent events, like Hubble's per-node ring buffer (4095 flows by default):
 * GetFlows readers rewind in it for `number`/`since`/`first`, and followers wait on it for new events.
 * Sequence numbers grow forever; the event with sequence `s` lives at slot `s % capacity` until
 * overwritten, so a reader that falls more than `capacity` behind learns how many it lost.
 */
import type { GetFlowsResponse } from '../../../proto/gen/observer/observer.js';

/** One stored event: the response as sent, its time split for cheap comparisons, and cached bytes. */
export interface RingEvent {
  readonly response: GetFlowsResponse;
  /** response.time in whole seconds (0 when absent). */
  readonly seconds: number;
  /** response.time nanos. */
  readonly nanos: number;
  /** Which member of GetFlowsResponse it carries: lost events and node status bypass filters and `number`. */
  readonly kind: 'flow' | 'lost_events' | 'node_status';
  /** The node name, when known without building `response` (generated flows). */
  readonly nodeName?: string;
  /** Pre-encoded GetFlowsResponse bytes (filled by the generator, or lazily by the server). */
  encoded?: Uint8Array;
}

/** A reader's position, registered so a supply in `wait` mode never overwrites unread events. */
export interface RingCursor {
  /** The sequence of the next event this reader will read. */
  next: number;
}

/** Compares a ring event's time with (seconds, nanos): negative when the event is earlier. */
export function compareTime(ev: RingEvent, seconds: number, nanos: number): number {
  return ev.seconds - seconds || ev.nanos - nanos;
}

/** The bounded event ring shared by a supply (writer) and the Observer server (readers). */
export class FlowRing {
  readonly capacity: number;
  private readonly slots: (RingEvent | undefined)[];
  private headSeq = 0;
  private flowsSeen = 0;
  private closedFlag = false;
  private waiter: { promise: Promise<void>; resolve: () => void } | undefined;
  private readonly cursors = new Set<RingCursor>();

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`ring capacity must be ≥ 1, got ${capacity}`);
    this.capacity = capacity;
    this.slots = new Array<RingEvent | undefined>(capacity);
  }

  /** The sequence the next pushed event will get (= events ever pushed). */
  get head(): number {
    return this.headSeq;
  }

  /** The oldest sequence still held. */
  get oldest(): number {
    return Math.max(0, this.headSeq - this.capacity);
  }

  /** Number of events currently held. */
  get size(): number {
    return this.headSeq - this.oldest;
  }

  /** Flows (not lost events) ever pushed: ServerStatus.seen_flows. */
  get seen(): number {
    return this.flowsSeen;
  }

  /** True once the supply has said no more events will come (replay finished, or stopped). */
  get closed(): boolean {
    return this.closedFlag;
  }

  /** The event with this sequence, or undefined when it was overwritten or not written yet. */
  at(seq: number): RingEvent | undefined {
    if (seq < this.oldest || seq >= this.headSeq) return undefined;
    return this.slots[seq % this.capacity];
  }

  /** Appends an event; call `notify()` after a batch so waiting followers wake once. */
  push(ev: RingEvent): void {
    this.slots[this.headSeq % this.capacity] = ev;
    this.headSeq++;
    if (ev.kind === 'flow') this.flowsSeen++;
  }

  /** Wakes followers waiting for new events. */
  notify(): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w.resolve();
    }
  }

  /** Marks the ring finished (no more pushes) and wakes everyone. */
  close(): void {
    this.closedFlag = true;
    this.notify();
  }

  /** Resolves at the next `notify()` or `close()`. */
  changed(): Promise<void> {
    if (!this.waiter) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.waiter = { promise, resolve };
    }
    return this.waiter.promise;
  }

  /** Registers a reader position (for `wait` overflow); returns a function that unregisters it. */
  track(cursor: RingCursor): () => void {
    this.cursors.add(cursor);
    return () => this.cursors.delete(cursor);
  }

  /** How many events can be pushed before an unread event of a tracked reader would be overwritten. */
  freeForReaders(): number {
    let min = this.headSeq;
    for (const c of this.cursors) if (c.next < min) min = c.next;
    return this.capacity - (this.headSeq - Math.max(min, this.oldest));
  }

  /** Number of tracked readers (followers). */
  get readers(): number {
    return this.cursors.size;
  }
}
