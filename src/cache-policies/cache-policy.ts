/**
 * The cache-policy interface shared by the edge and the hit-ratio simulator (as Caffeine's
 * simulator keeps one tiny policy interface). Policies are pure: no I/O and no clock of
 * their own; each access brings the object's id and size (and, for the offline Belady
 * policy, the time of its next request).
 *
 * Objects are named by dense integer ids (0, 1, 2, …): the simulator renumbers a trace's ids
 * once before it runs, and the edge's PolicyMemoryTier (edge-cache/memory-tier.ts) maps URLs to
 * ids in order of first appearance. That keeps every policy's state in typed arrays indexed by
 * id — no hashing on the hot path.
 *
 * Semantics follow libCacheSim (`cache_get_base`, commit aa0fc40): a request is a hit when the
 * object is cached at that moment (a hit keeps the size the object was admitted with, even when
 * the request carries another: it changes only when the object is evicted and admitted again);
 * on a miss the object is admitted unless it is larger than the cache (or the policy's own
 * admission refuses it), evicting until it fits. Sizes are in bytes; pass 1 for
 * object-count caches.
 */

export interface CachePolicy {
  /** Registry name, e.g. 'lru', 's3fifo'. */
  readonly name: string;
  /** Capacity in bytes. */
  readonly capacityBytes: number;
  /** Bytes held now (sum of cached objects' sizes). */
  readonly usedBytes: number;
  /** Objects held now. */
  readonly objectCount: number;
  /**
   * One request for object `id` of `sizeBytes`.
   * @param nextAccess index of the next request for this object (Infinity if none); only
   *        the offline Belady policy reads it.
   * @returns true on a hit.
   */
  access(id: number, sizeBytes: number, nextAccess?: number): boolean;
  /** True when the object is cached (no state change). */
  contains(id: number): boolean;
  /** Removes an object (purge); false when it was not cached. */
  remove(id: number): boolean;
}

export interface PolicyOptions {
  /** Capacity in bytes (> 0). */
  readonly capacityBytes: number;
  /** Expected number of distinct ids (sizes the arrays and sketches; they grow if exceeded). Default 1024. */
  readonly expectedObjects?: number;
  /** Called with each evicted (or purged) id, e.g. to drop the edge's stored body. */
  readonly onEvict?: (id: number) => void;
  /**
   * The trace's own id of each dense id (Trace.sourceIds), for policies that hash object ids as
   * libCacheSim does (w-tinylfu's frequency filter); absent = the dense id is hashed.
   */
  readonly sourceIds?: { readonly size: number; get(denseId: number): number | string };
  /**
   * Reproduce libCacheSim's C integer arithmetic where it departs from the design: W-TinyLFU's
   * frequency filter is sized from the main cache's bytes passed as a C `int`
   * (`minimalIncrementCBF_init(…, int entries, …)`, libCacheSim aa0fc40), so a main cache of
   * 2–4 GiB (and any size whose low 32 bits read negative or zero) gets a 20-counter filter.
   * The simulator sets it (its numbers are compared with libCacheSim's); the edge does not.
   */
  readonly libCacheSimArithmetic?: boolean;
}

/** Grows a typed array to hold index `i`, doubling; new slots take `fill`. */
export function growInt32(a: Int32Array, i: number, fill: number): Int32Array {
  if (i < a.length) return a;
  let n = Math.max(16, a.length);
  while (n <= i) n *= 2;
  const b = new Int32Array(n).fill(fill);
  b.set(a);
  return b;
}

export function growFloat64(a: Float64Array, i: number): Float64Array {
  if (i < a.length) return a;
  let n = Math.max(16, a.length);
  while (n <= i) n *= 2;
  const b = new Float64Array(n);
  b.set(a);
  return b;
}

export function growUint8(a: Uint8Array, i: number): Uint8Array {
  if (i < a.length) return a;
  let n = Math.max(16, a.length);
  while (n <= i) n *= 2;
  const b = new Uint8Array(n);
  b.set(a);
  return b;
}

/** No list: the id is in none of the queues. */
export const NONE = -1;

/**
 * Several disjoint intrusive doubly linked lists over ids (an id is in at most one list at
 * a time), with per-list byte and object counts. Head = most recently inserted; tail = oldest.
 * O(1) insert, remove and pop.
 */
export class IdLists {
  prev: Int32Array;
  next: Int32Array;
  /** Which list holds the id, or NONE. */
  list: Int32Array;
  size: Float64Array;
  readonly head: Int32Array;
  readonly tail: Int32Array;
  readonly bytes: Float64Array;
  readonly count: Int32Array;

  constructor(lists: number, expectedIds: number) {
    const n = Math.max(16, expectedIds);
    this.prev = new Int32Array(n).fill(NONE);
    this.next = new Int32Array(n).fill(NONE);
    this.list = new Int32Array(n).fill(NONE);
    this.size = new Float64Array(n);
    this.head = new Int32Array(lists).fill(NONE);
    this.tail = new Int32Array(lists).fill(NONE);
    this.bytes = new Float64Array(lists);
    this.count = new Int32Array(lists);
  }

  /** Makes room for id `i`. */
  ensure(i: number): void {
    if (i < this.list.length) return;
    this.prev = growInt32(this.prev, i, NONE);
    this.next = growInt32(this.next, i, NONE);
    this.list = growInt32(this.list, i, NONE);
    this.size = growFloat64(this.size, i);
  }

  /** Inserts id at the head of list `l` (id must be in no list). */
  pushHead(l: number, id: number, sizeBytes: number): void {
    const h = this.head[l]!;
    this.prev[id] = NONE;
    this.next[id] = h;
    if (h !== NONE) this.prev[h] = id;
    else this.tail[l] = id;
    this.head[l] = id;
    this.list[id] = l;
    this.size[id] = sizeBytes;
    this.bytes[l]! += sizeBytes;
    this.count[l]!++;
  }

  /** Unlinks id from its list; returns the list it was in (NONE if none). */
  unlink(id: number): number {
    const l = this.list[id]!;
    if (l === NONE) return NONE;
    const p = this.prev[id]!;
    const n = this.next[id]!;
    if (p !== NONE) this.next[p] = n;
    else this.head[l] = n;
    if (n !== NONE) this.prev[n] = p;
    else this.tail[l] = p;
    this.list[id] = NONE;
    this.bytes[l]! -= this.size[id]!;
    this.count[l]!--;
    return l;
  }

  /** Moves id to the head of its list (LRU promotion). */
  moveToHead(id: number): void {
    const l = this.list[id]!;
    if (this.head[l] === id) return;
    const s = this.size[id]!;
    this.unlink(id);
    this.pushHead(l, id, s);
  }

}
