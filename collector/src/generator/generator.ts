/**
 * @module The synthetic Hubble traffic generator: multi-tenant Nomad-style flows (netreap labels, egress
 * to the world, DNS, HTTP, policy drops, abuse on demand) at a set rate into a bounded ring, served by the
 * Observer server. Per-flow work is a template lookup plus time, uuid and ports (see templates.ts), so
 * generation runs far above the 150k flows/s ingest target on one core.
 */

import { createLogger, type Logger } from '../../../common/logger.ts';
import { LostEventSource } from '../../../proto/gen/flow/flow.js';
import { type AbusePattern, abuseBurst } from './abuse.ts';
import { type GeneratorConfig, type ResolvedGeneratorConfig, resolveGeneratorConfig } from './config.ts';
import { ConversationBuilder } from './conversations.ts';
import { createStaticPopulation, type Population } from './population.ts';
import type { RingEvent } from './ring.ts';
import { createRng, randomUuid } from './rng.ts';
import { type FlowSupply, SupplyBook } from './supply.ts';
import { hubbleNodeName, Materializer, type Step, TemplateCache } from './templates.ts';
import { normalConversation, PeerIndex } from './traffic.ts';

/** What the generator needs from outside; all optional. */
export interface GeneratorDeps {
  /** Who owns the traffic (the demo's Nomad stand-in); the built-in static population otherwise. */
  population?: Population;
  logger?: Logger;
  /** Wall clock in milliseconds (tests pin it). @default Date.now */
  now?: () => number;
}

/** The generator: a flow supply plus direct, unpaced access for tests and benchmarks. */
export interface Generator extends FlowSupply {
  readonly config: ResolvedGeneratorConfig;
  /** The next `n` flows (and any LostEvents due), stamped now, without touching the ring. */
  take(n: number): RingEvent[];
  /** Generates `n` flows into the ring immediately (tests, pre-filling). */
  fill(n: number): void;
  /** Queues one burst of an abuse pattern, emitted before further normal traffic. */
  injectAbuse(pattern: AbusePattern, options?: { actorIp?: string }): void;
  /** Flows generated so far (LostEvents not counted). */
  readonly generated: number;
}

/** Creates a generator; nothing runs until `start()` (or `take`/`fill` are called). */
export function createGenerator(config: GeneratorConfig = {}, deps: GeneratorDeps = {}): Generator {
  const cfg = resolveGeneratorConfig(config);
  const log = (deps.logger ?? createLogger('generator')).child('generator');
  const now = deps.now ?? Date.now;
  const rng = createRng(cfg.seed);
  const uuidRng = createRng(cfg.seed === undefined ? undefined : cfg.seed ^ 0x5eed);
  const population = deps.population ?? createStaticPopulation();
  const peers = new PeerIndex(population, cfg.clusterName);
  const builder = new ConversationBuilder(rng, new TemplateCache(), cfg.clusterName);
  const materializer = new Materializer(cfg.encode);
  const book = new SupplyBook(cfg.maxFlows);

  const queue: Step[] = [];
  let qi = 0;
  const pendingAbuse: { pattern: AbusePattern; actorIp?: string }[] = [];
  let abuseTurn = 0;
  let generated = 0;
  let sinceLost = 0;
  let sinceAbuse = 0;
  let lastSec = 0;
  let lastNanos = 0;

  const nextAbuse = () => {
    const pattern = cfg.abuse[abuseTurn++ % cfg.abuse.length];
    if (pattern) pendingAbuse.push({ pattern });
  };

  const nextStep = (): Step | undefined => {
    for (let attempt = 0; qi >= queue.length && attempt < 16; attempt++) {
      queue.length = 0;
      qi = 0;
      peers.refresh();
      if (peers.all.length === 0) return undefined;
      const abuse = pendingAbuse.shift();
      if (abuse) {
        const actor = (abuse.actorIp && peers.all.find((p) => p.ip === abuse.actorIp)) || rng.pick(peers.all);
        abuseBurst(queue, abuse.pattern, actor, rng, builder, peers);
      } else normalConversation(queue, rng, builder, peers);
    }
    return queue[qi++];
  };

  const stamp = (ms: number): void => {
    let sec = Math.floor(ms / 1000);
    let nanos = Math.round((ms - sec * 1000) * 1e6);
    if (nanos >= 1e9) {
      sec++;
      nanos -= 1e9;
    }
    if (sec < lastSec || (sec === lastSec && nanos <= lastNanos)) {
      sec = lastSec;
      nanos = lastNanos + 1;
      if (nanos >= 1e9) {
        sec++;
        nanos = 0;
      }
    }
    lastSec = sec;
    lastNanos = nanos;
  };

  const lostEvent = (): RingEvent => {
    const time = { seconds: BigInt(lastSec), nanos: lastNanos };
    const node = peers.all.length ? (rng.pick(peers.all).node ?? '') : '';
    return {
      kind: 'lost_events',
      response: {
        lost_events: {
          source: LostEventSource.PERF_EVENT_RING_BUFFER,
          num_events_lost: BigInt(rng.range(1, 50)),
          cpu: rng.int(4),
          first: time,
          last: time,
        },
        node_name: hubbleNodeName(cfg.clusterName, node),
        time,
      },
      seconds: lastSec,
      nanos: lastNanos,
    };
  };

  /** Produces `n` flows with times spread over (fromMs, toMs]; returns how many were produced. */
  const produce = (n: number, fromMs: number, toMs: number, sink: (ev: RingEvent) => void): number => {
    const span = toMs - fromMs;
    for (let i = 0; i < n; i++) {
      if (cfg.abuseEveryFlows !== undefined && cfg.abuse.length > 0 && ++sinceAbuse >= cfg.abuseEveryFlows) {
        sinceAbuse = 0;
        nextAbuse();
      }
      const step = nextStep();
      if (!step) return i;
      stamp(fromMs + (span * (i + 1)) / n);
      sink(materializer.event(step, lastSec, lastNanos, randomUuid(uuidRng)));
      generated++;
      if (cfg.lostEvery > 0 && ++sinceLost >= cfg.lostEvery) {
        sinceLost = 0;
        sink(lostEvent());
      }
    }
    return n;
  };

  const pushToRing = (ev: RingEvent) => book.push(ev);

  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let t0 = 0;
  let paced = 0;
  let lastTickMs = 0;
  let lastAbuseMs = 0;
  const maxBatch = 8192;

  const tick = () => {
    timer = undefined;
    if (!running) return;
    const t = now();
    if (cfg.abuse.length > 0 && cfg.abuseEveryFlows === undefined && t - lastAbuseMs >= cfg.abuseIntervalMs) {
      lastAbuseMs = t;
      nextAbuse();
    }
    let due: number;
    if (cfg.rate > 0) {
      due = Math.floor(((t - t0) * cfg.rate) / 1000) - paced;
      // More than a quarter second behind (a stall, a slow reader in 'wait' mode): forget the debt.
      const slack = Math.max(maxBatch, cfg.rate / 4);
      if (due > slack) {
        paced += due - slack;
        due = slack;
      }
      due = Math.min(due, maxBatch);
    } else due = maxBatch;
    if (cfg.overflow === 'wait' && book.ring.readers > 0) due = Math.min(due, book.ring.freeForReaders());
    let made = 0;
    if (due > 0) {
      made = produce(due, Math.max(lastTickMs, t - cfg.tickMs), t, pushToRing);
      paced += made;
      book.ring.notify();
    }
    lastTickMs = t;
    const busy = cfg.rate === 0 ? made > 0 : made >= maxBatch;
    if (busy) timer = setImmediate(tick) as unknown as NodeJS.Timeout;
    else timer = setTimeout(tick, cfg.tickMs);
  };

  return {
    config: cfg,
    get ring() {
      return book.ring;
    },
    get generated() {
      return generated;
    },
    describe: () =>
      `synthetic Nomad traffic at ${cfg.rate > 0 ? `${cfg.rate} flows/s` : 'full speed'} from ${population.endpoints().length} endpoints` +
      (cfg.abuse.length ? `, abuse: ${cfg.abuse.join(',')}` : '') +
      (cfg.seed !== undefined ? `, seed ${cfg.seed}` : ''),
    nodeNames: () => {
      peers.refresh();
      for (const p of peers.all) if (p.node) book.addNode(hubbleNodeName(cfg.clusterName, p.node));
      return book.nodeNames();
    },
    namespaces: () => book.namespaces(),
    flowsRate: () => book.flowsRate(),
    take(n) {
      const out: RingEvent[] = [];
      const t = now();
      produce(n, t, t, (ev) => out.push(ev));
      return out;
    },
    fill(n) {
      const t = now();
      produce(n, t, t, pushToRing);
      book.ring.notify();
    },
    injectAbuse(pattern, options) {
      pendingAbuse.push({ pattern, actorIp: options?.actorIp });
    },
    async start() {
      if (running) return;
      running = true;
      t0 = now();
      lastTickMs = t0;
      lastAbuseMs = t0 - cfg.abuseIntervalMs;
      paced = 0;
      log.info('generator started', {
        rate: cfg.rate,
        max_flows: cfg.maxFlows,
        abuse: cfg.abuse,
        seed: cfg.seed,
      });
      tick();
    },
    async stop() {
      if (!running) return;
      running = false;
      if (timer) {
        clearTimeout(timer);
        clearImmediate(timer as unknown as NodeJS.Immediate);
      }
      timer = undefined;
      book.ring.close();
      log.info('generator stopped', { generated });
    },
  };
}
