/**
 * `w-tinylfu-caffeine`: W-TinyLFU (Einziger, Friedman, Manes, "TinyLFU: A Highly Efficient Cache Admission
 * Policy", ACM Transactions on Storage 13(4), 2017), as in Caffeine's BoundedLocalCache and
 * FrequencySketch: an admission window LRU (1% of the bytes) in front of a segmented LRU main
 * area (20% probation, 80% protected). A count-min sketch of 4-bit counters (depth 4,
 * halved every 10 × width additions) estimates every id's recent frequency. An object
 * leaving the window enters probation if there is room; otherwise it competes with the
 * probation LRU victim and is admitted only if its estimate is higher (each further victim it
 * must displace is compared the same way).
 *
 * Deviations from Caffeine: the window stays at 1% (Caffeine tunes it by hill climbing), no
 * doorkeeper, and no random admission of warm candidates (Caffeine's hash-flooding guard). The
 * sketch is sized from the expected object count (as Caffeine sizes it from the maximum size).
 *
 * Not libCacheSim's design under that name: `w-tinylfu` (w-tinylfu.ts) is that one.
 */
import { IdLists, NONE, type CachePolicy, type PolicyOptions } from './cache-policy.js';

const WINDOW = 0;
const PROBATION = 1;
const PROTECTED = 2;

export const WINDOW_RATIO = 0.01;
export const PROTECTED_RATIO = 0.8;

/** Count-min sketch with 4-bit saturating counters and periodic halving (Caffeine FrequencySketch). */
export class FrequencySketch {
  private readonly table: Uint8Array;
  private readonly mask: number;
  private readonly sampleSize: number;
  private additions = 0;

  /** @param width counters per row (rounded up to a power of two, at least 16). */
  constructor(width: number) {
    let w = 16;
    while (w < width) w *= 2;
    this.table = new Uint8Array(w * 4);
    this.mask = w - 1;
    this.sampleSize = 10 * w;
  }

  private index(id: number, row: number): number {
    // Per-row multiplicative hashing of the id (Knuth), rows offset by w.
    let h = Math.imul(id ^ (row * 0x9e3779b9), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return row * (this.mask + 1) + (h & this.mask);
  }

  /** Estimated frequency (0..15). */
  frequency(id: number): number {
    let min = 15;
    for (let r = 0; r < 4; r++) min = Math.min(min, this.table[this.index(id, r)]!);
    return min;
  }

  increment(id: number): void {
    let added = false;
    for (let r = 0; r < 4; r++) {
      const i = this.index(id, r);
      if (this.table[i]! < 15) {
        this.table[i]!++;
        added = true;
      }
    }
    if (added && ++this.additions >= this.sampleSize) this.reset();
  }

  private reset(): void {
    for (let i = 0; i < this.table.length; i++) this.table[i] = this.table[i]! >>> 1;
    this.additions = Math.floor(this.additions / 2);
  }
}

export class CaffeineWTinyLfuPolicy implements CachePolicy {
  readonly name = 'w-tinylfu-caffeine';
  readonly capacityBytes: number;
  readonly windowCapacityBytes: number;
  readonly protectedCapacityBytes: number;
  readonly mainCapacityBytes: number;
  private readonly q: IdLists;
  private readonly sketch: FrequencySketch;
  private readonly onEvict: ((id: number) => void) | undefined;

  constructor(options: PolicyOptions) {
    this.capacityBytes = options.capacityBytes;
    this.windowCapacityBytes = Math.max(1, Math.floor(options.capacityBytes * WINDOW_RATIO));
    this.mainCapacityBytes = options.capacityBytes - this.windowCapacityBytes;
    this.protectedCapacityBytes = Math.floor(this.mainCapacityBytes * PROTECTED_RATIO);
    this.q = new IdLists(3, options.expectedObjects ?? 1024);
    this.sketch = new FrequencySketch(options.expectedObjects ?? 1024);
    this.onEvict = options.onEvict;
  }

  get usedBytes(): number {
    return this.q.bytes[WINDOW]! + this.q.bytes[PROBATION]! + this.q.bytes[PROTECTED]!;
  }

  get objectCount(): number {
    return this.q.count[WINDOW]! + this.q.count[PROBATION]! + this.q.count[PROTECTED]!;
  }

  access(id: number, sizeBytes: number): boolean {
    const q = this.q;
    q.ensure(id);
    this.sketch.increment(id);
    const where = q.list[id]!;
    if (where !== NONE) {
      if (where === PROBATION) {
        q.unlink(id);
        q.pushHead(PROTECTED, id, sizeBytes);
        // Demote protected overflow to probation's MRU end.
        while (q.bytes[PROTECTED]! > this.protectedCapacityBytes && q.count[PROTECTED]! > 1) {
          const d = q.tail[PROTECTED]!;
          const s = q.size[d]!;
          q.unlink(d);
          q.pushHead(PROBATION, d, s);
        }
      } else {
        q.moveToHead(id);
      }
      return true;
    }
    if (sizeBytes > this.capacityBytes) return false;
    q.pushHead(WINDOW, id, sizeBytes);
    while (q.bytes[WINDOW]! > this.windowCapacityBytes && q.count[WINDOW]! > 0) this.evictFromWindow();
    return false;
  }

  /** Moves the window's LRU object into the main area, through the TinyLFU admission filter. */
  private evictFromWindow(): void {
    const q = this.q;
    const candidate = q.tail[WINDOW]!;
    const size = q.size[candidate]!;
    q.unlink(candidate);
    if (size > this.mainCapacityBytes) {
      this.onEvict?.(candidate);
      return;
    }
    const candidateFreq = this.sketch.frequency(candidate);
    while (q.bytes[PROBATION]! + q.bytes[PROTECTED]! + size > this.mainCapacityBytes) {
      const victim = q.count[PROBATION]! > 0 ? q.tail[PROBATION]! : q.tail[PROTECTED]!;
      if (candidateFreq > this.sketch.frequency(victim)) {
        q.unlink(victim);
        this.onEvict?.(victim);
      } else {
        this.onEvict?.(candidate);
        return;
      }
    }
    q.pushHead(PROBATION, candidate, size);
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
