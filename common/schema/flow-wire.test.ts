import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseLine } from '../../collector/src/sources/json-lines.ts';
import {
  DropReason,
  Flow,
  SocketTranslationPoint,
  TraceObservationPoint,
  TraceReason,
} from '../../proto/gen/flow/flow.ts';
import { enumName } from '../../proto/src/enums.ts';
import { RowBinaryWriter } from '../clickhouse/row-binary.ts';
import { contentFlowId, flowIdFromUuid } from '../flow/flow-id.ts';
import { timestampToNs } from '../flow/model.ts';
import { describeWithFixtures, hubbleFixtureFiles } from '../testing/fixtures.ts';
import { flowColumns, flowStructure } from './flow-row.ts';
import { encodeFlowRow, FlowWireError, peekFlow, wireFlow } from './flow-wire.ts';

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

/** One row's columns by name, decoded (strings, string arrays, numbers; IPv6 and FixedString as hex). */
function decodeRow(row: Buffer): Record<string, unknown> {
  const cols = columns(row);
  const out: Record<string, unknown> = {};
  const strings = (c: Buffer) => {
    const list: string[] = [];
    let p = 0;
    const varint = () => {
      let n = 0;
      let shift = 0;
      for (;;) {
        const b = c[p++]!;
        n += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) return n;
        shift += 7;
      }
    };
    const str = () => {
      const n = varint();
      p += n;
      return c.toString('utf8', p - n, p);
    };
    return { list, varint, str };
  };
  types.forEach((t, i) => {
    const c = cols[i]!;
    const name = flowColumns[i]!;
    if (t.startsWith('Array(')) {
      const r = strings(c);
      const n = r.varint();
      for (let k = 0; k < n; k++) r.list.push(r.str());
      out[name] = r.list;
    } else if (t === 'String') out[name] = strings(c).str();
    else if (t.startsWith('UInt64')) out[name] = c.readBigUInt64LE();
    else if (t === 'Int32') out[name] = c.readInt32LE();
    else if (t.startsWith('Enum8')) out[name] = c.readInt8();
    else if (t === 'UInt32' || t === 'UInt16' || t === 'Bool') out[name] = c.readUIntLE(0, c.length);
    else out[name] = c.toString('hex');
  });
  return out;
}

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

describeWithFixtures('common > schema > flow-wire > wireFlow (fixtures)', () => {
  const lines = hubbleFixtureFiles().flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));

  // `whole`: the row reuses the source's walk; `header`: the source read three fields, and the row
  // and the ends come from a walk of their own. Either way the same row and the same ends.
  it.each(['whole', 'header'] as const)(
    'walks the %s flow for the source, then gives the same row and ends on demand after other walks',
    (walk) => {
      const flows = lines
        .slice(0, 300)
        .map((l) => parseLine(l))
        .filter((ev) => ev.flow)
        .map((ev) => ({ flow: ev.flow!, pb: Flow.encode(ev.flow!).finish() }));
      const made = flows.map(({ pb }) => {
        const f = wireFlow(pb, '', 't', 7n, () => 5n, walk);
        // The row from the source's walk equals the row from a walk of its own.
        const reused = new RowBinaryWriter();
        encodeFlowRow(reused, f);
        peekFlow(flows[0]!.pb);
        const fresh = new RowBinaryWriter();
        encodeFlowRow(fresh, f);
        expect(reused.take()).toEqual(fresh.take());
        return f;
      });
      // Read long after: every flow's own ends, not the last walk's.
      for (let i = 0; i < flows.length; i++) {
        const { flow } = flows[i]!;
        const f = made[i]!;
        expect({
          timeNs: f.timeNs,
          flowId: Buffer.from(f.flowId),
          nodeName: f.nodeName,
          sourceIp: f.sourceIp,
          destinationIp: f.destinationIp,
          sourceLabels: f.sourceLabels,
          destinationLabels: f.destinationLabels,
        }).toEqual({
          timeNs: timestampToNs(flow.time) ?? 5n,
          flowId: Buffer.from(flow.uuid ? flowIdFromUuid(flow.uuid) : contentFlowId(flows[i]!.pb)),
          nodeName: flow.node_name,
          sourceIp: flow.IP?.source ?? '',
          destinationIp: flow.IP?.destination ?? '',
          sourceLabels: flow.source?.labels ?? [],
          destinationLabels: flow.destination?.labels ?? [],
        });
      }
    },
  );
});

describe('common > schema > flow-wire', () => {
  it.each([
    { description: 'canonical', uuid: '0b5c6a3e-2f3c-4f7e-9d1a-6c4b2a1e9f00' },
    { description: 'upper case', uuid: '0B5C6A3E-2F3C-4F7E-9D1A-6C4B2A1E9F00' },
    { description: 'no dashes', uuid: '0b5c6a3e2f3c4f7e9d1a6c4b2a1e9f00' },
    { description: 'not a uuid', uuid: 'flow-17' },
  ])('gives a source the flow id of its uuid ($description)', ({ uuid }) => {
    const pb = Flow.encode(Flow.fromPartial({ uuid, IP: { source: '10.0.0.1' } })).finish();
    for (const walk of ['whole', 'header'] as const)
      expect(Buffer.from(wireFlow(pb, 'n', 't', 1n, () => 1n, walk).flowId)).toEqual(
        Buffer.from(flowIdFromUuid(uuid)),
      );
  });

  it('gives each of 10,000 flows walked in a row its own id, still its own after the others', () => {
    // Ids are views into shared slabs of 4,096: none may overwrite another, across slabs too.
    const uuids = Array.from(
      { length: 10_000 },
      (_, i) => `0b5c6a3e-2f3c-4f7e-9d1a-${i.toString(16).padStart(12, '0')}`,
    );
    const ids = uuids.map(
      (uuid) => wireFlow(Flow.encode(Flow.fromPartial({ uuid })).finish(), 'n', 't', 1n, () => 1n).flowId,
    );
    for (let i = 0; i < uuids.length; i++) {
      expect(ids[i]!.length).toBe(16);
      expect(Buffer.from(ids[i]!)).toEqual(Buffer.from(flowIdFromUuid(uuids[i]!)));
    }
  });

  it.each(['whole', 'header'] as const)(
    'gives a flow without a uuid the digest of its bytes, and the fallback time (%s walk)',
    (walk) => {
      const pb = Flow.encode(Flow.fromPartial({ node_name: 'k8s/n1', IP: { source: '10.0.0.1' } })).finish();
      const f = wireFlow(pb, '', 't', 1n, () => 42n, walk);
      expect(Buffer.from(f.flowId)).toEqual(Buffer.from(contentFlowId(pb)));
      expect(f.timeNs).toBe(42n);
      expect(f.nodeName).toBe('k8s/n1');
    },
  );

  it('reads a header past a repeated time, node and uuid as the whole walk does (the last one wins)', () => {
    const a = Flow.encode(
      Flow.fromPartial({
        time: { seconds: 1, nanos: 2 },
        node_name: 'a',
        uuid: 'flow-a',
        IP: { source: '10.0.0.1' },
      }),
    ).finish();
    const b = Flow.encode(
      Flow.fromPartial({ time: { seconds: 3, nanos: 4 }, node_name: 'b', uuid: 'flow-b' }),
    ).finish();
    const pb = Buffer.concat([a, b]);
    const whole = wireFlow(pb, '', 't', 1n, () => 0n, 'whole');
    const header = wireFlow(pb, '', 't', 1n, () => 0n, 'header');
    expect([header.timeNs, header.nodeName, Buffer.from(header.flowId)]).toEqual([
      3_000_000_004n,
      'b',
      Buffer.from(flowIdFromUuid('flow-b')),
    ]);
    expect([whole.timeNs, whole.nodeName, Buffer.from(whole.flowId)]).toEqual([
      header.timeNs,
      header.nodeName,
      Buffer.from(header.flowId),
    ]);
    expect(header.sourceIp).toBe('10.0.0.1');
  });

  it('leaves a flow malformed inside a nested field to the row, which refuses it: a header walk reads past it', () => {
    // Field 8 (source endpoint) holding a truncated varint: the top level is sound.
    const bad = Buffer.concat([
      Flow.encode(Flow.fromPartial({ uuid: 'flow-x', node_name: 'n' })).finish(),
      Buffer.from([0x42, 0x02, 0x08, 0xff]),
    ]);
    expect(() => wireFlow(bad, '', 't', 1n, () => 0n, 'whole')).toThrow(FlowWireError);
    const f = wireFlow(bad, '', 't', 1n, () => 0n, 'header');
    expect(f.nodeName).toBe('n');
    const w = new RowBinaryWriter();
    expect(() => encodeFlowRow(w, f)).toThrow(FlowWireError);
    expect(w.length).toBe(0);
    // Truncated at the top level: the header walk refuses it too.
    expect(() => wireFlow(bad.subarray(0, bad.length - 3), '', 't', 1n, () => 0n, 'header')).toThrow(
      FlowWireError,
    );
  });

  it('keeps in flow_extra only the fields no column gives back, as they came', () => {
    const w = new RowBinaryWriter();
    encodeFlowRow(w, meta(Flow.encode(base).finish()));
    // Policies have lossy columns (labels, revision): they stay; everything else moved to columns.
    expect(Flow.decode(extraOf(w.take()))).toEqual(
      Flow.fromPartial({ egress_allowed_by: base.egress_allowed_by }),
    );
  });

  // Every field a column holds, each with a value of its own, so a wrong or swapped field number in
  // flow-wire.ts shows as a wrong column (Flow.encode is the generated codec: the .proto's numbers).
  // Restoring a row does not catch it: a message field read under the wrong number stays whole in
  // flow_extra and comes back from there, and the policy columns are not read back at all.
  const policy = (kind: string, namespace: string, name: string) => ({
    kind,
    namespace,
    name,
    labels: ['l'],
    revision: 1n,
  });
  const full = {
    emitter: { name: 'Hubble', version: '1.16' },
    verdict: 2,
    drop_reason: 131,
    drop_reason_desc: 133,
    auth_type: 1,
    Type: 2,
    event_type: { type: 4, sub_type: 3 },
    traffic_direction: 2,
    trace_observation_point: 101,
    trace_reason: 2,
    policy_match_type: 3,
    is_reply: true,
    IP: {
      source: '10.0.0.1',
      destination: '10.0.0.2',
      source_xlated: '10.0.0.3',
      ipVersion: 1,
      encrypted: true,
    },
    ethernet: { source: 'aa:bb', destination: 'cc:dd' },
    l4: { TCP: { source_port: 443, destination_port: 5000, flags: { SYN: true, ACK: true, NS: true } } },
    source: {
      ID: 9,
      identity: 1234,
      namespace: 'sns',
      labels: ['a=b'],
      pod_name: 'sp',
      workloads: [{ name: 'w', kind: 'Deployment' }],
      cluster_name: 'sc',
    },
    destination: {
      ID: 10,
      identity: 5678,
      namespace: 'dns',
      labels: ['c=d', 'e=f'],
      pod_name: 'dp',
      workloads: [{ name: 'w2', kind: 'Job' }],
      cluster_name: 'dc',
    },
    source_names: ['a.example'],
    destination_names: ['b.example', 'c.example'],
    node_labels: ['zone=a'],
    source_service: { name: 's', namespace: 'n' },
    destination_service: { name: 'd', namespace: 'm' },
    l7: {
      type: 2,
      latency_ns: 12_345_678_901n,
      http: {
        code: 200,
        method: 'GET',
        url: 'http://x/',
        protocol: 'HTTP/1.1',
        headers: [{ key: 'k', value: 'v' }],
      },
    },
    interface: { index: 3, name: 'eth0' },
    proxy_port: 8080,
    trace_context: { parent: { trace_id: 'abc' } },
    sock_xlate_point: 2,
    socket_cookie: 2n ** 63n + 5n,
    cgroup_id: 77n,
    Summary: 'TCP Flags: SYN',
    egress_allowed_by: [policy('K1', 'ns1', 'p1')],
    ingress_allowed_by: [policy('K2', '', 'p2')],
    egress_denied_by: [policy('K3', 'ns3', 'p3')],
    ingress_denied_by: [policy('K4', 'ns4', 'p4')],
  };
  const v4 = (s: string) =>
    `00000000000000000000ffff${Buffer.from(s.split('.').map(Number)).toString('hex')}`;
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    [
      'every top-level field',
      full,
      {
        emitter_name: 'Hubble',
        emitter_version: '1.16',
        verdict: 2,
        drop_reason: 131,
        drop_reason_desc: enumName(DropReason, 133),
        auth_type: 1,
        type: 2,
        event_type: 4,
        event_sub_type: 3,
        traffic_direction: 2,
        trace_observation_point: enumName(TraceObservationPoint, 101),
        trace_reason: enumName(TraceReason, 2),
        policy_match_type: 3,
        is_reply: 2,
        ip_version: 1,
        source_ip: v4('10.0.0.1'),
        destination_ip: v4('10.0.0.2'),
        source_xlated: v4('10.0.0.3'),
        ip_encrypted: 1,
        ethernet_source: 'aa:bb',
        ethernet_destination: 'cc:dd',
        l4_protocol: 1,
        source_port: 443,
        destination_port: 5000,
        tcp_flags: 2 | 16 | 256,
        source_id: 9,
        destination_id: 10,
        source_identity: 1234,
        destination_identity: 5678,
        source_cluster: 'sc',
        destination_cluster: 'dc',
        source_namespace: 'sns',
        destination_namespace: 'dns',
        source_pod: 'sp',
        destination_pod: 'dp',
        source_labels: ['a=b'],
        destination_labels: ['c=d', 'e=f'],
        source_workloads: ['Deployment/w'],
        destination_workloads: ['Job/w2'],
        source_names: ['a.example'],
        destination_names: ['b.example', 'c.example'],
        source_service: 'n/s',
        destination_service: 'm/d',
        node_labels: ['zone=a'],
        l7_type: 2,
        l7_protocol: 2,
        l7_latency_ns: 12_345_678_901n,
        http_code: 200,
        http_method: 'GET',
        http_url: 'http://x/',
        http_protocol: 'HTTP/1.1',
        http_header_keys: ['k'],
        http_header_values: ['v'],
        interface_name: 'eth0',
        interface_index: 3,
        proxy_port: 8080,
        sock_xlate_point: enumName(SocketTranslationPoint, 2),
        socket_cookie: 2n ** 63n + 5n,
        cgroup_id: 77n,
        trace_id: 'abc',
        egress_allowed_by: ['K1:ns1/p1'],
        ingress_allowed_by: ['K2:p2'],
        egress_denied_by: ['K3:ns3/p3'],
        ingress_denied_by: ['K4:ns4/p4'],
        summary: 'TCP Flags: SYN',
      },
    ],
    [
      'dns',
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
      {
        l7_type: 1,
        l7_protocol: 1,
        dns_query: 'x.',
        dns_rcode: 3,
        dns_ttl: 30,
        dns_ips: ['1.1.1.1'],
        dns_cnames: ['y.'],
        dns_observation_source: 'proxy',
        dns_qtypes: ['A'],
        dns_rrtypes: ['A', 'AAAA'],
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
      {
        l7_protocol: 3,
        kafka_topic: 't',
        kafka_api_key: 'produce',
        kafka_error_code: -1,
        kafka_api_version: 2,
        kafka_correlation_id: 7,
      },
    ],
    [
      'udp',
      { l4: { UDP: { source_port: 53, destination_port: 5353 } } },
      { l4_protocol: 2, source_port: 53, destination_port: 5353 },
    ],
    ['icmpv4', { l4: { ICMPv4: { type: 8, code: 1 } } }, { l4_protocol: 3, icmp_type: 8, icmp_code: 1 }],
    ['icmpv6', { l4: { ICMPv6: { type: 128, code: 2 } } }, { l4_protocol: 4, icmp_type: 128, icmp_code: 2 }],
    [
      'sctp',
      { l4: { SCTP: { source_port: 7, destination_port: 9 } } },
      { l4_protocol: 5, source_port: 7, destination_port: 9 },
    ],
    ['vrrp', { l4: { VRRP: { TTL: 1 } } }, { l4_protocol: 6 }],
    ['igmp', { l4: { IGMP: { type: 1 } } }, { l4_protocol: 7 }],
  ])('puts each field of %s in its column', (_, partial, expected) => {
    const flow = Flow.fromPartial({ ...base, egress_allowed_by: [], l7: undefined, ...partial } as never);
    const w = new RowBinaryWriter();
    encodeFlowRow(w, meta(Flow.encode(flow).finish()));
    const row = w.take();
    const got = decodeRow(row);
    expect(Object.fromEntries(Object.keys(expected).map((k) => [k, got[k]]))).toEqual(expected);
    // What no column gives back exactly stays in flow_extra, and nothing else: a column-held field
    // read under a wrong number would be kept there whole.
    // (VRRP and IGMP have no columns of their own, so their L4 stays too.)
    const l4 = flow.l4?.VRRP || flow.l4?.IGMP ? flow.l4 : undefined;
    expect(Flow.decode(extraOf(row))).toEqual(
      Flow.fromPartial({
        l4,
        egress_allowed_by: flow.egress_allowed_by,
        ingress_allowed_by: flow.ingress_allowed_by,
        egress_denied_by: flow.egress_denied_by,
        ingress_denied_by: flow.ingress_denied_by,
      }),
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
