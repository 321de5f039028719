/**
 * The Observer API over TLS, as the stock hubble CLI uses it under access control: a throwaway
 * CA and server certificate made with the openssl CLI, the real chdb store with the fixtures,
 * a grpc-js TLS client; Bearer tokens and the CLI's Basic `name:token` (sent as a per-call
 * credential, which gRPC sends only over TLS), mTLS, and a plaintext client refused.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConfigError } from '../../../common/errors.ts';
import { createMetrics } from '../../../common/metrics.ts';
import { describeWithFixtures } from '../../../common/testing/fixtures.ts';
import {
  GetFlowsRequest,
  type GetFlowsResponse,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  ObserverClient,
} from '../../../proto/src/grpc.ts';
import { startTestApi, type TestApi, testTokens } from '../testing.ts';
import { createGrpcServer, type GrpcServerHandle } from './server.ts';
import { type GrpcTlsConfig, grpcServerCredentials } from './tls.ts';

const serverName = 'observer.flowtrail.test';

/** CA, server and client certificates in `dir`, made with the openssl CLI. */
function makePki(dir: string) {
  const f = (n: string) => path.join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=flowtrail test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
  );
  const leaf = (name: string, cn: string, ext: string) => {
    writeFileSync(f(`${name}.ext`), ext);
    ssl(
      'req',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.csr`),
    );
    ssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      f(`${name}.ext`),
      '-out',
      f(`${name}.pem`),
    );
  };
  leaf('server', serverName, `subjectAltName=DNS:${serverName},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`);
  leaf('client', 'investigator', 'extendedKeyUsage=clientAuth\n');
  return f;
}

let dir: string;
let file: (n: string) => string;
let api: TestApi;
let tlsServer: GrpcServerHandle;
let mtlsServer: GrpcServerHandle;
const clients: grpc.Client[] = [];
const all = { number: 2n ** 64n - 1n, since: { seconds: 946684800n, nanos: 0 } };

function tlsCredentials(clientCert = false): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(
    readFileSync(file('ca.pem')),
    clientCert ? readFileSync(file('client.key')) : null,
    clientCert ? readFileSync(file('client.pem')) : null,
  );
}

/** A client as hubble builds one: TLS, plus Basic credentials attached per call. */
function observer(port: number, creds: grpc.ChannelCredentials): ObserverClient {
  const c = new ObserverClient(`127.0.0.1:${port}`, creds, {
    'grpc.ssl_target_name_override': serverName,
    'grpc.default_authority': serverName,
  });
  clients.push(c);
  return c;
}

function basic(user: string, password: string): grpc.CallCredentials {
  const value = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  return grpc.credentials.createFromMetadataGenerator((_params, cb) => {
    const md = new grpc.Metadata();
    md.set('authorization', value);
    cb(null, md);
  });
}

function collect(client: ObserverClient, md = new grpc.Metadata()) {
  return new Promise<{ flows: GetFlowsResponse[]; error?: grpc.ServiceError }>((resolve) => {
    const flows: GetFlowsResponse[] = [];
    const call = client.getFlows(GetFlowsRequest.fromPartial(all), md, { deadline: Date.now() + 20_000 });
    call.on('data', (r: GetFlowsResponse) => flows.push(r));
    call.on('error', (error: grpc.ServiceError) => resolve({ flows, error }));
    call.on('end', () => resolve({ flows }));
  });
}

const bearer = (token: string) => {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
};

describeWithFixtures('query-api > grpc > tls', () => {
  let stored = 0;

  beforeAll(async () => {
    try {
      execFileSync('openssl', ['version'], { stdio: 'pipe' });
    } catch {
      throw new Error('the openssl CLI is needed to make test certificates (.ci/run installs it)');
    }
    dir = mkdtempSync(path.join(tmpdir(), 'ft-grpc-tls-'));
    file = makePki(dir);
    api = await startTestApi();
    const [r] = await api.store.query<{ n: string }>('SELECT toString(count()) AS n FROM flows');
    stored = Number(r?.n ?? 0);
    const tls: GrpcTlsConfig = {
      kind: 'tls',
      certPath: file('server.pem'),
      keyPath: file('server.key'),
      clientCaPath: undefined,
    };
    tlsServer = await createGrpcServer(api.deps, api.core, createMetrics('grpc_tls_test')).listen(
      '127.0.0.1',
      0,
      tls,
    );
    mtlsServer = await createGrpcServer(api.deps, api.core, createMetrics('grpc_tls_test')).listen(
      '127.0.0.1',
      0,
      {
        ...tls,
        clientCaPath: file('ca.pem'),
      },
    );
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await tlsServer?.close();
    await mtlsServer?.close();
    await api?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('streams every stored flow to a TLS client with a Bearer token', async () => {
    const { flows, error } = await collect(
      observer(tlsServer.port, tlsCredentials()),
      bearer(testTokens.admin),
    );
    expect(error).toBeUndefined();
    expect(stored).toBeGreaterThan(0);
    expect(flows.length).toBe(stored);
  });

  it('accepts the hubble CLI credential: Basic name:token as a per-call credential over TLS', async () => {
    const creds = grpc.credentials.combineChannelCredentials(
      tlsCredentials(),
      basic('investigator', testTokens.investigator),
    );
    const { flows, error } = await collect(observer(tlsServer.port, creds));
    expect(error).toBeUndefined();
    expect(flows.length).toBe(stored);
  });

  it.each([
    { description: 'no credentials', creds: null, md: undefined },
    { description: 'an unknown bearer token', creds: null, md: bearer('not-a-token') },
    {
      description: 'Basic with the wrong name',
      creds: basic('admin', testTokens.investigator),
      md: undefined,
    },
  ])('answers UNAUTHENTICATED with $description', async ({ creds, md }) => {
    const c = creds ? grpc.credentials.combineChannelCredentials(tlsCredentials(), creds) : tlsCredentials();
    const { flows, error } = await collect(observer(tlsServer.port, c), md);
    expect(error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(flows).toEqual([]);
  });

  it('answers the health check hubble status makes, over TLS', async () => {
    const h = new HealthClient(`127.0.0.1:${tlsServer.port}`, tlsCredentials(), {
      'grpc.ssl_target_name_override': serverName,
    });
    clients.push(h);
    const res = await new Promise<{ status: number }>((resolve, reject) =>
      h.check({ service: 'hubble.server.Observer' }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it('refuses a plaintext client on the TLS port', async () => {
    const c = new ObserverClient(`127.0.0.1:${tlsServer.port}`, grpc.credentials.createInsecure());
    clients.push(c);
    const { flows, error } = await collect(c, bearer(testTokens.admin));
    expect(error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(flows).toEqual([]);
  });

  it('with a client CA, requires a client certificate it signed', async () => {
    const without = await collect(observer(mtlsServer.port, tlsCredentials()), bearer(testTokens.admin));
    expect(without.error?.code).toBe(grpc.status.UNAVAILABLE);
    const withCert = await collect(observer(mtlsServer.port, tlsCredentials(true)), bearer(testTokens.admin));
    expect(withCert.error).toBeUndefined();
    expect(withCert.flows.length).toBe(stored);
    // The certificate admits the connection; the token is still required.
    const noToken = await collect(observer(mtlsServer.port, tlsCredentials(true)));
    expect(noToken.error?.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it.each([
    {
      description: 'a missing certificate',
      cert: 'missing.pem',
      key: 'server.key',
      variable: 'FLOWTRAIL_GRPC_TLS_CERT',
    },
    {
      description: 'a key that is not PEM',
      cert: 'server.pem',
      key: 'server.ext',
      variable: 'FLOWTRAIL_GRPC_TLS_KEY',
    },
  ])('reports $description as a ConfigError naming $variable', ({ cert, key, variable }) => {
    const tls: GrpcTlsConfig = {
      kind: 'tls',
      certPath: file(cert),
      keyPath: file(key),
      clientCaPath: undefined,
    };
    expect(() => grpcServerCredentials(tls)).toThrow(ConfigError);
    expect(() => grpcServerCredentials(tls)).toThrow(variable);
  });
});
