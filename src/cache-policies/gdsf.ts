/**
 * GDSF, Greedy-Dual-Size-Frequency (Cherkasova, "Improving WWW Proxies Performance with
 * Greedy-Dual-Size-Frequency Caching Policy", HP Labs HPL-98-69, 1998; reference
 * libCacheSim `GDSF.c`): priority H = L + frequency × cost / size with cost 1 (tuned for
 * object hit ratio), L the priority of the last evicted object (inflation, so old
 * popularity ages out). Evicts the smallest H; small popular objects stay. Size-aware.
 */
import { growFloat64, type PolicyOptions } from './cache-policy.js';
import { PriorityPolicy } from './priority-policy.js';

export class GdsfPolicy extends PriorityPolicy {
  readonly name = 'gdsf';
  private freq: Float64Array;
  private inflation = 0;

  constructor(options: PolicyOptions) {
    super(options);
    this.freq = new Float64Array(this.size.length);
  }

  protected hitPriority(id: number, sizeBytes: number): number {
    if (id >= this.freq.length) this.freq = growFloat64(this.freq, id);
    return this.inflation + ++this.freq[id]! / sizeBytes;
  }

  protected missPriority(id: number, sizeBytes: number): number {
    if (id >= this.freq.length) this.freq = growFloat64(this.freq, id);
    this.freq[id] = 1;
    return this.inflation + 1 / sizeBytes;
  }

  protected override onEvicted(priority: number): void {
    this.inflation = priority;
  }
}
