/**
 * The ownership tracker: turns Nomad allocation, job, node and namespace updates into
 * per-address ownership intervals, keeps them in memory for the ingest path (interval-index.ts)
 * and in ClickHouse for history (persistence.ts).
 *
 * An allocation's interval on an address opens at the ModifyTime of the first update carrying
 * the address (`NetworkStatus.Address` / `AddressIPv6`) and closes at the ModifyTime of the
 * update that makes the allocation terminal (complete, failed, lost). Merging is monotone, so
 * re-applying events after a reconnect or a re-list neither duplicates nor reopens an interval.
 * A terminal allocation seen for the first time (its address update was never observed) opens
 * nothing: we do not know since when it held the address, and attribution never guesses. Its
 * terminal time is remembered, so if the earlier update arrives later (imports, replays out of
 * order) the interval opens already closed.
 * @module
 */
import type { Store } from '../../../common/clickhouse/store.ts';
import type { TenancyConfig } from '../../../common/config/tenancy.ts';
import { errorMessage } from '../../../common/errors.ts';
import { createLogger, type Logger } from '../../../common/logger.ts';
import type { Metrics } from '../../../common/metrics.ts';
import { createIntervalIndex } from '../../../common/ownership/interval-index.ts';
import { canonicalAddress, loadIntervals, writeIntervals } from '../../../common/ownership/persistence.ts';
import {
  intervalKey,
  OPEN_END_NS,
  type OwnerInterval,
  type OwnershipLookup,
} from '../../../common/ownership/types.ts';
import type { RetryOptions } from '../../../common/retry.ts';
import { nowNs } from '../../../common/time.ts';
import type { NomadClient } from '../nomad/client.ts';
import {
  type NomadAllocation,
  type NomadEventFrame,
  type NomadJob,
  type NomadNamespace,
  type NomadNode,
  terminalClientStatuses,
} from '../nomad/types.ts';
import { createOwnershipMetrics } from './metrics.ts';
import { createNomadSync, type NomadSync, type NomadSyncTarget } from './sync.ts';
import { createTenancyResolver } from './tenancy.ts';

/** Tracker settings. */
export interface OwnershipTrackerConfig {
  tenancy: TenancyConfig;
  /** How often changed intervals are written to ClickHouse, in milliseconds. Default 1000. */
  flushIntervalMs: number;
  /** Parallel allocation reads during a re-list. Default 8. */
  resyncConcurrency: number;
}

/** Defaults for everything but tenancy. */
export const defaultOwnershipTrackerConfig = { flushIntervalMs: 1000, resyncConcurrency: 8 } as const;

/** What the tracker uses. Without `nomad` it only serves what is stored and what is applied to it. */
export interface OwnershipTrackerDeps {
  store: Store;
  logger?: Logger;
  nomad?: NomadClient;
  /** Clock for node intervals (nodes carry no times of their own). */
  now?: () => bigint;
  /** Backoff of the Nomad reconnect loop. */
  retry?: RetryOptions;
  /** Registry prefixed for the service (e.g. `createMetrics('collector')`); none: no metrics. */
  metrics?: Metrics;
}

/** Outcome of applying one event-stream frame. */
export type FrameOutcome = 'applied' | 'heartbeat' | 'repeat';

/** Counters that tests, logs and metrics read. */
export interface OwnershipStats {
  intervals: number;
  nodeIntervals: number;
  lastIndex: bigint;
  framesApplied: number;
  framesRepeated: number;
  resyncs: number;
  /** Times Nomad's index went below the stored one and the tracker re-applied from it. */
  indexResets: number;
  pendingWrites: number;
  connected: boolean;
}

/** The tracker: lookups for the enricher, apply methods for the stream, the import and tests. */
export interface OwnershipTracker extends OwnershipLookup, NomadSyncTarget {
  /** Loads stored intervals, starts the flush loop and, with a Nomad client, the sync. */
  start(): Promise<void>;
  /** Stops the sync and writes everything pending. */
  stop(): Promise<void>;
  applyFrame(frame: NomadEventFrame, opts?: { replay?: boolean }): FrameOutcome;
  applyAllocation(a: NomadAllocation): void;
  applyJob(job: NomadJob): void;
  applyNamespace(ns: NomadNamespace): void;
  applyNode(node: NomadNode, opts?: { removed?: boolean; at?: bigint }): void;
  /** Writes changed intervals now. */
  flush(): Promise<void>;
  /** Highest event-stream index applied (resume from lastIndex + 1). */
  readonly lastIndex: bigint;
  /** The ModifyIndex last applied for an allocation and whether its address is known. */
  allocState(id: string): { modifyIndex: bigint; addresses: readonly string[] } | undefined;
  /** Every interval of an address, sorted by start. */
  intervalsOf(address: string): readonly OwnerInterval[];
  stats(): OwnershipStats;
}

interface AllocState {
  modifyIndex: bigint;
  /** Earliest terminal update seen (so a late-applied earlier update opens an already closed interval). */
  terminalAt?: bigint;
  addresses: string[];
  jobMeta?: Readonly<Record<string, string>>;
  groupMeta?: Readonly<Record<string, string>>;
}

/** Creates a tracker; no I/O until start(). */
export function createOwnershipTracker(
  config: OwnershipTrackerConfig,
  deps: OwnershipTrackerDeps,
): OwnershipTracker {
  const logger = deps.logger ?? createLogger('ownership');
  const now = deps.now ?? nowNs;
  const allocIndex = createIntervalIndex();
  const nodeIndex = createIntervalIndex();
  const tenancy = createTenancyResolver(config.tenancy);
  const allocs = new Map<string, AllocState>();
  const dirty = new Map<string, OwnerInterval>();
  const fetching = new Set<string>();
  let lastIndex = 0n;
  let framesApplied = 0;
  let framesRepeated = 0;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  let sync: NomadSync | undefined;

  const metrics = createOwnershipMetrics(deps.metrics, () => tracker.stats());
  const markDirty = (iv: OwnerInterval | undefined) => {
    if (iv) dirty.set(`${iv.address}#${intervalKey(iv)}`, iv);
  };

  const base = (a: NomadAllocation, address: string, start: bigint, end: bigint): OwnerInterval => {
    const st = allocs.get(a.id);
    const t = tenancy.resolve({
      namespace: a.namespace,
      jobId: a.jobId,
      group: a.taskGroup,
      jobMeta: a.jobMeta ?? st?.jobMeta,
      groupMeta: a.groupMeta ?? st?.groupMeta,
    });
    return {
      address,
      kind: 'alloc',
      allocId: a.id,
      allocName: a.name,
      namespace: a.namespace,
      job: a.jobId,
      group: a.taskGroup,
      nodeId: a.nodeId,
      nodeName: a.nodeName,
      tenant: t.tenant,
      account: t.account,
      start,
      end,
      nomadIndex: a.modifyIndex,
    };
  };

  function fetchJobMeta(a: NomadAllocation): void {
    const client = deps.nomad;
    if (!client || fetching.has(a.id)) return;
    fetching.add(a.id);
    client
      .readAllocation(a.id)
      .then((full) => tracker.applyAllocation(full))
      .catch((err) =>
        logger.warn('cannot read allocation for its job meta', { alloc_id: a.id, error: errorMessage(err) }),
      )
      .finally(() => fetching.delete(a.id));
  }

  const tracker: OwnershipTracker = {
    async start() {
      const stored = await loadIntervals(deps.store);
      for (const iv of stored) {
        if (iv.kind === 'node') {
          nodeIndex.upsert(iv);
          continue;
        }
        allocIndex.upsert(iv);
        const st = allocs.get(iv.allocId) ?? { modifyIndex: 0n, addresses: [] };
        if (!st.addresses.includes(iv.address)) st.addresses.push(iv.address);
        if (iv.nomadIndex > st.modifyIndex) st.modifyIndex = iv.nomadIndex;
        if (iv.end < OPEN_END_NS && (st.terminalAt === undefined || iv.end < st.terminalAt))
          st.terminalAt = iv.end;
        allocs.set(iv.allocId, st);
        if (iv.nomadIndex > lastIndex) lastIndex = iv.nomadIndex;
      }
      logger.info('ownership loaded', {
        intervals: allocIndex.size,
        node_intervals: nodeIndex.size,
        last_index: lastIndex,
      });
      timer = setInterval(() => void tracker.flush(), config.flushIntervalMs);
      timer.unref();
      if (deps.nomad) {
        sync = createNomadSync({
          client: deps.nomad,
          tracker,
          logger: logger.child('sync'),
          retry: deps.retry,
          resyncConcurrency: config.resyncConcurrency,
        });
        sync.start();
      }
    },
    async stop() {
      await sync?.stop();
      if (timer) clearInterval(timer);
      timer = undefined;
      await tracker.flush();
    },
    applyFrame(frame, opts = {}) {
      if (frame.events.length === 0) {
        metrics.frame('heartbeat');
        return 'heartbeat';
      }
      if (!opts.replay && frame.index <= lastIndex) {
        framesRepeated++;
        metrics.frame('repeat');
        return 'repeat';
      }
      for (const ev of frame.events) {
        if (ev.job && !ev.job.deleted) tracker.applyJob(ev.job);
        if (ev.allocation) tracker.applyAllocation(ev.allocation);
        if (ev.node) tracker.applyNode(ev.node, { removed: ev.type === 'NodeDeregistration' });
      }
      if (frame.index > lastIndex) lastIndex = frame.index;
      framesApplied++;
      metrics.frame('applied');
      return 'applied';
    },
    applyAllocation(a) {
      if (!a.id) return;
      let st = allocs.get(a.id);
      if (!st) {
        st = { modifyIndex: 0n, addresses: [] };
        allocs.set(a.id, st);
      }
      if (a.jobMeta) {
        st.jobMeta = a.jobMeta;
        st.groupMeta = a.groupMeta;
      }
      if (a.modifyIndex > st.modifyIndex) st.modifyIndex = a.modifyIndex;
      const terminal = terminalClientStatuses.has(a.clientStatus);
      const t = a.modifyTime;
      const addresses: string[] = [];
      for (const raw of [a.address, a.addressIPv6]) {
        if (!raw) continue;
        const addr = canonicalAddress(raw);
        if (!addr) {
          logger.warn('allocation reports an address that does not parse', { alloc_id: a.id, address: raw });
          continue;
        }
        if (!addresses.includes(addr)) addresses.push(addr);
      }
      // Addresses this allocation no longer holds (all of them, once terminal) close at t.
      for (const old of st.addresses) {
        const stillHeld = !terminal && (!a.hasNetworkStatus || addresses.includes(old));
        if (stillHeld) continue;
        const cur = allocIndex.get(old, `a|${a.id}`);
        if (cur) markDirty(allocIndex.upsert(base(a, old, cur.start, t)));
      }
      if (terminal) {
        if (st.terminalAt === undefined || t < st.terminalAt) st.terminalAt = t;
        return;
      }
      // Updates applied out of order (imports, replays) must not reopen what already ended.
      const end = st.terminalAt ?? OPEN_END_NS;
      if (end <= t) return;
      for (const addr of addresses) {
        markDirty(allocIndex.upsert(base(a, addr, t, end)));
        if (!st.addresses.includes(addr)) st.addresses.push(addr);
      }
      if (addresses.length > 0 && !a.jobMeta && !st.jobMeta && !tenancy.knowsJob(a.namespace, a.jobId))
        fetchJobMeta(a);
    },
    applyJob(job) {
      tenancy.setJob(job);
    },
    applyNamespace(ns) {
      tenancy.setNamespace(ns);
    },
    applyNode(node, opts = {}) {
      const at = opts.at ?? now();
      for (const raw of node.addresses) {
        const address = canonicalAddress(raw);
        if (!address) continue;
        const cur = nodeIndex.get(address, `n|${node.id}`);
        if (opts.removed && !cur) continue;
        markDirty(
          nodeIndex.upsert({
            address,
            kind: 'node',
            allocId: '',
            allocName: '',
            namespace: '',
            job: '',
            group: '',
            nodeId: node.id,
            nodeName: node.name,
            tenant: '',
            account: '',
            start: cur ? cur.start : at,
            end: opts.removed ? at : OPEN_END_NS,
            nomadIndex: node.modifyIndex,
          }),
        );
      }
    },
    flush() {
      flushing = flushing.then(async () => {
        if (dirty.size === 0) return;
        const batch = [...dirty.values()];
        dirty.clear();
        try {
          await writeIntervals(deps.store, batch);
          metrics.written(batch.length);
        } catch (err) {
          metrics.writeFailed();
          for (const iv of batch) {
            const key = `${iv.address}#${intervalKey(iv)}`;
            if (!dirty.has(key)) dirty.set(key, iv);
          }
          logger.warn('cannot write ownership intervals; will retry', {
            intervals: batch.length,
            error: errorMessage(err),
          });
        }
      });
      return flushing;
    },
    get lastIndex() {
      return lastIndex;
    },
    resetIndex(index) {
      lastIndex = index;
      // Allocation ModifyIndexes of the old numbering would hide every update of the new one.
      for (const st of allocs.values()) st.modifyIndex = 0n;
    },
    allocState(id) {
      const st = allocs.get(id);
      return st ? { modifyIndex: st.modifyIndex, addresses: st.addresses } : undefined;
    },
    intervalsOf(address) {
      return allocIndex.intervalsOf(address);
    },
    allocAt(address, t) {
      return allocIndex.lookup(address, t);
    },
    nodeAt(address, t) {
      return nodeIndex.lookup(address, t);
    },
    namespaceTenancy(namespace) {
      return tenancy.namespaceTenancy(namespace);
    },
    stats() {
      return {
        intervals: allocIndex.size,
        nodeIntervals: nodeIndex.size,
        lastIndex,
        framesApplied,
        framesRepeated,
        resyncs: sync?.resyncs ?? 0,
        indexResets: sync?.indexResets ?? 0,
        pendingWrites: dirty.size,
        connected: sync?.connected ?? false,
      };
    },
  };
  return tracker;
}
