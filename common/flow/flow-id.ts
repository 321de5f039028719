/**
 * Flow identity, the key of deduplication: a flow is its uuid (Hubble sets one on every flow
 * since v1.13), or, without one, its content — byte-identical lines are the same flow.
 * @module
 */
import { createHash } from 'node:crypto';

const hex = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;

/** 16 bytes from a canonical UUID string, or an MD5 of any other non-empty uuid text. */
export function flowIdFromUuid(uuid: string): Uint8Array {
  if (hex.test(uuid)) return Buffer.from(uuid.replaceAll('-', ''), 'hex');
  return contentFlowId(uuid);
}

/** 16 bytes identifying content (a JSON line's bytes, or a Flow's protobuf bytes). */
export function contentFlowId(content: string | Uint8Array): Uint8Array {
  return createHash('md5').update(content).digest();
}
