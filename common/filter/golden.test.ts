import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import type { Flow } from '../../proto/gen/flow/flow.js';
import { parseHubbleJson } from '../../proto/src/hubble-json.ts';
import { timestampToNs } from '../flow/model.ts';
import { describeWithFixtures, hubbleFixtureFiles } from '../testing/fixtures.ts';
import { flowKey, goldenCases } from '../testing/hubble-golden.ts';
import { compileFlowFilters, filterSetFromArgs } from './index.ts';

// The in-memory predicate against the stock CLI's answers; the SQL form is checked over chdb by
// test/filter-conformance.int.test.ts.
describeWithFixtures('common > filter > hubble golden answers (in memory)', () => {
  const flows = new Map<string, { flow: Flow; node: string }>();
  for (const file of hubbleFixtureFiles()) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const ev = parseHubbleJson(line);
      if (!ev.flow) continue;
      const node = ev.node_name || ev.flow.node_name;
      flows.set(flowKey(timestampToNs(ev.flow.time) ?? 0n, node), { flow: ev.flow, node });
    }
  }
  const cases = goldenCases();

  it('has every fixture flow once', () => {
    expect(flows.size).toBe(1851);
  });

  it.each(cases.map((c) => ({ name: c.args.join(' '), c })))('$name', ({ c }) => {
    const { set, rest } = filterSetFromArgs(c.args);
    expect(rest).toEqual([]);
    const match = compileFlowFilters(set.whitelist, set.blacklist);
    const got = new Set([...flows].filter(([, f]) => match(f.flow)).map(([k]) => k));
    expect(got.size).toBe(c.count);
    expect(got).toEqual(c.flows);
  });
});
