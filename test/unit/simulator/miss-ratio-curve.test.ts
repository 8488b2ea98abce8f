/**
 * The one-pass LRU curve (Mattson's stack algorithm in bytes) against per-size LRU simulation:
 * equal where the stack model is exact (every object fits, sizes fixed) and close on a real
 * variable-size trace where it is not.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { logSpacedSizes, lruMissRatioCurve, stackDistances } from '../../../src/simulator/miss-ratio-curve.js';
import { simulate } from '../../../src/simulator/simulator.js';
import { traceFromPairs } from '../../../src/simulator/trace.js';
import { readOracleGeneralTrace } from '../../../src/simulator/trace-readers.js';
import { generateVodWorkload } from '../../../src/simulator/vod-workload.js';

const TRACES = path.resolve(import.meta.dirname, '../../../../shared/traces/cache');

describe('LRU miss-ratio curve in one pass', () => {
  it('computes byte stack distances by hand', () => {
    // a(10) b(20) a(10) c(5) b(20): a's reuse sees b (20) + itself (10); b's sees a, c and itself.
    const t = traceFromPairs('hand', [['a', 10], ['b', 20], ['a', 10], ['c', 5], ['b', 20]]);
    expect([...stackDistances(t)]).toEqual([Infinity, Infinity, 30, Infinity, 35]);
    const curve = lruMissRatioCurve(t, [29, 30, 35]);
    expect([...curve.hitRatio]).toEqual([0, 0.2, 0.4]);
    expect(() => lruMissRatioCurve(t, [30, 20])).toThrow(RangeError);
  });

  it('equals per-size LRU simulation on an object-count trace (cache2k) at every size', async () => {
    const trace = await readOracleGeneralTrace(path.join(TRACES, 'cache2k_web07.oracleGeneral.bin'));
    const sizes = logSpacedSizes(1, trace.uniqueBytes, 25);
    const curve = lruMissRatioCurve(trace, sizes);
    sizes.forEach((c, i) => expect(curve.hitRatio[i], `${c} objects`).toBe(simulate(trace, 'lru', c).hitRatio));
  });

  it('equals per-size LRU simulation on a variable-size trace whose objects all fit', () => {
    const trace = generateVodWorkload({ seed: 3, titles: 40, sessionsPerDay: 300, days: 1 });
    let largest = 0;
    for (let i = 0; i < trace.requests; i++) largest = Math.max(largest, trace.sizes[i]!);
    const sizes = logSpacedSizes(largest, trace.uniqueBytes, 12);
    const curve = lruMissRatioCurve(trace, sizes);
    sizes.forEach((c, i) => {
      const sim = simulate(trace, 'lru', c);
      expect(curve.hitRatio[i], `${c} bytes`).toBe(sim.hitRatio);
      expect(curve.byteHitRatio[i]).toBeCloseTo(sim.byteHitRatio, 12);
    });
  });

  it('stays within half a point of simulation on adaptsize, where objects change size and some exceed small caches', async () => {
    const trace = await readOracleGeneralTrace(path.join(TRACES, 'adaptsize_request.oracleGeneral.bin'));
    const sizes = [0.001, 0.01, 0.05, 0.1, 0.25].map((f) => Math.floor(trace.uniqueBytes * f));
    const curve = lruMissRatioCurve(trace, sizes);
    sizes.forEach((c, i) => expect(Math.abs(curve.hitRatio[i]! - simulate(trace, 'lru', c).hitRatio), `${c} bytes`).toBeLessThan(0.005));
  });
});
