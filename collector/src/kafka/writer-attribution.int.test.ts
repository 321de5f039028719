/**
 * The Kafka writer attributes what the collector could not (issue 12.3): ends that arrive as
 * `none` get their owner from the store's ownership table (refreshed, so ownership written after
 * the writer started is used too); ends the collector attributed are kept. Real chdb.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChdbStore } from '../../../common/clickhouse/chdb-store.ts';
import { migrate } from '../../../common/clickhouse/migrator.ts';
import type { Store } from '../../../common/clickhouse/store.ts';
import { unattributed } from '../../../common/flow/attribution.ts';
import { type IngestedFlow, ingestFlow } from '../../../common/flow/model.ts';
import { writeIntervals } from '../../../common/ownership/persistence.ts';
import { createStoredOwnership } from '../../../common/ownership/stored-lookup.ts';
import { OPEN_END_NS, type OwnerInterval } from '../../../common/ownership/types.ts';
import { Flow } from '../../../proto/gen/flow/flow.ts';
import { attributeFromStore } from './writer.ts';

const T = 1_700_000_000_000_000_000n;
let store: Store;

const iv = (address: string, allocId: string, tenant: string, start: bigint): OwnerInterval => ({
  address,
  kind: 'alloc',
  allocId,
  allocName: `${allocId}.web[0]`,
  namespace: tenant,
  job: 'web',
  group: 'web',
  nodeId: 'n',
  nodeName: 'n1',
  tenant,
  account: `${tenant}-acct`,
  start,
  end: OPEN_END_NS,
  nomadIndex: 1n,
});

const flow = (src: string, dst: string, srcSource: 'none' | 'label'): IngestedFlow =>
  ingestFlow(Flow.fromPartial({ IP: { source: src, destination: dst } }), {
    nodeName: 'n1',
    timeNs: T + 10n,
    flowId: new Uint8Array(16),
    target: 'k',
    receivedAtNs: T,
    attribution: {
      source: {
        ...unattributed,
        source: srcSource,
        tenant: srcSource === 'label' ? 'from-labels' : '',
        scope: 'private',
      },
      destination: { ...unattributed, scope: 'world' },
      conflict: '',
    },
  });

beforeAll(async () => {
  store = await createChdbStore(mkdtempSync(path.join(tmpdir(), 'ft-writer-attr-')), 'w');
  await migrate(store);
});
afterAll(async () => store?.close());

describe('collector > kafka > writer attribution from the stored ownership', () => {
  it('fills unattributed ends, keeps attributed ones, and sees ownership written later', async () => {
    await writeIntervals(store, [iv('10.5.0.1', 'alloc-1', 'acme', T)]);
    const own = createStoredOwnership(store);
    expect(await own.refresh()).toBe(1);

    const f = flow('10.5.0.1', '8.8.8.8', 'none');
    expect(attributeFromStore(f, own)).toBe(1);
    expect(f.attribution?.source).toEqual({
      tenant: 'acme',
      account: 'acme-acct',
      namespace: 'acme',
      job: 'web',
      group: 'web',
      allocId: 'alloc-1',
      allocName: 'alloc-1.web[0]',
      node: 'n1',
      source: 'ownership',
      scope: 'private',
    });
    expect(f.attribution?.destination.source).toBe('none');

    const labelled = flow('10.5.0.1', '8.8.8.8', 'label');
    expect(attributeFromStore(labelled, own)).toBe(0);
    expect(labelled.attribution?.source.tenant).toBe('from-labels');

    // Ownership written after the writer loaded: picked up by the next refresh.
    await writeIntervals(store, [iv('10.5.0.2', 'alloc-2', 'globex', T)]);
    const late = flow('10.5.0.2', '10.5.0.1', 'none');
    expect(attributeFromStore(late, own)).toBe(1); // only the destination is known yet
    expect(await own.refresh()).toBe(1);
    const again = flow('10.5.0.2', '10.5.0.1', 'none');
    expect(attributeFromStore(again, own)).toBe(2);
    expect(again.attribution?.source.tenant).toBe('globex');
    expect(again.attribution?.destination.tenant).toBe('acme');
  });
});
