// ShardORM's one source of seeded randomness: xoshiro128** (Blackman & Vigna), seeded through
// splitmix32 so any 32-bit seed gives a well-mixed state. The replica orders ready messages and
// feeds raw_rand from it; MemoryCluster picks entry shards with it. The same seed and inputs give
// the same run, so a failing seed replays exactly. Pure JS: it also runs inside canisters.
// Injectable (`Random`) wherever a test wants to script choices.

export interface Random {
  /** Uniform 32-bit unsigned integer. */
  nextU32(): number;
}

export class Xoshiro128 implements Random {
  private s = new Uint32Array(4);

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s.every((v) => v === 0)) this.s[0] = 1;
  }

  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Uniform integer in [0, n) without modulo bias; n is at most 2^32 (one draw's range). */
export function randomBelow(random: Random, n: number): number {
  if (!(n <= 0x1_0000_0000)) throw new RangeError(`randomBelow needs n ≤ 2^32, got ${n}; combine two draws for wider ranges`);
  if (n <= 1) return 0;
  const limit = Math.floor(0x1_0000_0000 / n) * n;
  for (;;) {
    const v = random.nextU32();
    if (v < limit) return v % n;
  }
}

export function randomBytes(random: Random, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 4) {
    const v = random.nextU32();
    for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
  }
  return out;
}

/** Fisher–Yates shuffle driven by `random` (in place). */
export function shuffle<T>(random: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomBelow(random, i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
