/**
 * `flowtrail who <ip> [--at <time>] [--json]`: who held an address at an instant, with the
 * previous and next holders, from the ownership table. Times: RFC 3339 with nanoseconds, epoch
 * nanoseconds, `now`, or relative forms like `-15m` (default now).
 * @module
 */

import { parseArgs } from 'node:util';
import { openStore, storeConfigOf } from '../../common/clickhouse/index.ts';
import { migrate } from '../../common/clickhouse/migrator.ts';
import { InputError } from '../../common/errors.ts';
import { type Owner, type WhoAnswer, who } from '../../common/ownership/who.ts';
import { parseTimeArg } from '../../common/time.ts';
import { serviceConfig } from '../env.ts';

/** The command's usage text (`flowtrail who --help`). */
export const usage = 'usage: flowtrail who <ip> [--at <time>] [--json]\n';

/** Runs the command; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(`flowtrail who: ${err instanceof Error ? err.message : String(err)}\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const ip = positionals[0];
  if (!ip || positionals.length > 1) {
    process.stderr.write(usage);
    return 2;
  }
  const at = parseTimeArg(values.at ?? 'now');
  const store = await openStore(storeConfigOf(serviceConfig().env));
  try {
    await migrate(store, { ttlDays: serviceConfig().env.FLOWTRAIL_TTL_DAYS });
    const answer = await who(store, ip, at);
    process.stdout.write(values.json ? `${JSON.stringify(answer)}\n` : formatAnswer(answer));
    return 0;
  } finally {
    await store.close();
  }
}

function parse(argv: string[]) {
  // `--at -15m` is a value, not an option: glue it so parseArgs does not reject it.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--at' && argv[i + 1] !== undefined) args.push(`--at=${argv[++i]}`);
    else args.push(argv[i]!);
  }
  const r = parseArgs({
    args,
    allowPositionals: true,
    options: { at: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (r.values.at === '') throw new InputError('--at needs a time', 'at');
  return r;
}

function describe(o: Owner): string[] {
  const who = [o.tenant && `tenant ${o.tenant}`, o.account && `account ${o.account}`]
    .filter(Boolean)
    .join(', ');
  const what = [
    o.job && `job ${o.job}`,
    o.group && `group ${o.group}`,
    o.namespace && `namespace ${o.namespace}`,
  ]
    .filter(Boolean)
    .join(', ');
  const alloc = o.alloc_id ? `allocation ${o.alloc_name || '?'} (${o.alloc_id})` : '';
  return [
    who || '(tenant unknown)',
    [what, alloc, o.node && `on node ${o.node}`].filter(Boolean).join(', '),
    `held from ${o.start ?? '?'} until ${o.end ?? 'now (still held)'}; source: ${o.source}`,
  ].filter(Boolean);
}

/** Human-readable rendering of an answer. */
export function formatAnswer(a: WhoAnswer): string {
  const lines = [`${a.ip} at ${a.at}`];
  if (a.owner) {
    const [first, ...rest] = describe(a.owner);
    lines.push(`  owner:    ${first}`, ...rest.map((l) => `            ${l}`));
  } else {
    lines.push('  owner:    nobody known held this address at that instant');
  }
  for (const [label, o] of [
    ['previous', a.previous],
    ['next', a.next],
  ] as const) {
    if (!o) {
      lines.push(`  ${label}:${' '.repeat(9 - label.length)}none`);
      continue;
    }
    const [first, ...rest] = describe(o);
    lines.push(`  ${label}:${' '.repeat(9 - label.length)}${first}`, ...rest.map((l) => `            ${l}`));
  }
  return `${lines.join('\n')}\n`;
}
