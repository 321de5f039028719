/**
 * JSON text of untrusted values that can never throw and never grows without bound: what the
 * audit log and the logger write. A client controls request bodies and query strings, so a
 * 5,000-deep object, a cycle, a bigint or a getter that throws must still give a line (nesting
 * beyond `maxDepth` becomes `"[depth]"`, a cycle `"[cycle]"`, and longer text becomes a JSON string of its first `maxChars` characters).
 * @module
 */

/** Limits of boundedJson. */
export interface BoundedJsonLimits {
  /** Nesting deeper than this is replaced by "[depth]". Default 16. */
  maxDepth?: number;
  /** The text is cut to this many characters. Default 16,384. */
  maxChars?: number;
  /** Array items and object keys kept per level. Default 200. */
  maxItems?: number;
}

/** JSON text of `value` within the limits; never throws. */
export function boundedJson(value: unknown, limits: BoundedJsonLimits = {}): string {
  const maxDepth = limits.maxDepth ?? 16;
  const maxChars = limits.maxChars ?? 16_384;
  const maxItems = limits.maxItems ?? 200;
  const seen = new Set<object>();
  // Work on a pruned copy so JSON.stringify itself never recurses deeper than maxDepth.
  const prune = (v: unknown, depth: number): unknown => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Error) return v.message;
    if (v === null || typeof v !== 'object') {
      if (typeof v === 'function' || typeof v === 'symbol') return undefined;
      if (typeof v === 'string' && v.length > maxChars) return v.slice(0, maxChars);
      return v;
    }
    if (depth >= maxDepth) return '[depth]';
    if (seen.has(v)) return '[cycle]';
    seen.add(v);
    try {
      if (Array.isArray(v)) return v.slice(0, maxItems).map((x) => prune(x, depth + 1));
      const out: Record<string, unknown> = {};
      let n = 0;
      for (const k of Object.keys(v)) {
        if (n++ >= maxItems) break;
        out[k] = prune((v as Record<string, unknown>)[k], depth + 1);
      }
      return out;
    } finally {
      seen.delete(v);
    }
  };
  try {
    const text = JSON.stringify(prune(value, 0)) ?? 'null';
    // Still valid JSON when cut: the beginning of the text, as a JSON string.
    return text.length > maxChars ? JSON.stringify(text.slice(0, Math.max(0, maxChars - 64))) : text;
  } catch {
    return '"[unserializable]"';
  }
}
