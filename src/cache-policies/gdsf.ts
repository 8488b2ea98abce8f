/**
 * GDSF, Greedy-Dual-Size-Frequency (Cherkasova, "Improving WWW Proxies Performance with
 * Greedy-Dual-Size-Frequency Caching Policy", HP Labs HPL-98-69, 1998; reference
 * libCacheSim `cpp/GDSF.cpp`, commit aa0fc40): priority H = L + frequency × 10⁶ / size (cost
 * 10⁶ per object, tuned for object hit ratio; the size the object was admitted with), L the
 * priority of the last evicted object (inflation, so old popularity ages out). Evicts the
 * smallest H, the least recently updated first among equals. Small popular objects stay.
 * Follows libCacheSim's arithmetic (same operations in the same order) so that its printed
 * miss ratios are ours to the fourth decimal.
 */
import { growFloat64, type PolicyOptions } from './cache-policy.js';
import { PriorityPolicy } from './priority-policy.js';

/** The cost of a miss in libCacheSim's GDSF: 1.0e6 (any constant gives the same order but for rounding). */
export const GDSF_COST = 1.0e6;

export class GdsfPolicy extends PriorityPolicy {
  readonly name = 'gdsf';
  private freq: Float64Array;
  private inflation = 0;

  constructor(options: PolicyOptions) {
    super(options);
    this.freq = new Float64Array(this.size.length);
  }

  protected hitPriority(id: number): number {
    if (id >= this.freq.length) this.freq = growFloat64(this.freq, id);
    return this.inflation + (++this.freq[id]! * GDSF_COST) / this.size[id]!;
  }

  protected missPriority(id: number, sizeBytes: number): number {
    if (id >= this.freq.length) this.freq = growFloat64(this.freq, id);
    this.freq[id] = 1;
    return this.inflation + GDSF_COST / sizeBytes;
  }

  protected override onEvicted(priority: number): void {
    this.inflation = priority;
  }
}
