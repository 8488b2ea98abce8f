/**
 * LHD, Least Hit Density (N. Beckmann, H. Chen, A. Cidon, "LHD: Improving Cache Hit Rate by
 * Maximizing Hit Density", NSDI 2018; reference implementation libCacheSim `LHD/lhd.cpp` and
 * `LHD_Interface.cpp`, commit aa0fc40, itself a port of the paper's simulator).
 *
 * Each object's *hit density* is the hits it can still expect per byte and per unit of time it
 * will occupy the cache, given its age (requests since its last access, coarsened by a power of
 * two) and its class (how long ago its last two hits were). Per class, LHD keeps how many hits and
 * evictions happened at each age (decayed by 0.9 every 2^20 requests) and derives the density at
 * each age from them: hits still to come after that age ÷ the expected lifetime still to come.
 * To evict it samples candidates at random (8 until the 51st reconfiguration, then 32) plus the
 * last 8 admitted objects that looked like victims, and evicts the lowest density. A random 1 in
 * 32 accesses marks the object an *explorer* (+1 density: practically never evicted) while 1%
 * of the cache's bytes allow, for the first 50 reconfigurations. Until the first
 * reconfiguration (2^20 requests) densities follow the initial GDSF-like guess
 * (class + 1) ÷ (age + 1) ÷ size.
 *
 * What libCacheSim does, we do, so that `cachesim`'s printed miss ratios are ours:
 * - its random numbers: Knuth's MMIX linear congruential generator (libCacheSim `next_rand`,
 *   `mymath.h`), seeded with 0 per cache as its multi-cache simulator does (`set_rand_seed(0)`
 *   in `simulator.c`), drawn in the same order (one per access, one per sampled candidate);
 * - its arithmetic in 32-bit floats (`rank_t` is `float`): every operation rounded with
 *   Math.fround, the explorer budget an int64 updated through a float;
 * - its bookkeeping: cached objects in one array, the last one moved into an evicted one's slot,
 *   so that a random index names the same object;
 * - unlike libCacheSim's other caches, a hit takes the request's size (LHD's own size map is
 *   updated, and its occupied bytes with it, without eviction: a hit that grows an object can
 *   leave the cache above its capacity until the next miss makes room);
 * - a purge (`remove`) drops the object without counting an eviction, as `LHD_remove`.
 * Only the 16 classes of libCacheSim's one application (`DEFAULT_APP_ID` 1) are kept: the other
 * 240 are allocated there but never read. Where every candidate's density is infinite or NaN
 * (objects of size 0) libCacheSim reads outside its array; we evict the first candidate.
 */
import { growFloat64, growInt32, growUint8, NONE, type CachePolicy, type PolicyOptions } from './cache-policy.js';
import { Mmix64Random } from './mmix-random.js';

const f = Math.fround;
/** Largest age tracked, in coarsened time units (`MAX_AGE`); older objects rank lowest. */
const MAX_AGE = 20000;
const HIT_AGE_CLASSES = 16;
/** libCacheSim's classes are app × 16 + hit-age class, with app `DEFAULT_APP_ID % 16` = 1. */
const CLASS_OFFSET = 1 * HIT_AGE_CLASSES;
const ACCESSES_PER_RECONFIGURATION = 2 ** 20;
const EWMA_DECAY = f(0.9);
const ONE_MINUS_EWMA_DECAY = f(1 - EWMA_DECAY);
const ADMISSIONS = 8;
const EXPLORE_INVERSE_PROBABILITY = 32;
const EXPLORER_BUDGET_FRACTION = f(0.01);
const AGE_COARSENING_ERROR_TOLERANCE = f(0.01);
const FLOAT_MAX = 3.4028234663852886e38;

export class LhdPolicy implements CachePolicy {
  readonly name = 'lhd';
  readonly capacityBytes: number;
  private readonly onEvict: ((id: number) => void) | undefined;
  private readonly rand = new Mmix64Random();
  /** id → slot in the tag arrays, or NONE. */
  private slotOf: Int32Array;
  /** id → its size as LHD's size map holds it (the last request's), bytes. */
  private objectBytes: Float64Array;
  // Tags, by slot (libCacheSim's `tags` vector).
  private tagId: Int32Array;
  private tagTime: Float64Array;
  private lastHitAge: Float64Array;
  private lastLastHitAge: Float64Array;
  private tagSize: Float32Array;
  /** The tag's class (classOf of its last two hit ages), kept as they change. */
  private tagClass: Uint8Array;
  private explorer: Uint8Array;
  private count = 0;
  private used = 0;
  // Per class (16 × MAX_AGE, float).
  private readonly hits = new Float32Array(HIT_AGE_CLASSES * MAX_AGE);
  private readonly evictions = new Float32Array(HIT_AGE_CLASSES * MAX_AGE);
  private readonly hitDensities = new Float32Array(HIT_AGE_CLASSES * MAX_AGE);
  private readonly recentlyAdmitted = new Int32Array(ADMISSIONS).fill(NONE);
  private recentlyAdmittedHead = 0;
  private ewmaVictimHitDensity = 0;
  private explorerBudget: number;
  private timestamp = 0;
  private nextReconfiguration = ACCESSES_PER_RECONFIGURATION;
  private reconfigurations = 0;
  private ageCoarseningShift = 10;
  /** 2^-ageCoarseningShift: units of age per request (a power of two: multiplying is exact). */
  private agePerRequest = 2 ** -10;
  private ewmaNumObjects = 0;
  private ewmaNumObjectsMass = 0;

  constructor(options: PolicyOptions) {
    this.capacityBytes = options.capacityBytes;
    this.onEvict = options.onEvict;
    const n = Math.max(16, options.expectedObjects ?? 1024);
    this.slotOf = new Int32Array(n).fill(NONE);
    this.objectBytes = new Float64Array(n);
    this.tagId = new Int32Array(n);
    this.tagTime = new Float64Array(n);
    this.lastHitAge = new Float64Array(n);
    this.lastLastHitAge = new Float64Array(n);
    this.tagSize = new Float32Array(n);
    this.tagClass = new Uint8Array(n);
    this.explorer = new Uint8Array(n);
    this.explorerBudget = Math.trunc(f(f(options.capacityBytes) * EXPLORER_BUDGET_FRACTION));
    for (let c = 0; c < HIT_AGE_CLASSES; c++) {
      for (let a = 0; a < MAX_AGE; a++) this.hitDensities[c * MAX_AGE + a] = (CLASS_OFFSET + c + 1) / (a + 1);
    }
  }

  get usedBytes(): number {
    return this.used;
  }

  get objectCount(): number {
    return this.count;
  }

  access(id: number, sizeBytes: number): boolean {
    if (id >= this.slotOf.length) {
      this.slotOf = growInt32(this.slotOf, id, NONE);
      this.objectBytes = growFloat64(this.objectBytes, id);
    }
    if (this.slotOf[id] !== NONE) {
      this.used += sizeBytes - this.objectBytes[id]!;
      this.objectBytes[id] = sizeBytes;
      this.update(id, sizeBytes, false);
      return true;
    }
    if (sizeBytes > this.capacityBytes) return false;
    while (this.used + sizeBytes > this.capacityBytes) this.evictOne();
    this.objectBytes[id] = sizeBytes;
    this.used += sizeBytes;
    this.count++;
    this.update(id, sizeBytes, true);
    return false;
  }

  contains(id: number): boolean {
    return id < this.slotOf.length && this.slotOf[id] !== NONE;
  }

  remove(id: number): boolean {
    if (!this.contains(id)) return false;
    this.dropSlot(id);
    this.onEvict?.(id);
    return true;
  }

  /** `int64 ± float` as C evaluates it: in float, truncated back to an integer. */
  private budgetPlus(bytes: number): void {
    this.explorerBudget = Math.trunc(f(f(this.explorerBudget) + bytes));
  }

  private ageOf(slot: number): number {
    const age = Math.floor((this.timestamp - this.tagTime[slot]!) * this.agePerRequest);
    return age >= MAX_AGE ? MAX_AGE - 1 : age;
  }

  /** The class (0–15) of a tag: about log2(MAX_AGE ÷ (last two hit ages)), 15 for age 0. */
  private classOf(slot: number): number {
    let age = this.lastHitAge[slot]! + this.lastLastHitAge[slot]!;
    if (age === 0) return HIT_AGE_CLASSES - 1;
    let log = 0;
    while (age < MAX_AGE && log < HIT_AGE_CLASSES - 1) {
      age *= 2;
      log++;
    }
    return log;
  }

  private hitDensity(slot: number): number {
    const age = this.ageOf(slot);
    if (age === MAX_AGE - 1) return -FLOAT_MAX;
    let density = f(this.hitDensities[this.tagClass[slot]! * MAX_AGE + age]! / this.tagSize[slot]!);
    if (this.explorer[slot]) density = f(density + 1);
    return density;
  }

  /** LHD::update: an access to a cached (just admitted when `inserted`) object. */
  private update(id: number, sizeBytes: number, inserted: boolean): void {
    let slot: number;
    if (inserted) {
      slot = this.count - 1;
      this.growTags(slot);
      this.slotOf[id] = slot;
      this.tagId[slot] = id;
      this.lastLastHitAge[slot] = MAX_AGE;
      this.lastHitAge[slot] = 0;
      this.tagClass[slot] = this.classOf(slot);
      this.explorer[slot] = 0;
    } else {
      slot = this.slotOf[id]!;
      const age = this.ageOf(slot);
      const k = this.tagClass[slot]! * MAX_AGE + age;
      this.hits[k] = f(this.hits[k]! + 1);
      if (this.explorer[slot]) this.budgetPlus(this.tagSize[slot]!);
      this.lastLastHitAge[slot] = this.lastHitAge[slot]!;
      this.lastHitAge[slot] = age;
      this.tagClass[slot] = this.classOf(slot);
    }
    this.tagTime[slot] = this.timestamp;
    this.tagSize[slot] = sizeBytes;
    this.rand.next();
    const explore = this.rand.low5() % EXPLORE_INVERSE_PROBABILITY === 0;
    if (explore && this.explorerBudget > 0 && this.reconfigurations < 50) {
      this.explorer[slot] = 1;
      this.budgetPlus(-this.tagSize[slot]!);
    } else {
      this.explorer[slot] = 0;
    }
    if (inserted && !explore && this.hitDensity(slot) < this.ewmaVictimHitDensity) {
      this.recentlyAdmitted[this.recentlyAdmittedHead++ % ADMISSIONS] = id;
    }
    this.timestamp++;
    if (--this.nextReconfiguration === 0) {
      this.reconfigure();
      this.nextReconfiguration = ACCESSES_PER_RECONFIGURATION;
      this.reconfigurations++;
    }
  }

  /** LHD::rank: the slot of the sampled candidate with the least hit density. */
  private victimSlot(): number {
    let victim = NONE;
    let victimRank = FLOAT_MAX;
    const candidates = this.reconfigurations > 50 ? 32 : 8;
    let first = NONE;
    for (let i = 0; i < candidates; i++) {
      this.rand.next();
      const slot = this.rand.mod(this.count);
      if (first === NONE) first = slot;
      const rank = this.hitDensity(slot);
      if (rank < victimRank) {
        victim = slot;
        victimRank = rank;
      }
    }
    for (let i = 0; i < ADMISSIONS; i++) {
      const id = this.recentlyAdmitted[i]!;
      if (id === NONE || this.slotOf[id] === NONE) continue;
      const slot = this.slotOf[id]!;
      const rank = this.hitDensity(slot);
      if (rank < victimRank) {
        victim = slot;
        victimRank = rank;
      }
    }
    this.ewmaVictimHitDensity = f(f(EWMA_DECAY * this.ewmaVictimHitDensity) + f(ONE_MINUS_EWMA_DECAY * victimRank));
    return victim === NONE ? first : victim;
  }

  private evictOne(): void {
    const slot = this.victimSlot();
    const id = this.tagId[slot]!;
    const k = this.tagClass[slot]! * MAX_AGE + this.ageOf(slot);
    this.evictions[k] = f(this.evictions[k]! + 1);
    if (this.explorer[slot]) this.budgetPlus(this.tagSize[slot]!);
    this.dropSlot(id);
    this.onEvict?.(id);
  }

  /** Forgets a cached object: the last tag moves into its slot. */
  private dropSlot(id: number): void {
    const slot = this.slotOf[id]!;
    const last = this.count - 1;
    if (slot !== last) {
      const moved = this.tagId[last]!;
      this.tagId[slot] = moved;
      this.tagTime[slot] = this.tagTime[last]!;
      this.lastHitAge[slot] = this.lastHitAge[last]!;
      this.lastLastHitAge[slot] = this.lastLastHitAge[last]!;
      this.tagSize[slot] = this.tagSize[last]!;
      this.tagClass[slot] = this.tagClass[last]!;
      this.explorer[slot] = this.explorer[last]!;
      this.slotOf[moved] = slot;
    }
    this.slotOf[id] = NONE;
    this.used -= this.objectBytes[id]!;
    this.count--;
  }

  private growTags(slot: number): void {
    if (slot < this.tagId.length) return;
    this.tagId = growInt32(this.tagId, slot, 0);
    this.tagTime = growFloat64(this.tagTime, slot);
    this.lastHitAge = growFloat64(this.lastHitAge, slot);
    this.lastLastHitAge = growFloat64(this.lastLastHitAge, slot);
    this.explorer = growUint8(this.explorer, slot);
    this.tagClass = growUint8(this.tagClass, slot);
    const size = new Float32Array(this.tagId.length);
    size.set(this.tagSize);
    this.tagSize = size;
  }

  /** LHD::reconfigure: decay the event counts, adapt the age coarsening, recompute densities. */
  private reconfigure(): void {
    for (let k = 0; k < this.hits.length; k++) {
      this.hits[k] = f(this.hits[k]! * EWMA_DECAY);
      this.evictions[k] = f(this.evictions[k]! * EWMA_DECAY);
    }
    this.adaptAgeCoarsening();
    this.modelHitDensity();
  }

  /**
   * LHD::adaptAgeCoarsening: at the 6th and 26th reconfiguration, sets the age unit to the power
   * of two nearest above (objects cached ÷ (0.01 × MAX_AGE)) requests, and rescales the counts.
   */
  private adaptAgeCoarsening(): void {
    this.ewmaNumObjects = f(f(this.ewmaNumObjects * EWMA_DECAY) + f(this.count));
    this.ewmaNumObjectsMass = f(f(this.ewmaNumObjectsMass * EWMA_DECAY) + 1);
    const numObjects = f(this.ewmaNumObjects / this.ewmaNumObjectsMass);
    const optimal = f(numObjects / f(AGE_COARSENING_ERROR_TOLERANCE * MAX_AGE));
    if (this.reconfigurations !== 5 && this.reconfigurations !== 25) return;
    let log2 = 1;
    while (2 ** log2 < optimal) log2++;
    const delta = log2 - this.ageCoarseningShift;
    this.ageCoarseningShift = log2;
    this.agePerRequest = 2 ** -log2;
    this.ewmaNumObjects = f(this.ewmaNumObjects * 8);
    this.ewmaNumObjectsMass = f(this.ewmaNumObjectsMass * 8);
    for (const counts of [this.hits, this.evictions]) {
      for (let c = 0; c < HIT_AGE_CLASSES; c++) {
        const at = (a: number) => c * MAX_AGE + a;
        if (delta < 0) {
          const d = -delta;
          for (let a = MAX_AGE >> d; a < MAX_AGE - 1; a++) counts[at(MAX_AGE - 1)] = f(counts[at(MAX_AGE - 1)]! + counts[at(a)]!);
          for (let a = MAX_AGE - 2; a >= 0; a--) counts[at(a)] = f(counts[at(a >> d)]! / 2 ** d);
        } else if (delta > 0) {
          for (let a = 0; a < MAX_AGE >> delta; a++) {
            counts[at(a)] = counts[at(a << delta)]!;
            for (let i = 1; i < 2 ** delta; i++) counts[at(a)] = f(counts[at(a)]! + counts[at((a << delta) + i)]!);
          }
          for (let a = MAX_AGE >> delta; a < MAX_AGE - 1; a++) counts[at(a)] = 0;
        }
      }
    }
  }

  /** LHD::modelHitDensity: per class and age, hits still to come ÷ expected lifetime still to come. */
  private modelHitDensity(): void {
    for (let c = 0; c < HIT_AGE_CLASSES; c++) {
      const base = c * MAX_AGE;
      let totalEvents = f(this.hits[base + MAX_AGE - 1]! + this.evictions[base + MAX_AGE - 1]!);
      let totalHits = this.hits[base + MAX_AGE - 1]!;
      let lifetime = totalEvents;
      for (let a = MAX_AGE - 2; a >= 0; a--) {
        totalHits = f(totalHits + this.hits[base + a]!);
        totalEvents = f(totalEvents + f(this.hits[base + a]! + this.evictions[base + a]!));
        lifetime = f(lifetime + totalEvents);
        this.hitDensities[base + a] = totalEvents > 1e-5 ? f(totalHits / lifetime) : 0;
      }
    }
  }
}
