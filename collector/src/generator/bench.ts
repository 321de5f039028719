/**
 * Measures the generator: synthetic flows per second on one core (objects only, and with pre-encoded
 * bytes), and GetFlows streaming to one client in another process (raw bytes, no decoding), printed as
 * one JSON object. Numbers for the README and the ingest benchmark, never asserted in tests.
 *
 *   npx tsx collector/src/generator/bench.ts [--flows N]
 * @module
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { configureLogging } from '../../../common/logger.ts';
import { createGenerator } from './generator.ts';
import { startObserverServer } from './observer-server.ts';

configureLogging({ level: 'error' });
const flagIndex = process.argv.indexOf('--flows');
const flows = flagIndex > 0 ? Number(process.argv[flagIndex + 1]) : 300_000;

if (process.argv.includes('--serve')) {
  // Child: pre-fill a ring and serve it; tell the parent the address.
  const gen = createGenerator({ seed: 1, maxFlows: flows });
  gen.fill(flows);
  const server = await startObserverServer({ listen: '127.0.0.1:0', supply: gen });
  process.send?.({ address: server.address });
  process.on('message', async () => {
    await server.stop(100);
    process.exit(0);
  });
} else {
  const rate = (encode: boolean) => {
    const gen = createGenerator({ seed: 1, encode });
    gen.fill(100_000);
    const t = process.hrtime.bigint();
    gen.fill(flows);
    return Math.round(flows / (Number(process.hrtime.bigint() - t) / 1e9));
  };
  const generateObjects = rate(false);
  const generateEncoded = rate(true);
  const child = fork(fileURLToPath(import.meta.url), ['--serve', '--flows', String(flows)], {
    execArgv: ['--import', 'tsx'],
  });
  const address = await new Promise<string>((resolve) =>
    child.once('message', (m: { address: string }) => resolve(m.address)),
  );
  const Raw = grpc.makeGenericClientConstructor(
    {
      getFlows: {
        path: '/observer.Observer/GetFlows',
        requestStream: false,
        responseStream: true,
        requestSerialize: (v: Buffer) => v,
        requestDeserialize: (v: Buffer) => v,
        responseSerialize: (v: Buffer) => v,
        responseDeserialize: (v: Buffer) => v,
      },
    },
    'observer.Observer',
  );
  const client = new Raw(address, grpc.credentials.createInsecure(), {
    'grpc-node.flow_control_window': 1 << 20,
  }) as unknown as {
    getFlows(req: Buffer): grpc.ClientReadableStream<Buffer>;
    close(): void;
  };
  let received = 0;
  let bytes = 0;
  const t = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    const s = client.getFlows(Buffer.alloc(0));
    s.on('data', (b: Buffer) => {
      received++;
      bytes += b.length;
    });
    s.on('end', resolve);
    s.on('error', reject);
  });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  client.close();
  child.send('stop');
  process.stdout.write(
    `${JSON.stringify({
      flows,
      generate_flows_per_s: generateObjects,
      generate_encoded_flows_per_s: generateEncoded,
      stream_one_client_flows_per_s: Math.round(received / seconds),
      stream_bytes_per_flow: Math.round(bytes / received),
      cpus: (await import('node:os')).cpus().length,
    })}\n`,
  );
}
