/**
 * LFU: evicts the object with the fewest hits since it was admitted; ties go to the least
 * recently used. Counts are forgotten on eviction (in-cache LFU, as libCacheSim `LFU.c`;
 * its tie-break may differ from ours). O(log n) per access through the indexed heap.
 */
import { growFloat64, type PolicyOptions } from './cache-policy.js';
import { PriorityPolicy } from './priority-policy.js';

export class LfuPolicy extends PriorityPolicy {
  readonly name = 'lfu';
  private freq: Float64Array;

  constructor(options: PolicyOptions) {
    super(options);
    this.freq = new Float64Array(this.size.length);
  }

  protected hitPriority(id: number): number {
    if (id >= this.freq.length) this.freq = growFloat64(this.freq, id);
    return ++this.freq[id]!;
  }

  protected missPriority(id: number): number {
    if (id >= this.freq.length) this.freq = growFloat64(this.freq, id);
    this.freq[id] = 1;
    return 1;
  }
}
