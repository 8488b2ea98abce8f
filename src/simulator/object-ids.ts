/**
 * The dense renumbering of a trace's object ids (0, 1, 2, … in order of first appearance) and
 * the way back, sized for real traces: V8 caps a `Map` at 2^24 = 16,777,216 entries and an
 * array at about 1.1 × 10^8 elements (a fatal error, not an exception), while libCacheSim's
 * public traces reach 10^8 objects. Integer ids from 0 to 2^53 − 1 (oracleGeneral's uint64
 * ids, numeric CSV ids, the VOD workload's) live in an open-addressing table of typed arrays
 * (linear probing, load factor ≤ 0.5; typed arrays sit outside the V8 heap); any other id
 * (strings, integers ≥ 2^53 as decimal strings, non-integers) in `Map`s sharded 64 ways.
 */

/** Ids the typed table holds: non-negative safe integers. */
function isTableKey(id: number): boolean {
  return Number.isSafeInteger(id) && id >= 0;
}

/** A 32-bit mix of a non-negative integer below 2^53 (murmur3's fmix32 on its two halves). */
function hashKey(key: number): number {
  let h = (key >>> 0) ^ Math.imul((key / 4294967296) >>> 0, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Which of the 64 shards holds a string id (FNV-1a of its last 16 characters). */
function shardOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = Math.max(0, id.length - 16); i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) & 63;
}

const INITIAL_SLOTS = 1 << 16;
/** Dense ids per chunk of the table of string source ids. */
const STRING_CHUNK = 1 << 20;

export class ObjectIdTable {
  /** Number of distinct ids seen. */
  size = 0;
  /**
   * Slot i is entries[2i] = the key, entries[2i + 1] = its dense id + 1 (0 = empty slot): key
   * and id side by side, so a probe touches one cache line.
   */
  private entries = new Float64Array(2 * INITIAL_SLOTS);
  private tableCount = 0;
  private readonly otherShards: Map<number | string, number>[] = Array.from({ length: 64 }, () => new Map());
  /** Source id of each dense id when numeric; NaN where it is in `otherSources`. */
  private numericSources = new Float64Array(INITIAL_SLOTS);
  private readonly otherSources: (number | string)[][] = [];

  /**
   * The dense id of a source id, giving it the next one (= the old `size`) when it is new.
   * @param sourceId the trace's own id; integers of 2^53 and above must be given as decimal
   *   strings (a JavaScript number cannot tell them apart).
   */
  intern(sourceId: number | string): number {
    if (typeof sourceId === 'number' && isTableKey(sourceId)) return this.internKey(sourceId);
    const shard = this.otherShards[typeof sourceId === 'number' ? 0 : shardOf(sourceId)]!;
    let id = shard.get(sourceId);
    if (id === undefined) {
      id = this.add(Number.NaN);
      shard.set(sourceId, id);
      (this.otherSources[Math.floor(id / STRING_CHUNK)] ??= [])[id % STRING_CHUNK] = sourceId;
    }
    return id;
  }

  /** The source id of a dense id (as given to `intern`). @throws RangeError for an id never given. */
  get(denseId: number): number | string {
    if (!(denseId >= 0 && denseId < this.size)) throw new RangeError(`object ${denseId} is not in this trace (${this.size} objects)`);
    const n = this.numericSources[denseId]!;
    return Number.isNaN(n) ? this.otherSources[Math.floor(denseId / STRING_CHUNK)]![denseId % STRING_CHUNK]! : n;
  }

  private internKey(key: number): number {
    let entries = this.entries;
    let mask = entries.length / 2 - 1;
    let i = hashKey(key) & mask;
    for (;;) {
      const slot = entries[2 * i + 1]!;
      if (slot === 0) break;
      if (entries[2 * i] === key) return slot - 1;
      i = (i + 1) & mask;
    }
    if ((this.tableCount + 1) * 2 > entries.length / 2) {
      this.rehash(entries.length);
      entries = this.entries;
      mask = entries.length / 2 - 1;
      i = hashKey(key) & mask;
      while (entries[2 * i + 1] !== 0) i = (i + 1) & mask;
    }
    const id = this.add(key);
    entries[2 * i] = key;
    entries[2 * i + 1] = id + 1;
    this.tableCount++;
    return id;
  }

  private add(numericSource: number): number {
    const id = this.size++;
    if (id === this.numericSources.length) {
      const grown = new Float64Array(this.numericSources.length * 2);
      grown.set(this.numericSources);
      this.numericSources = grown;
    }
    this.numericSources[id] = numericSource;
    return id;
  }

  private rehash(slots: number): void {
    const old = this.entries;
    const entries = new Float64Array(2 * slots);
    const mask = slots - 1;
    for (let j = 0; j < old.length; j += 2) {
      const slot = old[j + 1]!;
      if (slot === 0) continue;
      const key = old[j]!;
      let i = hashKey(key) & mask;
      while (entries[2 * i + 1] !== 0) i = (i + 1) & mask;
      entries[2 * i] = key;
      entries[2 * i + 1] = slot;
    }
    this.entries = entries;
  }
}
