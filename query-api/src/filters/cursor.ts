/**
 * The opaque page cursor of /api/v1/flows: the (time, flow_id) key of the last row returned and
 * the sort order it belongs to, base64url-encoded so clients treat it as a token. Keyset paging
 * stays exact and cheap however deep the client pages, unlike OFFSET.
 * @module
 */
import { InputError } from '../../../common/errors.ts';
import { type FlowSortKey, flowSortKeys, validSortValue } from './sort.ts';

/** Where the next page starts (exclusive). */
export interface FlowCursor {
  /** Time of the last row, Unix nanoseconds. */
  timeNs: bigint;
  /** flow_id of the last row, 32 hex digits. */
  flowId: string;
  order: 'newest' | 'oldest';
  /** The sort key of the page (absent: time) and, for other keys, the last row's value as text. */
  sort?: { key: Exclude<FlowSortKey, 'time'>; value: string };
}

/** Encodes a cursor as an opaque token. */
export function encodeCursor(c: FlowCursor): string {
  const sort = c.sort ? { s: c.sort.key, v: c.sort.value } : {};
  return Buffer.from(JSON.stringify({ t: c.timeNs.toString(), i: c.flowId, o: c.order, ...sort })).toString(
    'base64url',
  );
}

/** Decodes a token from encodeCursor; anything else is a 400 naming `cursor`. */
export function decodeCursor(token: string): FlowCursor {
  try {
    if (!/^[A-Za-z0-9_-]{1,400}$/.test(token)) throw new Error('shape');
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;
    const t = v['t'];
    const i = v['i'];
    const o = v['o'];
    if (typeof t !== 'string' || !/^\d{1,20}$/.test(t)) throw new Error('time');
    if (typeof i !== 'string' || !/^[0-9a-f]{32}$/.test(i)) throw new Error('id');
    if (o !== 'newest' && o !== 'oldest') throw new Error('order');
    const key = v['s'];
    if (key === undefined) return { timeNs: BigInt(t), flowId: i, order: o };
    const value = v['v'];
    if (typeof key !== 'string' || key === 'time' || !flowSortKeys.includes(key as FlowSortKey))
      throw new Error('sort');
    if (typeof value !== 'string' || !validSortValue(key as FlowSortKey, value)) throw new Error('value');
    return {
      timeNs: BigInt(t),
      flowId: i,
      order: o,
      sort: { key: key as Exclude<FlowSortKey, 'time'>, value },
    };
  } catch {
    throw new InputError('cursor: not a cursor returned by this API', 'cursor');
  }
}
