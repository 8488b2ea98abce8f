/**
 * 2Q (Johnson & Shasha, "2Q: A Low Overhead High Performance Buffer Management Replacement
 * Algorithm", VLDB 1994, the full version) as libCacheSim `TwoQ.c` runs it (commit aa0fc40), rule
 * for rule: A1in, a FIFO of new objects (⌊25%⌋ of the bytes); A1out, a FIFO of ids evicted from
 * A1in (⌊50%⌋ of the bytes, counted with their sizes); Am, an LRU of the rest.
 *
 * - A hit in A1in changes nothing; a hit in Am moves the object to Am's MRU end.
 * - A missed object whose id is in A1out goes to Am (Am evicting its own LRU objects until the
 *   object fits Am's share); any other enters A1in. Only objects that fit A1in are admitted.
 * - Eviction: while A1in is over its share, its oldest object leaves (its id enters A1out);
 *   otherwise Am's LRU object leaves.
 */
import { IdLists, NONE, type CachePolicy, type PolicyOptions } from './cache-policy.js';

const A1IN = 0;
const AM = 1;
const A1OUT = 2;

/** libCacheSim TwoQ.c DEFAULT_CACHE_PARAMS "Ain-size-ratio=0.25,Aout-size-ratio=0.5". */
export const TWOQ_A1IN_RATIO = 0.25;
export const TWOQ_A1OUT_RATIO = 0.5;

export class TwoQPolicy implements CachePolicy {
  readonly name = '2q';
  readonly capacityBytes: number;
  readonly a1inBytes: number;
  readonly a1outBytes: number;
  readonly amBytes: number;
  private readonly q: IdLists;
  private readonly onEvict: ((id: number) => void) | undefined;

  constructor(options: PolicyOptions) {
    this.capacityBytes = options.capacityBytes;
    this.a1inBytes = Math.trunc(options.capacityBytes * TWOQ_A1IN_RATIO);
    this.a1outBytes = Math.trunc(options.capacityBytes * TWOQ_A1OUT_RATIO);
    this.amBytes = options.capacityBytes - this.a1inBytes;
    this.q = new IdLists(3, options.expectedObjects ?? 1024);
    this.onEvict = options.onEvict;
  }

  get usedBytes(): number {
    return this.q.bytes[A1IN]! + this.q.bytes[AM]!;
  }

  get objectCount(): number {
    return this.q.count[A1IN]! + this.q.count[AM]!;
  }

  access(id: number, sizeBytes: number): boolean {
    const q = this.q;
    q.ensure(id);
    const where = q.list[id]!;
    if (where === A1IN) return true;
    if (where === AM) {
      q.moveToHead(id);
      return true;
    }
    const ghostHit = where === A1OUT;
    if (ghostHit) q.unlink(id);
    if (sizeBytes > this.a1inBytes || sizeBytes > this.capacityBytes) return false;
    while (this.usedBytes + sizeBytes > this.capacityBytes) this.evictOne();
    if (!ghostHit) {
      q.pushHead(A1IN, id, sizeBytes);
      return false;
    }
    // Am's own admission (libCacheSim runs a whole LRU get on Am): fit it within Am's share.
    if (sizeBytes > this.amBytes) return false;
    while (q.bytes[AM]! + sizeBytes > this.amBytes) this.evictAm();
    q.pushHead(AM, id, sizeBytes);
    return false;
  }

  private evictOne(): void {
    const q = this.q;
    if (q.bytes[A1IN]! > this.a1inBytes) {
      const id = q.tail[A1IN]!;
      const size = q.size[id]!;
      q.unlink(id);
      this.onEvict?.(id);
      this.remember(id, size);
      return;
    }
    this.evictAm();
  }

  private evictAm(): void {
    const id = this.q.tail[AM]!;
    this.q.unlink(id);
    this.onEvict?.(id);
  }

  /** A1out as a FIFO cache of ids by their sizes (libCacheSim runs a FIFO get on it). */
  private remember(id: number, size: number): void {
    const q = this.q;
    if (size > this.a1outBytes) return;
    while (q.bytes[A1OUT]! + size > this.a1outBytes) q.unlink(q.tail[A1OUT]!);
    q.pushHead(A1OUT, id, size);
  }

  contains(id: number): boolean {
    if (id >= this.q.list.length) return false;
    const l = this.q.list[id];
    return l === A1IN || l === AM;
  }

  /** Which queue holds the id (for tests). */
  queueOf(id: number): 'a1in' | 'am' | 'a1out' | undefined {
    const l = id < this.q.list.length ? this.q.list[id] : NONE;
    return l === A1IN ? 'a1in' : l === AM ? 'am' : l === A1OUT ? 'a1out' : undefined;
  }

  remove(id: number): boolean {
    if (!this.contains(id)) return false;
    this.q.unlink(id);
    this.onEvict?.(id);
    return true;
  }
}
