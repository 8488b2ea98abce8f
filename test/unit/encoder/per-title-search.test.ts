/**
 * The coarse-to-fine trial search as pure functions (no ffmpeg): which trials run first, which
 * next from hand-made points, a whole search over a modelled rate–quality grid, and how a round's
 * trials are cut into encode passes.
 */
import { describe, expect, it } from 'vitest';
import { upperConvexHull } from '../../../src/encoder/convex-hull.js';
import { coarseTrials, CRF_SPLIT_RATIO, refineTrials } from '../../../src/encoder/per-title-search.js';
import { PASS_PIXEL_BUDGET, planPasses } from '../../../src/encoder/per-title-round.js';
import type { TrialGroup, TrialPoint, TrialSpec } from '../../../src/encoder/per-title-trials.js';

const SIZES = [
  { width: 1280, height: 720 },
  { width: 768, height: 432 },
  { width: 416, height: 234 },
];
const GRID = [38, 32, 26, 20];
const gridGroups = (codec?: 'hevc'): TrialGroup[] => SIZES.map((s) => ({ ...(codec ? { codec } : {}), trials: GRID.map((crf) => ({ ...s, crf })) }));
const label = (trials: readonly TrialSpec[]) => trials.map((t) => `${t.height}/${t.crf ?? t.bitrateBps}`);

/**
 * A modelled trial: bitrate doubles every 6 CRF down (x264's rule of thumb) and grows with the
 * pixel count; quality saturates with bits per pixel, up to a ceiling that falls with the size.
 */
function modelPoint(t: TrialSpec): TrialPoint {
  const pixels = t.width * t.height;
  const bitrateBps = pixels * 0.5 * 2 ** ((30 - t.crf!) / 6);
  const ceiling = 100 - 40 * (1 - t.height / 720);
  return { width: t.width, height: t.height, crf: t.crf!, bitrateBps, quality: ceiling * (1 - Math.exp(-bitrateBps / (pixels * 0.4))) };
}

describe('coarseTrials', () => {
  it("starts every resolution at the grid's interior CRFs, the cheapest CRF at the smallest size and the dearest at the largest", () => {
    const first = coarseTrials(gridGroups());
    expect(first.map(label)).toEqual([
      ['720/32', '720/26', '720/20'],
      ['432/32', '432/26'],
      ['234/38', '234/32', '234/26'],
    ]);
  });

  it("keeps the preset probe's trial, a fixed-ladder group whole, grids of two CRFs whole, and each codec's ends apart", () => {
    const groups: TrialGroup[] = [
      ...gridGroups().map((g, i) => (i === 1 ? { ...g, presetProbe: { preset: 'medium', crf: 38 } } : g)),
      { trials: [{ width: 416, height: 234, bitrateBps: 145_000 }, { width: 1280, height: 720, bitrateBps: 4_500_000 }] },
      ...gridGroups('hevc').slice(1), // HEVC tried at 432p and 234p only: 432p is its largest
    ];
    const first = coarseTrials(groups);
    expect(label(first[1]!)).toEqual(['432/38', '432/32', '432/26']);
    expect(label(first[3]!)).toEqual(['234/145000', '720/4500000']);
    expect(label(first[4]!)).toEqual(['432/32', '432/26', '432/20']);
    expect(label(first[5]!)).toEqual(['234/38', '234/32', '234/26']);
    const two = SIZES.map((s) => ({ trials: [30, 40].map((crf) => ({ ...s, crf })) }));
    expect(coarseTrials(two)).toEqual(two.map((g) => g.trials));
  });
});

describe('refineTrials', () => {
  const at = (height: number, crf: number, bitrateBps: number, quality: number): TrialPoint => ({ width: SIZES.find((s) => s.height === height)!.width, height, crf, bitrateBps, quality });

  it("adds the grid neighbours of every hull point that are not measured yet, and nothing once they all are", () => {
    const groups = gridGroups();
    // Hull: 234/38 → 234/32 → 432/26 → 720/20; the other points are under it.
    const points = [
      [at(720, 32, 400_000, 40), at(720, 26, 800_000, 75), at(720, 20, 1_600_000, 92)],
      [at(432, 32, 200_000, 45), at(432, 26, 400_000, 70)],
      [at(234, 38, 40_000, 20), at(234, 32, 80_000, 40), at(234, 26, 160_000, 46)],
    ];
    expect(upperConvexHull(points.flat()).map((p) => `${p.height}/${p.crf}`)).toEqual(['234/38', '234/32', '432/26', '720/20']);
    const next = refineTrials(groups, points);
    expect(next.map(label)).toEqual([[], ['432/20'], []]); // 432/38 neighbours 432/32, which is off the hull
    const measured = [points[0]!, [...points[1]!, at(432, 20, 800_000, 74)], points[2]!];
    expect(refineTrials(groups, measured).map(label)).toEqual([[], [], []]);
  });

  it('tells a half-rate variant from its title-rate twin: each brings in its own neighbours', () => {
    const half = { width: 416, height: 234, frameRate: 30 };
    const groups: TrialGroup[] = [...gridGroups(), { trials: GRID.map((crf) => ({ ...half, crf })) }];
    const points = [
      [at(720, 26, 800_000, 75)],
      [at(432, 26, 400_000, 60)],
      [at(234, 26, 300_000, 40)],
      // 234p@30 at CRF 32 is on the hull, 234p at CRF 32 was never run.
      [{ ...half, crf: 32, bitrateBps: 60_000, quality: 30 }, { ...half, crf: 26, bitrateBps: 120_000, quality: 42 }],
    ];
    const next = refineTrials(groups, points);
    expect(next[3]!.map((t) => `${t.height}@${t.frameRate}/${t.crf}`)).toEqual(['234@30/38', '234@30/20']);
    expect(next[2]!.map((t) => t.crf)).not.toContain(32);
  });

  it("skips the cheaper neighbour of a hull point below the floor bitrate and the saturation quality", () => {
    const withRules = (saturationQuality: number): TrialGroup[] =>
      gridGroups().map((g, i) => ({
        ...g,
        extensions: i === 0 ? [{ toward: 'quality' as const, crfs: [17, 14], saturationQuality, capBps: 6_750_000 }] : i === 2 ? [{ toward: 'floor' as const, crfs: [44, 50], floorBitrateBps: 145_000 }] : [],
      }));
    // Hull: 234/32 (80 kbit/s, below the 145 kbit/s floor) → 234/26 → 432/26 → 720/20; 234/38 not run.
    const points = [
      [at(720, 26, 800_000, 75), at(720, 20, 1_600_000, 92)],
      [at(432, 32, 200_000, 45), at(432, 26, 400_000, 70), at(432, 20, 800_000, 74)],
      [at(234, 32, 80_000, 30), at(234, 26, 160_000, 46), at(234, 20, 320_000, 50)],
    ];
    expect(upperConvexHull(points.flat()).map((p) => `${p.height}/${p.crf}`)).toEqual(['234/32', '234/26', '432/26', '720/20']);
    expect(refineTrials(gridGroups(), points).map(label)).toEqual([[], [], ['234/38']]); // no rules: every neighbour
    expect(refineTrials(withRules(95), points).map(label)).toEqual([[], [], []]);
    // A point below the floor that already saturates: a cheaper encode may saturate too (a lower top).
    const saturated = points.map((g) => g.map((p) => (p.height === 234 && p.crf === 32 ? { ...p, quality: 96 } : p)));
    expect(refineTrials(withRules(95), saturated).map(label)[2]).toContain('234/38');
  });

  it('splits a gap over CRF_SPLIT_RATIO in bitrate at its middle CRF, once the grid neighbours are measured, where a rung may lie', () => {
    const rules = (capBps: number): TrialGroup[] =>
      gridGroups().map((g, i) => ({
        ...g,
        extensions: i === 0 ? [{ toward: 'quality' as const, crfs: [17, 14], saturationQuality: 95, capBps }] : i === 2 ? [{ toward: 'floor' as const, crfs: [44, 50], floorBitrateBps: 145_000 }] : [],
      }));
    // Noise-like content: 720p's CRF 26 → 20 is 16× in bitrate (the grid spaced it as 2×);
    // 432p's 26 → 20 is 5×, but neither trial is on the hull.
    const points = [
      [at(720, 38, 900_000, 62), at(720, 32, 1_600_000, 77), at(720, 26, 4_000_000, 91), at(720, 20, 64_000_000, 95)],
      [at(432, 38, 250_000, 42), at(432, 32, 400_000, 60), at(432, 26, 800_000, 64), at(432, 20, 4_000_000, 72)],
      [at(234, 38, 150_000, 30), at(234, 32, 200_000, 40), at(234, 26, 300_000, 45)],
    ];
    expect(upperConvexHull(points.flat()).map((p) => `${p.height}/${p.crf}`)).toEqual(['234/38', '234/32', '432/32', '720/32', '720/26', '720/20']);
    const next = refineTrials(rules(11_700_000), points);
    expect(next.map(label)).toEqual([['720/23'], [], []]);
    expect(next[0]![0]).toEqual({ width: 1280, height: 720, crf: 23 });
    // Measured at 14 Mbit/s: 26 → 23 is 3.5×, and 23 → 20 starts above the trial cap — done.
    const split = [[...points[0]!, at(720, 23, 14_000_000, 94)], points[1]!, points[2]!];
    expect(refineTrials(rules(11_700_000), split).map(label)).toEqual([[], [], []]);
    // Without rules every wide gap with a hull point splits: 23 → 20 too (4.6×).
    expect(refineTrials(gridGroups(), split).map(label)).toEqual([['720/22'], [], []]);
    // A gap whose cheaper end is above the cap, or already saturates, is left alone.
    expect(refineTrials(rules(3_000_000), points).map(label)).toEqual([[], [], []]);
    const saturated = points.map((g) => g.map((p) => (p.height === 720 && p.crf === 26 ? { ...p, quality: 95.5 } : p)));
    expect(refineTrials(rules(11_700_000), saturated).map(label)).toEqual([[], [], []]);
    // Grid neighbours first: with 720/32 not run yet (a neighbour of the hull's 720/26), no split this round.
    const unrefined = [points[0]!.filter((p) => p.crf !== 32), points[1]!, points[2]!];
    expect(refineTrials(rules(11_700_000), unrefined).map(label)).toEqual([['720/32'], [], []]);
    // CRFs 1 apart cannot be split: the splitting ends.
    const close: TrialGroup[] = [{ trials: [21, 20].map((crf) => ({ ...SIZES[0]!, crf })) }];
    expect(refineTrials(close, [[at(720, 21, 4_000_000, 91), at(720, 20, 64_000_000, 95)]]).map(label)).toEqual([[]]);
    // Just over the ratio splits, at it does not.
    const gap = (ratio: number) => [[at(720, 26, 4_000_000, 91), at(720, 20, 4_000_000 * ratio, 95)], [], []];
    const pair = (): TrialGroup[] => gridGroups().map((g, i) => (i === 0 ? { trials: g.trials.filter((t) => t.crf === 26 || t.crf === 20) } : { trials: [] }));
    expect(refineTrials(pair(), gap(CRF_SPLIT_RATIO)).map(label)[0]).toEqual([]);
    expect(refineTrials(pair(), gap(CRF_SPLIT_RATIO * 1.01)).map(label)[0]).toEqual(['720/23']);
  });

  it("refines each codec on its own hull", () => {
    const groups = [...gridGroups().slice(0, 1), ...gridGroups('hevc').slice(0, 1)];
    const h264 = [at(720, 32, 400_000, 60), at(720, 26, 800_000, 80)];
    const hevc = [at(720, 32, 300_000, 62)].map((p) => ({ ...p, codec: 'hevc' as const }));
    expect(refineTrials(groups, [h264, hevc]).map(label)).toEqual([['720/38', '720/20'], ['720/38', '720/26']]);
  });
});

describe('the whole search on a modelled grid', () => {
  it("finds the full grid's hull with fewer trials", () => {
    const sizes = [1920, 1280, 960, 768, 640, 416].map((w) => ({ width: w, height: Math.round((w * 9) / 16 / 2) * 2 }));
    const grid = [44, 38, 32, 26, 20, 14];
    const groups: TrialGroup[] = sizes.map((s) => ({ trials: grid.map((crf) => ({ ...s, crf })) }));
    const points: TrialPoint[][] = groups.map(() => []);
    let pending = coarseTrials(groups);
    let rounds = 0;
    while (pending.some((p) => p.length > 0)) {
      pending.forEach((trials, i) => points[i]!.push(...trials.map(modelPoint)));
      pending = refineTrials(groups, points);
      rounds += 1;
    }
    const full = upperConvexHull(groups.flatMap((g) => g.trials.map(modelPoint)));
    expect(upperConvexHull(points.flat())).toEqual(full);
    const run = points.flat().length;
    expect(run).toBeLessThan(sizes.length * grid.length);
    expect(rounds).toBeGreaterThan(1);
    // No trial runs twice.
    expect(new Set(points.flat().map((p) => `${p.height}/${p.crf}`)).size).toBe(run);
  });
});

describe('planPasses', () => {
  it('puts a round of every group in one pass per codec, the probe with its own group', () => {
    const groups: TrialGroup[] = [...gridGroups().map((g, i) => (i === 1 ? { ...g, presetProbe: { preset: 'medium', crf: 26 } } : g)), ...gridGroups('hevc')];
    const passes = planPasses(groups, coarseTrials(groups), true);
    expect(passes.map((p) => [p.codec, p.trials.length])).toEqual([['h264', 8], ['hevc', 8]]);
    expect(passes[0]!.probe).toEqual({ preset: 'medium', crf: 26, width: 768, height: 432, owner: 1 });
    expect(passes[0]!.owners).toEqual([0, 0, 0, 1, 1, 2, 2, 2]);
    // Later rounds carry no probe.
    expect(planPasses(groups, coarseTrials(groups), false).every((p) => p.probe === undefined)).toBe(true);
  });

  it('cuts a round bigger than the pixel budget into passes, and gives a second probe a pass of its own', () => {
    const uhd = { width: 3840, height: 2160 };
    const groups: TrialGroup[] = [
      { trials: GRID.map((crf) => ({ ...uhd, crf })), presetProbe: { preset: 'medium', crf: 26 } },
      { trials: GRID.map((crf) => ({ width: 416, height: 234, crf })), presetProbe: { preset: 'medium', crf: 32 } },
    ];
    const passes = planPasses(groups, groups.map((g) => g.trials), true);
    for (const p of passes) expect(p.pixels).toBeLessThanOrEqual(Math.max(PASS_PIXEL_BUDGET, 2 * 3840 * 2160));
    expect(passes.flatMap((p) => p.trials)).toHaveLength(8);
    expect(passes.filter((p) => p.probe).map((p) => p.probe!.owner).sort()).toEqual([0, 1]);
    expect(passes.length).toBeGreaterThan(2);
    // Two groups holding the same encode would write one file: refused.
    expect(() => planPasses([groups[1]!, groups[1]!], [groups[1]!.trials, groups[1]!.trials], false)).toThrow(/same encode: trial_416x234_crf38/);
  });
});
