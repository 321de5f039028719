import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseLine } from '../../collector/src/sources/json-lines.ts';
import { Flow } from '../../proto/gen/flow/flow.ts';
import { RowBinaryWriter } from '../clickhouse/row-binary.ts';
import { timestampToNs } from '../flow/model.ts';
import { describeWithFixtures, hubbleFixtureFiles } from '../testing/fixtures.ts';
import { flowColumns, flowStructure } from './flow-row.ts';
import { encodeFlowRow, FlowWireError, peekFlow } from './flow-wire.ts';

/** Column types in encoding order. */
const types = flowStructure.split(/,\s(?=[a-z_0-9]+ [A-Z])/).map((c) => c.slice(c.indexOf(' ') + 1));

/** Splits one RowBinary row into its columns' bytes (and checks it holds exactly the columns). */
function columns(row: Buffer): Buffer[] {
  let p = 0;
  const varint = () => {
    let n = 0;
    let shift = 0;
    for (;;) {
      const b = row[p++]!;
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
      shift += 7;
    }
  };
  const str = () => {
    const n = varint();
    p += n;
  };
  const out: Buffer[] = [];
  for (const t of types) {
    const start = p;
    if (t.startsWith('Array(')) {
      const n = varint();
      for (let i = 0; i < n; i++) str();
    } else if (t === 'String') str();
    else if (t.startsWith('DateTime64') || t.startsWith('UInt64')) p += 8;
    else if (t.startsWith('FixedString') || t === 'IPv6') p += 16;
    else if (t === 'UInt32' || t === 'Int32') p += 4;
    else if (t === 'UInt16') p += 2;
    else if (t.startsWith('Enum8') || t === 'Bool') p += 1;
    else throw new Error(`type ${t}`);
    out.push(row.subarray(start, p));
  }
  expect(p).toBe(row.length);
  return out;
}

const meta = (pb: Uint8Array) => ({
  pb,
  nodeName: 'n',
  timeNs: 1n,
  flowId: new Uint8Array(16),
  target: 't',
  receivedAtNs: 7n,
});

/** The flow_extra column's body. */
const extraOf = (row: Buffer) => {
  const c = columns(row).at(-1)!;
  let i = 0;
  while (c[i]! >= 0x80) i++;
  return c.subarray(i + 1);
};

const base = Flow.fromPartial({
  time: { seconds: 1_700_000_000n, nanos: 5 },
  uuid: '0b5c6a3e-2f3c-4f7e-9d1a-6c4b2a1e9f00',
  verdict: 1,
  IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 1 },
  l7: { type: 1, dns: { query: 'x.', ips: ['1.1.1.1'] }, latency_ns: 0n },
  egress_allowed_by: [{ name: 'p', namespace: 'ns', kind: 'CiliumNetworkPolicy', labels: [], revision: 0n }],
});

describeWithFixtures('common > schema > flow-wire (fixtures)', () => {
  const lines = hubbleFixtureFiles().flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));

  it('peeks what a source and attribution read', () => {
    for (const line of lines.slice(0, 300)) {
      const ev = parseLine(line);
      if (!ev.flow) continue;
      const p = peekFlow(Flow.encode(ev.flow).finish());
      expect(p).toEqual({
        timeNs: timestampToNs(ev.flow.time),
        uuid: ev.flow.uuid,
        nodeName: ev.flow.node_name,
        sourceIp: ev.flow.IP?.source ?? '',
        destinationIp: ev.flow.IP?.destination ?? '',
        sourceLabels: ev.flow.source?.labels ?? [],
        destinationLabels: ev.flow.destination?.labels ?? [],
      });
    }
  });
});

describe('common > schema > flow-wire', () => {
  it('keeps in flow_extra only the fields no column gives back, as they came', () => {
    const w = new RowBinaryWriter();
    encodeFlowRow(w, meta(Flow.encode(base).finish()));
    // Policies have lossy columns (labels, revision): they stay; everything else moved to columns.
    expect(Flow.decode(extraOf(w.take()))).toEqual(
      Flow.fromPartial({ egress_allowed_by: base.egress_allowed_by }),
    );
  });

  it('keeps fields it does not know in flow_extra', () => {
    const pb = Buffer.concat([Flow.encode(base).finish(), Buffer.from([0xf8, 0x07, 0x2a])]); // field 127 = 42
    const w = new RowBinaryWriter();
    encodeFlowRow(w, meta(pb));
    expect(extraOf(w.take()).subarray(-3).toString('hex')).toBe('f8072a');
  });

  it('keeps the last of a repeated singular field, as the generated codec does', () => {
    const first = Flow.encode(
      Flow.fromPartial({ ...base, source: { namespace: 'a', labels: ['x'] } }),
    ).finish();
    const second = Flow.encode(Flow.fromPartial({ source: { namespace: 'b' } })).finish();
    const pb = Buffer.concat([first, second]);
    expect(peekFlow(pb).sourceLabels).toEqual([]);
    const w = new RowBinaryWriter();
    encodeFlowRow(w, meta(pb));
    const cols = columns(w.take());
    const at = (name: string) => flowColumns.indexOf(name);
    expect(cols[at('source_namespace')]!.toString('latin1')).toBe('\x01b');
    expect(cols[at('source_labels')]!.toString('hex')).toBe('00');
  });

  it('appends nothing and throws FlowWireError for bytes that are not a Flow', () => {
    const w = new RowBinaryWriter();
    const pb = Flow.encode(base).finish();
    expect(() => encodeFlowRow(w, meta(pb.subarray(0, pb.length - 3)))).toThrow(FlowWireError);
    expect(() => peekFlow(Buffer.from([0x0a, 0x7f, 0x01]))).toThrow(FlowWireError);
    expect(w.length).toBe(0);
  });
});
