/**
 * The fused hot path: a Flow's protobuf wire bytes go straight into one RowBinary row of `flows`
 * without a Flow object. One walk over the bytes records where each field lies (offsets into the
 * message, numbers in module-level scratch reused for every flow); the row is then written in
 * column order, strings copied byte for byte (protobuf and RowBinary both store a string as a
 * varint length and UTF-8). `flow_extra` is the message's own bytes minus the top-level fields the
 * columns give back exactly: the same decision flow-row.ts documents, per field, so restoring a row
 * still yields the Flow that was ingested (fields this code does not know are kept, not dropped).
 *
 * Decoding follows the generated codec's rules (proto/gen/flow/flow.ts): a singular message or
 * scalar seen twice keeps the last occurrence, a tag with an unexpected wire type is an unknown
 * field. A source walks each flow once (`wireFlow`): time, uuid and node come out of that walk, each
 * end's address and labels only when attribution asks, and `encodeFlowRow` writes the row from the
 * same walk when it is still current (the bytes it holds are the flow's), so no flow is walked twice.
 *
 * Not re-entrant: one flow at a time (Node runs one at a time).
 * @module
 */
import {
  DropReason,
  SocketTranslationPoint,
  TraceObservationPoint,
  TraceReason,
} from '../../proto/gen/flow/flow.ts';
import { type EnumObject, enumName } from '../../proto/src/enums.ts';
import { RowBinaryWriter } from '../clickhouse/row-binary.ts';
import {
  type AddressScope,
  type AttributionSource,
  addressScopes,
  attributionSources,
  type EndAttribution,
  type FlowAttribution,
  unattributed,
} from '../flow/attribution.ts';
import { contentFlowId, flowIdFromUuid } from '../flow/flow-id.ts';
import type { FlowRecord, IngestedFlow } from '../flow/model.ts';
import { dottedQuadAt, formatIpBytes, parseIpBytes } from '../net/ip.ts';
import { StoredField as F } from './stored-fields.ts';

/** Thrown for bytes that are not a Flow message (truncated, bad wire type, group). */
export class FlowWireError extends Error {}

// ---------------------------------------------------------------------------------------------
// Reading the wire. `buf`/`pos` are the message being read; `hi` is the high half of the last varint.

let buf: Buffer = Buffer.alloc(0);
let pos = 0;
/**
 * The message the scratch below holds a complete walk of (`readFlow`), or undefined: `encodeFlowRow`
 * of that same message then writes its row without walking it again. Every walk resets it first.
 */
let walked: Uint8Array | undefined;

/** The message as a Buffer view (no copy): its native slicing makes strings fast. */
const asBuffer = (pb: Uint8Array): Buffer =>
  Buffer.isBuffer(pb) ? pb : Buffer.from(pb.buffer, pb.byteOffset, pb.byteLength);
let hi = 0;

/** A varint's low 32 bits (unsigned); the high 32 bits go to `hi`. */
function varint(): number {
  let b = buf[pos++]!;
  if (b < 0x80) {
    hi = 0;
    return b;
  }
  let lo = b & 0x7f;
  let shift = 7;
  for (; shift < 28; shift += 7) {
    b = buf[pos++]!;
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) {
      hi = 0;
      return lo >>> 0;
    }
  }
  b = buf[pos++]!;
  lo |= (b & 0x0f) << 28;
  let h = (b & 0x7f) >> 4;
  if (b < 0x80) {
    hi = h;
    return lo >>> 0;
  }
  for (shift = 3; shift < 32; shift += 7) {
    b = buf[pos++]!;
    h |= (b & 0x7f) << shift;
    if (b < 0x80) {
      hi = h >>> 0;
      return lo >>> 0;
    }
  }
  throw new FlowWireError('varint longer than 10 bytes');
}

/** The end of a length-delimited field whose length comes next. */
function lengthEnd(limit: number): number {
  const n = varint();
  const end = pos + n;
  if (end > limit) throw new FlowWireError('truncated field');
  return end;
}

function skip(wireType: number, limit: number): void {
  switch (wireType) {
    case 0:
      varint();
      break;
    case 1:
      pos += 8;
      break;
    case 2:
      pos = lengthEnd(limit);
      break;
    case 5:
      pos += 4;
      break;
    default:
      throw new FlowWireError(`wire type ${wireType} not supported`);
  }
  if (pos > limit) throw new FlowWireError('truncated field');
}

// ---------------------------------------------------------------------------------------------
// Scratch: where each field of the current flow lies. Strings are slots of (start, end) offsets.

const S = {
  uuid: 0,
  emitterName: 1,
  emitterVersion: 2,
  ethSource: 3,
  ethDestination: 4,
  ipSource: 5,
  ipDestination: 6,
  ipXlated: 7,
  nodeName: 8,
  dnsQuery: 9,
  dnsObservation: 10,
  httpMethod: 11,
  httpUrl: 12,
  httpProtocol: 13,
  kafkaApiKey: 14,
  kafkaTopic: 15,
  ifName: 16,
  traceId: 17,
  summary: 18,
  srcSvcName: 19,
  srcSvcNs: 20,
  dstSvcName: 21,
  dstSvcNs: 22,
} as const;
const slotStart = new Int32Array(23);
const slotEnd = new Int32Array(23);

function readSlot(slot: number, limit: number): void {
  const end = lengthEnd(limit);
  slotStart[slot] = pos;
  slotEnd[slot] = end;
  pos = end;
}

const clearSlot = (slot: number) => {
  slotStart[slot] = 0;
  slotEnd[slot] = 0;
};

/** Items of `width` spans each (a label: 1; a workload: name, kind; a policy: kind, namespace, name). */
class SpanList {
  n = 0;
  a: Int32Array;
  readonly width: number;
  constructor(width: number) {
    this.width = width;
    this.a = new Int32Array(64 * width);
  }
  reset(): void {
    this.n = 0;
  }
  /** Appends an item from the slot-like pairs in `tmp` (start, end per span). */
  push(tmp: Int32Array): void {
    const w2 = this.width * 2;
    if ((this.n + 1) * w2 > this.a.length) {
      const next = new Int32Array(this.a.length * 2);
      next.set(this.a);
      this.a = next;
    }
    this.a.set(tmp.subarray(0, w2), this.n * w2);
    this.n++;
  }
  /** Appends one span. */
  push1(start: number, end: number): void {
    if ((this.n + 1) * 2 > this.a.length) {
      const next = new Int32Array(this.a.length * 2);
      next.set(this.a);
      this.a = next;
    }
    this.a[this.n * 2] = start;
    this.a[this.n * 2 + 1] = end;
    this.n++;
  }
}

function readToList(list: SpanList, limit: number): void {
  const end = lengthEnd(limit);
  list.push1(pos, end);
  pos = end;
}

const tmp = new Int32Array(6);

/** One Endpoint's fields. */
class EndpointScratch {
  present = false;
  exact = true;
  id = 0;
  identity = 0;
  ns = [0, 0];
  pod = [0, 0];
  cluster = [0, 0];
  labels = new SpanList(1);
  workloads = new SpanList(2);
}
const ends = [new EndpointScratch(), new EndpointScratch()] as const;

const sourceNames = new SpanList(1);
const destinationNames = new SpanList(1);
const nodeLabels = new SpanList(1);
const dnsIps = new SpanList(1);
const dnsCnames = new SpanList(1);
const dnsQtypes = new SpanList(1);
const dnsRrtypes = new SpanList(1);
const httpHeaders = new SpanList(2);
/** egress_allowed_by, ingress_allowed_by, egress_denied_by, ingress_denied_by: kind, namespace, name. */
const policies = [new SpanList(3), new SpanList(3), new SpanList(3), new SpanList(3)] as const;

/** Top-level fields seen, in wire order: start, end, and what decides whether flow_extra keeps it. */
let fieldSpans = new Int32Array(3 * 64);
let fieldCount = 0;
/** `fieldSpans` decision codes: keep, drop always (the columns are exact), or drop if this StoredField bit is set. */
const KEEP = 0;
const DROP = -1;

function recordField(start: number, end: number, code: number): void {
  if ((fieldCount + 1) * 3 > fieldSpans.length) {
    const next = new Int32Array(fieldSpans.length * 2);
    next.set(fieldSpans);
    fieldSpans = next;
  }
  fieldSpans[fieldCount * 3] = start;
  fieldSpans[fieldCount * 3 + 1] = end;
  fieldSpans[fieldCount * 3 + 2] = code;
  fieldCount++;
}

// Scalars of the current flow.
let timePresent = false;
let timeNanos = 0;
/** Flow.time.seconds as its low and high 32 bits (a BigInt only when a source asks for the time). */
let timeSecLo = 0;
let timeSecHi = 0;
let verdict = 0;
let dropReason = 0;
let authType = 0;
let ethernetPresent = false;
let ipPresent = false;
let ipVersion = 0;
let ipEncrypted = false;
let l4Present = false;
let tcp = false;
let udp = false;
let icmp4 = false;
let icmp6 = false;
let sctp = false;
let vrrp = false;
let igmp = false;
let tcpSport = 0;
let tcpDport = 0;
let tcpFlagsPresent = false;
let tcpFlags = 0;
let udpSport = 0;
let udpDport = 0;
let sctpSport = 0;
let sctpDport = 0;
let icmp4Type = 0;
let icmp4Code = 0;
let icmp6Type = 0;
let icmp6Code = 0;
let type = 0;
let l7Present = false;
let l7Type = 0;
let l7LatencyLo = 0;
let l7LatencyHi = 0;
let dns = false;
let http = false;
let kafka = false;
let dnsRcode = 0;
let dnsTtl = 0;
let httpCode = 0;
let kafkaErrorCode = 0;
let kafkaApiVersion = 0;
let kafkaCorrelationId = 0;
let eventTypePresent = false;
let eventType = 0;
let eventSubType = 0;
let srcSvcPresent = false;
let dstSvcPresent = false;
let trafficDirection = 0;
let policyMatchType = 0;
let observationPoint = 0;
let traceReason = 0;
let dropReasonDesc = 0;
/** 0 absent, 1 false, 2 true (the is_reply column's encoding). */
let isReply = 0;
let interfacePresent = false;
let ifIndex = 0;
let proxyPort = 0;
let traceParentPresent = false;
let sockXlatePoint = 0;
let cookieLo = 0;
let cookieHi = 0;
let cgroupLo = 0;
let cgroupHi = 0;
let emitterPresent = false;

function resetFlow(): void {
  slotStart.fill(0);
  slotEnd.fill(0);
  uuidCanonical = -1;
  fieldCount = 0;
  timePresent = false;
  timeNanos = 0;
  timeSecLo = timeSecHi = 0;
  verdict = 0;
  dropReason = 0;
  authType = 0;
  ethernetPresent = false;
  ipPresent = false;
  ipVersion = 0;
  ipEncrypted = false;
  resetL4();
  l4Present = false;
  type = 0;
  resetL7();
  l7Present = false;
  for (const e of ends) resetEndpoint(e, false);
  sourceNames.reset();
  destinationNames.reset();
  nodeLabels.reset();
  for (const p of policies) p.reset();
  eventTypePresent = false;
  eventType = 0;
  eventSubType = 0;
  srcSvcPresent = false;
  dstSvcPresent = false;
  trafficDirection = 0;
  policyMatchType = 0;
  observationPoint = 0;
  traceReason = 0;
  dropReasonDesc = 0;
  isReply = 0;
  interfacePresent = false;
  ifIndex = 0;
  proxyPort = 0;
  traceParentPresent = false;
  sockXlatePoint = 0;
  cookieLo = 0;
  cookieHi = 0;
  cgroupLo = 0;
  cgroupHi = 0;
  emitterPresent = false;
}

function resetEndpoint(e: EndpointScratch, present: boolean): void {
  e.present = present;
  e.exact = true;
  e.id = 0;
  e.identity = 0;
  e.ns[0] = e.ns[1] = e.pod[0] = e.pod[1] = e.cluster[0] = e.cluster[1] = 0;
  e.labels.reset();
  e.workloads.reset();
}

function resetL4(): void {
  tcp = udp = icmp4 = icmp6 = sctp = vrrp = igmp = false;
  tcpSport = tcpDport = tcpFlags = udpSport = udpDport = sctpSport = sctpDport = 0;
  icmp4Type = icmp4Code = icmp6Type = icmp6Code = 0;
  tcpFlagsPresent = false;
}

function resetL7(): void {
  l7Type = l7LatencyLo = l7LatencyHi = 0;
  dns = http = kafka = false;
  resetDns();
  resetHttp();
  resetKafka();
}

function resetDns(): void {
  clearSlot(S.dnsQuery);
  clearSlot(S.dnsObservation);
  dnsIps.reset();
  dnsCnames.reset();
  dnsQtypes.reset();
  dnsRrtypes.reset();
  dnsRcode = dnsTtl = 0;
}

function resetHttp(): void {
  httpCode = 0;
  clearSlot(S.httpMethod);
  clearSlot(S.httpUrl);
  clearSlot(S.httpProtocol);
  httpHeaders.reset();
}

function resetKafka(): void {
  kafkaErrorCode = kafkaApiVersion = kafkaCorrelationId = 0;
  clearSlot(S.kafkaApiKey);
  clearSlot(S.kafkaTopic);
}

// ---------------------------------------------------------------------------------------------
// Nested messages: each reads up to `end` and leaves `pos` there.

function readPair(end: number, a: number, b: number): void {
  clearSlot(a);
  clearSlot(b);
  while (pos < end) {
    const tag = varint();
    if (tag === 10) readSlot(a, end);
    else if (tag === 18) readSlot(b, end);
    else skip(tag & 7, end);
  }
}

function readTimestamp(end: number): void {
  timePresent = true;
  timeNanos = 0;
  timeSecLo = timeSecHi = 0;
  while (pos < end) {
    const tag = varint();
    if (tag === 8) {
      timeSecLo = varint();
      timeSecHi = hi;
    } else if (tag === 16) timeNanos = varint() | 0;
    else skip(tag & 7, end);
  }
}

function readIp(end: number): void {
  ipPresent = true;
  ipVersion = 0;
  ipEncrypted = false;
  clearSlot(S.ipSource);
  clearSlot(S.ipDestination);
  clearSlot(S.ipXlated);
  while (pos < end) {
    const tag = varint();
    if (tag === 10) readSlot(S.ipSource, end);
    else if (tag === 18) readSlot(S.ipDestination, end);
    else if (tag === 24) ipVersion = varint() | 0;
    else if (tag === 32) ipEncrypted = varint() !== 0 || hi !== 0;
    else if (tag === 42) readSlot(S.ipXlated, end);
    else skip(tag & 7, end);
  }
}

/** A message of two uint32 fields (UDP/SCTP ports, ICMP type and code); results in `pairA`/`pairB`. */
let pairA = 0;
let pairB = 0;
function readUint32Pair(end: number): void {
  pairA = pairB = 0;
  while (pos < end) {
    const tag = varint();
    if (tag === 8) pairA = varint();
    else if (tag === 16) pairB = varint();
    else skip(tag & 7, end);
  }
}

function readTcpFlags(end: number): void {
  tcpFlagsPresent = true;
  tcpFlags = 0;
  while (pos < end) {
    const tag = varint();
    const field = tag >>> 3;
    if ((tag & 7) === 0 && field >= 1 && field <= 9) {
      const bit = 1 << (field - 1);
      const v = varint() !== 0 || hi !== 0;
      tcpFlags = v ? tcpFlags | bit : tcpFlags & ~bit;
    } else skip(tag & 7, end);
  }
}

function readTcp(end: number): void {
  tcp = true;
  tcpSport = tcpDport = tcpFlags = 0;
  tcpFlagsPresent = false;
  while (pos < end) {
    const tag = varint();
    if (tag === 8) tcpSport = varint();
    else if (tag === 16) tcpDport = varint();
    else if (tag === 26) readTcpFlags(lengthEnd(end));
    else skip(tag & 7, end);
  }
}

function readL4(end: number): void {
  l4Present = true;
  resetL4();
  while (pos < end) {
    const tag = varint();
    switch (tag) {
      case 10:
        readTcp(lengthEnd(end));
        break;
      case 18:
        udp = true;
        readUint32Pair(lengthEnd(end));
        udpSport = pairA;
        udpDport = pairB;
        break;
      case 26:
        icmp4 = true;
        readUint32Pair(lengthEnd(end));
        icmp4Type = pairA;
        icmp4Code = pairB;
        break;
      case 34:
        icmp6 = true;
        readUint32Pair(lengthEnd(end));
        icmp6Type = pairA;
        icmp6Code = pairB;
        break;
      case 42:
        sctp = true;
        readUint32Pair(lengthEnd(end));
        sctpSport = pairA;
        sctpDport = pairB;
        break;
      case 50:
        vrrp = true;
        pos = lengthEnd(end);
        break;
      case 58:
        igmp = true;
        pos = lengthEnd(end);
        break;
      default:
        skip(tag & 7, end);
    }
  }
}

function hasByte(start: number, end: number, byte: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] === byte) return true;
  return false;
}

function readWorkload(e: EndpointScratch, end: number): void {
  tmp[0] = tmp[1] = tmp[2] = tmp[3] = 0;
  while (pos < end) {
    const tag = varint();
    if (tag === 10 || tag === 18) {
      const e2 = lengthEnd(end);
      const at = tag === 10 ? 0 : 2;
      tmp[at] = pos;
      tmp[at + 1] = e2;
      pos = e2;
    } else skip(tag & 7, end);
  }
  // A kind holding '/' would not survive the "kind/name" column.
  if (hasByte(tmp[2]!, tmp[3]!, 0x2f)) e.exact = false;
  e.workloads.push(tmp);
}

function readSpanInto(arr: number[], end: number): void {
  const e2 = lengthEnd(end);
  arr[0] = pos;
  arr[1] = e2;
  pos = e2;
}

function readEndpoint(e: EndpointScratch, end: number): void {
  resetEndpoint(e, true);
  while (pos < end) {
    const tag = varint();
    switch (tag) {
      case 8:
        e.id = varint();
        break;
      case 16:
        e.identity = varint();
        break;
      case 26:
        readSpanInto(e.ns, end);
        break;
      case 34:
        readToList(e.labels, end);
        break;
      case 42:
        readSpanInto(e.pod, end);
        break;
      case 50:
        readWorkload(e, lengthEnd(end));
        break;
      case 58:
        readSpanInto(e.cluster, end);
        break;
      default:
        skip(tag & 7, end);
    }
  }
}

function readDns(end: number): void {
  dns = true;
  resetDns();
  while (pos < end) {
    const tag = varint();
    switch (tag) {
      case 10:
        readSlot(S.dnsQuery, end);
        break;
      case 18:
        readToList(dnsIps, end);
        break;
      case 24:
        dnsTtl = varint();
        break;
      case 34:
        readToList(dnsCnames, end);
        break;
      case 42:
        readSlot(S.dnsObservation, end);
        break;
      case 48:
        dnsRcode = varint();
        break;
      case 58:
        readToList(dnsQtypes, end);
        break;
      case 66:
        readToList(dnsRrtypes, end);
        break;
      default:
        skip(tag & 7, end);
    }
  }
}

function readHttp(end: number): void {
  http = true;
  resetHttp();
  while (pos < end) {
    const tag = varint();
    switch (tag) {
      case 8:
        httpCode = varint();
        break;
      case 18:
        readSlot(S.httpMethod, end);
        break;
      case 26:
        readSlot(S.httpUrl, end);
        break;
      case 34:
        readSlot(S.httpProtocol, end);
        break;
      case 42: {
        const e2 = lengthEnd(end);
        tmp[0] = tmp[1] = tmp[2] = tmp[3] = 0;
        while (pos < e2) {
          const t = varint();
          if (t === 10 || t === 18) {
            const e3 = lengthEnd(e2);
            const at = t === 10 ? 0 : 2;
            tmp[at] = pos;
            tmp[at + 1] = e3;
            pos = e3;
          } else skip(t & 7, e2);
        }
        httpHeaders.push(tmp);
        break;
      }
      default:
        skip(tag & 7, end);
    }
  }
}

function readKafka(end: number): void {
  kafka = true;
  resetKafka();
  while (pos < end) {
    const tag = varint();
    switch (tag) {
      case 8:
        kafkaErrorCode = varint() | 0;
        break;
      case 16:
        kafkaApiVersion = varint() | 0;
        break;
      case 26:
        readSlot(S.kafkaApiKey, end);
        break;
      case 32:
        kafkaCorrelationId = varint() | 0;
        break;
      case 42:
        readSlot(S.kafkaTopic, end);
        break;
      default:
        skip(tag & 7, end);
    }
  }
}

function readL7(end: number): void {
  l7Present = true;
  resetL7();
  while (pos < end) {
    const tag = varint();
    switch (tag) {
      case 8:
        l7Type = varint() | 0;
        break;
      case 16:
        l7LatencyLo = varint();
        l7LatencyHi = hi;
        break;
      case 802:
        readDns(lengthEnd(end));
        break;
      case 810:
        readHttp(lengthEnd(end));
        break;
      case 818:
        readKafka(lengthEnd(end));
        break;
      default:
        skip(tag & 7, end);
    }
  }
}

function readEventType(end: number): void {
  eventTypePresent = true;
  eventType = eventSubType = 0;
  while (pos < end) {
    const tag = varint();
    if (tag === 8) eventType = varint() | 0;
    else if (tag === 16) eventSubType = varint() | 0;
    else skip(tag & 7, end);
  }
}

function readBoolValue(end: number): boolean {
  let v = false;
  while (pos < end) {
    const tag = varint();
    if (tag === 8) v = varint() !== 0 || hi !== 0;
    else skip(tag & 7, end);
  }
  return v;
}

function readInterface(end: number): void {
  interfacePresent = true;
  ifIndex = 0;
  clearSlot(S.ifName);
  while (pos < end) {
    const tag = varint();
    if (tag === 8) ifIndex = varint();
    else if (tag === 18) readSlot(S.ifName, end);
    else skip(tag & 7, end);
  }
}

function readTraceContext(end: number): void {
  traceParentPresent = false;
  clearSlot(S.traceId);
  while (pos < end) {
    const tag = varint();
    if (tag === 10) {
      traceParentPresent = true;
      const e2 = lengthEnd(end);
      clearSlot(S.traceId);
      while (pos < e2) {
        const t = varint();
        if (t === 10) readSlot(S.traceId, e2);
        else skip(t & 7, e2);
      }
    } else skip(tag & 7, end);
  }
}

function readPolicy(list: SpanList, end: number): void {
  // Stored as kind, namespace, name (the "kind:namespace/name" column).
  tmp.fill(0);
  while (pos < end) {
    const tag = varint();
    if (tag === 10 || tag === 18 || tag === 42) {
      const e2 = lengthEnd(end);
      const at = tag === 42 ? 0 : tag === 18 ? 2 : 4;
      tmp[at] = pos;
      tmp[at + 1] = e2;
      pos = e2;
    } else skip(tag & 7, end);
  }
  list.push(tmp);
}

/** Points the reader at a new message; no walk of it is complete yet. */
function beginWalk(pb: Uint8Array): void {
  walked = undefined;
  buf = asBuffer(pb);
  pos = 0;
}

/** Walks the whole Flow message. */
function readFlow(pb: Uint8Array): void {
  beginWalk(pb);
  resetFlow();
  const end = pb.length;
  while (pos < end) {
    const start = pos;
    const tag = varint();
    let code = KEEP;
    switch (tag) {
      case 10:
        readTimestamp(lengthEnd(end));
        code = F.time;
        break;
      case 16:
        verdict = varint() | 0;
        code = F.verdict;
        break;
      case 24:
        dropReason = varint();
        code = DROP;
        break;
      case 34:
        ethernetPresent = true;
        readPair(lengthEnd(end), S.ethSource, S.ethDestination);
        code = F.ethernet;
        break;
      case 42:
        readIp(lengthEnd(end));
        code = F.ip;
        break;
      case 50:
        readL4(lengthEnd(end));
        code = F.l4;
        break;
      case 66:
        readEndpoint(ends[0], lengthEnd(end));
        code = F.source;
        break;
      case 74:
        readEndpoint(ends[1], lengthEnd(end));
        code = F.destination;
        break;
      case 80:
        type = varint() | 0;
        code = F.type;
        break;
      case 90:
        readSlot(S.nodeName, end);
        code = F.nodeName;
        break;
      case 106:
        readToList(sourceNames, end);
        code = DROP;
        break;
      case 114:
        readToList(destinationNames, end);
        code = DROP;
        break;
      case 122:
        readL7(lengthEnd(end));
        code = F.l7;
        break;
      case 154:
        readEventType(lengthEnd(end));
        code = F.eventType;
        break;
      case 162:
        srcSvcPresent = true;
        readPair(lengthEnd(end), S.srcSvcName, S.srcSvcNs);
        code = F.sourceService;
        break;
      case 170:
        dstSvcPresent = true;
        readPair(lengthEnd(end), S.dstSvcName, S.dstSvcNs);
        code = F.destinationService;
        break;
      case 176:
        trafficDirection = varint() | 0;
        code = F.trafficDirection;
        break;
      case 184:
        policyMatchType = varint();
        code = DROP;
        break;
      case 192:
        observationPoint = varint() | 0;
        code = DROP;
        break;
      case 200:
        dropReasonDesc = varint() | 0;
        code = DROP;
        break;
      case 210:
        isReply = readBoolValue(lengthEnd(end)) ? 2 : 1;
        code = DROP;
        break;
      case 226:
        readInterface(lengthEnd(end));
        code = F.interface;
        break;
      case 232:
        proxyPort = varint();
        code = DROP;
        break;
      case 242:
        readTraceContext(lengthEnd(end));
        code = F.traceContext;
        break;
      case 248:
        sockXlatePoint = varint() | 0;
        code = DROP;
        break;
      case 256:
        cookieLo = varint();
        cookieHi = hi;
        code = DROP;
        break;
      case 264:
        cgroupLo = varint();
        cgroupHi = hi;
        code = DROP;
        break;
      case 274:
        readSlot(S.uuid, end);
        code = F.uuid;
        break;
      case 280:
        authType = varint() | 0;
        code = F.authType;
        break;
      case 288:
        traceReason = varint() | 0;
        code = DROP;
        break;
      case 298:
        readToList(nodeLabels, end);
        code = DROP;
        break;
      case 330:
        emitterPresent = true;
        readPair(lengthEnd(end), S.emitterName, S.emitterVersion);
        code = F.emitter;
        break;
      case 168010:
        readPolicy(policies[0], lengthEnd(end));
        break;
      case 168018:
        readPolicy(policies[1], lengthEnd(end));
        break;
      case 168034:
        readPolicy(policies[2], lengthEnd(end));
        break;
      case 168042:
        readPolicy(policies[3], lengthEnd(end));
        break;
      case 800002:
        readSlot(S.summary, end);
        code = DROP;
        break;
      default:
        skip(tag & 7, end);
    }
    if (pos > end) throw new FlowWireError('truncated flow');
    recordField(start, pos, code);
  }
  walked = pb;
}

/**
 * Reads only the top-level fields a source needs of a flow it passes on without encoding a row
 * (time, node name, uuid), skipping every other field whole: no nested message is walked. The
 * scratch then holds no complete walk (`walked` stays unset), so the row encoder, or attribution
 * asking for an address, walks the message in full when it needs to. Nested fields are not
 * checked here: bytes malformed inside a nested message are found by that later walk.
 */
function readHeader(pb: Uint8Array): void {
  beginWalk(pb);
  clearSlot(S.nodeName);
  clearSlot(S.uuid);
  uuidCanonical = -1;
  timePresent = false;
  timeNanos = 0;
  timeSecLo = timeSecHi = 0;
  const end = pb.length;
  while (pos < end) {
    const tag = varint();
    if (tag === 10) readTimestamp(lengthEnd(end));
    else if (tag === 90) readSlot(S.nodeName, end);
    else if (tag === 274) readSlot(S.uuid, end);
    else skip(tag & 7, end);
    if (pos > end) throw new FlowWireError('truncated flow');
  }
}

// ---------------------------------------------------------------------------------------------
// Strings out of the message (only the few checks and enrichment need).

function text(start: number, end: number): string {
  // Invalid UTF-8 becomes U+FFFD, as the generated codec's TextDecoder does.
  return start === end ? '' : buf.toString('utf8', start, end);
}

const slotText = (slot: number) => text(slotStart[slot]!, slotEnd[slot]!);

function slotEquals(slot: number, s: string): boolean {
  const start = slotStart[slot]!;
  const len = slotEnd[slot]! - start;
  if (len !== s.length) return s.length > len && slotText(slot) === s;
  for (let i = 0; i < len; i++) {
    const c = buf[start + i]!;
    if (c >= 0x80) return slotText(slot) === s;
    if (c !== s.charCodeAt(i)) return false;
  }
  return true;
}

const hexDigit = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);

/**
 * Whether the walked flow's uuid is canonical (`canonicalUuid`), asked by both the flow id and the
 * row: checked once per walk. -1: not yet; 0 / 1: the answer. `resetFlow` resets it with the slots.
 */
let uuidCanonical = -1;
function walkedUuidCanonical(): boolean {
  if (uuidCanonical < 0) uuidCanonical = canonicalUuid(slotStart[S.uuid]!, slotEnd[S.uuid]!) ? 1 : 0;
  return uuidCanonical === 1;
}

/** The canonical lower-case 8-4-4-4-12 form (the flow_id column gives only that back). */
function canonicalUuid(start: number, end: number): boolean {
  if (end - start !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = buf[start + i]!;
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 0x2d) return false;
    } else if (!hexDigit(c)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The row.

/** Enum name for a column: '' for 0 (protojson omits it), digits for numbers a newer Cilium added. */
const enumNames =
  (e: EnumObject) =>
  (v: number): string =>
    v === 0 ? '' : enumName(e, v);

const dropReasonName = enumNames(DropReason);
const observationPointName = enumNames(TraceObservationPoint);
const traceReasonName = enumNames(TraceReason);
const xlatePointName = enumNames(SocketTranslationPoint);

const sourceCodes = new Map<AttributionSource, number>(attributionSources.map((v, i) => [v, i]));
const scopeCodes = new Map<AddressScope, number>(addressScopes.map((v, i) => [v, i]));

const inRange = (v: number, max: number) => v >= 0 && v <= max;
const enumValue = (v: number, max: number) => (inRange(v, max) ? v : 0);

/** The three address columns of the row being encoded. */
const addresses = [new Uint8Array(16), new Uint8Array(16), new Uint8Array(16)] as const;

/**
 * Parses the address in `slot` into `out` (`::` for none or an unparseable one) and says whether
 * the column gives the text back exactly: '' is stored as `::`, so `::` itself is not; dotted
 * quads are read from the message's bytes (no string) and are exact unless written with leading
 * zeros; IPv6 text must be the RFC 5952 form.
 */
function addressColumn(slot: number, out: Uint8Array): boolean {
  const start = slotStart[slot]!;
  const end = slotEnd[slot]!;
  if (end === start) {
    out.fill(0);
    return true;
  }
  const v4 = dottedQuadAt(buf, start, end, out);
  if (v4 !== 0) return v4 === 1;
  // Not a dotted quad: IPv6, or text no parser takes (IPv4 text has one rule, dottedQuadAt's).
  const s = slotText(slot);
  if (!s.includes(':') || !parseIpBytes(s, out)) {
    out.fill(0);
    return false;
  }
  return s !== '::' && formatIpBytes(out) === s;
}

function slotColumn(w: RowBinaryWriter, slot: number): void {
  w.utf8(buf, slotStart[slot]!, slotEnd[slot]!);
}

function spanColumn(w: RowBinaryWriter, span: readonly number[]): void {
  w.utf8(buf, span[0]!, span[1]!);
}

function listColumn(w: RowBinaryWriter, list: SpanList): void {
  w.varUInt(list.n);
  const a = list.a;
  const step = list.width * 2;
  for (let i = 0; i < list.n; i++) w.utf8(buf, a[i * step]!, a[i * step + 1]!);
}

/** Column `off` of a two-span list (header values, …). */
function listColumnAt(w: RowBinaryWriter, list: SpanList, span: number): void {
  w.varUInt(list.n);
  const a = list.a;
  const step = list.width * 2;
  for (let i = 0; i < list.n; i++) w.utf8(buf, a[i * step + span * 2]!, a[i * step + span * 2 + 1]!);
}

/** "a<sep>b" from two spans. */
function joined(w: RowBinaryWriter, a0: number, a1: number, sep: number, b0: number, b1: number): void {
  w.varUInt(a1 - a0 + 1 + b1 - b0);
  w.raw(buf, a0, a1);
  w.uint8(sep);
  w.raw(buf, b0, b1);
}

/** Workloads as "kind/name". */
function workloadsColumn(w: RowBinaryWriter, e: EndpointScratch): void {
  const list = e.workloads;
  w.varUInt(list.n);
  const a = list.a;
  for (let i = 0; i < list.n; i++) joined(w, a[i * 4 + 2]!, a[i * 4 + 3]!, 0x2f, a[i * 4]!, a[i * 4 + 1]!);
}

/** Policies as "kind:namespace/name", or "kind:name" without a namespace. */
function policyColumn(w: RowBinaryWriter, list: SpanList): void {
  w.varUInt(list.n);
  const a = list.a;
  for (let i = 0; i < list.n; i++) {
    const k0 = a[i * 6]!;
    const k1 = a[i * 6 + 1]!;
    const n0 = a[i * 6 + 2]!;
    const n1 = a[i * 6 + 3]!;
    const m0 = a[i * 6 + 4]!;
    const m1 = a[i * 6 + 5]!;
    if (n1 === n0) joined(w, k0, k1, 0x3a, m0, m1);
    else {
      w.varUInt(k1 - k0 + 1 + n1 - n0 + 1 + m1 - m0);
      w.raw(buf, k0, k1);
      w.uint8(0x3a);
      w.raw(buf, n0, n1);
      w.uint8(0x2f);
      w.raw(buf, m0, m1);
    }
  }
}

function serviceColumn(w: RowBinaryWriter, present: boolean, name: number, ns: number): void {
  if (!present) w.uint8(0);
  else joined(w, slotStart[ns]!, slotEnd[ns]!, 0x2f, slotStart[name]!, slotEnd[name]!);
}

/** One end's ten attribution columns from its strings (the other way: `RowAttribution`). */
export function writeEndAttribution(w: RowBinaryWriter, a: EndAttribution): void {
  w.string(a.tenant);
  w.string(a.account);
  w.string(a.namespace);
  w.string(a.job);
  w.string(a.group);
  w.string(a.allocId);
  w.string(a.allocName);
  w.string(a.node);
  w.int8(sourceCodes.get(a.source) ?? 0);
  w.int8(scopeCodes.get(a.scope) ?? 0);
}

/**
 * The attribution columns of a flow nobody attributed (both ends `unattributed`, no conflict), written
 * once: 21 columns copied as bytes instead of 21 writes per flow.
 */
const noAttribution = (() => {
  const w = new RowBinaryWriter(64);
  writeEndAttribution(w, unattributed);
  writeEndAttribution(w, unattributed);
  w.string('');
  return w.take();
})();

/** Which fields move into columns, from what the walk found. */
function storedFields(nodeName: string, ipExact: boolean): number {
  let stored = 0;
  if (timePresent && inRange(timeNanos, 999_999_999)) stored |= F.time;
  if (walkedUuidCanonical()) stored |= F.uuid;
  if (inRange(verdict, 7)) stored |= F.verdict;
  if (inRange(authType, 2)) stored |= F.authType;
  if (ethernetPresent) stored |= F.ethernet;
  if (ipPresent && inRange(ipVersion, 2) && ipExact) stored |= F.ip;
  if (l4Present) {
    const variants = (tcp ? 1 : 0) + (udp ? 1 : 0) + (icmp4 ? 1 : 0) + (icmp6 ? 1 : 0) + (sctp ? 1 : 0);
    const sp = tcp ? tcpSport : udp ? udpSport : sctp ? sctpSport : 0;
    const dp = tcp ? tcpDport : udp ? udpDport : sctp ? sctpDport : 0;
    if (variants <= 1 && !vrrp && !igmp && sp <= 0xffff && dp <= 0xffff) {
      stored |= F.l4;
      if (tcp && tcpFlagsPresent) stored |= F.tcpFlags;
    }
  }
  if (ends[0].present && ends[0].exact) stored |= F.source;
  if (ends[1].present && ends[1].exact) stored |= F.destination;
  if (inRange(type, 3)) stored |= F.type;
  if (slotEquals(S.nodeName, nodeName)) stored |= F.nodeName;
  if (eventTypePresent) stored |= F.eventType;
  if (srcSvcPresent && !hasByte(slotStart[S.srcSvcNs]!, slotEnd[S.srcSvcNs]!, 0x2f))
    stored |= F.sourceService;
  if (dstSvcPresent && !hasByte(slotStart[S.dstSvcNs]!, slotEnd[S.dstSvcNs]!, 0x2f))
    stored |= F.destinationService;
  if (inRange(trafficDirection, 2)) stored |= F.trafficDirection;
  if (l7Present && inRange(l7Type, 3) && (dns ? 1 : 0) + (http ? 1 : 0) + (kafka ? 1 : 0) <= 1)
    stored |= F.l7;
  if (interfacePresent) stored |= F.interface;
  if (emitterPresent) stored |= F.emitter;
  if (traceParentPresent) stored |= F.traceContext;
  return stored;
}

/**
 * Writes a row's attribution columns (each end's ten, then `attribution_conflict`) in place of
 * `FlowRecord.attribution`'s strings: the Kafka writer copies them from the message's bytes.
 * Must not throw.
 */
export interface RowAttribution {
  writeAttribution(w: RowBinaryWriter): void;
}

/**
 * Appends one flow as a row of `flows` (columns in flow-row.ts's `flowStructure` order), its
 * attribution from `rowAttribution` when given, else from `f.attribution`. Throws FlowWireError,
 * with nothing appended, when `f.pb` is not a Flow message.
 */
export function encodeFlowRow(w: RowBinaryWriter, f: FlowRecord, rowAttribution?: RowAttribution): void {
  if (walked !== f.pb) readFlow(f.pb);
  const [srcIp, dstIp, xlatedIp] = addresses;
  // All three parsed, whatever the first gives: each column is written.
  const srcExact = addressColumn(S.ipSource, srcIp);
  const dstExact = addressColumn(S.ipDestination, dstIp);
  const ipExact = addressColumn(S.ipXlated, xlatedIp) && srcExact && dstExact;
  const stored = storedFields(f.nodeName, ipExact);
  const src = ends[0];
  const dst = ends[1];
  w.dateTime64ns(f.timeNs);
  w.fixed(f.flowId, 16);
  w.uint32(stored);
  w.string(f.nodeName);
  const slash = f.nodeName.indexOf('/');
  w.string(slash > 0 ? f.nodeName.slice(0, slash) : '');
  slotColumn(w, S.emitterName);
  slotColumn(w, S.emitterVersion);
  w.int8(enumValue(verdict, 7));
  w.uint32(dropReason);
  w.string(dropReasonName(dropReasonDesc));
  w.int8(enumValue(authType, 2));
  w.int8(enumValue(type, 3));
  w.int32(eventType);
  w.int32(eventSubType);
  w.int8(enumValue(trafficDirection, 2));
  w.string(observationPointName(observationPoint));
  w.string(traceReasonName(traceReason));
  w.uint32(policyMatchType);
  w.int8(isReply);
  w.int8(enumValue(ipVersion, 2));
  w.ipv6Bytes(srcIp);
  w.ipv6Bytes(dstIp);
  w.ipv6Bytes(xlatedIp);
  w.bool(ipEncrypted);
  slotColumn(w, S.ethSource);
  slotColumn(w, S.ethDestination);
  let proto = 0;
  let sport = 0;
  let dport = 0;
  let icmpType = 0;
  let icmpCode = 0;
  if (tcp) {
    proto = 1;
    sport = tcpSport;
    dport = tcpDport;
  } else if (udp) {
    proto = 2;
    sport = udpSport;
    dport = udpDport;
  } else if (icmp4) {
    proto = 3;
    icmpType = icmp4Type;
    icmpCode = icmp4Code;
  } else if (icmp6) {
    proto = 4;
    icmpType = icmp6Type;
    icmpCode = icmp6Code;
  } else if (sctp) {
    proto = 5;
    sport = sctpSport;
    dport = sctpDport;
  } else if (vrrp) proto = 6;
  else if (igmp) proto = 7;
  w.int8(proto);
  w.uint16(sport);
  w.uint16(dport);
  w.uint16(tcp ? tcpFlags : 0);
  w.uint32(icmpType);
  w.uint32(icmpCode);
  w.uint32(src.id);
  w.uint32(dst.id);
  w.uint32(src.identity);
  w.uint32(dst.identity);
  spanColumn(w, src.cluster);
  spanColumn(w, dst.cluster);
  spanColumn(w, src.ns);
  spanColumn(w, dst.ns);
  spanColumn(w, src.pod);
  spanColumn(w, dst.pod);
  listColumn(w, src.labels);
  listColumn(w, dst.labels);
  workloadsColumn(w, src);
  workloadsColumn(w, dst);
  listColumn(w, sourceNames);
  listColumn(w, destinationNames);
  serviceColumn(w, srcSvcPresent, S.srcSvcName, S.srcSvcNs);
  serviceColumn(w, dstSvcPresent, S.dstSvcName, S.dstSvcNs);
  listColumn(w, nodeLabels);
  w.int8(enumValue(l7Type, 3));
  w.int8(dns ? 1 : http ? 2 : kafka ? 3 : 0);
  w.uint32(l7LatencyLo);
  w.uint32(l7LatencyHi);
  slotColumn(w, S.dnsQuery);
  w.uint32(dnsRcode);
  w.uint32(dnsTtl);
  listColumn(w, dnsIps);
  listColumn(w, dnsCnames);
  slotColumn(w, S.dnsObservation);
  listColumn(w, dnsQtypes);
  listColumn(w, dnsRrtypes);
  w.uint32(httpCode);
  slotColumn(w, S.httpMethod);
  slotColumn(w, S.httpUrl);
  slotColumn(w, S.httpProtocol);
  listColumnAt(w, httpHeaders, 0);
  listColumnAt(w, httpHeaders, 1);
  slotColumn(w, S.kafkaTopic);
  slotColumn(w, S.kafkaApiKey);
  w.int32(kafkaErrorCode);
  w.int32(kafkaApiVersion);
  w.int32(kafkaCorrelationId);
  slotColumn(w, S.ifName);
  w.uint32(ifIndex);
  w.uint32(proxyPort);
  w.string(xlatePointName(sockXlatePoint));
  w.uint32(cookieLo);
  w.uint32(cookieHi);
  w.uint32(cgroupLo);
  w.uint32(cgroupHi);
  slotColumn(w, S.traceId);
  for (const p of policies) policyColumn(w, p);
  slotColumn(w, S.summary);
  const a = f.attribution;
  if (rowAttribution) rowAttribution.writeAttribution(w);
  else if (a === undefined) w.raw(noAttribution, 0, noAttribution.length);
  else {
    writeEndAttribution(w, a.source ?? unattributed);
    writeEndAttribution(w, a.destination ?? unattributed);
    w.string(a.conflict ?? '');
  }
  w.string(f.target);
  w.dateTime64ns(f.receivedAtNs);
  // flow_extra: the top-level fields no column gives back, as they came.
  let extra = 0;
  for (let i = 0; i < fieldCount; i++) {
    const code = fieldSpans[i * 3 + 2]!;
    if (code === KEEP || (code > 0 && (stored & code) === 0))
      extra += fieldSpans[i * 3 + 1]! - fieldSpans[i * 3]!;
  }
  w.varUInt(extra);
  for (let i = 0; i < fieldCount; i++) {
    const code = fieldSpans[i * 3 + 2]!;
    if (code === KEEP || (code > 0 && (stored & code) === 0))
      w.raw(buf, fieldSpans[i * 3]!, fieldSpans[i * 3 + 1]!);
  }
}

// ---------------------------------------------------------------------------------------------
// What a source reads per flow, from the same walk the row is then encoded from.

/** The last Flow.time.seconds turned into ns: flows come in time order, so it repeats. */
let lastSecLo = 0;
let lastSecHi = 0;
let lastSecNs = 0n;

/** Flow.time of the walked flow in ns (undefined when it has none). */
function walkedTimeNs(): bigint | undefined {
  if (!timePresent) return undefined;
  if (timeSecLo !== lastSecLo || timeSecHi !== lastSecHi) {
    const seconds =
      timeSecHi === 0 ? BigInt(timeSecLo) : BigInt.asIntN(64, (BigInt(timeSecHi) << 32n) | BigInt(timeSecLo));
    lastSecLo = timeSecLo;
    lastSecHi = timeSecHi;
    lastSecNs = seconds * 1_000_000_000n;
  }
  return lastSecNs + BigInt(timeNanos);
}

const hexValue = (c: number) => (c <= 0x39 ? c - 0x30 : c - 0x57);

/** Where the next walked id goes (see walkedFlowId). */
let idSlab = new ArrayBuffer(16 * 4096);
let idAt = 0;

/**
 * The walked flow's id (common/flow/flow-id.ts): a canonical uuid's 16 bytes read straight from
 * the message, any other uuid text through `flowIdFromUuid`, the message's digest without one.
 */
function walkedFlowId(pb: Uint8Array): Uint8Array {
  const start = slotStart[S.uuid]!;
  const end = slotEnd[S.uuid]!;
  if (start === end) return contentFlowId(pb);
  if (!walkedUuidCanonical()) return flowIdFromUuid(text(start, end));
  // A view into a slab of 4,096 ids: no array buffer of its own per flow (a Buffer would be a view
  // into Node's pool, a larger object and external memory). Same-process stage bench, alternating
  // rounds (2026-12-03): decode 2.81 -> 2.70 and 2.79 -> 2.62 µs/flow. A kept id keeps its 64 KiB slab:
  // nothing keeps ids for long (the dedup window copies them; the resume boundary keeps a few).
  if (idAt === idSlab.byteLength) {
    idSlab = new ArrayBuffer(16 * 4096);
    idAt = 0;
  }
  const out = new Uint8Array(idSlab, idAt, 16);
  idAt += 16;
  let p = start;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) p++;
    out[i] = (hexValue(buf[p]!) << 4) | hexValue(buf[p + 1]!);
    p += 2;
  }
  return out;
}

function labelsOf(list: SpanList): string[] {
  const out = new Array<string>(list.n);
  for (let i = 0; i < list.n; i++) out[i] = text(list.a[i * 2]!, list.a[i * 2 + 1]!);
  return out;
}

/**
 * A flow as a source hands it on (an `IngestedFlow`), made by `wireFlow` from one walk of its bytes,
 * the walk `encodeFlowRow` reuses when it encodes this flow next (the collector attributes and
 * encodes each flow as it arrives). Each end's address and labels become strings only when read
 * (attribution), from the walk if it is still current, else from a new one: a flow nobody
 * attributes costs no string and no array.
 */
export class WireFlow implements IngestedFlow {
  readonly pb: Uint8Array;
  nodeName: string;
  timeNs: bigint;
  flowId: Uint8Array;
  target: string;
  receivedAtNs: bigint;
  attribution: FlowAttribution | undefined = undefined;
  private ips: [string, string] | undefined = undefined;
  private labels: [string[], string[]] | undefined = undefined;

  constructor(
    pb: Uint8Array,
    nodeName: string,
    timeNs: bigint,
    flowId: Uint8Array,
    target: string,
    receivedAtNs: bigint,
  ) {
    this.pb = pb;
    this.nodeName = nodeName;
    this.timeNs = timeNs;
    this.flowId = flowId;
    this.target = target;
    this.receivedAtNs = receivedAtNs;
  }

  get sourceIp(): string {
    return this.addresses()[0];
  }
  get destinationIp(): string {
    return this.addresses()[1];
  }
  get sourceLabels(): readonly string[] {
    return this.endLabels()[0];
  }
  get destinationLabels(): readonly string[] {
    return this.endLabels()[1];
  }

  private walk(): void {
    if (walked !== this.pb) readFlow(this.pb);
  }
  private addresses(): [string, string] {
    if (!this.ips) {
      this.walk();
      this.ips = [slotText(S.ipSource), slotText(S.ipDestination)];
    }
    return this.ips;
  }
  private endLabels(): [string[], string[]] {
    if (!this.labels) {
      this.walk();
      this.labels = [labelsOf(ends[0].labels), labelsOf(ends[1].labels)];
    }
    return this.labels;
  }
}

/**
 * How much of a flow a source reads as it arrives: `whole` walks every field (the walk the row
 * encoder reuses, for a sink that encodes rows next); `header` reads time, node and uuid alone,
 * for a sink that passes the bytes on unread (Kafka: the writer walks them once, into its row).
 */
export type FlowWalk = 'whole' | 'header';

/**
 * Walks a Flow's bytes (all of them, or the `header` fields alone: see `FlowWalk`) and returns the
 * flow a source hands on. `nodeName` is `GetFlowsResponse.node_name` ('' takes `Flow.node_name`);
 * `fallbackTimeNs` gives the time of a flow without one (the response's time, else now). Throws
 * FlowWireError on bytes that are not a Flow (with `header`, as far as its top-level fields show).
 */
export function wireFlow(
  pb: Uint8Array,
  nodeName: string,
  target: string,
  receivedAtNs: bigint,
  fallbackTimeNs: () => bigint,
  walk: FlowWalk = 'whole',
): WireFlow {
  if (walk === 'header') readHeader(pb);
  else readFlow(pb);
  return new WireFlow(
    pb,
    nodeName || slotText(S.nodeName),
    walkedTimeNs() ?? fallbackTimeNs(),
    walkedFlowId(pb),
    target,
    receivedAtNs,
  );
}

/** What a source and attribution read of a Flow, without decoding it. */
export interface FlowPeek {
  /** Flow.time in ns, when present. */
  timeNs: bigint | undefined;
  uuid: string;
  nodeName: string;
  sourceIp: string;
  destinationIp: string;
  sourceLabels: string[];
  destinationLabels: string[];
}

/**
 * Reads time, uuid, node name and each end's address and labels from a Flow's bytes, by the full
 * walk `encodeFlowRow` reuses for the same bytes next. Throws FlowWireError on bytes that are not a Flow.
 */
export function peekFlow(pb: Uint8Array): FlowPeek {
  readFlow(pb);
  return {
    timeNs: walkedTimeNs(),
    uuid: slotText(S.uuid),
    nodeName: slotText(S.nodeName),
    sourceIp: slotText(S.ipSource),
    destinationIp: slotText(S.ipDestination),
    sourceLabels: labelsOf(ends[0].labels),
    destinationLabels: labelsOf(ends[1].labels),
  };
}
