/**
 * `flowtrail nomad-standin [--listen ADDR] [--tenants N] [--churn PER_MIN] [--pool CIDR] [--seed N]`:
 * runs the Nomad API stand-in with a churning multi-tenant scenario, so the collector (with
 * NOMAD_ADDR pointing here) and `flowtrail who` can be tried without a Nomad cluster.
 * @module
 */
import { parseArgs } from 'node:util';
import { createScenario } from '../../collector/src/nomad-standin/scenario.ts';
import { createNomadStandin } from '../../collector/src/nomad-standin/server.ts';
import { createLogger } from '../../common/logger.ts';

/** Runs until SIGINT or SIGTERM; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string', default: '127.0.0.1:4646' },
      tenants: { type: 'string', default: '3' },
      churn: { type: 'string', default: '30' },
      pool: { type: 'string', default: '172.16.0.0/28' },
      seed: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h' },
      check: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: flowtrail nomad-standin [--listen HOST:PORT] [--tenants N] [--churn PER_MIN] [--pool CIDR] [--seed N]\n',
    );
    return 0;
  }
  const m = /^(.*):(\d+)$/.exec(values.listen);
  if (!m) {
    process.stderr.write(`flowtrail nomad-standin: --listen must be HOST:PORT, got ${values.listen}\n`);
    return 2;
  }
  if (values.check) {
    process.stdout.write(`config ok (listen ${values.listen})\n`);
    return 0;
  }
  const logger = createLogger('nomad-standin');
  const scenario = createScenario({
    tenants: Number(values.tenants),
    churnPerMinute: Number(values.churn),
    addressPool: values.pool,
    seed: Number(values.seed),
  });
  const standin = createNomadStandin({ state: scenario.state });
  const url = await standin.listen(Number(m[2]), m[1]!.replace(/^\[|\]$/g, '') || '127.0.0.1');
  scenario.start();
  logger.info('nomad stand-in listening', {
    url,
    tenants: scenario.tenants.map((t) => t.name),
    running: scenario.running().length,
  });
  process.stdout.write(`NOMAD_ADDR=${url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  scenario.stop();
  await standin.close();
  return 0;
}
