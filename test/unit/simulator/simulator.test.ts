import { describe, expect, it } from 'vitest';
import bytes from 'bytes';
import { formatHitRatioTable } from '../../../src/simulator/hit-ratio-report.js';
import { capacityFor, parseCacheSizes, runHitRatioGrid } from '../../../src/simulator/hit-ratio-grid.js';
import { hitRatioChartSpec, renderHitRatioSvg } from '../../../src/simulator/hit-ratio-chart.js';
import { simulate } from '../../../src/simulator/simulator.js';
import { traceFromPairs, type Trace } from '../../../src/simulator/trace.js';
import { generateVodWorkload, segmentObjectId } from '../../../src/simulator/vod-workload.js';
import { ONLINE_POLICY_NAMES } from '../../../src/cache-policies/policy-registry.js';

/** A seeded random trace: Zipf-ish ids over `objects`, unit sizes or sizes 1..maxSize. */
function randomTrace(seed: number, requests: number, objects: number, maxSize = 1): Trace {
  let s = seed;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const pairs: [number, number][] = [];
  for (let i = 0; i < requests; i++) {
    const id = Math.floor(objects * next() ** 2); // skewed toward small ids
    pairs.push([id, maxSize === 1 ? 1 : 1 + (id * 7919) % maxSize]);
  }
  return traceFromPairs(`random-${seed}`, pairs);
}

describe('simulate', () => {
  it('counts hits, byte hits and origin egress the way libCacheSim defines them', () => {
    const t = traceFromPairs('t', [[1, 10], [2, 20], [1, 10], [3, 500], [2, 20]]);
    const r = simulate(t, 'lru', 100);
    expect(r.requests).toBe(5);
    expect(r.hits).toBe(2); // 1 and 2 again; 3 is larger than the cache: never admitted, a miss
    expect(r.requestedBytes).toBe(560);
    expect(r.hitBytes).toBe(30);
    expect(r.byteHitRatio).toBeCloseTo(30 / 560);
    expect(r.originEgressBytes).toBe(530);
  });

  it('Belady (with bypass) is at least as good as every policy on random unit-size traces', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const t = randomTrace(seed, 4000, 400);
      for (const capacity of [5, 20, 80, 200]) {
        const belady = simulate(t, 'belady', capacity).hits;
        for (const p of ONLINE_POLICY_NAMES) {
          expect(belady, `seed ${seed}, capacity ${capacity}, ${p}`).toBeGreaterThanOrEqual(simulate(t, p, capacity).hits);
        }
      }
    }
  });

  it('hits nothing beyond the compulsory misses', () => {
    const t = randomTrace(9, 3000, 300, 50);
    const ceiling = 1 - t.uniqueObjects / t.requests;
    for (const p of [...ONLINE_POLICY_NAMES, 'belady'] as const) expect(simulate(t, p, t.uniqueBytes).hitRatio).toBeLessThanOrEqual(ceiling + 1e-12);
    expect(simulate(t, 'lru', t.uniqueBytes).hitRatio).toBeCloseTo(ceiling, 12); // everything fits: only compulsory misses
  });
});

describe('hit-ratio report', () => {
  it('parses sizes as percentages, fractions or bytes and refuses the rest', () => {
    const parse = (s: string) => parseCacheSizes(s, (x) => bytes.parse(x));
    expect(parse('1%,0.05,64MB')).toEqual([{ fraction: 0.01 }, { fraction: 0.05 }, { bytes: 64 * 1024 * 1024 }]);
    expect(() => parse('1%,lots')).toThrow(/'lots'/);
    expect(() => parse('150%')).toThrow(RangeError);
    const t = traceFromPairs('t', [[1, 1000]]);
    expect(capacityFor({ fraction: 0.1 }, t)).toBe(100);
  });

  it('runs the grid, tabulates it and draws both panels with Belady dashed', async () => {
    const t = randomTrace(3, 2000, 200, 100);
    const rows = runHitRatioGrid(t, ['lru', 'belady'], [{ fraction: 0.05 }, { fraction: 0.2 }]);
    expect(rows).toHaveLength(4);
    const table = formatHitRatioTable(rows);
    expect(table.split('\n')[1]).toMatch(/^lru\s+\d+\.\d+% \/ \d+\.\d+%/);
    const spec = JSON.stringify(hitRatioChartSpec(rows, 'x'));
    expect(spec).toContain('"object hit ratio"');
    expect(spec).toContain('"byte hit ratio"');
    const svg = await renderHitRatioSvg(rows, 'test');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('belady');
  });
});

describe('VOD workload generator', () => {
  const small = { titles: 200, sessionsPerDay: 300, days: 2 } as const;

  it('is reproducible under a seed and changes with it', () => {
    const a = generateVodWorkload({ ...small, seed: 7 });
    const b = generateVodWorkload({ ...small, seed: 7 });
    const c = generateVodWorkload({ ...small, seed: 8 });
    expect(a.requests).toBeGreaterThan(1000);
    expect(Array.from(b.ids)).toEqual(Array.from(a.ids));
    expect(Array.from(b.sizes)).toEqual(Array.from(a.sizes));
    expect(c.requests === a.requests && c.ids.every((v, i) => v === a.ids[i])).toBe(false);
  });

  it('orders requests in time, starts sessions at segment 0 and sizes segments by rung', () => {
    const t = generateVodWorkload({ ...small, seed: 3 });
    for (let i = 1; i < t.requests; i++) expect(t.times[i]!).toBeGreaterThanOrEqual(t.times[i - 1]!);
    const first = t.sourceIds.get(t.ids[0]!) as number;
    expect(first % 0x10000).toBe(0); // the very first request is some session's first segment
    // Same title and segment: a higher rung is a larger object.
    const sizeOf = new Map<number, number>();
    for (let i = 0; i < t.requests; i++) sizeOf.set(t.sourceIds.get(t.ids[i]!) as number, t.sizes[i]!);
    let compared = 0;
    for (const [id, size] of sizeOf) {
      const up = sizeOf.get(id + 0x10000);
      if (up !== undefined && Math.floor(id / 0x100000) === Math.floor((id + 0x10000) / 0x100000)) {
        expect(up).toBeGreaterThan(size * 0.9);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(10);
    expect(segmentObjectId(1, 2, 3)).toBe(0x100000 + 0x20000 + 3);
  });

  it('concentrates requests on popular titles (Zipf) and follows the diurnal curve', () => {
    const t = generateVodWorkload({ titles: 500, sessionsPerDay: 2000, seed: 11 });
    const perTitle = new Map<number, number>();
    for (let i = 0; i < t.requests; i++) {
      const title = Math.floor((t.sourceIds.get(t.ids[i]!) as number) / 0x100000);
      perTitle.set(title, (perTitle.get(title) ?? 0) + 1);
    }
    const counts = [...perTitle.values()].sort((a, b) => b - a);
    const top10 = counts.slice(0, Math.ceil(counts.length / 10)).reduce((a, b) => a + b, 0);
    expect(top10 / t.requests).toBeGreaterThan(0.3);
    const hour = (h: number) => { let n = 0; for (let i = 0; i < t.requests; i++) if (Math.floor(t.times[i]! / 3600) === h) n++; return n; };
    expect(hour(21)).toBeGreaterThan(hour(9) * 1.5);
  });
});
