/**
 * Who held an address across a window, from the attribution API (owner at an instant plus the
 * previous and next owners): start at the window's beginning and follow `next` until the window
 * ends. Only ownership intervals (with a start) become bands; label-derived owners carry no
 * interval.
 * @module
 */
import type { ApiClient, Owner } from './api.ts';
import type { Band } from './charts/timeline.ts';
import { timeMs } from './format.ts';

const keyOf = (o: Owner) => `${o.alloc_id}|${o.node}|${o.start}`;

/** The owner intervals of `address` that overlap [sinceMs, untilMs), oldest first. */
export async function ownerBands(
  api: ApiClient,
  address: string,
  since: string,
  until: string,
  signal?: AbortSignal,
): Promise<Band[]> {
  const sinceMs = timeMs(since);
  const untilMs = timeMs(until);
  const seen = new Map<string, Owner>();
  const add = (o: Owner | null) => {
    if (o?.start) seen.set(keyOf(o), o);
  };
  let at = since;
  for (let i = 0; i < 25; i++) {
    const a = await api.attribution(address, at, signal);
    add(a.previous);
    add(a.owner);
    add(a.next);
    // Continue after whichever interval reaches furthest, or at the next owner's start.
    const next = a.next?.start ?? a.owner?.end ?? null;
    if (!next || timeMs(next) >= untilMs || next === at) break;
    at = next;
  }
  return [...seen.values()]
    .map((owner) => ({
      address,
      owner,
      startMs: timeMs(owner.start ?? since),
      endMs: owner.end ? timeMs(owner.end) : undefined,
    }))
    .filter((b) => b.startMs < untilMs && (b.endMs === undefined || b.endMs > sinceMs))
    .sort((a, b) => a.startMs - b.startMs);
}
