import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { RowBinaryWriter } from '../../../common/clickhouse/row-binary.ts';
import { type EndAttribution, unattributed } from '../../../common/flow/attribution.ts';
import type { FlowRecord, LostRecord } from '../../../common/flow/model.ts';
import { encodeFlowRow } from '../../../common/schema/flow-wire.ts';
import { Flow } from '../../../proto/gen/flow/flow.ts';
import { FlowBatch } from '../../../proto/gen/flowtrail/ingest.ts';
import {
  batchFrame,
  decodeFlowBatch,
  encodeFlowBatch,
  encodeFlowEntry,
  FlowBatchReader,
  FlowEntryEncoder,
  FORMAT_VERSION,
  MalformedMessageError,
} from './codec.ts';
import { partitionFor } from './partition.ts';
import { generatedFlows } from './testing.ts';

/** Bytes of the varint at `at`. */
const varintLength = (b: Uint8Array, at: number): number => {
  let n = 1;
  while (b[at + n - 1]! >= 0x80) n++;
  return n;
};

describe('collector > kafka > codec', () => {
  const flows = generatedFlows(200);
  const lost: LostRecord[] = [
    {
      target: 't:1',
      nodeName: 'n1',
      event: { source: 1, num_events_lost: 42n, cpu: 3 },
      timeNs: 1_700_000_000_000_000_001n,
      windowStartNs: 1_700_000_000_000_000_000n,
    },
  ];

  it('round-trips flows (bytes kept as received) and lost records', () => {
    const decoded = decodeFlowBatch(encodeFlowBatch(flows, lost, 'host/1'));
    expect(decoded.formatVersion).toBe(FORMAT_VERSION);
    expect(decoded.producer).toBe('host/1');
    expect(decoded.flows).toHaveLength(flows.length);
    for (const [i, f] of decoded.flows.entries()) {
      // The ends a source peeked do not travel: the writer reads them from `pb` when it needs them.
      const { sourceIp, destinationIp, sourceLabels, destinationLabels, ...want } = flows[i]!;
      expect(Buffer.from(f.pb!).equals(Buffer.from(want.pb!))).toBe(true);
      expect({ ...f, pb: undefined, flowId: Buffer.from(f.flowId) }).toEqual({
        ...want,
        pb: undefined,
        flowId: Buffer.from(want.flowId),
      });
    }
    expect(decoded.lost).toEqual(lost);
  });

  it('passes Flow bytes through unread, so one bad flow does not cost its message', () => {
    const bad = { ...flows[0]!, pb: Buffer.from([0x0a, 0x7f, 0x01]) };
    const decoded = decodeFlowBatch(encodeFlowBatch([bad, flows[1]!], [], 'p'));
    expect(decoded.flows.map((f) => Buffer.from(f.pb).toString('hex'))).toEqual([
      '0a7f01',
      Buffer.from(flows[1]!.pb).toString('hex'),
    ]);
  });

  it('writes the same bytes with the slab encoder as with the generic writer', () => {
    const encoder = new FlowEntryEncoder(4096);
    for (const f of flows) expect(Buffer.from(encoder.encode(f))).toEqual(Buffer.from(encodeFlowEntry(f)));
    const bare = { ...flows[0]!, attribution: undefined, target: '', nodeName: '' };
    expect(Buffer.from(encoder.encode(bare))).toEqual(Buffer.from(encodeFlowEntry(bare)));
  });

  it('is read by the generated codec, and entries concatenate into a valid message', () => {
    const frame = batchFrame('p');
    const value = Buffer.concat([frame.head, ...flows.slice(0, 3).map(encodeFlowEntry), frame.tail]);
    const generated = FlowBatch.decode(value);
    expect(generated.format_version).toBe(FORMAT_VERSION);
    expect(generated.flows).toHaveLength(3);
    expect(generated.flows[0]?.flow).toEqual(Flow.decode(flows[0]!.pb));
    expect(generated.flows[0]?.attribution?.source?.tenant).toBe('acme');
    expect(generated.flows[0]?.attribution?.source?.scope).toBe(7);
    expect(decodeFlowBatch(FlowBatch.encode(generated).finish()).flows[2]?.pb).toEqual(flows[2]?.pb);
  });

  it.each([
    { description: 'garbage', value: Buffer.from('not a protobuf message at all') },
    { description: 'truncated', value: encodeFlowBatch(flows.slice(0, 2), [], '').subarray(0, 300) },
    {
      description: 'other version',
      value: FlowBatch.encode({ format_version: 9, flows: [], lost: [], producer: '' }).finish(),
    },
    { description: 'empty', value: new Uint8Array(0) },
  ])('rejects a $description message', ({ value }) => {
    expect(() => decodeFlowBatch(value)).toThrow();
    try {
      decodeFlowBatch(value);
    } catch (err) {
      expect(err).toBeInstanceOf(Error);
      if (value.length === 0) expect(err).toBeInstanceOf(MalformedMessageError);
    }
  });

  it('reads flows in place into the rows of the flows encoded, replaced ends included', () => {
    const varied = flows.map((f, i) => ({
      ...f,
      nodeName: i % 3 === 0 ? 'other-node' : f.nodeName,
      attribution:
        i % 4 === 0
          ? undefined
          : {
              source: f.attribution!.source,
              destination: {
                ...unattributed,
                tenant: `t-${i % 5}`,
                allocId: 'ü-alloc',
                scope: 'same-tenant' as const,
              },
              conflict: i % 7 === 0 ? 'labels say other' : '',
            },
    }));
    const value = encodeFlowBatch(varied, [], 'p');
    // The reference is what went in (decodeFlowBatch is built on the reader: comparing with it
    // would check the reader against itself).
    const reference: FlowRecord[] = varied.map((f) => ({ ...f }));
    const reader = new FlowBatchReader();
    reader.open(value);
    expect(reader.count).toBe(varied.length);
    const owned: EndAttribution = {
      ...unattributed,
      tenant: 'owned',
      node: 'n',
      source: 'ownership',
      scope: 'world',
    };
    for (let i = 0; i < reader.count; i++) {
      const want = new RowBinaryWriter(1 << 12);
      const got = new RowBinaryWriter(1 << 12);
      const ref = reference[i]!;
      const f = reader.flow(i);
      expect(Buffer.from(f.flowId)).toEqual(Buffer.from(ref.flowId));
      expect([f.nodeName, f.target, f.timeNs, f.receivedAtNs]).toEqual([
        ref.nodeName,
        ref.target,
        ref.timeNs,
        ref.receivedAtNs,
      ]);
      expect(reader.endAttributed(0)).toBe((ref.attribution?.source.source ?? 'none') !== 'none');
      expect(reader.endScope(1)).toBe(ref.attribution?.destination.scope ?? 'unknown');
      if (i % 2 === 1) {
        reader.setEnd(1, owned);
        ref.attribution = {
          ...(ref.attribution ?? { source: unattributed, conflict: '' }),
          destination: owned,
        };
      }
      encodeFlowRow(want, ref);
      encodeFlowRow(got, f, reader);
      expect(got.take().equals(want.take())).toBe(true);
    }
  });

  it.each([
    { description: 'garbage', value: Buffer.from('not a protobuf message at all'), reason: /./ },
    {
      description: 'truncated',
      value: encodeFlowBatch(flows.slice(0, 2), [], '').subarray(0, 300),
      reason: /truncated/,
    },
    {
      description: 'other version',
      value: FlowBatch.encode({ format_version: 9, flows: [], lost: [], producer: '' }).finish(),
      reason: /unsupported format version 9/,
    },
    {
      description: 'flow without an id',
      value: encodeFlowBatch([{ ...flows[0]!, flowId: new Uint8Array(3) }], [], ''),
      reason: /flow_id is not 16 bytes/,
    },
    {
      description: 'flow without a time',
      value: encodeFlowBatch([{ ...flows[0]!, timeNs: 0n }], [], ''),
      reason: /flow without a time/,
    },
    { description: 'nothing', value: new Uint8Array(0), reason: /unsupported format version 0/ },
  ])('rejects a message with $description, saying why (the dead letter reason)', ({ value, reason }) => {
    const reader = new FlowBatchReader();
    expect(() => reader.open(value)).toThrow(MalformedMessageError);
    expect(() => reader.open(value)).toThrow(reason);
  });

  it('reads lost records and the producer next to the flows in place', () => {
    const reader = new FlowBatchReader();
    reader.open(encodeFlowBatch(flows.slice(0, 2), lost, 'host/7'));
    expect(reader.count).toBe(2);
    expect(Buffer.from(reader.flow(1).flowId)).toEqual(Buffer.from(flows[1]!.flowId));
    expect(reader.lost).toEqual(lost);
    expect(reader.producer).toBe('host/7');
    // The next message starts afresh.
    reader.open(encodeFlowBatch(flows.slice(0, 1), [], ''));
    expect([reader.count, reader.lost, reader.producer]).toEqual([1, [], '']);
  });

  it('skips unknown fields and groups, in the message and in a flow, as the generated codec does', () => {
    const entry = Buffer.from(encodeFlowEntry(flows[0]!));
    // The entry's body with an unknown group (field 20: one varint inside) and an unknown fixed32.
    const extra = new BinaryWriter()
      .uint32((20 << 3) | 3)
      .uint32(8)
      .uint32(5)
      .uint32((20 << 3) | 4)
      .uint32((21 << 3) | 5)
      .fixed32(7)
      .finish();
    const body = Buffer.concat([entry.subarray(1 + varintLength(entry, 1)), extra]);
    const withExtra = Buffer.concat([new BinaryWriter().uint32(18).uint32(body.length).finish(), body]);
    const frame = batchFrame('p');
    const value = Buffer.concat([frame.head, Buffer.from(extra), withExtra, entry, frame.tail]);
    const decoded = decodeFlowBatch(value);
    expect(decoded.flows.map((f) => Buffer.from(f.flowId))).toEqual([
      Buffer.from(flows[0]!.flowId),
      Buffer.from(flows[0]!.flowId),
    ]);
    expect(FlowBatch.decode(value).flows).toHaveLength(2);
    const unmatched = Buffer.concat([
      frame.head,
      new BinaryWriter()
        .uint32((20 << 3) | 3)
        .uint32((21 << 3) | 4)
        .finish(),
    ]);
    expect(() => decodeFlowBatch(unmatched)).toThrow(MalformedMessageError);
  });

  it.each(['node-1', 'kind-worker2', 'ip-10-0-3-17.ec2.internal', '', 'ü'])(
    'partitions %j like kafkajs and the Java client',
    (key) => {
      const partitioner = Partitioners.DefaultPartitioner();
      const partitionMetadata = Array.from({ length: 12 }, (_, i) => ({
        partitionId: i,
        leader: 1,
        partitionErrorCode: 0,
        replicas: [1],
        isr: [1],
      }));
      expect(partitionFor(key, 12)).toBe(
        partitioner({ topic: 't', partitionMetadata, message: { key, value: null } }),
      );
    },
  );
});
