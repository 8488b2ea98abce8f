/**
 * The coarse-to-fine trial search (issue 13: "a coarse-to-fine search that does not
 * trial-encode resolutions far from the hull"): which of the planned grid's trials to run first,
 * and after each measured round which to run next. Pure functions; per-title-trials.ts
 * runTrialGroupsTogether runs the rounds.
 *
 * First round: every resolution at the grid's interior CRFs, plus the cheapest CRF at the
 * smallest resolution and the dearest at the largest (the ends the floor and the top are reached
 * from; the grid extensions start there too). Then, while it adds anything: each trial on the
 * upper convex hull of the points so far brings in its CRF neighbours on the grid (one grid step
 * either side, same resolution; not the cheaper one of a point below the floor bitrate and the
 * saturation quality, which lies under every rung: refineTrials). The search stops with every
 * hull point's neighbours measured — the hull cannot be improved by one step along any of its
 * resolutions' curves where rungs can lie.
 *
 * What it skips is the grid's corners: high CRF at large sizes and low CRF at small ones, which
 * lie under the hull (a large picture starved of bits, a small one given more than it can use).
 * Once every hull point's grid neighbours are measured, a gap the grid left too wide is split:
 * between two consecutive trials of one variant (by bitrate) more than CRF_SPLIT_RATIO apart, one
 * of them on the hull, where a rung may lie, the CRF halfway between them (splitTrials).
 *
 * Replayed on full grids (`vod ladder --full-grid --json`, 2026-12-03, docs/per-title.md): 17 of
 * 20 trials on Big Buck Bunny, 12 of 12 on the Intel clip, 10 of 12 on Tears of Steel and 19 of
 * 24 on a 1080p60 test-source master (and 17/20, 17/20, 15/16 on three more lavfi sources),
 * each with the full grid's rungs (before split trials, which `grid` does not run, were added). Not a proof: on content
 * whose resolution curves cross more than once a skipped trial could have been on the hull.
 */
import { sameVariant, upperConvexHull, variantRate, type Variant } from './convex-hull.js';
import type { TrialGroup, TrialPoint, TrialSpec } from './per-title-trials.js';

/** How the analysis explores its trial grid: every trial, or coarse-to-fine (this module). */
export const TRIAL_SEARCHES = ['coarse-to-fine', 'grid'] as const;
export type TrialSearch = (typeof TRIAL_SEARCHES)[number];

const codecOf = (g: TrialGroup): string => g.codec ?? 'h264';
const sameTrial = (a: Variant & { crf?: number | undefined }, b: Variant & { crf?: number | undefined }): boolean => sameVariant(a, b) && a.crf === b.crf;

/** A codec's CRF groups: their indices in `groups`, the grid (distinct CRFs, cheapest first), the largest and smallest size. */
function codecGrids(groups: readonly TrialGroup[]): { indices: number[]; grid: number[]; largest: number; smallest: number }[] {
  const byCodec = new Map<string, number[]>();
  groups.forEach((g, i) => {
    if (g.trials.length === 0 || g.trials.some((t) => t.crf === undefined)) return; // a fixed-ladder group: run whole
    byCodec.set(codecOf(g), [...(byCodec.get(codecOf(g)) ?? []), i]);
  });
  return [...byCodec.values()].map((indices) => {
    const pixels = (i: number) => Math.max(...groups[i]!.trials.map((t) => t.width * t.height));
    const grid = [...new Set(indices.flatMap((i) => groups[i]!.trials.map((t) => t.crf!)))].sort((a, b) => b - a);
    const largest = indices.reduce((a, b) => (pixels(b) > pixels(a) ? b : a));
    const smallest = indices.reduce((a, b) => (pixels(b) < pixels(a) ? b : a));
    return { indices, grid, largest, smallest };
  });
}

/**
 * The search's first round, per group (same order as `groups`): a group of CRF trials gets those
 * at its codec grid's interior CRFs, the cheapest one if it is its codec's smallest size, the
 * dearest if its largest, and the trial its preset probe needs; a group without CRF trials (the
 * fixed ladder's) and a codec whose grid has at most two CRFs get every trial.
 * @returns a subset of each group's trials, in the group's order.
 */
export function coarseTrials(groups: readonly TrialGroup[]): TrialSpec[][] {
  const out = groups.map((g) => [...g.trials]);
  for (const { indices, grid, largest, smallest } of codecGrids(groups)) {
    if (grid.length <= 2) continue;
    const interior = new Set(grid.slice(1, -1));
    for (const i of indices) {
      const g = groups[i]!;
      out[i] = g.trials.filter(
        (t) => interior.has(t.crf!) || (i === smallest && t.crf === grid[0]) || (i === largest && t.crf === grid.at(-1)) || t.crf === g.presetProbe?.crf,
      );
    }
  }
  return out;
}

/**
 * The search's next round, per group: for each codec, the grid neighbours (one CRF step either
 * side, same size) of every point on the upper convex hull of its groups' points so far, that a
 * group has among its trials and has not run yet — except the cheaper neighbour of a hull point
 * below the ladder's floor bitrate and below its saturation quality (read from the groups'
 * `floor` and `quality` extensions; without them every neighbour counts). Every rung lies at or
 * above the floor and at or below where saturation is first reached, which is above that point
 * (the hull rises to its best point), so its cheaper neighbour — lower in bitrate and, on its
 * resolution's rising curve, in quality — could only reshape the hull below every rung (or, on a
 * curve with a convex kink, hide the point itself). On the Intel clip two of the three
 * refinement trials were such (CRF 38 at 17–31 kbit/s against a 145 kbit/s floor).
 * When a codec's groups have no such neighbour left, its gaps wider than CRF_SPLIT_RATIO are split
 * instead (splitTrials: trials at CRFs off the grid, not among the groups' `trials`).
 * @param points each group's measured points so far (same order as `groups`).
 * @returns trials to run next per group: grid trials in the group's order, then split trials; all
 *          empty when the search is done.
 */
export function refineTrials(groups: readonly TrialGroup[], points: readonly (readonly TrialPoint[])[]): TrialSpec[][] {
  const out: TrialSpec[][] = groups.map(() => []);
  const splits: TrialSpec[][] = groups.map(() => []);
  for (const { indices, grid } of codecGrids(groups)) {
    const hull = upperConvexHull(indices.flatMap((i) => points[i] ?? []));
    const extensions = indices.flatMap((i) => groups[i]!.extensions ?? []);
    const floor = extensions.find((e) => e.toward === 'floor')?.floorBitrateBps;
    const quality = extensions.find((e) => e.toward === 'quality');
    const saturation = quality?.saturationQuality;
    for (const p of hull) {
      const step = grid.indexOf(p.crf!);
      if (step < 0) continue; // an extension's CRF: off the grid
      const belowEveryRung = floor !== undefined && saturation !== undefined && p.bitrateBps < floor && p.quality < saturation;
      for (const crf of [belowEveryRung ? undefined : grid[step - 1], grid[step + 1]]) {
        if (crf === undefined) continue;
        const wanted = { width: p.width, height: p.height, ...variantRate(p), crf };
        for (const i of indices) {
          const trial = groups[i]!.trials.find((t) => sameTrial(t, wanted));
          if (trial && !(points[i] ?? []).some((q) => sameTrial(q, wanted)) && !out[i]!.includes(trial)) out[i]!.push(trial);
        }
      }
    }
    if (indices.some((i) => out[i]!.length > 0)) continue;
    const region = { floorBps: floor ?? 0, capBps: quality?.capBps ?? Infinity, saturation: saturation ?? Infinity };
    for (const i of indices) splits[i] = splitTrials(points[i] ?? [], hull, region);
  }
  return out.map((trials, i) => [...groups[i]!.trials.filter((t) => trials.includes(t)), ...splits[i]!]);
}

/**
 * Bitrate ratio between two consecutive trials of one variant beyond which the search tries the
 * CRF halfway between them (splitTrials). The grid's 6-CRF step is about 2× in bitrate (x264's
 * "+6 roughly halves the bitrate", FFmpeg's H.264 encoding guide), and the ladder's rungs are at
 * most 2× apart (VMAF_RUNG_RULES); a gap over 4× means the rule broke — sensor noise and grain,
 * whose bits explode as the quantiser falls — and rungs inside it are read off a straight line
 * across it (crfForBitrate, resolutionQualityAt, the hull): on a 1080x1920 noise master the
 * 1080-wide trials at CRF 26 and 20 were 4.3 and 68.8 Mbit/s (16×), and a rung at 12 Mbit/s was
 * predicted at VMAF 91.5 from that line. Our choice.
 */
export const CRF_SPLIT_RATIO = 4;

/**
 * One group's split trials (refineTrials): for each two consecutive CRF trials of a variant, by
 * bitrate, more than CRF_SPLIT_RATIO apart, with at least one of them on the codec's `hull`, and
 * where a rung may lie — the dearer above the floor bitrate, the cheaper under the trial cap and
 * below the saturation quality — the trial at the CRF halfway between them (rounded; none when the
 * two CRFs are less than 2 apart, so splitting ends).
 * @param points the group's measured points.
 * @param hull the upper convex hull of its codec's points so far.
 */
function splitTrials(points: readonly TrialPoint[], hull: readonly TrialPoint[], region: { floorBps: number; capBps: number; saturation: number }): TrialSpec[] {
  const out: TrialSpec[] = [];
  const own = points.filter((p) => p.crf !== undefined).sort((a, b) => a.bitrateBps - b.bitrateBps);
  for (let k = 1; k < own.length; k++) {
    const [a, b] = [own[k - 1]!, own[k]!];
    if (!sameVariant(a, b) || !(b.bitrateBps > a.bitrateBps * CRF_SPLIT_RATIO)) continue;
    if (!hull.some((h) => sameTrial(h, a) || sameTrial(h, b))) continue;
    if (b.bitrateBps <= region.floorBps || a.bitrateBps >= region.capBps || a.quality >= region.saturation) continue;
    const crf = Math.round((a.crf! + b.crf!) / 2);
    const wanted = { width: a.width, height: a.height, ...variantRate(a), crf };
    if (crf === a.crf || crf === b.crf || own.some((p) => sameTrial(p, wanted)) || out.some((t) => sameTrial(t, wanted))) continue;
    out.push(wanted);
  }
  return out;
}
