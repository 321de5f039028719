/**
 * `flowtrail start`: the embedded product (see bin/embedded.ts). Runs until SIGINT or SIGTERM.
 * @module
 */
import { startEmbedded } from '../embedded.ts';
import { parseCommandArgs } from './args.ts';

export async function run(argv: string[]): Promise<number> {
  parseCommandArgs('start', argv, {});
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
