/**
 * @module A small seeded pseudo-random generator (mulberry32), so generated traffic is reproducible
 * in tests (`seed`) and still cheap per flow. Not for anything security-related.
 */
import { randomBytes } from 'node:crypto';

/** A deterministic random source; every generator decision draws from one of these. */
export interface Rng {
  /** A uniformly distributed unsigned 32-bit integer. */
  u32(): number;
  /** A float in [0, 1). */
  float(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** An integer in [min, max] (inclusive). */
  range(min: number, max: number): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** True with probability p. */
  chance(p: number): boolean;
}

/** Creates a seeded generator; without a seed, it is seeded from the OS so runs differ. */
export function createRng(seed?: number): Rng {
  let state = (seed ?? randomBytes(4).readUInt32LE(0)) >>> 0;
  const u32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const float = (): number => u32() / 4_294_967_296;
  const int = (n: number): number => Math.floor(float() * n);
  return {
    u32,
    float,
    int,
    range: (min, max) => min + int(max - min + 1),
    pick: <T>(items: readonly T[]): T => items[int(items.length)] as T,
    chance: (p) => float() < p,
  };
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A random (version 4) UUID drawn from `rng`: Hubble puts one on every flow. */
export function randomUuid(rng: Rng): string {
  const a = rng.u32();
  const b = rng.u32();
  const c = rng.u32();
  const d = rng.u32();
  return (
    HEX[a >>> 24]! +
    HEX[(a >>> 16) & 255]! +
    HEX[(a >>> 8) & 255]! +
    HEX[a & 255]! +
    '-' +
    HEX[b >>> 24]! +
    HEX[(b >>> 16) & 255]! +
    '-4' +
    HEX[(b >>> 8) & 15]!.slice(1) +
    HEX[b & 255]! +
    '-' +
    HEX[0x80 | ((c >>> 24) & 0x3f)]! +
    HEX[(c >>> 16) & 255]! +
    '-' +
    HEX[(c >>> 8) & 255]! +
    HEX[c & 255]! +
    HEX[d >>> 24]! +
    HEX[(d >>> 16) & 255]! +
    HEX[(d >>> 8) & 255]! +
    HEX[d & 255]!
  );
}
