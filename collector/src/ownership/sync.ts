/**
 * Keeps the tracker in step with Nomad: list (namespaces, nodes, allocations, reading the full
 * allocation when its address is not yet known), then follow `/v1/event/stream` (topics
 * Allocation, Job, Node; `namespace=*`) from the last applied index + 1, dropping repeated
 * frames. The stream never reports a gap, so every (re)connect lists again first. A re-list
 * whose index is below the last applied one means Nomad's index was reset (the cluster was
 * restarted from scratch, restored or rebuilt): the tracker forgets its indexes, the listing is
 * re-applied and the stream resubscribes from the re-list index (one warning per reset), instead
 * of dropping every later frame as a repeat. `namespace=*`
 * is frozen at subscribe time, so a blocking query on `/v1/namespaces` resubscribes the stream
 * when the set of namespaces changes. Reconnects back off through common/retry.ts.
 * @module
 */
import { errorMessage, FlowtrailError } from '../../../common/errors.ts';
import type { Logger } from '../../../common/logger.ts';
import { type RetryOptions, retry, sleep } from '../../../common/retry.ts';
import type { NomadClient } from '../nomad/client.ts';
import { NomadError } from '../nomad/client.ts';
import {
  type NomadAllocation,
  type NomadEventFrame,
  type NomadNamespace,
  type NomadNode,
  terminalClientStatuses,
} from '../nomad/types.ts';

/**
 * What the loop feeds: the tracker implements it. Declared here (not imported from tracker.ts)
 * so the dependency runs one way, tracker → sync.
 */
export interface NomadSyncTarget {
  applyFrame(frame: NomadEventFrame): unknown;
  applyAllocation(a: NomadAllocation): void;
  applyNamespace(ns: NomadNamespace): void;
  applyNode(node: NomadNode): void;
  allocState(id: string): { modifyIndex: bigint; addresses: readonly string[] } | undefined;
  /** Highest event-stream index applied (resume from lastIndex + 1). */
  readonly lastIndex: bigint;
  /**
   * Nomad's index went back below lastIndex (a restarted, restored or rebuilt cluster): forget
   * the stored indexes so the re-list and the stream from `index` + 1 apply again.
   */
  resetIndex(index: bigint): void;
}

/** The running sync loop. */
export interface NomadSync {
  start(): void;
  stop(): Promise<void>;
  readonly resyncs: number;
  /** Times Nomad's index was found below the last applied one. */
  readonly indexResets: number;
  readonly connected: boolean;
}

/** What the loop needs. */
export interface NomadSyncDeps {
  client: NomadClient;
  tracker: NomadSyncTarget;
  logger: Logger;
  retry?: RetryOptions | undefined;
  resyncConcurrency: number;
}

class ResubscribeError extends FlowtrailError {
  constructor() {
    super('namespaces changed: resubscribing the event stream', { retriable: true });
  }
}

/** Creates the loop; start() begins it in the background. */
export function createNomadSync(deps: NomadSyncDeps): NomadSync {
  const { client, tracker, logger } = deps;
  const main = new AbortController();
  let streamAbort: AbortController | undefined;
  let subscribedNamespaces = '';
  let resyncs = 0;
  let resets = 0;
  let connected = false;
  const running: Promise<void>[] = [];

  const retryOpts = (): RetryOptions => ({
    initialDelayMs: 200,
    maxDelayMs: 15_000,
    ...deps.retry,
    maxAttempts: Number.POSITIVE_INFINITY,
    signal: main.signal,
    // Every failure of the Nomad API is worth another try (a 403 may be fixed by a new token);
    // the backoff keeps it cheap.
    isRetriable: () => !main.signal.aborted,
    onRetry: (err, attempt, delayMs) =>
      logger.warn('nomad sync failed; retrying', { attempt, delay_ms: delayMs, error: errorMessage(err) }),
  });

  async function resync(signal: AbortSignal): Promise<void> {
    // Index resets are detected on the allocation list (the index the stream resumes after);
    // the namespace and node lists are applied either way (merging is idempotent).
    const nss = await client.listNamespaces({ signal });
    for (const ns of nss.items) tracker.applyNamespace(ns);
    subscribedNamespaces = nss.items
      .map((n) => n.name)
      .sort()
      .join(',');
    const nodes = await client.listNodes({ signal });
    for (const n of nodes.items) tracker.applyNode(n);
    const list = await client.listAllocations({ namespace: '*', signal });
    if (list.index < tracker.lastIndex) {
      logger.warn(
        'nomad index went backwards (cluster restarted, restored or rebuilt): re-applying from its index',
        {
          stored_index: tracker.lastIndex,
          nomad_index: list.index,
        },
      );
      tracker.resetIndex(list.index);
      resets++;
    }
    const toRead: string[] = [];
    for (const stub of list.items) {
      const st = tracker.allocState(stub.id);
      if (st && stub.modifyIndex <= st.modifyIndex) continue;
      const terminal = terminalClientStatuses.has(stub.clientStatus);
      if (st && st.addresses.length > 0)
        tracker.applyAllocation(stub); // closes on terminal
      else if (!terminal) toRead.push(stub.id);
    }
    let next = 0;
    const worker = async () => {
      while (next < toRead.length && !signal.aborted) {
        const id = toRead[next++]!;
        try {
          tracker.applyAllocation(await client.readAllocation(id, signal));
        } catch (err) {
          if (err instanceof NomadError && (err.kind === 'not-found' || err.kind === 'unknown-allocation')) {
            logger.warn('allocation vanished or is not readable during re-list', {
              alloc_id: id,
              error: err.message,
            });
          } else throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, deps.resyncConcurrency) }, worker));
    resyncs++;
    logger.info('nomad re-list done', {
      allocations: list.items.length,
      read: toRead.length,
      index: list.index,
    });
  }

  async function connectAndFollow(): Promise<void> {
    await retry(async () => {
      const ctl = new AbortController();
      const onMainAbort = () => ctl.abort(main.signal.reason);
      main.signal.addEventListener('abort', onMainAbort, { once: true });
      streamAbort = ctl;
      let frames = 0;
      try {
        await resync(ctl.signal);
        const from = tracker.lastIndex + 1n;
        logger.info('event stream subscribing', { index: from });
        for await (const frame of client.eventStream({
          topics: ['Allocation', 'Job', 'Node'],
          namespace: '*',
          index: from,
          signal: ctl.signal,
        })) {
          connected = true;
          frames++;
          tracker.applyFrame(frame);
        }
      } catch (err) {
        if (ctl.signal.aborted && !main.signal.aborted) throw new ResubscribeError();
        // A stream that delivered frames ended normally; reconnect at once with a fresh backoff.
        if (frames > 0 && !main.signal.aborted) {
          logger.info('event stream ended; reconnecting', { error: errorMessage(err) });
          return;
        }
        throw err;
      } finally {
        connected = false;
        main.signal.removeEventListener('abort', onMainAbort);
      }
    }, retryOpts());
  }

  async function followLoop(): Promise<void> {
    while (!main.signal.aborted) {
      try {
        await connectAndFollow();
      } catch (err) {
        if (main.signal.aborted) return;
        logger.error('nomad sync stopped unexpectedly', { error: errorMessage(err) });
        await sleep(1000, main.signal).catch(() => {});
      }
    }
  }

  async function watchNamespaces(): Promise<void> {
    let index = 0n;
    while (!main.signal.aborted) {
      try {
        await retry(async () => {
          const r = await client.listNamespaces({ index, signal: main.signal });
          index = r.index < index ? 0n : r.index; // the index went backwards: start over
          for (const ns of r.items) tracker.applyNamespace(ns);
          const names = r.items
            .map((n) => n.name)
            .sort()
            .join(',');
          if (subscribedNamespaces && names !== subscribedNamespaces) {
            logger.info('namespaces changed; resubscribing the event stream', { namespaces: names });
            subscribedNamespaces = names;
            streamAbort?.abort(new ResubscribeError());
          }
          if (index === 0n) index = 1n;
        }, retryOpts());
      } catch {
        if (main.signal.aborted) return;
      }
    }
  }

  return {
    start() {
      running.push(followLoop(), watchNamespaces());
    },
    async stop() {
      main.abort(new Error('stopping'));
      await Promise.allSettled(running);
    },
    get resyncs() {
      return resyncs;
    },
    get indexResets() {
      return resets;
    },
    get connected() {
      return connected;
    },
  };
}
