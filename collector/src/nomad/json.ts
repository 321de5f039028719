/**
 * BigInt-safe JSON for Nomad responses. Nomad encodes int64 nanosecond times (`CreateTime`,
 * `ModifyTime`, ≈1.6e18) and uint64 raft indexes as bare JSON integers; `JSON.parse` would round
 * them to a multiple of 256 ns. Before parsing, every integer literal too long to be exact as a
 * double (more than 15 digits) is rewritten into a string, outside of string literals only; the
 * normalizers in types.ts then read such fields with `BigInt()`.
 * @module
 */

/** Parses Nomad JSON, keeping integers of more than 15 digits exact as decimal strings. */
export function parseNomadJson(text: string): unknown {
  return JSON.parse(quoteBigIntegers(text));
}

/** Rewrites integer literals longer than 15 digits into JSON strings, leaving string literals alone. */
export function quoteBigIntegers(text: string): string {
  let out = '';
  let last = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // Skip the string literal, honouring escapes.
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i++;
        else if (d === 34) break;
      }
      continue;
    }
    if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      let j = c === 45 ? i + 1 : i;
      const digitsStart = j;
      while (j < n && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++;
      const next = j < n ? text.charCodeAt(j) : 0;
      const isFraction = next === 46 /* . */ || next === 101 /* e */ || next === 69; /* E */
      if (j - digitsStart > 15 && !isFraction) {
        out += `${text.slice(last, i)}"${text.slice(i, j)}"`;
        last = j;
      }
      // Skip the rest of a fraction or exponent so its digits are not read as a new number.
      while (j < n && /[0-9.eE+-]/.test(text[j]!)) j++;
      i = j - 1;
    }
  }
  return last === 0 ? text : out + text.slice(last);
}
