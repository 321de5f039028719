/**
 * Workload identity from netreap's Cilium endpoint labels, which Hubble copies into each flow
 * end: `netreap:nomad.namespace=`, `netreap:nomad.job_id=`, `netreap:nomad.task_group_id=`, and
 * `nomad:<meta key>=` for job meta merged with group meta (reference/hubble-cli-netreap.md §B).
 * They are correct at flow time, so they come first in attribution.
 *
 * This runs for both ends of every flow, and `String.prototype.startsWith` costs ~27 ns here,
 * so labels are recognised by a few characters at fixed positions (the ':' and '.' of the
 * prefix, the key's first letter, the '=' right after the key) and meta keys are compared in
 * full only when the '=' sits exactly where the configured key would end.
 * @module
 */
import type { TenancyConfig } from '../../../common/config/tenancy.ts';

/** What the labels of one end say; empty strings when a label is absent. */
export interface LabelIdentity {
  namespace: string;
  job: string;
  group: string;
  tenant: string;
  account: string;
}

// Lengths of `netreap:nomad.namespace=`, `netreap:nomad.job_id=`, `netreap:nomad.task_group_id=`.
const NS_LEN = 24;
const JOB_LEN = 21;
const GROUP_LEN = 28;
const EQ = 61;

/** Reads label identities with the configured meta keys. */
export type LabelParser = (labels: readonly string[]) => LabelIdentity | undefined;

/** True when `s` has `key` at offset 6 followed by '=' (i.e. starts with `nomad:<key>=`). */
function isMetaKey(s: string, key: string): boolean {
  const n = key.length;
  if (s.charCodeAt(6 + n) !== EQ) return false;
  for (let i = 0; i < n; i++) if (s.charCodeAt(6 + i) !== key.charCodeAt(i)) return false;
  return true;
}

/** Creates a parser for the configured tenant and account meta keys. */
export function createLabelParser(config: TenancyConfig): LabelParser {
  // netreap merges group meta over job meta into the same `nomad:` labels, so both key sets
  // apply; the group keys win when both are present.
  const tg = config.groupMeta.tenant;
  const tj = config.jobMeta.tenant;
  const ag = config.groupMeta.account;
  const aj = config.jobMeta.account;
  const tenantTwo = tg !== tj;
  const accountTwo = ag !== aj;
  return (labels) => {
    let found = false;
    let namespace = '';
    let job = '';
    let group = '';
    let tenant = '';
    let tenant2 = '';
    let account = '';
    let account2 = '';
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      if (l.charCodeAt(0) !== 110 /* n */) continue;
      if (l.charCodeAt(7) === 58 && l.charCodeAt(13) === 46 && l.charCodeAt(1) === 101 /* netreap:nomad. */) {
        const c = l.charCodeAt(14);
        if (c === 110 /* n */ && l.charCodeAt(NS_LEN - 1) === EQ) namespace = l.slice(NS_LEN);
        else if (c === 106 /* j */ && l.charCodeAt(JOB_LEN - 1) === EQ) job = l.slice(JOB_LEN);
        else if (c === 116 /* t */ && l.charCodeAt(GROUP_LEN - 1) === EQ) group = l.slice(GROUP_LEN);
        else continue;
        found = true;
      } else if (l.charCodeAt(5) === 58 && l.charCodeAt(1) === 111 /* nomad: */) {
        if (isMetaKey(l, tg)) tenant = l.slice(7 + tg.length);
        else if (tenantTwo && isMetaKey(l, tj)) tenant2 = l.slice(7 + tj.length);
        else if (isMetaKey(l, ag)) account = l.slice(7 + ag.length);
        else if (accountTwo && isMetaKey(l, aj)) account2 = l.slice(7 + aj.length);
        else continue;
        found = true;
      }
    }
    if (!found) return undefined;
    return { namespace, job, group, tenant: tenant || tenant2, account: account || account2 };
  };
}
