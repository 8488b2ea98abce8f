/**
 * ARC, Adaptive Replacement Cache (Megiddo & Modha, "ARC: A Self-Tuning, Low Overhead
 * Replacement Cache", FAST 2003, Fig. 4), as libCacheSim `ARC.c` (commit aa0fc40) runs it on
 * byte-sized objects, rule for rule, so that our miss counts equal its own. T1 holds objects
 * seen once recently, T2 objects seen at least twice; ghost lists B1 and B2 remember ids
 * recently evicted from each (with the size they had); p is T1's target size.
 *
 * - A hit in T1 or T2 moves the object to T2's MRU end.
 * - A hit in B1 adds max(|B2|/|B1|, 1) to p (capped at c), a hit in B2 subtracts
 *   max(|B1|/|B2|, 1) (floored at 0) — the ratio of the lists' byte sizes alone, as in
 *   libCacheSim, not multiplied by the object's size; |B1| and |B2| include the object. The
 *   ghost is dropped; the object is then admitted to T2, each eviction step a REPLACE.
 * - A complete miss is admitted to T1; each eviction step first trims the ghosts: when
 *   |T1| + |B1| + size > c, drop B1's LRU ghost and REPLACE, or (B1 empty) evict T1's LRU
 *   without leaving a ghost; otherwise drop B2's LRU ghost when |T1|+|T2|+|B1|+|B2| ≥ 2c,
 *   then REPLACE.
 * - REPLACE demotes T1's LRU to B1 when T1 is not empty and (|T1| > p, or |T1| = p and the
 *   request hit B2), or when T2 is empty; otherwise T2's LRU to B2.
 * - libCacheSim's "the request hit B2" flag is cleared only when a request finds its object
 *   (cached or ghost) or after a ghost hit's admission, so a later complete miss may still
 *   read it as set: kept as it is.
 */
import { IdLists, NONE, type CachePolicy, type PolicyOptions } from './cache-policy.js';

const T1 = 0;
const T2 = 1;
const B1 = 2;
const B2 = 3;

export class ArcPolicy implements CachePolicy {
  readonly name = 'arc';
  readonly capacityBytes: number;
  private readonly q: IdLists;
  /** Target size of T1 (compared with its bytes). */
  private p = 0;
  /** Requests seen, and the request that last hit a ghost (libCacheSim vtime_last_req_in_ghost). */
  private nReq = 0;
  private lastGhostHitReq = -1;
  private hitB1 = false;
  private hitB2 = false;
  private readonly onEvict: ((id: number) => void) | undefined;

  constructor(options: PolicyOptions) {
    this.capacityBytes = options.capacityBytes;
    this.q = new IdLists(4, options.expectedObjects ?? 1024);
    this.onEvict = options.onEvict;
  }

  get usedBytes(): number {
    return this.q.bytes[T1]! + this.q.bytes[T2]!;
  }

  get objectCount(): number {
    return this.q.count[T1]! + this.q.count[T2]!;
  }

  /** Current target size of T1 (for tests). */
  get targetT1Bytes(): number {
    return this.p;
  }

  access(id: number, sizeBytes: number): boolean {
    const q = this.q;
    q.ensure(id);
    this.nReq++;
    const where = q.list[id]!;
    const c = this.capacityBytes;
    if (where === T1 || where === T2) {
      this.hitB1 = this.hitB2 = false;
      if (where === T1) {
        const size = q.size[id]!;
        q.unlink(id);
        q.pushHead(T2, id, size);
      } else {
        q.moveToHead(id);
      }
      return true;
    }
    if (where === B1 || where === B2) {
      this.hitB1 = where === B1;
      this.hitB2 = where === B2;
      this.lastGhostHitReq = this.nReq;
      if (where === B1) this.p = Math.min(this.p + Math.max(q.bytes[B2]! / q.bytes[B1]!, 1), c);
      else this.p = Math.max(this.p - Math.max(q.bytes[B1]! / q.bytes[B2]!, 1), 0);
      q.unlink(id);
    }
    if (sizeBytes > c) return false;
    const ghostHit = this.lastGhostHitReq === this.nReq && (this.hitB1 || this.hitB2);
    while (this.usedBytes + sizeBytes > c) {
      if (ghostHit) this.replace();
      else this.evictOnCompleteMiss(sizeBytes);
    }
    if (ghostHit) {
      q.pushHead(T2, id, sizeBytes);
      this.hitB1 = this.hitB2 = false;
      this.lastGhostHitReq = -1;
    } else {
      q.pushHead(T1, id, sizeBytes);
    }
    return false;
  }

  /** One eviction step for a complete miss (the paper's case IV, with its ghost trimming). */
  private evictOnCompleteMiss(incomingBytes: number): void {
    const q = this.q;
    const c = this.capacityBytes;
    if (q.bytes[T1]! + q.bytes[B1]! + incomingBytes > c) {
      if (q.bytes[B1]! > 0) {
        q.unlink(q.tail[B1]!);
        this.replace();
      } else {
        const victim = q.tail[T1]!;
        q.unlink(victim);
        this.onEvict?.(victim);
      }
      return;
    }
    if (q.bytes[T1]! + q.bytes[T2]! + q.bytes[B1]! + q.bytes[B2]! >= 2 * c && q.bytes[B2]! > 0) q.unlink(q.tail[B2]!);
    this.replace();
  }

  /** REPLACE: demote the LRU of T1 or T2 to its ghost list. */
  private replace(): void {
    const q = this.q;
    const t1 = q.bytes[T1]!;
    const fromT1 = (t1 > 0 && (t1 > this.p || (t1 === this.p && this.hitB2))) || q.bytes[T2]! === 0;
    const victim = q.tail[fromT1 ? T1 : T2]!;
    const size = q.size[victim]!;
    q.unlink(victim);
    q.pushHead(fromT1 ? B1 : B2, victim, size);
    this.onEvict?.(victim);
  }
  contains(id: number): boolean {
    if (id >= this.q.list.length) return false;
    const l = this.q.list[id];
    return l === T1 || l === T2;
  }

  remove(id: number): boolean {
    if (!this.contains(id)) return false;
    this.q.unlink(id);
    this.onEvict?.(id);
    return true;
  }

  /** Which list holds the id (for tests). */
  listOf(id: number): 'T1' | 'T2' | 'B1' | 'B2' | undefined {
    const l = id < this.q.list.length ? this.q.list[id] : NONE;
    return (['T1', 'T2', 'B1', 'B2'] as const)[l!] ?? undefined;
  }
}
