/**
 * Shot-aware allocation: one CRF per shot for a rung, from each shot's rate–quality points at a
 * few CRFs (its frames' bits and mean quality in whole-title encodes at those CRFs), under the
 * rung's bit budget (what one CRF for the whole title spends). Two rules:
 *
 * - `allocateEqualSlope`: the most total quality (frame-weighted) for the budget — every shot
 *   at the point where quality per bit has the same slope λ, λ found by bisection (the Lagrangian
 *   method of Shoham & Gersho, "Efficient bit allocation for an arbitrary set of quantizers", IEEE
 *   Trans. ASSP 1988; what Netflix's Dynamic Optimizer does per shot, Katsavounidis 2018).
 * - `allocateEvenQuality`: the same quality in every shot (as even as the CRF range allows), the
 *   level found by bisection so the shots together spend the budget — issue 13's wording.
 *
 * Between measured CRFs a shot's bits are interpolated in log bits and its quality linearly
 * (x264: +6 CRF about halves the bitrate, FFmpeg's H.264 guide); CRFs are searched on a grid of
 * `step` within the measured range, never beyond it. Pure functions: no I/O.
 */

/** One shot's measurement at one CRF. */
export interface ShotRdPoint {
  readonly crf: number;
  /** The shot's bits in that encode. */
  readonly bits: number;
  /** The shot's mean quality (VMAF or PSNR) in that encode. */
  readonly quality: number;
}

/** One shot's points, any order (at least two distinct CRFs), and its length in frames (the weight of its quality). */
export interface ShotRd {
  readonly frames: number;
  readonly points: readonly ShotRdPoint[];
}

/** Default CRF grid step of the search. */
export const SHOT_CRF_STEP = 0.25;

/**
 * A shot's bits and quality at `crf` (clamped to its measured range), interpolated between its
 * two nearest measured CRFs: bits in log scale, quality linearly.
 * @throws RangeError with fewer than two distinct CRFs.
 */
export function shotPointAt(rd: ShotRd, crf: number): { bits: number; quality: number } {
  const pts = [...rd.points].sort((a, b) => a.crf - b.crf);
  if (pts.length < 2 || pts[0]!.crf === pts.at(-1)!.crf) throw new RangeError('a shot needs points at two CRFs at least');
  const c = Math.min(Math.max(crf, pts[0]!.crf), pts.at(-1)!.crf);
  let i = 0;
  while (i < pts.length - 2 && c > pts[i + 1]!.crf) i++;
  const a = pts[i]!;
  const b = pts[i + 1]!;
  const t = (c - a.crf) / (b.crf - a.crf);
  return { bits: Math.exp(Math.log(Math.max(1, a.bits)) + t * (Math.log(Math.max(1, b.bits)) - Math.log(Math.max(1, a.bits)))), quality: a.quality + t * (b.quality - a.quality) };
}

/** The CRF grid common to every shot: from the highest lowest CRF to the lowest highest one. */
function crfGrid(shots: readonly ShotRd[], step: number): number[] {
  const lo = Math.max(...shots.map((s) => Math.min(...s.points.map((p) => p.crf))));
  const hi = Math.min(...shots.map((s) => Math.max(...s.points.map((p) => p.crf))));
  if (!(hi > lo)) throw new RangeError('the shots share no CRF range');
  const grid: number[] = [];
  for (let c = lo; c <= hi + 1e-9; c += step) grid.push(Number(c.toFixed(4)));
  return grid;
}

/** What an allocation chose: a CRF per shot, and the bits and mean quality it predicts. */
export interface ShotAllocation {
  readonly crfs: number[];
  readonly predictedBits: number;
  /** Frame-weighted mean quality predicted over the title. */
  readonly predictedQuality: number;
}

function summarize(shots: readonly ShotRd[], crfs: number[]): ShotAllocation {
  let bits = 0;
  let q = 0;
  let frames = 0;
  shots.forEach((s, i) => {
    const p = shotPointAt(s, crfs[i]!);
    bits += p.bits;
    q += p.quality * s.frames;
    frames += s.frames;
  });
  return { crfs, predictedBits: bits, predictedQuality: frames > 0 ? q / frames : 0 };
}

/**
 * Equal-slope allocation: per shot the grid CRF maximising frames·quality − λ·bits, with λ the
 * smallest found (bisection in log λ) whose choice fits in `budgetBits` (the highest quality that
 * fits). When even the highest CRFs exceed the budget they are returned.
 * @throws RangeError without shots or without a common CRF range.
 */
export function allocateEqualSlope(shots: readonly ShotRd[], budgetBits: number, step = SHOT_CRF_STEP): ShotAllocation {
  if (shots.length === 0) throw new RangeError('no shots');
  const grid = crfGrid(shots, step);
  const table = shots.map((s) => grid.map((c) => shotPointAt(s, c)));
  const choose = (lambda: number) =>
    table.map((row, i) => {
      let best = 0;
      for (let k = 1; k < row.length; k++) if (shots[i]!.frames * row[k]!.quality - lambda * row[k]!.bits > shots[i]!.frames * row[best]!.quality - lambda * row[best]!.bits) best = k;
      return best;
    });
  const bitsOf = (idx: number[]) => idx.reduce((a, k, i) => a + table[i]![k]!.bits, 0);
  let lo = 1e-15;
  let hi = 1e3;
  if (bitsOf(choose(hi)) > budgetBits) return summarize(shots, choose(hi).map((k) => grid[k]!));
  for (let it = 0; it < 100; it++) {
    const mid = Math.sqrt(lo * hi);
    if (bitsOf(choose(mid)) > budgetBits) lo = mid;
    else hi = mid;
  }
  return summarize(shots, choose(hi).map((k) => grid[k]!));
}

/**
 * Even-quality allocation: per shot the grid CRF whose quality is nearest a common level, the
 * level the highest (bisection) whose choice fits in `budgetBits`.
 * @throws RangeError without shots or without a common CRF range.
 */
export function allocateEvenQuality(shots: readonly ShotRd[], budgetBits: number, step = SHOT_CRF_STEP): ShotAllocation {
  if (shots.length === 0) throw new RangeError('no shots');
  const grid = crfGrid(shots, step);
  const table = shots.map((s) => grid.map((c) => shotPointAt(s, c)));
  const choose = (level: number) =>
    table.map((row) => {
      let best = 0;
      for (let k = 1; k < row.length; k++) if (Math.abs(row[k]!.quality - level) < Math.abs(row[best]!.quality - level)) best = k;
      return best;
    });
  const bitsOf = (idx: number[]) => idx.reduce((a, k, i) => a + table[i]![k]!.bits, 0);
  let lo = Math.min(...table.flat().map((p) => p.quality));
  let hi = Math.max(...table.flat().map((p) => p.quality));
  if (bitsOf(choose(lo)) > budgetBits) return summarize(shots, choose(lo).map((k) => grid[k]!));
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    if (bitsOf(choose(mid)) > budgetBits) hi = mid;
    else lo = mid;
  }
  return summarize(shots, choose(lo).map((k) => grid[k]!));
}
