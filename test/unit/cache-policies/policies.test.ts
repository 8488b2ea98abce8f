/**
 * Each policy against sequences computed by hand (unit sizes unless stated), plus the
 * properties every policy shares.
 */
import { describe, expect, it } from 'vitest';
import { ArcPolicy } from '../../../src/cache-policies/arc.js';
import { BeladyBypassPolicy, BeladyPolicy } from '../../../src/cache-policies/belady.js';
import { ClockPolicy } from '../../../src/cache-policies/clock.js';
import { LirsPolicy } from '../../../src/cache-policies/lirs.js';
import { SegmentedLruPolicy } from '../../../src/cache-policies/slru.js';
import { TwoQPolicy } from '../../../src/cache-policies/two-q.js';
import type { CachePolicy } from '../../../src/cache-policies/cache-policy.js';
import { FifoPolicy } from '../../../src/cache-policies/fifo.js';
import { GdsfPolicy } from '../../../src/cache-policies/gdsf.js';
import { LfuPolicy } from '../../../src/cache-policies/lfu.js';
import { LhdPolicy } from '../../../src/cache-policies/lhd.js';
import { Mmix64Random } from '../../../src/cache-policies/mmix-random.js';
import { LruPolicy } from '../../../src/cache-policies/lru.js';
import { createPolicy, isPolicyName, ONLINE_POLICY_NAMES, POLICY_NAMES, type PolicyName } from '../../../src/cache-policies/policy-registry.js';
import { S3FifoPolicy } from '../../../src/cache-policies/s3fifo.js';
import { SievePolicy } from '../../../src/cache-policies/sieve.js';
import { cInt, CountingBloomFilter, WTinyLfuPolicy } from '../../../src/cache-policies/w-tinylfu.js';
import { CaffeineWTinyLfuPolicy, FrequencySketch } from '../../../src/cache-policies/w-tinylfu-caffeine.js';

/** Runs unit-size requests; returns 'H' for hits and '-' for misses. */
const run = (p: CachePolicy, ids: number[], size = 1) => ids.map((id) => (p.access(id, size) ? 'H' : '-')).join('');

describe('LRU and FIFO', () => {
  it('LRU evicts the least recently used', () => {
    const p = new LruPolicy({ capacityBytes: 3 });
    expect(run(p, [1, 2, 3, 1, 4, 2, 1])).toBe('---H--H');
  });

  it('FIFO evicts the oldest insertion, whatever was hit', () => {
    const p = new FifoPolicy({ capacityBytes: 3 });
    // 4 evicts 1 although 1 was just hit; 1 comes back evicting 2; 2 comes back evicting 3.
    expect(run(p, [1, 2, 3, 1, 4, 1, 2])).toBe('---H---');
    expect([1, 2, 3, 4].map((id) => p.contains(id))).toEqual([true, true, false, true]);
  });
});

describe('SIEVE', () => {
  it('moves the hand from the tail toward the head, clearing visited bits', () => {
    const [A, B, C, D, E, F] = [0, 1, 2, 3, 4, 5];
    const p = new SievePolicy({ capacityBytes: 3 });
    run(p, [A, B, C]); // queue head→tail: C B A
    expect(p.access(A, 1)).toBe(true); // A visited
    p.access(D, 1); // hand at A (visited: clear, keep) → B unvisited: evicted; hand → C
    expect([p.contains(A), p.contains(B), p.contains(C), p.contains(D)]).toEqual([true, false, true, true]);
    expect(p.handPosition).toBe(C);
    p.access(E, 1); // hand at C: evicted; hand → D
    expect(p.contains(C)).toBe(false);
    expect(p.handPosition).toBe(D);
    expect(p.access(A, 1)).toBe(true);
    p.access(F, 1); // hand at D: evicted; A survives again
    expect([p.contains(A), p.contains(D), p.contains(E), p.contains(F)]).toEqual([true, false, true, true]);
  });

  it('wraps the hand to the tail after passing the head', () => {
    const p = new SievePolicy({ capacityBytes: 2 });
    run(p, [1, 2, 1, 2]); // both visited
    p.access(3, 1); // clears 1 and 2, wraps to the tail (1) and evicts it
    expect([p.contains(1), p.contains(2), p.contains(3)]).toEqual([false, true, true]);
  });
});

describe('S3-FIFO (libCacheSim S3FIFO.c semantics)', () => {
  it('sends new objects to S, one-hit objects to the ghost, ghost hits to M, freq ≥ 2 from S to M (aa0fc40: no warm-up rule)', () => {
    // 20 bytes: S = 2, M = 18, G = 18.
    const p = new S3FifoPolicy({ capacityBytes: 20 });
    run(p, Array.from({ length: 20 }, (_, i) => i)); // every new object enters S; nothing is evicted until the cache is full
    expect(p.queueOf(0)).toBe('small');
    expect(p.queueOf(19)).toBe('small');
    p.access(20, 1); // full: S's tail 0 (freq 0) → ghost; 20 → S
    expect(p.queueOf(0)).toBe('ghost');
    expect(p.contains(0)).toBe(false);
    expect(p.access(0, 1)).toBe(false); // a ghost hit is still a miss…
    expect(p.queueOf(0)).toBe('main'); // …but the object goes straight to M
    expect(p.queueOf(1)).toBe('ghost'); // 1 was evicted from S to make room
    p.access(2, 1);
    p.access(2, 1); // 2 has freq 2
    p.access(21, 1); // evict from S: 2 (freq 2) moves to M, then 3 (freq 0) → ghost
    expect(p.queueOf(2)).toBe('main');
    expect(p.queueOf(3)).toBe('ghost');
    expect(p.queueOf(21)).toBe('small');
    expect(p.usedBytes).toBe(20);
  });

  it('evicts from M once M is over its share, reinserting objects with freq ≥ 1 with freq − 1', () => {
    // 20 bytes: S = 2, M = 18, G = 18.
    const p = new S3FifoPolicy({ capacityBytes: 20 });
    run(p, [...Array.from({ length: 21 }, (_, i) => i), ...Array.from({ length: 19 }, (_, i) => i)]);
    // 0..19 fill S and 20 pushes 0 to the ghost; then ghost hits bring 0..18 into M one by one,
    // each pushing S's tail to the ghost: M holds 19 bytes, over its 18.
    expect(Array.from({ length: 19 }, (_, i) => p.queueOf(i))).toEqual(Array(19).fill('main'));
    expect(p.queueOf(19)).toBe('ghost');
    expect(p.queueOf(20)).toBe('small');
    expect(p.access(0, 1)).toBe(true); // 0, M's oldest, now has freq 1
    p.access(21, 1); // M is over its share: 0 is reinserted with freq 0, then 1 (freq 0) is evicted
    expect(p.contains(0)).toBe(true);
    expect(p.contains(1)).toBe(false);
    expect(p.queueOf(21)).toBe('small');
  });

  it('never admits an object as large as the small queue', () => {
    const p = new S3FifoPolicy({ capacityBytes: 100 });
    expect(p.access(1, 10)).toBe(false);
    expect(p.contains(1)).toBe(false);
    p.access(2, 9);
    expect(p.contains(2)).toBe(true);
  });
});

describe('ARC', () => {
  it('adapts p on ghost hits and moves objects between T1, T2, B1 and B2 (FAST 2003 Fig. 4)', () => {
    const [A, B, C, D, E] = [0, 1, 2, 3, 4];
    const p = new ArcPolicy({ capacityBytes: 4 });
    run(p, [A, B, C, D]);
    expect(p.access(A, 1)).toBe(true);
    expect(p.listOf(A)).toBe('T2');
    p.access(E, 1); // REPLACE: |T1| = 3 > p = 0 → B (T1's LRU) to B1
    expect(p.listOf(B)).toBe('B1');
    expect(p.access(B, 1)).toBe(false); // B1 hit: p = 1; REPLACE moves C to B1; B → T2
    expect(p.targetT1Bytes).toBe(1);
    expect(p.listOf(B)).toBe('T2');
    expect(p.listOf(C)).toBe('B1');
    p.access(C, 1); // B1 hit: p = 2; |T1| = 2 is not > p → T2's LRU (A) to B2
    expect(p.targetT1Bytes).toBe(2);
    expect(p.listOf(A)).toBe('B2');
    p.access(A, 1); // B2 hit: p = 1; |T1| = 2 > 1 → D to B1
    expect(p.targetT1Bytes).toBe(1);
    expect(p.listOf(D)).toBe('B1');
    expect(p.listOf(A)).toBe('T2');
    expect(p.objectCount).toBe(4);
  });
});

describe('LFU, GDSF, Belady', () => {
  it('LFU evicts the least frequently used', () => {
    const p = new LfuPolicy({ capacityBytes: 2 });
    expect(run(p, [1, 1, 2, 3, 1, 2])).toBe('-H--H-');
    expect(p.contains(3)).toBe(false); // 2 came back and took 3's place (both freq 1, 3 older)
  });

  it('GDSF evicts by frequency per byte, inflated by the last eviction', () => {
    const p = new GdsfPolicy({ capacityBytes: 10 });
    p.access(1, 5); // H = 1/5
    p.access(2, 5); // H = 1/5
    p.access(2, 5); // H = 2/5
    p.access(3, 1); // needs 1 byte: evicts 1 (lowest H)
    expect([p.contains(1), p.contains(2), p.contains(3)]).toEqual([false, true, true]);
    p.access(4, 5); // L = 0.2; H(3) = 0.2 + 1 = 1.2, H(2) = 0.4: evicts 2
    expect([p.contains(2), p.contains(3), p.contains(4)]).toEqual([false, true, true]);
  });

  it('Belady (libCacheSim) admits every miss after evicting the farthest next use; belady-bypass skips objects not needed soon', () => {
    const ids = [1, 2, 3, 1, 2];
    const next = [3, 4, Infinity, Infinity, Infinity];
    const play = (p: CachePolicy) => ids.map((id, i) => (p.access(id, 1, next[i]) ? 'H' : '-')).join('');
    // 3 evicts 2 (next use 4, farther than 1's 3) and is admitted although never used again.
    expect(play(new BeladyPolicy({ capacityBytes: 2 }))).toBe('---H-');
    // With bypass 3 is never admitted: 1 and 2 both hit.
    expect(play(new BeladyBypassPolicy({ capacityBytes: 2 }))).toBe('---HH');
  });
});

describe('W-TinyLFU', () => {
  it('keeps a frequently used set through a scan that flushes LRU', () => {
    const hot = Array.from({ length: 50 }, (_, i) => i);
    const scan = Array.from({ length: 1000 }, (_, i) => 1000 + i);
    const seq = [...hot, ...hot, ...hot, ...hot, ...hot, ...scan, ...hot];
    const lru = new LruPolicy({ capacityBytes: 100 });
    const lastHits = (p: CachePolicy) => run(p, seq).slice(-50).split('H').length - 1;
    expect(lastHits(lru)).toBe(0);
    // Caffeine's design keeps nearly all of it; libCacheSim's (whose 1-object window sends the
    // first scanned objects into main while it has room) keeps most.
    expect(lastHits(new CaffeineWTinyLfuPolicy({ capacityBytes: 100, expectedObjects: 1100 }))).toBeGreaterThanOrEqual(45);
    expect(lastHits(new WTinyLfuPolicy({ capacityBytes: 100, expectedObjects: 1100 }))).toBeGreaterThanOrEqual(30);
  });

  it('counts in a 4-bit count-min sketch that halves periodically', () => {
    const s = new FrequencySketch(16);
    for (let i = 0; i < 20; i++) s.increment(7);
    expect(s.frequency(7)).toBe(15); // saturates
    expect(s.frequency(8)).toBeLessThanOrEqual(1);
    for (let i = 0; i < 200; i++) s.increment(1000 + i); // 10 × width additions trigger a halving
    expect(s.frequency(7)).toBeLessThan(15);
  });
});

describe('W-TinyLFU as libCacheSim (WTinyLFU-w0.01-SLRU)', () => {
  it('sizes its counting Bloom filter for 0.1% false positives and counts with every counter, halving on decay', () => {
    const f = new CountingBloomFilter(1000, 0.001);
    // −ln(0.001) / ln²2 = 14.38 counters per entry: 14,378 counters, ⌈ln 2 × 14.38⌉ = 10 hashes.
    expect(f.hashes).toBe(10);
    expect(f.counters).toBe(14_378);
    expect(f.estimate(123, 456)).toBe(0);
    for (let i = 0; i < 3; i++) f.add(123, 456);
    expect(f.estimate(123, 456)).toBe(3);
    f.decay();
    expect(f.estimate(123, 456)).toBe(1);
    f.decay();
    expect(f.estimate(123, 456)).toBe(0);
  });

  it("sizes the filter from the main cache's bytes as a C int, as libCacheSim does, only when asked (the simulator)", () => {
    expect(cInt(1_558_353_120)).toBe(1_558_353_120);
    expect(cInt(7_791_765_601)).toBe(-798_168_991);
    expect(cInt(2 ** 32)).toBe(0);
    expect(cInt(31_167_062_404)).toBe(1_102_291_332);
    // 5% of a 157 GB VOD trace: main 7,791,765,601 bytes reads negative, so libCacheSim falls back to 2 × 10 counters.
    expect(new WTinyLfuPolicy({ capacityBytes: 7_870_470_304, libCacheSimArithmetic: true }).filterCounters).toBe(20);
    expect(new WTinyLfuPolicy({ capacityBytes: 7_870_470_304 }).filterCounters).toBe(2_147_483_647);
    // Below 2 GiB both agree.
    expect(new WTinyLfuPolicy({ capacityBytes: 100_000, libCacheSimArithmetic: true }).filterCounters).toBe(new WTinyLfuPolicy({ capacityBytes: 100_000 }).filterCounters);
  });

  it('admits only objects that fit its 1% window, and splits main 1:4 into probation and protected', () => {
    const p = new WTinyLfuPolicy({ capacityBytes: 1000 });
    expect(p.windowBytes).toBe(10);
    expect(p.segmentBytes).toEqual([198, 792]);
    expect(p.access(1, 11)).toBe(false);
    expect(p.contains(1)).toBe(false);
    p.access(2, 10);
    expect(p.contains(2)).toBe(true);
  });
});

describe('CLOCK, 2Q, LIRS, S4LRU (libCacheSim Clock.c, TwoQ.c, LIRS.c, SLRU.c)', () => {
  it('CLOCK gives a referenced object a second chance', () => {
    const p = new ClockPolicy({ capacityBytes: 3 });
    // 4 finds 1 referenced (cleared, back to the head) and evicts 2; 5 evicts 3.
    expect(run(p, [1, 2, 3, 1, 4, 5, 1])).toBe('---H--H');
    expect([1, 2, 3, 4, 5].filter((i) => p.contains(i))).toEqual([1, 4, 5]);
  });

  it('2Q keeps new objects in A1in, remembers its evictions in A1out and promotes a remembered id to Am', () => {
    const p = new TwoQPolicy({ capacityBytes: 8 }); // A1in 2, A1out 4, Am 6
    run(p, [1, 2, 3, 4, 5, 6, 7, 8]); // all in A1in: nothing is evicted before the cache is full
    expect(p.queueOf(8)).toBe('a1in');
    p.access(9, 1); // A1in is over its share: its oldest, 1, leaves for A1out
    expect(p.queueOf(1)).toBe('a1out');
    expect(p.access(1, 1)).toBe(false); // remembered: still a miss…
    expect(p.queueOf(1)).toBe('am'); // …admitted to Am, after 2 left A1in
    expect(p.queueOf(2)).toBe('a1out');
    expect(p.access(3, 1)).toBe(true);
  });

  it('LIRS keeps low-recency objects as LIR, serves resident HIR ones from Q and remembers evicted HIR ids', () => {
    const p = new LirsPolicy({ capacityBytes: 3 }); // HIR 1 (1% floored, at least 1), LIR 2
    const [A, B, C, D] = [1, 2, 3, 4];
    // A, B fill the LIR set; C is resident HIR; D pushes C out of Q (C stays in S as non-resident);
    // C again is a miss that demotes the bottom LIR, B, to Q and makes C LIR.
    expect(run(p, [A, B, C, A, D, C])).toBe('---H--');
    expect([A, B, C, D].map((id) => p.stateOf(id))).toEqual(['LIR', 'HIR', 'LIR', 'nonresident']);
    expect(p.contains(D)).toBe(false);
    expect(p.access(B, 1)).toBe(true); // resident HIR in Q
  });

  it('S4LRU admits into the lowest segment with room, promotes on hits and cools segments over their size', () => {
    const p = new SegmentedLruPolicy({ capacityBytes: 8 }, SegmentedLruPolicy.equalSegments(8, 4), 's4lru'); // 2 per segment
    run(p, [1, 2, 3, 4, 5, 6, 7, 8]);
    expect([1, 3, 5, 7].map((i) => p.segmentOf(i))).toEqual([0, 1, 2, 3]);
    p.access(9, 1); // full: segment 0's LRU, 1, leaves; 9 enters segment 0
    expect(p.contains(1)).toBe(false);
    expect(p.segmentOf(9)).toBe(0);
    expect(p.access(9, 1)).toBe(true); // promoted to segment 1, whose LRU (3) cools to segment 0
    expect(p.segmentOf(9)).toBe(1);
    expect(p.segmentOf(3)).toBe(0);
  });
});

describe('LHD (libCacheSim LHD, Beckmann et al. NSDI 2018)', () => {
  it("draws libCacheSim's random numbers: the MMIX generator from 0, as 64-bit integers mod n", () => {
    const r = new Mmix64Random();
    let s = 0n;
    for (let i = 0; i < 5000; i++) {
      s = BigInt.asUintN(64, 6364136223846793005n * s + 1442695040888963407n);
      r.next();
      const n = 1 + ((i * 2_654_435_761) % 2 ** 31);
      expect([r.mod(n), r.low5()]).toEqual([Number(s % BigInt(n)), Number(s % 32n)]);
    }
  });

  it('keeps small objects over large ones of the same popularity (hit density is per byte)', () => {
    // 400 objects requested uniformly at random (the LCG's high bits), half of 1 byte and half of 50: before any
    // re-model the density is (class + 1) / (age + 1) / size, so the large ones are evicted first.
    const p = new LhdPolicy({ capacityBytes: 2000 });
    const hits = { small: 0, large: 0 };
    let seed = 7;
    for (let i = 0; i < 200_000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const id = Math.floor((seed / 2 ** 31) * 400);
      const small = id % 2 === 0;
      if (p.access(id, small ? 1 : 50) && i > 20_000) hits[small ? 'small' : 'large']++;
    }
    expect(hits.small).toBeGreaterThan(3 * hits.large);
  });

  it("takes the request size on a hit, as libCacheSim's LHD, and makes room at the next miss", () => {
    const p = new LhdPolicy({ capacityBytes: 100 });
    p.access(1, 40);
    p.access(2, 40);
    expect(p.access(1, 70)).toBe(true);
    expect(p.usedBytes).toBe(110); // over capacity until the next admission
    expect(p.access(3, 10)).toBe(false);
    expect(p.usedBytes).toBeLessThanOrEqual(100);
    expect(p.objectCount).toBeLessThan(3);
  });
});

describe('every policy', () => {
  it('never admits an object larger than the cache and never exceeds its capacity', () => {
    for (const name of POLICY_NAMES) {
      const p = createPolicy(name, { capacityBytes: 1000 });
      expect(p.access(1, 1001, 5), name).toBe(false);
      expect(p.contains(1), name).toBe(false);
      let seed = 42;
      for (let i = 0; i < 5000; i++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const id = seed % 300;
        p.access(id, 1 + (id % 97), i + 1 + (seed % 50));
        expect(p.usedBytes, name).toBeLessThanOrEqual(1000);
      }
    }
  });

  it('reports evictions and purges through onEvict', () => {
    for (const name of ONLINE_POLICY_NAMES) {
      const evicted: number[] = [];
      // 1,000 bytes: w-tinylfu admits only objects that fit its 1% window.
      const p = createPolicy(name, { capacityBytes: 1000, onEvict: (id) => evicted.push(id) });
      for (let i = 0; i < 500; i++) p.access(i, 5);
      const cached = Array.from({ length: 500 }, (_, i) => i).filter((i) => p.contains(i));
      expect(evicted.length, name).toBeGreaterThan(0);
      // Every id that was admitted and is gone was reported (ids never admitted are not).
      for (const id of evicted) expect(p.contains(id), name).toBe(false);
      expect(p.objectCount, name).toBe(cached.length);
      expect(p.remove(cached[0]!), name).toBe(true);
      expect(evicted.at(-1), name).toBe(cached[0]);
      expect(p.remove(cached[0]!), name).toBe(false);
    }
  });

  it('refuses unknown names (from untyped callers) and empty caches', () => {
    expect(isPolicyName('mru')).toBe(false);
    expect(isPolicyName('toString')).toBe(false); // an Object.prototype name is not a policy
    expect(isPolicyName('s3fifo')).toBe(true);
    expect(() => createPolicy('mru' as PolicyName, { capacityBytes: 10 })).toThrow(/unknown cache policy 'mru'; known: lru/);
    expect(() => createPolicy('lru', { capacityBytes: 0 })).toThrow(RangeError);
  });
});
