/**
 * `flowtrail api [--check]`: the query service alone (query-api/src/service.ts: HTTP API and UI on
 * FLOWTRAIL_HTTP_HOST:FLOWTRAIL_HTTP_PORT, Hubble gRPC on FLOWTRAIL_GRPC_PORT, the alert engine)
 * against CLICKHOUSE_URL or FLOWTRAIL_DATA_DIR, configured by FLOWTRAIL_CONFIG. `--check`
 * validates the environment and configuration and exits.
 * @module
 */
import { InputError } from '../../common/errors.ts';
import { createLogger } from '../../common/logger.ts';
import { checkApiConfig, startApi } from '../../query-api/src/main.ts';
import { serviceConfig } from '../env.ts';
import { parseCommandArgs } from './args.ts';

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      'usage: flowtrail api [--check]\n\n' +
        'environment: FLOWTRAIL_CONFIG, FLOWTRAIL_DATA_DIR or CLICKHOUSE_URL, FLOWTRAIL_HTTP_HOST (127.0.0.1),\n' +
        '  FLOWTRAIL_HTTP_PORT (8080), FLOWTRAIL_GRPC_HOST, FLOWTRAIL_GRPC_PORT (4245), FLOWTRAIL_GRPC_TLS_*,\n' +
        '  FLOWTRAIL_AUTH_MODE=open (local demo only); see README "Configuration"\n',
    );
    return 0;
  }
  const { values, positionals } = parseCommandArgs('api', argv, { check: { type: 'boolean' } });
  if (positionals.length) throw new InputError(`flowtrail api: unexpected argument ${positionals[0]}`);
  if (values.check) {
    process.stdout.write(`${checkApiConfig(process.env)}\n`);
    return 0;
  }
  const api = await startApi(serviceConfig(), createLogger('api'));
  process.stdout.write(`flowtrail api is up: UI and API at ${api.url}, Hubble API on port ${api.grpcPort}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await api.close();
  return 0;
}
