/**
 * Test helpers: Nomad event frames in Nomad's wire shape (NDJSON text with bare nanosecond
 * integers), parsed through the real parser, so tests exercise the same path as the stream.
 * Production code never imports this module.
 * @module
 */
import { parseNomadJson } from '../nomad/json.ts';
import { type NomadEventFrame, toEventFrame } from '../nomad/types.ts';

/** One allocation update to encode. */
export interface AllocUpdate {
  index: number;
  id: string;
  namespace?: string;
  job?: string;
  group?: string;
  clientStatus?: string;
  desiredStatus?: string;
  modifyTime: bigint;
  address?: string;
  addressIPv6?: string;
  type?: string;
  node?: string;
}

/** The NDJSON line Nomad would send for this update (keys sorted, zero fields omitted). */
export function allocFrameLine(u: AllocUpdate): string {
  const ns = u.namespace ?? 'default';
  const job = u.job ?? 'web';
  const net =
    u.address || u.addressIPv6
      ? `,"NetworkStatus":{"Address":"${u.address ?? ''}","AddressIPv6":"${u.addressIPv6 ?? ''}","DNS":null,"InterfaceName":"eth0"}`
      : '';
  const alloc =
    `{"ClientStatus":"${u.clientStatus ?? 'running'}","CreateIndex":${u.index},"CreateTime":${u.modifyTime},` +
    `"DesiredStatus":"${u.desiredStatus ?? 'run'}","ID":"${u.id}","JobID":"${job}","ModifyIndex":${u.index},` +
    `"ModifyTime":${u.modifyTime},"Name":"${job}.${u.group ?? 'web'}[0]","Namespace":"${ns}"${net},` +
    `"NodeID":"node-id-1","NodeName":"${u.node ?? 'nomad-1'}","TaskGroup":"${u.group ?? 'web'}"}`;
  return (
    `{"Events":[{"FilterKeys":["${job}"],"Index":${u.index},"Key":"${u.id}","Namespace":"${ns}",` +
    `"Payload":{"Allocation":${alloc}},"Topic":"Allocation","Type":"${u.type ?? 'AllocationUpdated'}"}],"Index":${u.index}}`
  );
}

/** A Job event line carrying job meta (tenant and account live there). */
export function jobFrameLine(
  index: number,
  job: { id: string; namespace?: string; meta: Record<string, string> },
): string {
  const meta = JSON.stringify(Object.fromEntries(Object.entries(job.meta).sort()));
  const ns = job.namespace ?? 'default';
  return (
    `{"Events":[{"FilterKeys":null,"Index":${index},"Key":"${job.id}","Namespace":"${ns}","Payload":{"Job":` +
    `{"ID":"${job.id}","Meta":${meta},"ModifyIndex":${index},"Namespace":"${ns}","TaskGroups":[{"Meta":null,"Name":"web"}],"Version":0}},` +
    `"Topic":"Job","Type":"JobRegistered"}],"Index":${index}}`
  );
}

/** Parses a line as the client does. */
export function frameOf(line: string): NomadEventFrame {
  return toEventFrame(parseNomadJson(line));
}
