/**
 * @module A process that starts a broker and waits to be killed: the broker test SIGKILLs it to leave
 * an orphaned JVM for the next start to reap. Prints `ready` once the broker accepts connections.
 */
import { startBroker } from '../../kafka/broker.ts';

await startBroker();
process.stdout.write('ready\n');
setInterval(() => {}, 60_000);
