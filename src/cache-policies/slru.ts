/**
 * Segmented LRU (Karedla, Love, Wherry, "Caching strategies to improve disk system
 * performance", IEEE Computer 27(3), 1994) as libCacheSim `SLRU.c` runs it (commit aa0fc40), so
 * that our miss counts equal its own. Segments 0 … n−1, each an LRU list with a byte size; the
 * highest is the most protected.
 *
 * - A miss is admitted (if it fits the cache and segment 0) into the lowest segment with room
 *   for it; when none has room, the cache evicts until the object fits and it enters segment 0.
 * - A hit in the top segment moves the object to its MRU end; a hit lower down promotes it to
 *   the next segment's MRU end, and while a segment is over its size its LRU object is cooled
 *   one segment down — out of the cache from segment 0.
 * - The victim is the LRU object of the lowest non-empty segment.
 *
 * `s4lru` is four equal segments (libCacheSim's default, printed `S4LRU(25:25:25:25)`); the main
 * area of `w-tinylfu` is two segments of 1/5 and 4/5.
 */
import { IdLists, type CachePolicy, type PolicyOptions } from './cache-policy.js';

export class SegmentedLruPolicy implements CachePolicy {
  readonly name: string;
  readonly capacityBytes: number;
  /** Largest bytes of each segment, lowest (probation) first. */
  readonly segmentBytes: readonly number[];
  private readonly q: IdLists;
  private readonly top: number;
  private used = 0;
  private readonly onEvict: ((id: number) => void) | undefined;

  /**
   * @param segmentBytes each segment's size in bytes, lowest first.
   * @throws RangeError without segments.
   */
  constructor(options: PolicyOptions, segmentBytes: readonly number[], name = 'slru') {
    if (segmentBytes.length === 0) throw new RangeError('SLRU needs at least one segment');
    this.name = name;
    this.capacityBytes = options.capacityBytes;
    this.segmentBytes = segmentBytes;
    this.top = segmentBytes.length - 1;
    this.q = new IdLists(segmentBytes.length, options.expectedObjects ?? 1024);
    this.onEvict = options.onEvict;
  }

  /** libCacheSim's default: `n` equal segments of ⌊capacity / n⌋ bytes. */
  static equalSegments(capacityBytes: number, n: number): number[] {
    return Array.from({ length: n }, () => Math.floor(capacityBytes / n));
  }

  get usedBytes(): number {
    return this.used;
  }

  get objectCount(): number {
    let n = 0;
    for (let s = 0; s <= this.top; s++) n += this.q.count[s]!;
    return n;
  }

  /** Whether an object of this size may be admitted (libCacheSim SLRU_can_insert). */
  admits(sizeBytes: number): boolean {
    return sizeBytes <= this.capacityBytes && sizeBytes <= this.segmentBytes[0]!;
  }

  access(id: number, sizeBytes: number): boolean {
    this.q.ensure(id);
    if (this.contains(id)) {
      this.hit(id);
      return true;
    }
    if (!this.admits(sizeBytes)) return false;
    while (this.used + sizeBytes > this.capacityBytes) this.evictOne();
    this.insert(id, sizeBytes);
    return false;
  }

  /** A hit on a cached id: MRU of the top segment, or promotion one segment up with cooling. */
  hit(id: number): void {
    const q = this.q;
    const s = q.list[id]!;
    if (s === this.top) {
      q.moveToHead(id);
      return;
    }
    const size = q.size[id]!;
    q.unlink(id);
    q.pushHead(s + 1, id, size);
    while (q.bytes[s + 1]! > this.segmentBytes[s + 1]!) this.cool(s + 1);
  }

  /** Moves segment s's LRU object down one segment (out of the cache from segment 0). */
  private cool(s: number): void {
    const q = this.q;
    if (s === 0) {
      this.evictOne();
      return;
    }
    const id = q.tail[s]!;
    const size = q.size[id]!;
    q.unlink(id);
    q.pushHead(s - 1, id, size);
    while (q.bytes[s - 1]! > this.segmentBytes[s - 1]!) this.cool(s - 1);
  }

  /** Admits an absent id: the lowest segment with room, else evict until it fits, segment 0. */
  insert(id: number, sizeBytes: number): void {
    const q = this.q;
    q.ensure(id);
    let segment = -1;
    for (let s = 0; s <= this.top; s++) {
      if (q.bytes[s]! + sizeBytes <= this.segmentBytes[s]!) {
        segment = s;
        break;
      }
    }
    if (segment < 0) {
      while (this.used + sizeBytes > this.capacityBytes) this.evictOne();
      segment = 0;
    }
    q.pushHead(segment, id, sizeBytes);
    this.used += sizeBytes;
  }

  /** The next victim: the LRU object of the lowest non-empty segment (-1 when empty). */
  victim(): number {
    for (let s = 0; s <= this.top; s++) if (this.q.bytes[s]! > 0) return this.q.tail[s]!;
    return -1;
  }

  /** Evicts the victim. */
  evictOne(): void {
    const id = this.victim();
    this.drop(id);
    this.onEvict?.(id);
  }

  private drop(id: number): void {
    this.used -= this.q.size[id]!;
    this.q.unlink(id);
  }

  contains(id: number): boolean {
    return id < this.q.list.length && this.q.list[id]! >= 0;
  }

  /** Which segment holds the id, or -1 (for tests). */
  segmentOf(id: number): number {
    return id < this.q.list.length ? this.q.list[id]! : -1;
  }

  remove(id: number): boolean {
    if (!this.contains(id)) return false;
    this.drop(id);
    this.onEvict?.(id);
    return true;
  }
}
