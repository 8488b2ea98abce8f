/**
 * S3-FIFO (Yang, Zhang, Qiu, Yue, Vinayak, "FIFO queues are all you need for cache
 * eviction", SOSP 2023), following libCacheSim's `S3FIFO.c` at commit aa0fc40 rule for rule (our
 * miss counts equal its own; later versions of that file differ, e.g. a warm-up rule that sends
 * new objects to M while S is full before the first eviction):
 * - a small FIFO S (10% of the bytes), a main FIFO M (the other 90%) run as a 2-bit clock,
 *   and a ghost FIFO G of ids (90% of the bytes, counted with the objects' sizes);
 * - a hit increments the object's counter; a missed object whose id is in G goes to M,
 *   otherwise to S;
 * - eviction works on M when M is over its share or S is empty, else on S;
 * - evicting from S: an object with counter ≥ 2 (move-to-main threshold) moves to M with its
 *   counter reset, otherwise it leaves the cache and its id enters G;
 * - evicting from M: an object with counter ≥ 1 is reinserted with min(counter, 3) − 1,
 *   otherwise it leaves the cache;
 * - objects larger than S are never admitted (libCacheSim's `S3FIFO_can_insert`).
 */
import { growInt32, IdLists, NONE, type CachePolicy, type PolicyOptions } from './cache-policy.js';

const SMALL = 0;
const MAIN = 1;
const GHOST = 2;

/** Defaults of libCacheSim S3FIFO.c: small-size-ratio=0.10, ghost-size-ratio=0.90, move-to-main-threshold=2. */
export const S3FIFO_SMALL_RATIO = 0.1;
export const S3FIFO_GHOST_RATIO = 0.9;
export const S3FIFO_MOVE_TO_MAIN_THRESHOLD = 2;

export class S3FifoPolicy implements CachePolicy {
  readonly name = 's3fifo';
  readonly capacityBytes: number;
  readonly smallCapacityBytes: number;
  readonly mainCapacityBytes: number;
  readonly ghostCapacityBytes: number;
  private readonly q: IdLists;
  private freq: Int32Array;
  private readonly onEvict: ((id: number) => void) | undefined;

  constructor(options: PolicyOptions) {
    this.capacityBytes = options.capacityBytes;
    this.smallCapacityBytes = Math.floor(options.capacityBytes * S3FIFO_SMALL_RATIO);
    this.mainCapacityBytes = options.capacityBytes - this.smallCapacityBytes;
    this.ghostCapacityBytes = Math.floor(options.capacityBytes * S3FIFO_GHOST_RATIO);
    this.q = new IdLists(3, options.expectedObjects ?? 1024);
    this.freq = new Int32Array(this.q.list.length);
    this.onEvict = options.onEvict;
  }

  get usedBytes(): number {
    return this.q.bytes[SMALL]! + this.q.bytes[MAIN]!;
  }

  get objectCount(): number {
    return this.q.count[SMALL]! + this.q.count[MAIN]!;
  }

  access(id: number, sizeBytes: number): boolean {
    const q = this.q;
    q.ensure(id);
    if (id >= this.freq.length) this.freq = growInt32(this.freq, id, 0);
    const where = q.list[id]!;
    if (where === SMALL || where === MAIN) {
      this.freq[id]!++;
      return true;
    }
    let ghostHit = false;
    if (where === GHOST) {
      q.unlink(id);
      ghostHit = true;
    }
    // libCacheSim can_insert: size <= small FIFO size and size <= cache size.
    if (sizeBytes > this.smallCapacityBytes || sizeBytes > this.capacityBytes) return false;
    while (this.usedBytes + sizeBytes > this.capacityBytes) this.evict();
    if (ghostHit) {
      q.pushHead(MAIN, id, sizeBytes);
    } else {
      if (sizeBytes >= this.smallCapacityBytes) return false; // libCacheSim S3FIFO_insert refuses it
      q.pushHead(SMALL, id, sizeBytes);
    }
    this.freq[id] = 0;
    return false;
  }

  private evict(): void {
    if (this.q.bytes[MAIN]! > this.mainCapacityBytes || this.q.bytes[SMALL]! === 0) this.evictMain();
    else this.evictSmall();
  }

  private evictSmall(): void {
    const q = this.q;
    while (q.bytes[SMALL]! > 0) {
      const id = q.tail[SMALL]!;
      const size = q.size[id]!;
      q.unlink(id);
      if (this.freq[id]! >= S3FIFO_MOVE_TO_MAIN_THRESHOLD) {
        q.pushHead(MAIN, id, size);
        this.freq[id] = 0;
      } else {
        this.onEvict?.(id);
        this.insertGhost(id, size);
        return;
      }
    }
  }

  private evictMain(): void {
    const q = this.q;
    while (q.bytes[MAIN]! > 0) {
      const id = q.tail[MAIN]!;
      const f = this.freq[id]!;
      if (f >= 1) {
        q.moveToHead(id);
        this.freq[id] = Math.min(f, 3) - 1;
      } else {
        q.unlink(id);
        this.onEvict?.(id);
        return;
      }
    }
  }

  private insertGhost(id: number, size: number): void {
    const q = this.q;
    if (size > this.ghostCapacityBytes) return;
    while (q.bytes[GHOST]! + size > this.ghostCapacityBytes) q.unlink(q.tail[GHOST]!);
    q.pushHead(GHOST, id, size);
  }

  contains(id: number): boolean {
    if (id >= this.q.list.length) return false;
    const l = this.q.list[id];
    return l === SMALL || l === MAIN;
  }

  /** Which queue holds the id: 'small', 'main', 'ghost' or undefined (for tests). */
  queueOf(id: number): 'small' | 'main' | 'ghost' | undefined {
    const l = id < this.q.list.length ? this.q.list[id] : NONE;
    return l === SMALL ? 'small' : l === MAIN ? 'main' : l === GHOST ? 'ghost' : undefined;
  }

  remove(id: number): boolean {
    if (!this.contains(id)) return false;
    this.q.unlink(id);
    this.onEvict?.(id);
    return true;
  }
}
