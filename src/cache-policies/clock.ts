/**
 * CLOCK (Corbató, "A paging experiment with the Multics system", MIT Project MAC, 1968): a FIFO
 * queue where each object carries a reference bit. A hit sets the bit; eviction looks at the
 * oldest object: with its bit set, the bit is cleared and the object goes back to the head
 * (its second chance); without, it is evicted. Reference libCacheSim `Clock.c` (commit aa0fc40,
 * its default one-bit counter), rule for rule.
 */
import { growUint8, type PolicyOptions } from './cache-policy.js';
import { LruPolicy } from './lru.js';

const Q = 0;

export class ClockPolicy extends LruPolicy {
  override readonly name: string = 'clock';
  private referenced: Uint8Array;

  constructor(options: PolicyOptions) {
    super(options);
    this.referenced = new Uint8Array(this.q.list.length);
  }

  private bit(id: number): void {
    if (id >= this.referenced.length) this.referenced = growUint8(this.referenced, id);
  }

  /** A hit sets the reference bit; the queue order does not change. */
  protected override onHit(id: number): void {
    this.bit(id);
    this.referenced[id] = 1;
  }

  protected override onInsert(id: number): void {
    this.bit(id);
    this.referenced[id] = 0;
  }

  /** The oldest object without its bit; objects with it lose it and go back to the head. */
  protected override evictOne(): void {
    const q = this.q;
    let victim = q.tail[Q]!;
    while (this.referenced[victim]) {
      this.referenced[victim] = 0;
      q.moveToHead(victim);
      victim = q.tail[Q]!;
    }
    q.unlink(victim);
    this.onEvict?.(victim);
  }
}
