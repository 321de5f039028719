/**
 * @module A real Apache Kafka broker for tests: each test file starts its own single-node KRaft broker on free
 * loopback ports with its data in os.tmpdir(), and can stop, SIGKILL and restart it to inject faults.
 *
 * The broker runs from the jars that `scripts/kafka-install.sh` resolves from `kafka/pom.xml`, with the config
 * template `kafka/server.properties.template` shared with `scripts/kafka-start.sh`.
 *
 * A broker whose test process was SIGKILLed (no exit hook runs) is killed, and its data removed, by the
 * next `startBroker` on the machine (`reapOrphanBrokers`).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const kafkaDir = join(repoRoot, 'kafka');
const libsDir = join(repoRoot, '.kafka', 'libs');
const javaClassPath = [
  '-cp',
  join(libsDir, '*'),
  `-Dlog4j2.configurationFile=${join(kafkaDir, 'log4j2.properties')}`,
];
const javaHeap = [
  '-Xms128m',
  '-Xmx512m',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-Djava.awt.headless=true',
];
// A JVM start took over a minute on a shared 2-core machine at load ~30: the deadline only catches a hang.
const readyTimeoutMs = 300_000;
const stopTimeoutMs = 20_000;

/** Options for {@link startBroker}; every field is optional so most tests pass nothing. */
export interface BrokerOptions {
  /** Client (PLAINTEXT) port on 127.0.0.1. Default: a free port picked at start. */
  port?: number;
  /** KRaft controller port on 127.0.0.1. Default: a free port picked at start. */
  controllerPort?: number;
  /** Extra `key=value` lines appended to the broker config, for tests that need other limits. */
  overrides?: Record<string, string | number | boolean>;
}

/**
 * A running test broker. `stop`/`kill`/`restart` let fault tests take it down mid-stream and bring it back on
 * the same address with the same data, which is what clients see when a real broker restarts.
 */
export interface TestBroker {
  /** Bootstrap address for kafkajs, `127.0.0.1:<port>`. */
  brokers: string;
  /** Client port, stable across restarts. */
  port: number;
  /** Folder holding server.properties, broker.log and the log dirs. */
  dataDir: string;
  /** The broker's log file, for diagnosing a failed test. */
  logFile: string;
  /** Clean shutdown (SIGTERM, SIGKILL after 20 s). Keeps the data so `restart` resumes from it. */
  stop(): Promise<void>;
  /** Crash the broker (SIGKILL) without letting it flush, to test recovery. Keeps the data. */
  kill(): Promise<void>;
  /** Stop if running, then start again on the same ports and data; resolves once it accepts connections. */
  restart(): Promise<void>;
  /** Stop if running and delete the data dir; call it in `afterAll`. */
  dispose(): Promise<void>;
}

/** JVMs still running when the test process exits; killed on exit so a failed test never leaks a broker. */
const liveBrokers = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveBrokers) child.kill('SIGKILL');
});

/**
 * Where each running broker is recorded (`<jvm pid>.json`: its pid, its owner's, its data dir). A
 * process killed with SIGKILL runs no exit hook and leaves its JVM running, holding ports, memory and
 * a core; the next `startBroker` on this machine finds the record of a broker whose owner is gone,
 * kills the JVM and removes its data.
 */
const registryDir = join(tmpdir(), 'flowtrail-kafka-brokers');

interface BrokerRecord {
  jvm: number;
  owner: number;
  dataDir: string;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** True when `pid` is a broker JVM (its command line names the broker's main class). Linux only. */
function isBrokerJvm(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('kafka.Kafka');
  } catch {
    return false;
  }
}

/** Records a running broker (see `registryDir`); returns the record's path. */
function recordBroker(jvm: number, dataDir: string): string | undefined {
  const file = join(registryDir, `${jvm}.json`);
  const record: BrokerRecord = { jvm, owner: process.pid, dataDir };
  try {
    mkdirSync(registryDir, { recursive: true });
    // Written whole, then renamed: a reaper never reads half a record.
    writeFileSync(`${file}.tmp`, JSON.stringify(record));
    renameSync(`${file}.tmp`, file);
    return file;
  } catch {
    return undefined; // Not writable here (another user's registry): only the owner's exit hook kills it.
  }
}

/**
 * Kills the brokers whose owning process is gone and removes their data; returns the JVM pids
 * killed. A pid the kernel has since given to another program is left alone (its command line is
 * checked first).
 */
export async function reapOrphanBrokers(): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(registryDir);
  } catch {
    return [];
  }
  const reaped: number[] = [];
  for (const name of names) {
    const file = join(registryDir, name);
    if (!name.endsWith('.json')) continue;
    let record: BrokerRecord;
    try {
      record = JSON.parse(await readFile(file, 'utf8')) as BrokerRecord;
    } catch {
      continue; // Being written by its owner, or not ours.
    }
    if (alive(record.owner)) continue;
    if (alive(record.jvm) && isBrokerJvm(record.jvm)) {
      try {
        process.kill(record.jvm, 'SIGKILL');
        reaped.push(record.jvm);
      } catch {}
    }
    // The registry is shared by every user of this tmpdir: what cannot be removed stays, and never
    // stops a broker from starting.
    await rm(record.dataDir, { recursive: true, force: true }).catch(() => {});
    await rm(file, { force: true }).catch(() => {});
  }
  return reaped;
}

/**
 * Installs the broker jars if they are missing, by running `scripts/kafka-install.sh` (Maven). It is a no-op
 * once installed, and the script takes a lock, so parallel test workers may all call it.
 */
export async function ensureKafkaInstalled(): Promise<void> {
  const pom = readFileSync(join(kafkaDir, 'pom.xml'), 'utf8');
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
  if (version && existsSync(join(libsDir, `kafka_2.13-${version}.jar`))) return;
  await execFileAsync('bash', [join(repoRoot, 'scripts', 'kafka-install.sh')], { timeout: 300_000 });
}

/**
 * Starts a fresh single-node KRaft broker and resolves once it accepts TCP connections. With no ports given,
 * it picks free ones and retries on a port race with another test worker.
 */
export async function startBroker(options: BrokerOptions = {}): Promise<TestBroker> {
  await ensureKafkaInstalled();
  await reapOrphanBrokers();
  const fixedPorts = options.port !== undefined || options.controllerPort !== undefined;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const controllerPort = options.controllerPort ?? (await freePort());
    try {
      return await launch(port, controllerPort, options.overrides ?? {});
    } catch (error) {
      if (fixedPorts || attempt >= 3 || !(error instanceof PortInUseError)) throw error;
    }
  }
}

/** Raised when the broker could not bind its ports, which a retry on other free ports fixes. */
class PortInUseError extends Error {}

async function launch(
  port: number,
  controllerPort: number,
  overrides: Record<string, string | number | boolean>,
): Promise<TestBroker> {
  const dataDir = await mkdtemp(join(tmpdir(), 'flowtrail-kafka-'));
  const logDir = join(dataDir, 'logs');
  const configPath = join(dataDir, 'server.properties');
  const logFile = join(dataDir, 'broker.log');
  await mkdir(logDir);
  const template = await readFile(join(kafkaDir, 'server.properties.template'), 'utf8');
  const extra = Object.entries(overrides).map(([key, value]) => `${key}=${value}\n`);
  const config =
    template
      .replaceAll('@PORT@', String(port))
      .replaceAll('@CONTROLLER_PORT@', String(controllerPort))
      .replaceAll('@LOG_DIR@', logDir) + extra.join('');
  await writeFile(configPath, config);
  // A Kafka cluster id is 16 random bytes in URL-safe base64 without padding; a leading '-' would read as a flag.
  const clusterId = randomBytes(16).toString('base64url').replace(/^-/, 'A');

  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = await spawnBroker(configPath, logFile, port);
  };
  const halt = async (signal: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    const running = child;
    child = undefined;
    if (running) await terminate(running, signal);
  };

  try {
    await runJava(['kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', configPath], logFile);
    await start();
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    brokers: `127.0.0.1:${port}`,
    port,
    dataDir,
    logFile,
    stop: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
    restart: async () => {
      await halt('SIGTERM');
      await start();
    },
    dispose: async () => {
      await halt('SIGTERM');
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs a short-lived Kafka JVM tool (the storage formatter), its output appended to the broker log. */
async function runJava(args: string[], logFile: string): Promise<void> {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn('java', [...javaClassPath, ...args], { stdio: ['ignore', fd, fd] });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`kafka ${args[0]} exited with ${code}\n${tailOf(logFile)}`);
  } finally {
    closeSync(fd);
  }
}

/** Spawns `kafka.Kafka` and waits until the client port accepts connections or the JVM dies. */
async function spawnBroker(configPath: string, logFile: string, port: number): Promise<ChildProcess> {
  const fd = openSync(logFile, 'a');
  const child = spawn('java', [...javaHeap, ...javaClassPath, 'kafka.Kafka', configPath], {
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  liveBrokers.add(child);
  const record = child.pid === undefined ? undefined : recordBroker(child.pid, dirname(configPath));
  child.once('exit', () => {
    liveBrokers.delete(child);
    if (record) rmSync(record, { force: true });
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.once('error', () => {
    exited = true;
  });

  const deadline = Date.now() + readyTimeoutMs;
  while (!(await canConnect(port))) {
    if (exited) {
      const tail = tailOf(logFile);
      if (/Address already in use|BindException/.test(tail)) throw new PortInUseError(`port in use\n${tail}`);
      throw new Error(`kafka broker exited during startup\n${tail}`);
    }
    if (Date.now() > deadline) {
      await terminate(child, 'SIGKILL');
      throw new Error(
        `kafka broker did not accept connections on port ${port} within ${readyTimeoutMs / 1000} s\n${tailOf(logFile)}`,
      );
    }
    await sleep(100);
  }
  return child;
}

/** Sends the signal and resolves when the JVM has exited, escalating to SIGKILL after a timeout. */
async function terminate(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Asks the kernel for a free loopback port; a race with another process is handled by the caller's retry. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not pick a free port');
  return address.port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function tailOf(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no broker log)';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
