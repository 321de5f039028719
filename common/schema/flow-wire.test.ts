import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseLine } from '../../collector/src/sources/json-lines.ts';
import { Flow } from '../../proto/gen/flow/flow.ts';
import { RowBinaryWriter } from '../clickhouse/row-binary.ts';
import { contentFlowId } from '../flow/flow-id.ts';
import { timestampToNs } from '../flow/model.ts';
import { describeWithFixtures, hubbleFixtureFiles } from '../testing/fixtures.ts';
import { encodeFlowRow as encodeFromObject, flowColumns, flowStructure } from './flow-row.ts';
import { encodeFlowRow as encodeFromWire, peekFlow } from './flow-wire.ts';

/** Column types in encoding order. */
const types = flowStructure.split(/,\s(?=[a-z_0-9]+ [A-Z])/).map((c) => c.slice(c.indexOf(' ') + 1));

/** Splits one RowBinary row into its columns' bytes. */
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

const meta = (flow: Flow, pb: Uint8Array, nodeName: string) => ({
  flow,
  pb,
  nodeName,
  timeNs: timestampToNs(flow.time) ?? 1n,
  flowId: contentFlowId(pb),
  target: 't',
  receivedAtNs: 7n,
});

/** Encodes `flow` both ways and expects the same columns (flow_extra compared as the Flow it decodes to). */
function expectSameRow(flow: Flow, nodeName: string, pb: Uint8Array = Flow.encode(flow).finish()): void {
  const a = new RowBinaryWriter(1 << 12);
  const b = new RowBinaryWriter(1 << 12);
  encodeFromObject(a, meta(Flow.decode(pb), pb, nodeName));
  encodeFromWire(b, meta(flow, pb, nodeName));
  const ca = columns(a.take());
  const cb = columns(b.take());
  const extra = flowColumns.length - 1;
  // One comparison per row; column by column only to name the first difference.
  if (Buffer.compare(Buffer.concat(ca.slice(0, extra)), Buffer.concat(cb.slice(0, extra))) !== 0)
    for (let i = 0; i < extra; i++)
      expect(cb[i]!.toString('hex'), flowColumns[i]).toBe(ca[i]!.toString('hex'));
  const body = (c: Buffer) => {
    let i = 0;
    while (c[i]! >= 0x80) i++;
    return c.subarray(i + 1);
  };
  expect(Flow.decode(body(cb[extra]!))).toEqual(Flow.decode(body(ca[extra]!)));
}

describeWithFixtures('common > schema > flow-wire (fixtures)', () => {
  const lines = hubbleFixtureFiles().flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));

  it('writes the same row as the object encoder for every fixture flow', () => {
    let n = 0;
    for (const line of lines) {
      const ev = parseLine(line);
      if (!ev.flow) continue;
      expectSameRow(ev.flow, ev.node_name || ev.flow.node_name);
      n++;
    }
    expect(n).toBeGreaterThan(1800);
  });

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
  const base = Flow.fromPartial({
    time: { seconds: 1_700_000_000n, nanos: 5 },
    uuid: '0b5c6a3e-2f3c-4f7e-9d1a-6c4b2a1e9f00',
    verdict: 1,
    IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 1 },
  });
  it.each<[string, Record<string, unknown>]>([
    [
      'every column filled',
      {
        drop_reason: 133,
        drop_reason_desc: 133,
        auth_type: 1,
        ethernet: { source: 'aa:bb', destination: 'cc:dd' },
        l4: { TCP: { source_port: 443, destination_port: 5000, flags: { SYN: true, ACK: true, NS: true } } },
        source: {
          ID: 9,
          identity: 1234,
          namespace: 'ns',
          labels: ['a=b', 'k8s:x=y'],
          pod_name: 'p',
          workloads: [{ name: 'w', kind: 'Deployment' }],
          cluster_name: 'c',
        },
        destination: { labels: ['reserved:world'] },
        Type: 1,
        node_name: 'kind/n1',
        source_names: ['a.example'],
        destination_names: ['b.example', 'c.example'],
        l7: {
          type: 2,
          latency_ns: 12_345_678_901n,
          http: {
            code: 200,
            method: 'GET',
            url: 'http://x/é',
            protocol: 'HTTP/1.1',
            headers: [{ key: 'k', value: 'v' }],
          },
        },
        event_type: { type: 4, sub_type: 3 },
        source_service: { name: 's', namespace: 'n' },
        destination_service: { name: 'd', namespace: 'm' },
        traffic_direction: 2,
        policy_match_type: 3,
        trace_observation_point: 101,
        trace_reason: 2,
        is_reply: false,
        interface: { index: 3, name: 'eth0' },
        proxy_port: 8080,
        trace_context: { parent: { trace_id: 'abc' } },
        sock_xlate_point: 2,
        socket_cookie: 2n ** 63n + 5n,
        cgroup_id: 77n,
        Summary: 'TCP Flags: SYN',
        egress_allowed_by: [
          { name: 'p1', namespace: 'ns', kind: 'CiliumNetworkPolicy', labels: ['x'], revision: 3n },
        ],
        ingress_denied_by: [{ name: 'p2', kind: 'CiliumClusterwideNetworkPolicy' }],
        emitter: { name: 'Hubble', version: '1.16' },
        node_labels: ['zone=a'],
        reply: true,
      },
    ],
    [
      'dns and kafka',
      {
        l7: {
          type: 1,
          dns: {
            query: 'x.',
            ips: ['1.1.1.1'],
            ttl: 30,
            cnames: ['y.'],
            observation_source: 'proxy',
            rcode: 3,
            qtypes: ['A'],
            rrtypes: ['A', 'AAAA'],
          },
        },
      },
    ],
    [
      'kafka',
      {
        l7: {
          type: 1,
          kafka: { error_code: -1, api_version: 2, api_key: 'produce', correlation_id: 7, topic: 't' },
        },
      },
    ],
    ['icmp', { l4: { ICMPv6: { type: 128, code: 0 } } }],
    [
      'two L4 variants stay in flow_extra',
      { l4: { UDP: { source_port: 1, destination_port: 2 }, SCTP: { source_port: 3, destination_port: 4 } } },
    ],
    ['a port above 65535', { l4: { UDP: { source_port: 70_000, destination_port: 2 } } }],
    ['a workload kind with a slash', { source: { workloads: [{ name: 'w', kind: 'a/b' }] } }],
    ['a service namespace with a slash', { source_service: { name: 's', namespace: 'a/b' } }],
    [
      'unknown enum numbers',
      { verdict: 99, Type: 9, traffic_direction: 7, auth_type: 5, drop_reason_desc: 9999, l7: { type: 9 } },
    ],
    [
      'a non-canonical source address',
      { IP: { source: '010.0.0.1', destination: '10.0.0.2', ipVersion: 1 } },
    ],
    ['a non-canonical uuid and nanos', { uuid: 'ABC', time: { seconds: 5n, nanos: -1 } }],
    ['a node name unlike the response', { node_name: 'other' }],
    ['a trace context without parent', { trace_context: {} }],
  ])('%s', (_, partial) => {
    expectSameRow(Flow.fromPartial({ ...base, ...partial } as never), 'kind/n1');
  });

  it('treats a repeated singular field as the generated codec does (last wins)', () => {
    const first = Flow.encode(
      Flow.fromPartial({ ...base, source: { namespace: 'a', labels: ['x'] } }),
    ).finish();
    const second = Flow.encode(Flow.fromPartial({ source: { namespace: 'b' } })).finish();
    const pb = Buffer.concat([first, second]);
    expectSameRow(Flow.decode(pb), 'kind/n1', pb);
  });

  it('keeps fields it does not know in flow_extra', () => {
    const pb = Buffer.concat([Flow.encode(base).finish(), Buffer.from([0xf8, 0x07, 0x2a])]); // field 127 varint 42
    const w = new RowBinaryWriter();
    encodeFromWire(w, meta(base, pb, 'n'));
    expect(w.take().subarray(-3).toString('hex')).toBe('f8072a');
  });
});
