/**
 * `flowtrail bench [--flows N] [--raw-flows N] [--json]`: measures ingest end to end over gRPC
 * into chdb, the raw insert rate of the same rows, bytes per flow on disk, and the per-flow cost
 * of enrichment. Runs in a scratch directory; prints one JSON object with `--json`.
 * @module
 */
import { benchIngest } from '../../collector/src/bench/ingest-bench.ts';
import { benchEnrich } from '../../collector/src/enrich/bench.ts';
import { parseCommandArgs, positiveInt } from './args.ts';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('bench', argv, {
    json: { type: 'boolean' },
    flows: { type: 'string' },
    'raw-flows': { type: 'string' },
  });
  const flows = positiveInt('flows', values.flows, 1_000_000);
  const rawFlows = positiveInt('raw-flows', values['raw-flows'], 500_000);
  if (!values.json) process.stderr.write(`benchmarking ingest of ${flows} flows…\n`);
  const ingest = await benchIngest({ flows, rawFlows });
  const enrich = benchEnrich(1_000_000);
  const result = { ...ingest, enrich_ns_per_flow: Math.round(enrich.nsPerFlow) };
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`);
  return 0;
}
