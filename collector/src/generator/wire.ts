/**
 * @module Fast encoding of generated flows: a flow template's unchanging fields are encoded once with
 * ts-proto, and each flow only appends its own time, uuid and l4. Protobuf lets fields come in any order,
 * so the bytes decode to exactly the object (a test checks this). Shape written per flow:
 *
 *   GetFlowsResponse = 0x0a len Flow  |  node_name (1000)  |  time (1001)
 *   Flow             = time (1) | uuid (34) | <template bytes without time/uuid/l4> | l4 (6)
 *   Layer4           = TCP (1) {source_port 1, destination_port 2, flags 3 {FIN 1 … NS 9}} | UDP (2) {1, 2}
 *
 * Any other l4 (ICMP, SCTP…) falls back to ts-proto's encoder for that sub-message.
 */
import { Layer4, type TCPFlags } from '../../../proto/gen/flow/flow.js';

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 128) {
    buf[pos++] = (n & 127) | 128;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** Encoded bytes of a string field (tag, length, UTF-8), computed once per template. */
export function encodeStringField(fieldNumber: number, value: string): Uint8Array {
  const text = Buffer.from(value, 'utf8');
  const tag = fieldNumber * 8 + 2;
  const out = new Uint8Array(varintSize(tag) + varintSize(text.length) + text.length);
  let pos = writeVarint(out, 0, tag);
  pos = writeVarint(out, pos, text.length);
  out.set(text, pos);
  return out;
}

function timestampBodySize(seconds: number, nanos: number): number {
  return (seconds > 0 ? 1 + varintSize(seconds) : 0) + (nanos > 0 ? 1 + varintSize(nanos) : 0);
}

function writeTimestamp(buf: Uint8Array, pos: number, tag: number, seconds: number, nanos: number): number {
  pos = writeVarint(buf, pos, tag);
  pos = writeVarint(buf, pos, timestampBodySize(seconds, nanos));
  if (seconds > 0) {
    buf[pos++] = 0x08;
    pos = writeVarint(buf, pos, seconds);
  }
  if (nanos > 0) {
    buf[pos++] = 0x10;
    pos = writeVarint(buf, pos, nanos);
  }
  return pos;
}

const FLAG_FIELDS: readonly (keyof TCPFlags)[] = [
  'FIN',
  'SYN',
  'RST',
  'PSH',
  'ACK',
  'URG',
  'ECE',
  'CWR',
  'NS',
];

function flagsBodySize(flags: TCPFlags): number {
  let n = 0;
  for (const f of FLAG_FIELDS) if (flags[f]) n += 2;
  return n;
}

function portsSize(sport: number, dport: number): number {
  return (sport ? 1 + varintSize(sport) : 0) + (dport ? 1 + varintSize(dport) : 0);
}

const scratch = new Uint8Array(64);

/** The encoded Layer4 body (without its Flow tag/length), hand-written for TCP/UDP (a reused scratch view). */
function l4Body(l4: Layer4): Uint8Array {
  const tcp = l4.TCP;
  if (tcp) {
    const flagsSize = tcp.flags ? flagsBodySize(tcp.flags) : -1;
    const inner = portsSize(tcp.source_port, tcp.destination_port) + (flagsSize >= 0 ? 2 + flagsSize : 0);
    const out = scratch.subarray(0, 1 + varintSize(inner) + inner);
    out[0] = 0x0a;
    let pos = writeVarint(out, 1, inner);
    if (tcp.source_port) {
      out[pos++] = 0x08;
      pos = writeVarint(out, pos, tcp.source_port);
    }
    if (tcp.destination_port) {
      out[pos++] = 0x10;
      pos = writeVarint(out, pos, tcp.destination_port);
    }
    if (tcp.flags) {
      out[pos++] = 0x1a;
      out[pos++] = flagsSize;
      for (let i = 0; i < FLAG_FIELDS.length; i++) {
        if (tcp.flags[FLAG_FIELDS[i]!]) {
          out[pos++] = (i + 1) * 8;
          out[pos++] = 1;
        }
      }
    }
    return out;
  }
  const udp = l4.UDP;
  if (udp) {
    const inner = portsSize(udp.source_port, udp.destination_port);
    const out = scratch.subarray(0, 1 + varintSize(inner) + inner);
    out[0] = 0x12;
    let pos = writeVarint(out, 1, inner);
    if (udp.source_port) {
      out[pos++] = 0x08;
      pos = writeVarint(out, pos, udp.source_port);
    }
    if (udp.destination_port) {
      out[pos++] = 0x10;
      writeVarint(out, pos, udp.destination_port);
    }
    return out;
  }
  return Layer4.encode(l4).finish();
}

/** What stays the same across the flows of one template, pre-encoded. */
export interface EncodedTemplate {
  /** The Flow's bytes without time, uuid and l4. */
  readonly flowStatic: Uint8Array;
  /** GetFlowsResponse.node_name (field 1000), tag included. */
  readonly nodeNameField: Uint8Array;
}

/**
 * Encodes one GetFlowsResponse from a template and the per-flow values, in one allocation. `uuid` must
 * be ASCII (a UUID is); time is split into whole seconds (non-negative) and nanos.
 */
export function encodeFlowResponse(
  t: EncodedTemplate,
  seconds: number,
  nanos: number,
  uuid: string,
  l4: Layer4 | undefined,
): Uint8Array {
  const tsBody = timestampBodySize(seconds, nanos);
  const tsField1 = 1 + varintSize(tsBody) + tsBody;
  const uuidField = uuid.length ? 2 + 1 + uuid.length : 0;
  const l4b = l4 ? l4Body(l4) : undefined;
  const l4Field = l4b ? 1 + varintSize(l4b.length) + l4b.length : 0;
  const flowLen = tsField1 + uuidField + t.flowStatic.length + l4Field;
  const total = 1 + varintSize(flowLen) + flowLen + t.nodeNameField.length + 2 + varintSize(tsBody) + tsBody;
  const buf = Buffer.allocUnsafe(total);
  buf[0] = 0x0a;
  let pos = writeVarint(buf, 1, flowLen);
  pos = writeTimestamp(buf, pos, 0x0a, seconds, nanos);
  if (uuid.length) {
    buf[pos++] = 0x92;
    buf[pos++] = 0x02;
    buf[pos++] = uuid.length;
    pos += buf.write(uuid, pos, 'latin1');
  }
  buf.set(t.flowStatic, pos);
  pos += t.flowStatic.length;
  if (l4b) {
    buf[pos++] = 0x32;
    pos = writeVarint(buf, pos, l4b.length);
    buf.set(l4b, pos);
    pos += l4b.length;
  }
  buf.set(t.nodeNameField, pos);
  pos += t.nodeNameField.length;
  writeTimestamp(buf, pos, 8010, seconds, nanos);
  return buf;
}
