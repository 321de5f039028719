import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../common/errors.ts';
import { grpcTlsFromEnv } from './tls.ts';

describe('query-api > grpc > tls > grpcTlsFromEnv', () => {
  it.each([
    { description: 'nothing set: plaintext', env: {}, expected: { kind: 'plaintext' } },
    {
      description: 'empty values: plaintext',
      env: { FLOWTRAIL_GRPC_TLS_CERT: '' },
      expected: { kind: 'plaintext' },
    },
    {
      description: 'cert and key: TLS',
      env: { FLOWTRAIL_GRPC_TLS_CERT: '/c.pem', FLOWTRAIL_GRPC_TLS_KEY: '/k.pem' },
      expected: { kind: 'tls', certPath: '/c.pem', keyPath: '/k.pem', clientCaPath: undefined },
    },
    {
      description: 'cert, key and client CA: mTLS',
      env: {
        FLOWTRAIL_GRPC_TLS_CERT: '/c.pem',
        FLOWTRAIL_GRPC_TLS_KEY: '/k.pem',
        FLOWTRAIL_GRPC_TLS_CLIENT_CA: '/ca.pem',
      },
      expected: { kind: 'tls', certPath: '/c.pem', keyPath: '/k.pem', clientCaPath: '/ca.pem' },
    },
  ])('$description', ({ env, expected }) => {
    expect(grpcTlsFromEnv(env)).toEqual(expected);
  });

  it.each([
    {
      description: 'cert without key',
      env: { FLOWTRAIL_GRPC_TLS_CERT: '/c.pem' },
      names: 'FLOWTRAIL_GRPC_TLS_KEY',
    },
    {
      description: 'key without cert',
      env: { FLOWTRAIL_GRPC_TLS_KEY: '/k.pem' },
      names: 'FLOWTRAIL_GRPC_TLS_CERT',
    },
    {
      description: 'client CA without TLS',
      env: { FLOWTRAIL_GRPC_TLS_CLIENT_CA: '/ca.pem' },
      names: 'FLOWTRAIL_GRPC_TLS_CLIENT_CA',
    },
  ])('rejects $description with a ConfigError naming $names', ({ env, names }) => {
    expect(() => grpcTlsFromEnv(env)).toThrow(ConfigError);
    expect(() => grpcTlsFromEnv(env)).toThrow(names);
  });
});
