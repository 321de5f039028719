import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNomadClient, errorFor, NomadError } from './client.ts';

let server: http.Server;
let base: string;
const seen: { url: string; token: string | undefined }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', token: req.headers['x-nomad-token'] as string | undefined });
    if (req.url?.startsWith('/v1/event/stream')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(
        '{}\n{"Events":[{"FilterKeys":null,"Index":7,"Key":"n1","Namespace":"","Payload":{"Node":{"ID":"n1","Name":"nomad-1","HTTPAddr":"10.0.0.1:4646"}},"Topic":"Node","Type":"NodeRegistration"}],"Index":7}\n',
      );
      res.end('subscription closed by server, client should resubscribe');
      return;
    }
    res.writeHead(503, { 'content-type': 'text/plain' }).end('No cluster leader');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const client = () =>
  createNomadClient({
    address: base,
    token: 's3cret',
    region: 'eu',
    caCertFile: '',
    requestTimeoutMs: 2000,
    blockingWaitSeconds: 5,
  });

describe('collector > nomad > client', () => {
  it('yields frames and heartbeats, then fails retriably on a raw error line', async () => {
    const frames: bigint[] = [];
    let error: unknown;
    try {
      for await (const f of client().eventStream({
        topics: ['Allocation', 'Node'],
        namespace: '*',
        index: 5n,
      }))
        frames.push(f.index);
    } catch (err) {
      error = err;
    }
    expect(frames).toEqual([0n, 7n]);
    expect(error).toBeInstanceOf(NomadError);
    expect((error as NomadError).retriable).toBe(true);
    expect((error as NomadError).message).toContain('subscription closed by server');
    const url = new URL(seen.at(-1)!.url, base);
    expect(url.searchParams.getAll('topic')).toEqual(['Allocation', 'Node']);
    expect(url.searchParams.get('index')).toBe('5');
    expect(url.searchParams.get('region')).toBe('eu');
    expect(seen.at(-1)!.token).toBe('s3cret');
  });

  it('turns a plain-text 503 into a retriable server error', async () => {
    await expect(client().listNamespaces()).rejects.toMatchObject({
      kind: 'server',
      status: 503,
      retriable: true,
    });
  });

  it('reports an unreachable agent as a retriable network error without the token', async () => {
    const c = createNomadClient({
      address: 'http://127.0.0.1:1',
      token: 's3cret',
      region: '',
      caCertFile: '',
      requestTimeoutMs: 500,
      blockingWaitSeconds: 1,
    });
    const err = (await c.listNodes().catch((e: unknown) => e)) as NomadError;
    expect(err).toMatchObject({ kind: 'network', retriable: true });
    expect(err.message).not.toContain('s3cret');
  });

  it.each([
    { status: 403, text: 'Permission denied', kind: 'denied', retriable: false, mention: 'NOMAD_TOKEN' },
    {
      status: 500,
      text: 'Unknown allocation "abc"',
      kind: 'unknown-allocation',
      retriable: false,
      mention: 'may not read its namespace',
    },
    { status: 404, text: 'alloc not found', kind: 'not-found', retriable: false, mention: 'alloc not found' },
    { status: 500, text: 'rpc error: EOF', kind: 'server', retriable: true, mention: 'HTTP 500' },
  ])('maps $status "$text" to $kind', ({ status, text, kind, retriable, mention }) => {
    const e = errorFor(status, text, '/v1/x');
    expect(e).toMatchObject({ kind, retriable, status });
    expect(e.message).toContain(mention);
  });
});
