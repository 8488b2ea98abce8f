/**
 * LIRS, Low Inter-reference Recency Set (Jiang & Zhang, "LIRS: An Efficient Low
 * Inter-reference Recency Set Replacement Policy to Improve Buffer Cache Performance",
 * SIGMETRICS 2002), as libCacheSim `LIRS.c` runs it on byte-sized objects (commit aa0fc40),
 * rule for rule, so that our miss ratios are its printed ones.
 *
 * Three LRU stacks of entries, each with the size it was inserted with:
 * - S, the recency stack: LIR entries (resident), resident HIR entries and non-resident HIR
 *   entries (ids remembered after eviction), the MRU end first;
 * - Q, the resident HIR objects, about 1% of the bytes (`hirsLimit`, at least 1);
 * - NH, the non-resident HIR ids in S, oldest first (dropped from S when S exceeds 2× the cache).
 * LIR objects take the rest (`lirsLimit`). A request for a LIR object or a resident HIR object
 * is a hit (the HIR one becomes LIR when it is in S, else re-enters S); a request for a
 * non-resident HIR id in S is a miss that makes it LIR; other misses are LIR while LIR bytes
 * have room, else resident HIR. Demoting S's bottom LIR object moves it to Q; evicting Q's
 * oldest leaves a non-resident entry in S. "Pruning" removes HIR entries from S's bottom.
 *
 * Every find moves the entry to the MRU end of S and of Q, as libCacheSim's LRU find does, and
 * the bookkeeping (which size is used where) follows that code, including where it differs from
 * the paper.
 *
 * One known departure: a hit on a resident HIR object that is in Q but not in S demotes LIR
 * objects until the object's size fits the LIR bytes (`hit_RD_HIRinQ`); each demotion pushes an
 * object into Q, which can evict the very object being hit from Q. libCacheSim then reads that
 * freed object's size for its loop bound (a use-after-free: the memory already holds the next
 * object put into Q) and stops early; we keep the size the object had. It takes a Q of a few
 * objects near its 1% limit (objects close to 1% of the cache): on synthetic traces with
 * log-normal sizes 0.0002–0.0004 of the miss ratio (bench/libcachesim-crosscheck.ts; first found
 * at request 161,628 of one of them, by comparing the two simulators' state request by request).
 */
import { growUint8, IdLists, NONE, type CachePolicy, type PolicyOptions } from './cache-policy.js';

/** libCacheSim LIRS_init: hirs_ratio 0.01. */
export const LIRS_HIR_RATIO = 0.01;

export class LirsPolicy implements CachePolicy {
  readonly name = 'lirs';
  readonly capacityBytes: number;
  readonly hirsLimit: number;
  readonly lirsLimit: number;
  private readonly s: IdLists;
  private readonly q: IdLists;
  private readonly nh: IdLists;
  /** Flags of the S entry of an id: LIR, resident. */
  private sLir: Uint8Array;
  private sResident: Uint8Array;
  private lirsCount = 0;
  private hirsCount = 0;
  private occupied = 0;
  private objects = 0;
  private readonly onEvict: ((id: number) => void) | undefined;

  constructor(options: PolicyOptions) {
    this.capacityBytes = options.capacityBytes;
    this.hirsLimit = Math.max(1, Math.trunc(LIRS_HIR_RATIO * options.capacityBytes));
    this.lirsLimit = options.capacityBytes - this.hirsLimit;
    const n = options.expectedObjects ?? 1024;
    this.s = new IdLists(1, n);
    this.q = new IdLists(1, n);
    this.nh = new IdLists(1, n);
    this.sLir = new Uint8Array(this.s.list.length);
    this.sResident = new Uint8Array(this.s.list.length);
    this.onEvict = options.onEvict;
  }

  get usedBytes(): number {
    return this.occupied;
  }

  get objectCount(): number {
    return this.objects;
  }

  private ensure(id: number): void {
    this.s.ensure(id);
    this.q.ensure(id);
    this.nh.ensure(id);
    if (id >= this.sLir.length) {
      this.sLir = growUint8(this.sLir, id);
      this.sResident = growUint8(this.sResident, id);
    }
  }

  private inS(id: number): boolean {
    return this.s.list[id] !== NONE;
  }

  private inQ(id: number): boolean {
    return this.q.list[id] !== NONE;
  }

  access(id: number, sizeBytes: number): boolean {
    this.ensure(id);
    const hit = this.find(id);
    if (!hit && this.canInsert(id, sizeBytes)) {
      while (this.occupied + sizeBytes > this.capacityBytes) {
        const before = [this.occupied, this.lirsCount, this.hirsCount, this.s.count[0]!, this.q.count[0]!];
        this.evict(id, sizeBytes);
        // A step may only move bytes (a LIR object demoted to Q); one that changes nothing at all
        // would make libCacheSim loop for ever: we stop instead.
        const after = [this.occupied, this.lirsCount, this.hirsCount, this.s.count[0]!, this.q.count[0]!];
        if (after.every((v, i) => v === before[i])) break;
      }
      this.insert(id, sizeBytes);
    }
    this.limitStack();
    return hit;
  }

  /** LIRS_find: LRU finds on S and Q (both move the entry to the MRU end), then the cases. */
  private find(id: number): boolean {
    const s = this.inS(id);
    const q = this.inQ(id);
    if (s) this.s.moveToHead(id);
    if (q) this.q.moveToHead(id);
    if (s) {
      if (this.sLir[id]) {
        this.prune();
        return true;
      }
      if (!this.sResident[id]) return false;
      // A resident HIR object in S: it becomes LIR.
      if (q) {
        this.hirsCount -= this.q.size[id]!;
        this.occupied -= this.q.size[id]!;
        this.objects--;
        this.q.unlink(id);
      }
      const size = this.s.size[id]!;
      while (this.lirsCount + size > this.lirsLimit) this.evictLir();
      this.sLir[id] = 1;
      this.lirsCount += size;
      this.occupied += size;
      this.objects++;
      return true;
    }
    if (q) {
      // A resident HIR object no longer in S: it enters S again (as resident HIR).
      const size = this.q.size[id]!;
      while (this.lirsCount + size > this.lirsLimit) this.evictLir();
      this.s.pushHead(0, id, size);
      this.sLir[id] = 0;
      this.sResident[id] = 1;
      return true;
    }
    return false;
  }

  /** LIRS_can_insert, with its side effects. */
  private canInsert(id: number, sizeBytes: number): boolean {
    if (sizeBytes > this.capacityBytes) return false;
    if (this.inS(id)) {
      // A non-resident HIR id in S.
      const size = this.s.size[id]!;
      while (this.lirsCount + size > this.lirsLimit) this.evictLir();
      this.dropNonResident(id);
      return true;
    }
    if (sizeBytes > this.lirsLimit || sizeBytes > this.hirsLimit) return false;
    if (this.lirsCount + sizeBytes > this.lirsLimit && this.hirsCount + sizeBytes > this.hirsLimit) {
      while (this.hirsCount + sizeBytes > this.hirsLimit) this.evictHir();
    }
    return true;
  }

  /** LIRS_evict: one step of the eviction loop, by case. */
  private evict(id: number, sizeBytes: number): void {
    if (this.inS(id) && !this.sLir[id] && !this.sResident[id]) {
      while (this.hirsCount >= this.hirsLimit) this.evictHir();
      this.evictLir();
      return;
    }
    if (!this.inS(id) && !this.inQ(id) && this.lirsCount + sizeBytes > this.lirsLimit && this.hirsCount + sizeBytes > this.hirsLimit) this.evictHir();
  }

  /** LIRS_insert. */
  private insert(id: number, sizeBytes: number): void {
    if (this.inS(id)) {
      if (!this.sLir[id] && !this.sResident[id]) {
        const size = this.s.size[id]!;
        this.sLir[id] = 1;
        this.sResident[id] = 1;
        this.lirsCount += size;
        this.occupied += size;
        this.objects++;
      }
      return;
    }
    if (this.inQ(id)) return;
    this.s.pushHead(0, id, sizeBytes);
    this.sResident[id] = 1;
    if (this.lirsCount + sizeBytes <= this.lirsLimit) {
      this.sLir[id] = 1;
      this.lirsCount += sizeBytes;
    } else {
      this.sLir[id] = 0;
      this.q.pushHead(0, id, sizeBytes);
      this.hirsCount += sizeBytes;
    }
    this.occupied += sizeBytes;
    this.objects++;
  }

  /** Removes HIR entries from S's bottom until a LIR entry is there (LIRS_prune). */
  private prune(): void {
    const s = this.s;
    while (s.tail[0] !== NONE && s.tail[0] !== s.head[0]) {
      const id = s.tail[0]!;
      if (this.sLir[id]) break;
      if (!this.sResident[id]) this.dropNonResident(id);
      s.unlink(id);
    }
  }

  /** Demotes S's bottom entry: out of S and LIR, into Q when it fits (evictLIR). */
  private evictLir(): void {
    const s = this.s;
    const id = s.tail[0]!;
    if (id === NONE) return;
    const size = s.size[id]!;
    this.lirsCount -= size;
    s.unlink(id);
    this.occupied -= size;
    this.objects--;
    if (size <= this.hirsLimit) {
      while (this.hirsCount + size > this.hirsLimit) this.evictHir();
      if (this.inQ(id)) this.q.unlink(id);
      this.q.pushHead(0, id, size);
      this.hirsCount += size;
      this.occupied += size;
      this.objects++;
    } else {
      this.onEvict?.(id);
    }
    this.prune();
  }

  /** Evicts Q's oldest object; its S entry, if any, stays as non-resident (evictHIR). */
  private evictHir(): void {
    const q = this.q;
    const id = q.tail[0]!;
    if (id === NONE) return;
    const size = q.size[id]!;
    this.hirsCount -= size;
    q.unlink(id);
    if (this.inS(id)) {
      this.sResident[id] = 0;
      if (this.nh.list[id] !== NONE) this.nh.unlink(id);
      this.nh.pushHead(0, id, size);
    }
    this.occupied -= size;
    this.objects--;
    this.onEvict?.(id);
  }

  private dropNonResident(id: number): void {
    if (this.nh.list[id] !== NONE) this.nh.unlink(id);
  }

  /** Keeps S within twice the cache by forgetting the oldest non-resident ids (limitStack). */
  private limitStack(): void {
    while (this.s.bytes[0]! > 2 * this.capacityBytes) {
      const id = this.nh.tail[0]!;
      if (id === NONE) break;
      this.nh.unlink(id);
      if (this.inS(id)) this.s.unlink(id);
    }
  }

  /** Resident: a LIR or resident HIR entry in S, or an entry in Q (what a request would hit). */
  contains(id: number): boolean {
    if (id >= this.s.list.length) return false;
    return (this.inS(id) && this.sResident[id] === 1) || this.inQ(id);
  }

  remove(id: number): boolean {
    if (!this.contains(id)) return false;
    if (this.inQ(id)) {
      this.hirsCount -= this.q.size[id]!;
      this.occupied -= this.q.size[id]!;
      this.q.unlink(id);
    }
    if (this.inS(id)) {
      if (this.sLir[id]) {
        this.lirsCount -= this.s.size[id]!;
        this.occupied -= this.s.size[id]!;
      }
      this.s.unlink(id);
      this.prune();
    }
    this.objects--;
    this.onEvict?.(id);
    return true;
  }

  /** Which stacks hold the id (for tests): 'LIR', 'HIR' (resident), 'nonresident' or undefined. */
  stateOf(id: number): 'LIR' | 'HIR' | 'nonresident' | undefined {
    if (id >= this.s.list.length) return undefined;
    if (this.inS(id)) return this.sLir[id] ? 'LIR' : this.sResident[id] ? 'HIR' : 'nonresident';
    return this.inQ(id) ? 'HIR' : undefined;
  }
}
