/**
 * Belady's MIN (Belady, "A study of replacement algorithms for a virtual-storage computer",
 * IBM Systems Journal 5(2), 1966) as an offline reference, reading each request's next-access
 * index from the trace (libCacheSim oracleGeneral's next_access_vtime).
 *
 * `belady` follows libCacheSim `Belady.c` (commit aa0fc40) rule for rule: every missed object
 * that fits is admitted, after evicting the cached objects whose next request is farthest
 * (never = +∞) until it fits — the new object itself is never the victim of its own admission;
 * a hit moves the object to its new next-access time. Ties break as libCacheSim's heap breaks
 * them (pqueue-heap.ts), so miss counts equal its own.
 *
 * `belady-bypass` is our stronger variant, not libCacheSim's: a missed object whose next request
 * is farther than every cached object's — or never comes — is not admitted, which makes it
 * optimal for object hit ratio when all objects have the same size.
 *
 * For variable sizes no polynomial policy is optimal (the offline problem is NP-hard); both
 * rules ignore size, so they are strong references rather than strict ceilings there.
 */
import { growFloat64, type CachePolicy, type PolicyOptions } from './cache-policy.js';
import { PqueueMaxHeap } from './pqueue-heap.js';

export class BeladyPolicy implements CachePolicy {
  readonly name: string = 'belady';
  readonly capacityBytes: number;
  protected readonly heap: PqueueMaxHeap;
  protected size: Float64Array;
  protected used = 0;
  protected readonly onEvict: ((id: number) => void) | undefined;

  constructor(options: PolicyOptions) {
    this.capacityBytes = options.capacityBytes;
    this.heap = new PqueueMaxHeap(options.expectedObjects ?? 1024);
    this.size = new Float64Array(Math.max(16, options.expectedObjects ?? 1024));
    this.onEvict = options.onEvict;
  }

  get usedBytes(): number {
    return this.used;
  }

  get objectCount(): number {
    return this.heap.size;
  }

  access(id: number, sizeBytes: number, nextAccess = Number.POSITIVE_INFINITY): boolean {
    if (this.heap.has(id)) {
      this.heap.changePriority(id, nextAccess);
      return true;
    }
    if (sizeBytes > this.capacityBytes || !this.admit(sizeBytes, nextAccess)) return false;
    while (this.used + sizeBytes > this.capacityBytes) {
      const victim = this.heap.pop();
      this.used -= this.size[victim]!;
      this.onEvict?.(victim);
    }
    if (id >= this.size.length) this.size = growFloat64(this.size, id);
    this.size[id] = sizeBytes;
    this.used += sizeBytes;
    this.heap.insert(id, nextAccess);
    return false;
  }

  /** Whether a missed object that fits the cache is admitted (always, as libCacheSim). */
  protected admit(_sizeBytes: number, _nextAccess: number): boolean {
    return true;
  }

  contains(id: number): boolean {
    return this.heap.has(id);
  }

  remove(id: number): boolean {
    if (!this.heap.remove(id)) return false;
    this.used -= this.size[id]!;
    this.onEvict?.(id);
    return true;
  }
}

/** Belady with bypass (see the module header): not libCacheSim's rule. */
export class BeladyBypassPolicy extends BeladyPolicy {
  override readonly name: string = 'belady-bypass';

  protected override admit(sizeBytes: number, nextAccess: number): boolean {
    if (nextAccess === Number.POSITIVE_INFINITY) return false;
    if (this.used + sizeBytes <= this.capacityBytes) return true;
    const farthest = this.heap.peek();
    return farthest < 0 || this.heap.priorityOf(farthest) > nextAccess;
  }
}
