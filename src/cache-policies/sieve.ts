/**
 * SIEVE (Zhang, Yang, Yue, Vigfusson, Rashmi, "SIEVE is Simpler than LRU: an Efficient
 * Turn-Key Eviction Algorithm for Web Caches", NSDI 2024; reference implementation
 * libCacheSim `Sieve.c`). One FIFO queue with a visited bit per object; hits only set the bit.
 * The hand starts at the tail (oldest) and moves toward the head: a visited object has its
 * bit cleared and is kept in place, the first unvisited one is evicted, and the hand stays
 * at the evicted object's newer neighbour; past the head it wraps to the tail.
 * New objects go to the head. No deviations.
 */
import { growUint8, IdLists, NONE, type CachePolicy, type PolicyOptions } from './cache-policy.js';

const Q = 0;

export class SievePolicy implements CachePolicy {
  readonly name = 'sieve';
  readonly capacityBytes: number;
  private readonly q: IdLists;
  private visited: Uint8Array;
  private hand = NONE;
  private readonly onEvict: ((id: number) => void) | undefined;

  constructor(options: PolicyOptions) {
    this.capacityBytes = options.capacityBytes;
    this.q = new IdLists(1, options.expectedObjects ?? 1024);
    this.visited = new Uint8Array(this.q.list.length);
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
    if (id >= this.visited.length) this.visited = growUint8(this.visited, id);
    if (q.list[id] !== NONE) {
      this.visited[id] = 1;
      return true;
    }
    if (sizeBytes > this.capacityBytes) return false;
    while (q.bytes[Q]! + sizeBytes > this.capacityBytes) this.evictOne();
    q.pushHead(Q, id, sizeBytes);
    this.visited[id] = 0;
    return false;
  }

  private evictOne(): void {
    const q = this.q;
    let h = this.hand === NONE ? q.tail[Q]! : this.hand;
    while (this.visited[h] === 1) {
      this.visited[h] = 0;
      h = q.prev[h]!; // toward the head (newer)
      if (h === NONE) h = q.tail[Q]!;
    }
    this.hand = q.prev[h]!;
    q.unlink(h);
    this.onEvict?.(h);
  }

  contains(id: number): boolean {
    return id < this.q.list.length && this.q.list[id] !== NONE;
  }

  remove(id: number): boolean {
    if (!this.contains(id)) return false;
    if (this.hand === id) this.hand = this.q.prev[id]!;
    this.q.unlink(id);
    this.onEvict?.(id);
    return true;
  }

  /** The hand's position (id) or -1; exposed for tests of the hand's movement. */
  get handPosition(): number {
    return this.hand;
  }
}
