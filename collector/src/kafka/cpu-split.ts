/**
 * Where a benchmark's CPU goes, read from Linux's /proc: this process's threads by kind, and child
 * processes by command line (the throwaway Kafka broker). The Kafka bench reports it so the rate's
 * bound is measured, not guessed: on 2 cores the JavaScript thread, chdb's insert threads and the
 * broker's JVM share the machine. Elsewhere than Linux the readers return undefined.
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU (user + system) in microseconds, by kind of thread of this process. */
export interface ThreadCpu {
  /** The main JavaScript thread: the collector, the writer, kafkajs, the codec, GC pauses. */
  jsMain: number;
  /**
   * Node's other threads (all named `node` on Linux): worker threads (the gRPC reader), libuv's
   * pool (LZ4 through lz4-napi, file writes) and V8's helpers (concurrent GC, compilation).
   */
  jsOther: number;
  /** Every other named thread: chdb's (ThreadPool inserts, MergeMutate merges, schedulers). */
  native: number;
}

/** Linux's USER_HZ: /proc reports CPU times in 1/100 s everywhere Node runs on Linux. */
const usPerTick = 10_000;

/** utime + stime (µs) and the command name of a /proc `stat` line. */
function parseStat(stat: string): { name: string; ppid: number; us: number } {
  // The name is in parentheses and may itself hold spaces or parentheses: split after the last one.
  const close = stat.lastIndexOf(')');
  const name = stat.slice(stat.indexOf('(') + 1, close);
  const f = stat.slice(close + 2).split(' ');
  return { name, ppid: Number(f[1]), us: (Number(f[11]) + Number(f[12])) * usPerTick };
}

/** Kinds of this process's threads that run JavaScript or serve Node (see ThreadCpu.jsOther). */
const nodeThread = (name: string) => name === 'node' || name.startsWith('V8') || name.startsWith('libuv');

/**
 * A Node process's CPU by kind of thread so far (this one, or a child such as the bench's collector
 * process); undefined where /proc is not there (or the process is gone).
 */
export function threadCpu(pid: number = process.pid): ThreadCpu | undefined {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const out: ThreadCpu = { jsMain: 0, jsOther: 0, native: 0 };
  const main = String(pid);
  for (const t of tasks) {
    let s: ReturnType<typeof parseStat>;
    try {
      s = parseStat(readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8'));
    } catch {
      continue; // the thread ended between the listing and the read
    }
    if (t === main) out.jsMain += s.us;
    else if (nodeThread(s.name)) out.jsOther += s.us;
    else out.native += s.us;
  }
  return out;
}

/** `b - a`, field by field. */
export function threadCpuSince(a: ThreadCpu, b: ThreadCpu): ThreadCpu {
  return { jsMain: b.jsMain - a.jsMain, jsOther: b.jsOther - a.jsOther, native: b.native - a.native };
}

/**
 * The CPU (µs) of process `pid` so far, its threads that ended included (a thread's ticks leave
 * `/proc/<pid>/task` with it, not the process's total); undefined when it is gone (or no /proc).
 */
export function processCpu(pid: number): number | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).us;
  } catch {
    return undefined;
  }
}

/**
 * The CPU (µs, all threads) of this process's children whose command line contains `marker`, or
 * undefined when there is none (or no /proc).
 */
export function childCpu(marker: string): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  let total: number | undefined;
  for (const p of pids) {
    try {
      const s = parseStat(readFileSync(`/proc/${p}/stat`, 'utf8'));
      if (s.ppid !== process.pid) continue;
      if (!readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker)) continue;
      total = (total ?? 0) + s.us;
    } catch {
      // exited meanwhile
    }
  }
  return total;
}
