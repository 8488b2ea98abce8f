/**
 * ARC, Adaptive Replacement Cache (Megiddo & Modha, "ARC: A Self-Tuning, Low Overhead
 * Replacement Cache", FAST 2003, Fig. 4; reference libCacheSim `ARC.c`). T1 holds objects
 * seen once recently, T2 objects seen at least twice; ghost lists B1 and B2 remember ids
 * recently evicted from each; the target size p of T1 grows on B1 hits and shrinks on B2 hits.
 *
 * Byte-sized adaptation (the paper counts pages): p, |T1|, |T2|, |B1|, |B2| are in bytes;
 * a B1 hit adds max(|B2|/|B1|, 1) × size to p, a B2 hit subtracts max(|B1|/|B2|, 1) × size;
 * REPLACE repeats until the new object fits; ghosts are trimmed so |T1|+|B1| ≤ c and
 * |T1|+|T2|+|B1|+|B2| ≤ 2c.
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
  /** Target bytes of T1. */
  private p = 0;
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

  /** Current target size of T1 in bytes (for tests). */
  get targetT1Bytes(): number {
    return this.p;
  }

  access(id: number, sizeBytes: number): boolean {
    const q = this.q;
    q.ensure(id);
    const where = q.list[id]!;
    const c = this.capacityBytes;
    if (where === T1 || where === T2) {
      if (q.size[id] !== sizeBytes) q.resize(id, sizeBytes);
      q.unlink(id);
      q.pushHead(T2, id, sizeBytes);
      return true;
    }
    if (where === B1) {
      const b1 = q.bytes[B1]!;
      this.p = Math.min(c, this.p + Math.max(q.bytes[B2]! / b1, 1) * sizeBytes);
      q.unlink(id);
    } else if (where === B2) {
      const b2 = q.bytes[B2]!;
      this.p = Math.max(0, this.p - Math.max(q.bytes[B1]! / b2, 1) * sizeBytes);
      q.unlink(id);
    }
    if (sizeBytes > c) return false;
    while (this.usedBytes + sizeBytes > c) this.replace(where === B2);
    q.pushHead(where === B1 || where === B2 ? T2 : T1, id, sizeBytes);
    while (q.bytes[T1]! + q.bytes[B1]! > c && q.count[B1]! > 0) q.unlink(q.tail[B1]!);
    while (q.bytes[T1]! + q.bytes[T2]! + q.bytes[B1]! + q.bytes[B2]! > 2 * c && q.count[B2]! > 0) q.unlink(q.tail[B2]!);
    return false;
  }

  /** REPLACE(x, p): demote the LRU of T1 or T2 to its ghost list. */
  private replace(hitInB2: boolean): void {
    const q = this.q;
    const t1 = q.bytes[T1]!;
    const fromT1 = q.count[T1]! > 0 && (t1 > this.p || (hitInB2 && t1 === this.p) || q.count[T2]! === 0);
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
