/**
 * `flowtrail start`: the embedded product (see bin/embedded.ts). Runs until SIGINT or SIGTERM.
 * @module
 */
import { startEmbedded } from '../embedded.ts';
import { serviceConfig } from '../env.ts';
import { parseCommandArgs } from './args.ts';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('start', argv, { check: { type: 'boolean' } });
  if (values.check) {
    // Validates the environment and the config file as start would read them, then exits.
    const { config, path, env } = serviceConfig();
    process.stdout.write(
      `config ok (${path ?? 'no FLOWTRAIL_CONFIG: defaults'}; ${env.HUBBLE_SERVER ? `hubble ${env.HUBBLE_SERVER}` : 'demo'}; ` +
        `http ${env.FLOWTRAIL_HTTP_HOST}:${env.FLOWTRAIL_HTTP_PORT}; auth ${config.auth.mode})\n`,
    );
    return 0;
  }
  const running = await startEmbedded(process.env);
  process.stdout.write(
    `flowtrail ${running.demo ? '(demo) ' : ''}is up: UI and API at ${running.url}, Hubble API on port ${running.grpcPort}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stdout.write('flowtrail: stopping\n');
  await running.stop();
  return 0;
}
