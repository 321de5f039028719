import { describe, expect, it } from 'vitest';
import type { FlowFilter } from '../../proto/gen/flow/flow.js';
import { filterSetFromArgs } from './index.ts';

/** The "either end" words, a value, and the FlowFilter field each end's form fills (as the stock CLI). */
const words: [word: string, value: string, source: keyof FlowFilter, destination: keyof FlowFilter][] = [
  ['ip', '10.0.0.1', 'source_ip', 'destination_ip'],
  ['fqdn', 'example.com', 'source_fqdn', 'destination_fqdn'],
  ['pod', 'ns/web', 'source_pod', 'destination_pod'],
  ['service', 'ns/api', 'source_service', 'destination_service'],
  ['label', 'k8s:app=web', 'source_label', 'destination_label'],
  ['port', '80', 'source_port', 'destination_port'],
  ['cluster', 'c1', 'source_cluster_name', 'destination_cluster_name'],
  ['workload', 'Deployment/web', 'source_workload', 'destination_workload'],
  ['identity', 'world', 'source_identity', 'destination_identity'],
];

const filled = (f: FlowFilter) =>
  Object.entries(f)
    .filter(([, v]) => Array.isArray(v) && v.length > 0)
    .map(([k]) => k);

describe('common > filter > words for either end, the source or the destination', () => {
  it.each(words)('%s, from-%s and to-%s', (word, value, source, destination) => {
    const one = (args: string[]) => filterSetFromArgs(args).set.whitelist;
    expect(one([`--from-${word}`, value]).map(filled)).toEqual([[source]]);
    expect(one([`--to-${word}`, value]).map(filled)).toEqual([[destination]]);
    // Either end: a source-side and a destination-side filter, ORed.
    expect(one([`--${word}`, value]).map(filled)).toEqual([[source], [destination]]);
    const [left, right] = one([`--${word}`, value]);
    expect(left![source]).toEqual(one([`--from-${word}`, value])[0]![source]);
    expect(right![destination]).toEqual(one([`--to-${word}`, value])[0]![destination]);
  });

  it('reads a workload as kind/name and an identity name as its number', () => {
    const [f] = filterSetFromArgs(['--from-workload', 'Deployment/web', '--from-identity', 'world']).set
      .whitelist;
    expect(f!.source_workload).toEqual([{ kind: 'Deployment', name: 'web' }]);
    expect(f!.source_identity).toEqual([2]);
  });
});
