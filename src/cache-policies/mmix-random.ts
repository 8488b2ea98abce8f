/**
 * The random numbers of libCacheSim's sampling policies (`next_rand` in `utils/include/mymath.h`,
 * commit aa0fc40, "taken from LHD simulator"): Knuth's MMIX linear congruential generator,
 * s ← 6364136223846793005·s + 1442695040888963407 (mod 2^64), read as `s % n`. A policy that
 * samples as libCacheSim does must draw the same numbers in the same order to give its results.
 */
const LIMB = 65536;
const LIMB_INVERSE = 1 / LIMB;

/**
 * x mod n for integers 0 ≤ x < 2^47, 0 < n < 2^31, without `%` (V8 computes a double `%` through
 * fmod, the hot spot of the eviction sampling). Exact: the quotient x/n < 2^47/n is rounded by
 * at most half an ulp, below 2^-6/n, while a quotient that is not an integer lies at least 1/n
 * from one, so its floor is the true one (checked against BigInt in the policies' unit test).
 */
function modExact(x: number, n: number): number {
  return x - Math.floor(x / n) * n;
}

/**
 * Knuth's MMIX linear congruential generator, s ← 6364136223846793005·s + 1442695040888963407
 * (mod 2^64), as libCacheSim's `next_rand`: the state in four 16-bit limbs (exact in doubles),
 * starting at 0 as libCacheSim's multi-cache simulator seeds it (`set_rand_seed(0)`).
 */
export class Mmix64Random {
  // The state, least significant 16 bits first.
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /** Advances the state (a = 0x5851f42d4c957f2d, c = 0x14057b7ef767814f); then `mod` and `low5` read it. */
  next(): void {
    const { s0, s1, s2, s3 } = this;
    let acc = 0x814f + 0x7f2d * s0;
    let carry = Math.floor(acc * LIMB_INVERSE);
    this.s0 = acc - carry * LIMB;
    acc = carry + 0xf767 + 0x7f2d * s1 + 0x4c95 * s0;
    carry = Math.floor(acc * LIMB_INVERSE);
    this.s1 = acc - carry * LIMB;
    acc = carry + 0x7b7e + 0x7f2d * s2 + 0x4c95 * s1 + 0xf42d * s0;
    carry = Math.floor(acc * LIMB_INVERSE);
    this.s2 = acc - carry * LIMB;
    acc = carry + 0x1405 + 0x7f2d * s3 + 0x4c95 * s2 + 0xf42d * s1 + 0x5851 * s0;
    this.s3 = acc - Math.floor(acc * LIMB_INVERSE) * LIMB;
  }

  /** The state mod n (n < 2^31), as C's `uint64 % n`. */
  mod(n: number): number {
    let r = modExact(this.s3, n);
    r = modExact(r * LIMB + this.s2, n);
    r = modExact(r * LIMB + this.s1, n);
    return modExact(r * LIMB + this.s0, n);
  }

  /** The state mod 32. */
  low5(): number {
    return this.s0 & 31;
  }
}
