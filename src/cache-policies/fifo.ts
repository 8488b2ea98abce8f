/**
 * FIFO: evicts the object inserted longest ago; hits change nothing. Reference
 * implementation libCacheSim `FIFO.c`. No deviations.
 */
import type { PolicyOptions } from './cache-policy.js';
import { LruPolicy } from './lru.js';

export class FifoPolicy extends LruPolicy {
  override readonly name: string = 'fifo';

  constructor(options: PolicyOptions) {
    super(options);
  }

  protected override onHit(): void {
    // FIFO order is insertion order.
  }
}
