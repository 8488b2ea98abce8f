/**
 * `w-tinylfu`: W-TinyLFU (Einziger, Friedman, Manes, "TinyLFU: A Highly Efficient Cache
 * Admission Policy", ACM Transactions on Storage 13(4), 2017) as libCacheSim runs it under the
 * name `WTinyLFU-w0.01-SLRU` (`WTinyLFU.c`, `SLRU.c`, `minimalIncrementCBF.c`, commit aa0fc40),
 * rule for rule, so that our miss counts equal its own:
 *
 * - a window LRU of ⌊1% of the bytes⌋ in front of a main SLRU of the rest, two segments of
 *   ⌊1/5⌋ (probation) and ⌊4/5⌋ (protected) of the main bytes;
 * - an object is admitted only when it fits the window (and the probation segment): larger
 *   objects are never cached;
 * - a miss enters the window; a main hit promotes probation → protected (cooling protected's
 *   LRU back to probation, and probation's LRU out of the cache, while a segment is over its
 *   size), a protected hit moves to its MRU end; a window hit moves to the window's MRU end;
 * - eviction takes the window's LRU: into main when main has room for it (the first segment
 *   with room, else main evicts until it fits and it enters probation); otherwise it replaces
 *   main's victim (probation's LRU, else protected's) only if its estimated frequency is
 *   strictly higher, else it leaves the cache — repeated until one object has left;
 * - frequencies live in a counting Bloom filter sized for the main cache's size in bytes (or
 *   objects) at a 0.1% false-positive rate (⌈−ln 0.001 / ln²2⌉ counters per entry, ⌈ln 2 ×
 *   that⌉ = 10 hashes by double hashing of two 32-bit XXH64 hashes of the object id), every
 *   counter of the id incremented on each miss, main hit and window eviction; all counters
 *   are halved after 32 × (main size) main hits. libCacheSim passes the main size to the
 *   filter as a C `int`: with PolicyOptions.libCacheSimArithmetic (the simulator) so do we, so a
 *   main cache whose size's low 32 bits read zero or negative (5 GB does) gets the 20-counter
 *   filter libCacheSim gives it, where frequencies are meaningless (found on a synthetic VOD trace
 *   at 5% of 157 GB: miss ratio 0.8223 with the filter as designed, libCacheSim 0.8596, now ours).
 *
 * The filter's hashes take the trace's own 64-bit object ids (PolicyOptions.sourceIds), as
 * libCacheSim hashes them; without them (the live edge) the dense id stands in. Counters are
 * kept sparsely (only touched ones, in an open-addressing table), so a filter sized for
 * gigabytes costs what the trace uses.
 * Caffeine's design, which differs, is `w-tinylfu-caffeine`.
 */
import xxhash from 'xxhash-wasm';
import { growUint8, IdLists, NONE, type CachePolicy, type PolicyOptions } from './cache-policy.js';
import { SegmentedLruPolicy } from './slru.js';

const { h64Raw } = await xxhash();

/** libCacheSim WTinyLFU.c DEFAULT_PARAMS "main-cache=SLRU,window-size=0.01" and SLRU "seg-size=1:4". */
export const WTINYLFU_WINDOW_RATIO = 0.01;
export const WTINYLFU_SEGMENT_SHARES = [1, 4] as const;
/** The filter's target false-positive rate (WTinyLFU_init) and the decay period in main sizes ("sample size is 32"). */
export const WTINYLFU_CBF_ERROR = 0.001;
export const WTINYLFU_SAMPLE_FACTOR = 32;
/** libCacheSim hash.h HASH_SEED0 and HASH_SEED1. */
const SEED0 = 0x12345678n;
const SEED1 = 0x12344321n;
const INT_MAX = 2_147_483_647;

/**
 * A byte count converted to a C `int` as gcc does on x86-64 (the low 32 bits, two's complement):
 * how libCacheSim hands the main cache's size to its filter (PolicyOptions.libCacheSimArithmetic).
 * 5 GiB-ish main caches read negative (7,791,765,601 → −798,168,991).
 */
export function cInt(n: number): number {
  return Number(BigInt.asIntN(32, BigInt(Math.trunc(n))));
}

/**
 * The touched counters of a filter: an open-addressing table (linear probing, Fibonacci hashing)
 * from counter index to count. A counter halved to zero stays as a zero entry, which reads the
 * same as an absent one, so nothing is ever deleted.
 */
class SparseCounters {
  private keys = new Int32Array(1 << 12).fill(-1);
  private values = new Uint32Array(1 << 12);
  private size = 0;
  private shift = 32 - 12;

  private slot(key: number): number {
    const mask = this.keys.length - 1;
    let i = Math.imul(key, 0x9e3779b1) >>> this.shift;
    while (this.keys[i] !== -1 && this.keys[i] !== key) i = (i + 1) & mask;
    return i;
  }

  get(key: number): number {
    const i = this.slot(key);
    return this.keys[i] === key ? this.values[i]! : 0;
  }

  increment(key: number): void {
    let i = this.slot(key);
    if (this.keys[i] !== key) {
      if ((this.size + 1) * 2 > this.keys.length) {
        this.grow();
        i = this.slot(key);
      }
      this.keys[i] = key;
      this.size++;
    }
    this.values[i]!++;
  }

  halve(): void {
    for (let i = 0; i < this.values.length; i++) this.values[i] = this.values[i]! >>> 1;
  }

  private grow(): void {
    const [keys, values] = [this.keys, this.values];
    this.keys = new Int32Array(keys.length * 2).fill(-1);
    this.values = new Uint32Array(keys.length * 2);
    this.shift--;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === -1) continue;
      const j = this.slot(keys[i]!);
      this.keys[j] = keys[i]!;
      this.values[j] = values[i]!;
    }
  }
}

/**
 * libCacheSim's counting Bloom filter (`minimalIncrementCBF.c`): estimate = the smallest of the
 * id's counters; add increments every one of them (as that code does, despite its name).
 */
export class CountingBloomFilter {
  readonly hashes: number;
  readonly counters: number;
  private readonly table = new SparseCounters();

  /**
   * @param entries expected entries (libCacheSim passes the main cache's size).
   * @param error target false-positive rate.
   */
  constructor(entries: number, error: number) {
    const bitsPerEntry = -Math.log(error) / 0.480453013918201; // ln(2)^2
    this.hashes = Math.ceil(0.693147180559945 * bitsPerEntry);
    let counters = Math.min(Math.ceil(bitsPerEntry * entries), INT_MAX);
    if (counters < this.hashes) counters = this.hashes * 2;
    this.counters = counters;
  }

  /** The i-th counter of an id hashed to (a, b): (a + i·b) mod 2³² mod counters. */
  private slot(a: number, b: number, i: number): number {
    return ((a + Math.imul(i, b)) >>> 0) % this.counters;
  }

  estimate(a: number, b: number): number {
    let min = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.hashes; i++) min = Math.min(min, this.table.get(this.slot(a, b, i)));
    return min;
  }

  add(a: number, b: number): void {
    for (let i = 0; i < this.hashes; i++) this.table.increment(this.slot(a, b, i));
  }

  /** Halves every counter. */
  decay(): void {
    this.table.halve();
  }
}

export class WTinyLfuPolicy implements CachePolicy {
  readonly name = 'w-tinylfu';
  readonly capacityBytes: number;
  readonly windowBytes: number;
  readonly mainBytes: number;
  /** The window LRU (one list). */
  private readonly window: IdLists;
  /** The main area: an SLRU of probation ⌊1/5⌋ and protected ⌊4/5⌋ of the main bytes. */
  private readonly main: SegmentedLruPolicy;
  private readonly cbf: CountingBloomFilter;
  private readonly decayEvery: number;
  private mainHits = 0;
  /** Two 32-bit XXH64 hashes of each id's key, computed on first use. */
  private hashA: Uint32Array = new Uint32Array(0);
  private hashB: Uint32Array = new Uint32Array(0);
  private hashed: Uint8Array = new Uint8Array(0);
  private readonly sourceIds: PolicyOptions['sourceIds'];
  private readonly key = new Uint8Array(8);
  private readonly onEvict: ((id: number) => void) | undefined;

  constructor(options: PolicyOptions) {
    this.capacityBytes = options.capacityBytes;
    this.windowBytes = Math.trunc(options.capacityBytes * WTINYLFU_WINDOW_RATIO);
    this.mainBytes = options.capacityBytes - this.windowBytes;
    const shares = WTINYLFU_SEGMENT_SHARES[0] + WTINYLFU_SEGMENT_SHARES[1];
    const segments = WTINYLFU_SEGMENT_SHARES.map((share) => Math.trunc((share / shares) * this.mainBytes));
    this.window = new IdLists(1, options.expectedObjects ?? 1024);
    this.onEvict = options.onEvict;
    this.main = new SegmentedLruPolicy({ capacityBytes: this.mainBytes, expectedObjects: options.expectedObjects ?? 1024, ...(this.onEvict ? { onEvict: this.onEvict } : {}) }, segments, 'w-tinylfu-main');
    this.cbf = new CountingBloomFilter(options.libCacheSimArithmetic ? cInt(this.mainBytes) : this.mainBytes, WTINYLFU_CBF_ERROR);
    this.decayEvery = WTINYLFU_SAMPLE_FACTOR * this.mainBytes;
    this.sourceIds = options.sourceIds;
  }

  /** Counters of the frequency filter (CountingBloomFilter.counters). */
  get filterCounters(): number {
    return this.cbf.counters;
  }

  /** Largest bytes of probation and protected. */
  get segmentBytes(): readonly number[] {
    return this.main.segmentBytes;
  }

  get usedBytes(): number {
    return this.window.bytes[0]! + this.main.usedBytes;
  }

  get objectCount(): number {
    return this.window.count[0]! + this.main.objectCount;
  }

  access(id: number, sizeBytes: number): boolean {
    const w = this.window;
    w.ensure(id);
    if (w.list[id] !== NONE) {
      w.moveToHead(id);
      return true;
    }
    if (this.main.contains(id)) {
      this.main.hit(id);
      this.count(id);
      if (++this.mainHits >= this.decayEvery) {
        this.mainHits = 0;
        this.cbf.decay();
      }
      return true;
    }
    if (sizeBytes > this.capacityBytes || sizeBytes > this.windowBytes || !this.main.admits(sizeBytes)) return false;
    while (this.usedBytes + sizeBytes > this.capacityBytes) this.evict();
    w.pushHead(0, id, sizeBytes);
    this.count(id);
    return false;
  }

  /** One eviction step of the whole cache (libCacheSim WTinyLFU_evict). */
  private evict(): void {
    const w = this.window;
    for (;;) {
      if (w.bytes[0]! === 0) {
        this.main.evictOne();
        return;
      }
      const candidate = w.tail[0]!;
      const size = w.size[candidate]!;
      let left = false;
      if (this.main.usedBytes + size <= this.mainBytes) {
        w.unlink(candidate);
        this.main.insert(candidate, size);
      } else if (this.estimate(candidate) > this.estimate(this.main.victim())) {
        this.main.evictOne();
        w.unlink(candidate);
        this.main.insert(candidate, size);
      } else {
        w.unlink(candidate);
        this.onEvict?.(candidate);
        left = true;
      }
      this.count(candidate);
      if (left) return;
    }
  }

  private ensureHashed(id: number): void {
    if (id >= this.hashed.length) {
      this.hashed = growUint8(this.hashed, id);
      const a = new Uint32Array(this.hashed.length);
      a.set(this.hashA);
      this.hashA = a;
      const b = new Uint32Array(this.hashed.length);
      b.set(this.hashB);
      this.hashB = b;
    }
    if (this.hashed[id]) return;
    const source = this.sourceIds && id < this.sourceIds.size ? this.sourceIds.get(id) : undefined;
    const key = typeof source === 'number' && Number.isSafeInteger(source) && source >= 0 ? BigInt(source) : typeof source === 'string' && /^\d+$/.test(source) ? BigInt(source) : BigInt(id);
    new DataView(this.key.buffer).setBigUint64(0, BigInt.asUintN(64, key), true);
    this.hashA[id] = Number(h64Raw(this.key, SEED0) & 0xffffffffn);
    this.hashB[id] = Number(h64Raw(this.key, SEED1) & 0xffffffffn);
    this.hashed[id] = 1;
  }

  private estimate(id: number): number {
    this.ensureHashed(id);
    return this.cbf.estimate(this.hashA[id]!, this.hashB[id]!);
  }

  private count(id: number): void {
    this.ensureHashed(id);
    this.cbf.add(this.hashA[id]!, this.hashB[id]!);
  }

  contains(id: number): boolean {
    return (id < this.window.list.length && this.window.list[id] !== NONE) || this.main.contains(id);
  }

  remove(id: number): boolean {
    if (id < this.window.list.length && this.window.list[id] !== NONE) {
      this.window.unlink(id);
      this.onEvict?.(id);
      return true;
    }
    return this.main.remove(id);
  }
}
