/**
 * LFU: evicts the object with the fewest requests since it was admitted; among those, the one
 * that reached that count first. Counts are forgotten on eviction (in-cache LFU). O(1) per
 * request with frequency buckets (Shah, Mitra, Matani, "An O(1) algorithm for implementing the
 * LFU cache eviction scheme", 2010): one FIFO list of objects per count, the smallest non-empty
 * count tracked; a hit moves the object to the tail of the next count's list. Reference
 * libCacheSim `LFU.c` (commit aa0fc40), whose buckets and order are the same: our miss counts
 * equal its own.
 */
import { growInt32, NONE, type CachePolicy, type PolicyOptions } from './cache-policy.js';

export class LfuPolicy implements CachePolicy {
  readonly name = 'lfu';
  readonly capacityBytes: number;
  private used = 0;
  private count = 0;
  /** Per id: its count (0 = not cached), size and neighbours in its bucket. */
  private freq: Int32Array;
  private size: Float64Array;
  private prev: Int32Array;
  private next: Int32Array;
  /** Per count: first (oldest) and last id of its bucket. */
  private first: Int32Array;
  private last: Int32Array;
  /** The smallest count with a non-empty bucket (meaningful when the cache is not empty). */
  private minFreq = 1;
  private readonly onEvict: ((id: number) => void) | undefined;

  constructor(options: PolicyOptions) {
    this.capacityBytes = options.capacityBytes;
    const n = Math.max(16, options.expectedObjects ?? 1024);
    this.freq = new Int32Array(n);
    this.size = new Float64Array(n);
    this.prev = new Int32Array(n).fill(NONE);
    this.next = new Int32Array(n).fill(NONE);
    this.first = new Int32Array(64).fill(NONE);
    this.last = new Int32Array(64).fill(NONE);
    this.onEvict = options.onEvict;
  }

  get usedBytes(): number {
    return this.used;
  }

  get objectCount(): number {
    return this.count;
  }

  access(id: number, sizeBytes: number): boolean {
    if (id >= this.freq.length) this.grow(id);
    const f = this.freq[id]!;
    if (f > 0) {
      this.unlink(id, f);
      this.append(id, f + 1);
      if (f === this.minFreq && this.first[f] === NONE) this.minFreq = f + 1;
      return true;
    }
    if (sizeBytes > this.capacityBytes) return false;
    while (this.used + sizeBytes > this.capacityBytes) this.evictOne();
    this.size[id] = sizeBytes;
    this.used += sizeBytes;
    this.count++;
    this.append(id, 1);
    this.minFreq = 1;
    return false;
  }

  private evictOne(): void {
    while (this.first[this.minFreq] === NONE) this.minFreq++;
    const victim = this.first[this.minFreq]!;
    this.drop(victim);
    this.onEvict?.(victim);
  }

  private drop(id: number): void {
    this.unlink(id, this.freq[id]!);
    this.freq[id] = 0;
    this.used -= this.size[id]!;
    this.count--;
  }

  private append(id: number, f: number): void {
    if (f >= this.first.length) {
      this.first = growInt32(this.first, f, NONE);
      this.last = growInt32(this.last, f, NONE);
    }
    const tail = this.last[f]!;
    this.prev[id] = tail;
    this.next[id] = NONE;
    if (tail !== NONE) this.next[tail] = id;
    else this.first[f] = id;
    this.last[f] = id;
    this.freq[id] = f;
  }

  private unlink(id: number, f: number): void {
    const p = this.prev[id]!;
    const n = this.next[id]!;
    if (p !== NONE) this.next[p] = n;
    else this.first[f] = n;
    if (n !== NONE) this.prev[n] = p;
    else this.last[f] = p;
  }

  private grow(id: number): void {
    this.freq = growInt32(this.freq, id, 0);
    this.prev = growInt32(this.prev, id, NONE);
    this.next = growInt32(this.next, id, NONE);
    const size = new Float64Array(this.freq.length);
    size.set(this.size);
    this.size = size;
  }

  contains(id: number): boolean {
    return id < this.freq.length && this.freq[id]! > 0;
  }

  remove(id: number): boolean {
    if (!this.contains(id)) return false;
    this.drop(id);
    this.onEvict?.(id);
    return true;
  }
}
