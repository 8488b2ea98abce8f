/**
 * CLOCK (Corbató, "A paging experiment with the Multics system", MIT Project MAC, 1968): a FIFO
 * queue where each object carries a reference bit. A hit sets the bit; eviction looks at the
 * oldest object: with its bit set, the bit is cleared and the object goes back to the head
 * (its second chance); without, it is evicted. Reference libCacheSim `Clock.c` (commit aa0fc40,
 * its default one-bit counter), rule for rule.
 */
import { growUint8, IdLists, NONE, type CachePolicy, type PolicyOptions } from './cache-policy.js';

const Q = 0;

export class ClockPolicy implements CachePolicy {
  readonly name = 'clock';
  readonly capacityBytes: number;
  private readonly q: IdLists;
  private referenced: Uint8Array;
  private readonly onEvict: ((id: number) => void) | undefined;

  constructor(options: PolicyOptions) {
    this.capacityBytes = options.capacityBytes;
    this.q = new IdLists(1, options.expectedObjects ?? 1024);
    this.referenced = new Uint8Array(this.q.list.length);
    this.onEvict = options.onEvict;
  }

  get usedBytes(): number {
    return this.q.bytes[Q]!;
  }

  get objectCount(): number {
    return this.q.count[Q]!;
  }

  access(id: number, sizeBytes: number): boolean {
    const q = this.q;
    q.ensure(id);
    if (id >= this.referenced.length) this.referenced = growUint8(this.referenced, id);
    if (q.list[id] !== NONE) {
      this.referenced[id] = 1;
      return true;
    }
    if (sizeBytes > this.capacityBytes) return false;
    while (q.bytes[Q]! + sizeBytes > this.capacityBytes) this.evictOne();
    q.pushHead(Q, id, sizeBytes);
    this.referenced[id] = 0;
    return false;
  }

  private evictOne(): void {
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

  contains(id: number): boolean {
    return id < this.q.list.length && this.q.list[id] !== NONE;
  }

  remove(id: number): boolean {
    if (!this.contains(id)) return false;
    this.q.unlink(id);
    this.onEvict?.(id);
    return true;
  }
}
