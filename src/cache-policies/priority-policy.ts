/**
 * Shared skeleton of the policies that evict the object with the smallest priority
 * (LFU, GDSF, Belady): an indexed heap plus sizes, the libCacheSim admission rule and
 * eviction loop; subclasses say how a priority is computed.
 */
import { growFloat64, type CachePolicy, type PolicyOptions } from './cache-policy.js';
import { IndexedHeap } from './indexed-heap.js';

export abstract class PriorityPolicy implements CachePolicy {
  abstract readonly name: string;
  readonly capacityBytes: number;
  protected readonly heap: IndexedHeap;
  protected size: Float64Array;
  protected used = 0;
  /** Monotonic access counter: the tie-breaker (older first). */
  protected clock = 0;
  protected readonly onEvict: ((id: number) => void) | undefined;

  constructor(options: PolicyOptions) {
    this.capacityBytes = options.capacityBytes;
    this.heap = new IndexedHeap(options.expectedObjects ?? 1024);
    this.size = new Float64Array(Math.max(16, options.expectedObjects ?? 1024));
    this.onEvict = options.onEvict;
  }

  get usedBytes(): number {
    return this.used;
  }

  get objectCount(): number {
    return this.heap.size;
  }

  /** Priority after a hit. */
  protected abstract hitPriority(id: number, sizeBytes: number, nextAccess: number): number;
  /** Priority of a newly admitted object. */
  protected abstract missPriority(id: number, sizeBytes: number, nextAccess: number): number;
  /** Called with each evicted id's priority (GDSF's inflation). */
  protected onEvicted(_priority: number): void {}
  /** Whether to admit a missed object given the current victim (Belady's bypass). Default yes. */
  protected admit(_id: number, _sizeBytes: number, _nextAccess: number): boolean {
    return true;
  }

  access(id: number, sizeBytes: number, nextAccess = Number.POSITIVE_INFINITY): boolean {
    this.clock++;
    if (id >= this.size.length) this.size = growFloat64(this.size, id);
    if (this.heap.has(id)) {
      // The size stays the one it was admitted with (libCacheSim cache_get_base).
      this.heap.set(id, this.hitPriority(id, sizeBytes, nextAccess), this.clock);
      return true;
    }
    if (sizeBytes > this.capacityBytes) return false;
    if (!this.admit(id, sizeBytes, nextAccess)) return false;
    while (this.used + sizeBytes > this.capacityBytes) this.evictOne();
    this.size[id] = sizeBytes;
    this.used += sizeBytes;
    this.heap.set(id, this.missPriority(id, sizeBytes, nextAccess), this.clock);
    return false;
  }

  protected evictOne(): void {
    const victim = this.heap.peek();
    const priority = this.heap.keyOf(victim);
    this.heap.pop();
    this.used -= this.size[victim]!;
    this.onEvicted(priority);
    this.onEvict?.(victim);
  }

  contains(id: number): boolean {
    return this.heap.has(id);
  }

  remove(id: number): boolean {
    if (!this.heap.delete(id)) return false;
    this.used -= this.size[id]!;
    this.onEvict?.(id);
    return true;
  }
}
