/**
 * Golden bytes: hand-built messages whose protobuf encoding is asserted byte for byte, so a wrong field
 * number, type or packing in proto/*.proto shows up here before it reaches a real Hubble peer.
 */
import { describe, expect, it } from 'vitest';
import { Flow, FlowFilter, IP, Layer4, Verdict } from '../gen/flow/flow.js';
import { ExportEvent, GetFlowsRequest, GetFlowsResponse } from '../gen/observer/observer.js';

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
const unhex = (text: string) => Uint8Array.from(text.split(' ').map((b) => Number.parseInt(b, 16)));
const UINT64_MAX = 18446744073709551615n;

describe('proto > wire', () => {
  it.each([
    {
      description: 'Flow.IP is field 5 (tag 0x2a); IP.ipVersion is varint field 3',
      bytes: Flow.encode(
        Flow.fromPartial({ IP: { source: '1.1.1.1', destination: '2.2.2.2', ipVersion: 1 } }),
      ).finish(),
      expected: '2a 14 0a 07 31 2e 31 2e 31 2e 31 12 07 32 2e 32 2e 32 2e 32 18 01',
    },
    {
      description: 'is_reply = false is a present, empty BoolValue at field 26',
      bytes: Flow.encode(Flow.fromPartial({ is_reply: false })).finish(),
      expected: 'd2 01 00',
    },
    {
      description: 'is_reply = true is BoolValue{value: true}',
      bytes: Flow.encode(Flow.fromPartial({ is_reply: true })).finish(),
      expected: 'd2 01 02 08 01',
    },
    {
      description: 'is_reply unset writes nothing; the deprecated plain reply is bool field 16',
      bytes: Flow.encode(Flow.fromPartial({ reply: true })).finish(),
      expected: '80 01 01',
    },
    {
      description: 'Summary is string field 100000 (three-byte tag)',
      bytes: Flow.encode(Flow.fromPartial({ Summary: 'x' })).finish(),
      expected: '82 ea 30 01 78',
    },
    {
      description: 'l4.TCP with flags.SYN: Layer4 field 6, TCP field 1, flags field 3, SYN field 2',
      bytes: Flow.encode(
        Flow.fromPartial({
          l4: { TCP: { source_port: 31793, destination_port: 8080, flags: { SYN: true } } },
        }),
      ).finish(),
      expected: '32 0d 0a 0b 08 b1 f8 01 10 90 3f 1a 02 10 01',
    },
    {
      description: 'the ICMPv4 oneof member is written even when empty (echo reply, type 0)',
      bytes: Layer4.encode(Layer4.fromPartial({ ICMPv4: {} })).finish(),
      expected: '1a 00',
    },
    {
      description: 'GetFlowsRequest.number = 2^64-1 (hubble observe --all) is a 10-byte varint',
      bytes: GetFlowsRequest.encode(GetFlowsRequest.fromPartial({ number: UINT64_MAX })).finish(),
      expected: '08 ff ff ff ff ff ff ff ff ff 01',
    },
    {
      description: 'repeated scalars and enums are packed, like Go packs them',
      bytes: FlowFilter.encode(
        FlowFilter.fromPartial({
          verdict: [Verdict.FORWARDED, Verdict.DROPPED],
          reply: [true, false],
          source_identity: [1, 16777217],
          ip_trace_id: [UINT64_MAX],
        }),
      ).finish(),
      expected: '2a 02 01 02 7a 02 01 00 9a 01 05 01 81 80 80 08 ba 02 0a ff ff ff ff ff ff ff ff ff 01',
    },
    {
      description: 'GetFlowsResponse.node_name is field 1000 and time field 1001',
      bytes: GetFlowsResponse.encode(
        GetFlowsResponse.fromPartial({ node_name: 'n', time: { seconds: 1n, nanos: 5 } }),
      ).finish(),
      expected: 'c2 3e 01 6e ca 3e 04 08 01 10 05',
    },
  ])('$description', ({ bytes, expected }) => {
    expect(hex(bytes)).toBe(expected);
  });

  it.each([
    {
      description: 'uint64 2^64-1 decodes as the exact BigInt',
      bytes: '08 ff ff ff ff ff ff ff ff ff 01',
      decode: (b: Uint8Array) => GetFlowsRequest.decode(b).number,
      expected: UINT64_MAX,
    },
    {
      description: 'unpacked repeated enums (allowed on the wire) decode like packed ones',
      bytes: '28 01 28 02',
      decode: (b: Uint8Array) => FlowFilter.decode(b).verdict,
      expected: [1, 2],
    },
    {
      description: 'fields in Go order (by number) decode like ts-proto order (by declaration)',
      bytes: '0a 07 31 2e 31 2e 31 2e 31 12 07 32 2e 32 2e 32 2e 32 2a 07 33 2e 33 2e 33 2e 33',
      decode: (b: Uint8Array) => IP.decode(b),
      expected: {
        source: '1.1.1.1',
        source_xlated: '3.3.3.3',
        destination: '2.2.2.2',
        ipVersion: 0,
        encrypted: false,
      },
    },
    {
      description: 'an empty BoolValue decodes as is_reply = false, not unset',
      bytes: 'd2 01 00',
      decode: (b: Uint8Array) => Flow.decode(b).is_reply,
      expected: false,
    },
    {
      description: 'an enum number unknown to the schema is kept as a bare number',
      bytes: '10 2a',
      decode: (b: Uint8Array) => Flow.decode(b).verdict,
      expected: 42,
    },
    {
      description: 'ExportEvent.agent_event (field 4) is recognised',
      bytes: '22 02 08 02',
      decode: (b: Uint8Array) => ExportEvent.decode(b).agent_event?.type,
      expected: 2,
    },
  ])('$description', ({ bytes, decode, expected }) => {
    expect(decode(unhex(bytes))).toEqual(expected);
  });
});
