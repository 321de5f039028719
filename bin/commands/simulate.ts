/**
 * `flowtrail simulate`: a Hubble-compatible server (gRPC Observer + health) for demos, tests and
 * benchmarks, serving synthetic multi-tenant Nomad traffic or replaying JSON-lines files.
 *
 *   flowtrail simulate --listen ADDR [--replay FILE…] [--rate N] [--seed N] [--abuse[=p1,p2]]
 *                      [--max-flows N] [--lost-every N] [--cluster NAME] [--wait] [--loop]
 *
 * Prints one line saying where it listens and what it serves; stops cleanly on SIGINT/SIGTERM.
 * @module
 */
import { parseArgs } from 'node:util';
import {
  ABUSE_PATTERNS,
  type AbusePattern,
  createGenerator,
  createReplay,
  type FlowSupply,
  startObserverServer,
} from '../../collector/src/generator/index.ts';
import { InputError } from '../../common/errors.ts';

/** The command's usage text (`flowtrail simulate --help`). */
export const usage = `usage: flowtrail simulate --listen ADDR [--replay FILE…] [--rate N] [--seed N] [--abuse[=p1,p2]]
                          [--max-flows N] [--lost-every N] [--cluster NAME] [--wait] [--loop]

  --listen ADDR     host:port or unix:/path (default 127.0.0.1:4245, Hubble Relay's port)
  --replay FILE     replay Hubble JSON lines (repeatable); otherwise generate synthetic traffic
  --rate N          flows per second (generator default 1000, 0 = as fast as the readers take them
                    with --wait); for replay, events per second (default: everything at once)
  --seed N          reproducible traffic and uuids
  --abuse[=LIST]    add abuse bursts every 5 s (all patterns, or a comma list of: ${ABUSE_PATTERNS.join(', ')})
  --max-flows N     ring size (default 4095, like Hubble)
  --lost-every N    emit a LostEvent every N flows
  --cluster NAME    Cilium cluster name (node names become NAME/node unless "default")
  --wait            never overwrite flows a following reader has not read (pause generation instead)
  --loop            restart a paced replay at its end
  --check           validate the options and exit
`;

function intOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InputError(`--${name} must be a number ≥ 0, got "${v}"`, name);
  return n;
}

/** Runs the simulator until SIGINT/SIGTERM; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  // `--abuse` alone means every pattern; `--abuse=a,b` picks some.
  const args = argv.map((a) => (a === '--abuse' ? `--abuse=${ABUSE_PATTERNS.join(',')}` : a));
  const { values } = parseArgs({
    args,
    options: {
      listen: { type: 'string', default: '127.0.0.1:4245' },
      replay: { type: 'string', multiple: true },
      rate: { type: 'string' },
      seed: { type: 'string' },
      abuse: { type: 'string' },
      'max-flows': { type: 'string' },
      'lost-every': { type: 'string' },
      cluster: { type: 'string' },
      wait: { type: 'boolean', default: false },
      loop: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      check: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const rate = intOption('rate', values.rate);
  const maxFlows = intOption('max-flows', values['max-flows']);
  let supply: FlowSupply;
  if (values.replay?.length) {
    supply = createReplay({ files: values.replay, rate, maxFlows, loop: values.loop });
  } else {
    const abuse = (values.abuse ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0) as AbusePattern[];
    supply = createGenerator({
      rate,
      seed: intOption('seed', values.seed),
      maxFlows,
      abuse,
      lostEvery: intOption('lost-every', values['lost-every']),
      clusterName: values.cluster,
      overflow: values.wait ? 'wait' : 'lose',
    });
  }
  if (values.check) {
    // The options were valid (the generator or replay was built from them); nothing is served.
    process.stdout.write(`config ok (listen ${values.listen})\n`);
    return 0;
  }
  await supply.start();
  const server = await startObserverServer({ listen: values.listen, supply });
  process.stdout.write(`flowtrail simulate: listening on ${server.address}, serving ${supply.describe()}\n`);
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await supply.stop();
  await server.stop(1000);
  return 0;
}
