import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// docker-compose.yml is the documented distributed deployment. No container engine runs here, so this checks
// what can be checked without one: Debian's docker-compose accepts the file, and every service that the
// distributed-mode issue names is declared, with the demo tools behind the `demo` profile.
const execFileAsync = promisify(execFile);
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const composeFile = join(repoRoot, 'docker-compose.yml');

interface ComposeService {
  image?: string;
  build?: unknown;
  profiles?: string[];
  command?: string[];
  environment?: Record<string, string>;
}

function loadServices(): Record<string, ComposeService> {
  const doc = parse(readFileSync(composeFile, 'utf8'), { merge: true }) as {
    services?: Record<string, ComposeService>;
  };
  return doc.services ?? {};
}

describe('test > compose', () => {
  it('passes docker-compose config validation', async () => {
    let result: { stdout: string; stderr: string };
    try {
      result = await execFileAsync('docker-compose', ['-f', composeFile, 'config', '-q'], { cwd: repoRoot });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(
          'docker-compose is not installed: .ci/run must install it (apt-get install -y docker-compose) ' +
            'so that docker-compose.yml is validated',
        );
      }
      const { stderr } = error as { stderr?: string };
      throw new Error(`docker-compose rejected docker-compose.yml:\n${stderr ?? String(error)}`);
    }
    expect(result.stderr).toBe('');
  });

  it.each([
    { service: 'clickhouse', image: /^clickhouse\/clickhouse-server:\d+\.\d+/ },
    { service: 'keeper', image: /^clickhouse\/clickhouse-keeper:\d+\.\d+/ },
    { service: 'kafka', image: /^apache\/kafka:4\.\d+\.\d+$/ },
  ])('runs $service from a pinned image', ({ service, image }) => {
    expect(loadServices()[service]?.image).toMatch(image);
  });

  it.each([
    { service: 'collector', command: 'collector' },
    { service: 'writer', command: 'writer' },
    { service: 'query-api', command: 'api' },
  ])('builds $service from the repo and runs `flowtrail $command`', ({ service, command }) => {
    const declared = loadServices()[service];
    expect(declared?.build).toBeDefined();
    expect(declared?.command?.[0]).toBe(command);
    expect(declared?.profiles).toBeUndefined();
  });

  it.each([
    { service: 'simulate', listen: '0.0.0.0:4245' },
    { service: 'nomad-standin', listen: '0.0.0.0:4646' },
  ])('puts $service in the demo profile', ({ service, listen }) => {
    const declared = loadServices()[service];
    expect(declared?.profiles).toEqual(['demo']);
    expect(declared?.command).toEqual([service, '--listen', listen]);
  });

  it('gives every flowtrail service the product variables', () => {
    const variables = [
      'HUBBLE_SERVER',
      'HUBBLE_TLS_CA',
      'HUBBLE_TLS_CERT',
      'HUBBLE_TLS_KEY',
      'HUBBLE_TLS_SERVER_NAME',
      'KAFKA_BROKERS',
      'KAFKA_TOPIC',
      'CLICKHOUSE_URL',
      'CLICKHOUSE_DATABASE',
      'CLICKHOUSE_CLUSTER',
      'FLOWTRAIL_DATA_DIR',
      'FLOWTRAIL_HTTP_HOST',
      'FLOWTRAIL_HTTP_PORT',
      'FLOWTRAIL_GRPC_PORT',
      'FLOWTRAIL_CONFIG',
      'NOMAD_ADDR',
      'NOMAD_TOKEN',
      'NOMAD_REGION',
      'NOMAD_CACERT',
    ];
    for (const service of ['collector', 'writer', 'query-api', 'simulate', 'nomad-standin']) {
      const environment = loadServices()[service]?.environment ?? {};
      expect(Object.keys(environment).sort(), service).toEqual([...variables].sort());
    }
  });
});
