/**
 * `flowtrail api [--check]`: the query API alone (HTTP on FLOWTRAIL_API_PORT, Hubble gRPC on
 * FLOWTRAIL_GRPC_PORT) against CLICKHOUSE_URL or FLOWTRAIL_DATA_DIR, configured by
 * FLOWTRAIL_CONFIG. `--check` validates the configuration and exits.
 * @module
 */
import { checkApiConfig, startApi } from '../../query-api/src/main.ts';

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      'usage: flowtrail api [--check]\n\n' +
        'environment: FLOWTRAIL_CONFIG, FLOWTRAIL_DATA_DIR or CLICKHOUSE_URL, FLOWTRAIL_API_HOST (127.0.0.1),\n' +
        '  FLOWTRAIL_API_PORT (8080), FLOWTRAIL_GRPC_PORT (4245), FLOWTRAIL_AUTH_MODE=open (local demo only)\n',
    );
    return 0;
  }
  const unknown = argv.filter((a) => a !== '--check');
  if (unknown.length) {
    process.stderr.write(`flowtrail api: unknown argument ${unknown[0]}\n`);
    return 2;
  }
  if (argv.includes('--check')) {
    process.stdout.write(`${checkApiConfig()}\n`);
    return 0;
  }
  const api = await startApi();
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await api.close();
  return 0;
}
