/**
 * LRU: evicts the least recently used object. The classic baseline; reference
 * implementation libCacheSim `LRU.c`. No deviations.
 */
import { IdLists, NONE, type CachePolicy, type PolicyOptions } from './cache-policy.js';

const Q = 0;

export class LruPolicy implements CachePolicy {
  readonly name: string = 'lru';
  readonly capacityBytes: number;
  protected readonly q: IdLists;
  protected readonly onEvict: ((id: number) => void) | undefined;

  constructor(options: PolicyOptions) {
    this.capacityBytes = options.capacityBytes;
    this.q = new IdLists(1, options.expectedObjects ?? 1024);
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
    if (q.list[id] !== NONE) {
      this.onHit(id);
      return true;
    }
    if (sizeBytes > this.capacityBytes) return false;
    while (q.bytes[Q]! + sizeBytes > this.capacityBytes) this.evictOne();
    q.pushHead(Q, id, sizeBytes);
    this.onInsert(id);
    return false;
  }

  protected onHit(id: number): void {
    this.q.moveToHead(id);
  }

  /** Called after a missed object is admitted at the head. */
  protected onInsert(_id: number): void {}

  /** Evicts one object: the tail (least recently used; oldest for FIFO). */
  protected evictOne(): void {
    const victim = this.q.tail[Q]!;
    this.q.unlink(victim);
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
