/**
 * The traffic generator in a process of its own for benchmarks, as Hubble would be: `flowtrail
 * simulate --rate 0 --wait` serves flows as fast as the reader takes them, so a benchmark measures
 * the collector and storage rather than a generator sharing their event loop.
 * @module
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Starts `flowtrail simulate` in a child process and resolves with the address it serves on. */
export async function startSimulator(): Promise<{ address: string; stop(): void }> {
  const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/flowtrail.js');
  const child = spawn(
    process.execPath,
    [
      bin,
      'simulate',
      '--listen',
      '127.0.0.1:0',
      '--rate',
      '0',
      '--wait',
      '--max-flows',
      '65536',
      '--seed',
      '42',
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'], // The child needs nothing from our environment but a quieter log.
      env: { FLOWTRAIL_LOG_LEVEL: 'warn' },
    },
  );
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (\S+?),/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`flowtrail simulate exited with ${code}: ${out}`)));
  });
  return { address, stop: () => child.kill('SIGKILL') };
}
