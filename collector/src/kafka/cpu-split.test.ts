import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { waitUntil } from '../../../common/testing/faults.ts';
import { childCpu, processCpu, threadCpu, threadCpuSince } from './cpu-split.ts';

/** Spins until this process has burnt `ms` more of CPU (a wall-clock spin gets less on a loaded machine). */
function cpuEnd(ms: number): void {
  const used = () => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1000;
  };
  const end = used() + ms;
  while (used() < end) {
    // burn CPU on this thread
  }
}
/** The same, as source for a worker or a child process to run. */
const cpuSpin = `const cpuEnd = ${cpuEnd.toString()};`;
const spin = cpuEnd;

describe.runIf(process.platform === 'linux')('collector > kafka > cpu split', () => {
  it('charges the main thread’s work to jsMain and a worker’s to jsOther', async () => {
    const a = threadCpu()!;
    spin(300);
    const b = threadCpu()!;
    const main = threadCpuSince(a, b);
    // Ticks are 10 ms: 300 ms of spinning shows as at least 200 ms, and nearly all of it on main.
    expect(main.jsMain).toBeGreaterThanOrEqual(200_000);
    expect(main.jsOther + main.native).toBeLessThan(main.jsMain / 2);

    const worker = new Worker(
      `const { parentPort } = require("node:worker_threads"); ${cpuSpin} cpuEnd(300); parentPort.postMessage("done"); setInterval(() => {}, 1000);`,
      { eval: true },
    );
    try {
      await once(worker, 'message');
      // Read while the worker still exists: an ended thread's ticks leave /proc/self/task.
      const c = threadCpu()!;
      expect(threadCpuSince(b, c).jsOther).toBeGreaterThanOrEqual(200_000);
    } finally {
      await worker.terminate();
    }
  });

  it('reads the CPU of the children whose command line holds the marker, and only theirs', async () => {
    const marker = `cpu-split-test-${process.pid}`;
    const child = spawn(
      process.execPath,
      ['-e', `${cpuSpin} cpuEnd(300); setInterval(() => {}, 1000);`, marker],
      { stdio: 'ignore' },
    );
    try {
      await waitUntil('the child to burn its CPU', () => (childCpu(marker) ?? 0) >= 200_000, {
        timeoutMs: 60_000,
      });
      expect(childCpu('no-such-child-marker')).toBeUndefined();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('keeps the CPU of a thread that ended in the process total, which its threads no longer show', async () => {
    const before = { threads: threadCpu()!, total: processCpu(process.pid)! };
    const worker = new Worker(
      `const { parentPort } = require("node:worker_threads"); ${cpuSpin} cpuEnd(300); parentPort.postMessage("done");`,
      { eval: true },
    );
    await once(worker, 'message');
    await once(worker, 'exit');
    const threads = threadCpuSince(before.threads, threadCpu()!);
    const total = processCpu(process.pid)! - before.total;
    // The bench reads the collector process so: its gRPC reader's thread ends before the last reading.
    expect(threads.jsOther).toBeLessThan(150_000);
    expect(total - threads.jsMain).toBeGreaterThanOrEqual(200_000);
    expect(processCpu(2 ** 22 + 1)).toBeUndefined();
  });
});
