/**
 * Convex-hull ladder selection: from a title's rate–distortion (RD) points across
 * resolutions, the upper convex hull of (bitrate, quality), and the ladder's rungs picked
 * on it (Netflix Technology Blog, "Per-Title Encode Optimization", Dec 2015: "the convex
 * hull ... the optimal bitrate-quality operating points for the title"; and "Dynamic
 * optimizer — a perceptual video encoding optimization framework", Mar 2018).
 *
 * Pure functions on numbers; the trial encodes that produce the points live in per-title.ts.
 */
import type { RungRules } from './rung-rules.js';

/** One RD point: an encode of the title at one resolution and quality setting. */
export interface RdPoint {
  /** Frame size in pixels. */
  readonly width: number;
  readonly height: number;
  /** Measured video bitrate, bits/s. */
  readonly bitrateBps: number;
  /** Quality on the ladder's metric (VMAF 0..100 or PSNR dB), higher is better. */
  readonly quality: number;
  /**
   * Output frame rate, frames/s, when it is below the title's (a half-rate low rung of a 50/60 fps
   * title: docs/per-title.md "Frame rate of the low rungs"); absent = the title's own rate.
   */
  readonly frameRate?: number | undefined;
}

/**
 * A variant of the title: a frame size and an output frame rate (absent = the title's). Every
 * encode of one variant lies on one rate–quality curve; the hull mixes variants.
 */
export interface Variant {
  readonly width: number;
  readonly height: number;
  readonly frameRate?: number | undefined;
}

/** Whether two points or rungs are the same variant (size and frame rate). */
export const sameVariant = (a: Variant, b: Variant): boolean => a.width === b.width && a.height === b.height && a.frameRate === b.frameRate;

/** A variant's name for maps and logs: `640x360`, or `640x360@30` at a reduced frame rate. */
export const variantKey = (v: Variant): string => `${v.width}x${v.height}${v.frameRate !== undefined ? `@${Number(v.frameRate.toFixed(3))}` : ''}`;

/**
 * Upper convex hull of RD points in the linear (bitrate, quality) plane, cut at its
 * highest-quality point (beyond it more bits buy nothing).
 * Andrew's monotone chain (A. M. Andrew, "Another efficient algorithm for convex hulls in
 * two dimensions", Inf. Proc. Letters 9(5), 1979): O(n log n).
 * @returns hull points in ascending bitrate (and strictly ascending quality); empty for no input.
 * @throws RangeError when a point has a non-finite or negative bitrate or quality.
 */
export function upperConvexHull<T extends RdPoint>(points: readonly T[]): T[] {
  for (const p of points) {
    if (!(Number.isFinite(p.bitrateBps) && p.bitrateBps >= 0 && Number.isFinite(p.quality))) {
      throw new RangeError(`RD point has an invalid bitrate or quality: ${p.bitrateBps} bit/s, ${p.quality}`);
    }
  }
  const sorted = [...points].sort((a, b) => a.bitrateBps - b.bitrateBps || b.quality - a.quality);
  const hull: T[] = [];
  for (const p of sorted) {
    if (hull.length > 0 && hull[hull.length - 1]!.bitrateBps === p.bitrateBps) continue; // same rate, lower quality
    while (hull.length >= 2) {
      const o = hull[hull.length - 2]!;
      const a = hull[hull.length - 1]!;
      // Cross product of (a - o) and (p - o): >= 0 means a is on or below the chord o→p.
      const cross = (a.bitrateBps - o.bitrateBps) * (p.quality - o.quality) - (a.quality - o.quality) * (p.bitrateBps - o.bitrateBps);
      if (cross >= 0) hull.pop();
      else break;
    }
    hull.push(p);
  }
  // Keep the rising part only: up to the best quality.
  let best = 0;
  for (let i = 1; i < hull.length; i++) if (hull[i]!.quality > hull[best]!.quality) best = i;
  return hull.slice(0, best + 1);
}

export { PSNR_RUNG_RULES, VMAF_RUNG_RULES, type RungRules } from './rung-rules.js';

/** A top rung less than this ratio above the rung below replaces that rung (our choice). */
export const TOP_MERGE_RATIO = 1.2;

/**
 * The quality the top rung is placed at: `rules.saturationQuality`, unless the hull falls short
 * of it at `rules.maxBitrateBps` (or at its last point, if lower) while reaching
 * `rules.indistinguishableQuality` — a hull that flattens there (film grain, sensor noise) — in
 * which case the best quality reached within the cap less `rules.topQualityTolerance`, and at
 * least the indistinguishable quality. A hull that stays below the indistinguishable quality
 * keeps the saturation quality, so its top goes to its best point within the cap (issue 13: the
 * top at VMAF ≥ 93 or at its cap).
 * @param hull output of upperConvexHull (ascending bitrate), non-empty; qualities in metric units.
 * @returns a quality in metric units, at most `rules.saturationQuality`.
 * @throws RangeError for an empty hull.
 */
export function topRungQuality(hull: readonly RdPoint[], rules: RungRules): number {
  const atCap = hullQualityAt(hull, rules.maxBitrateBps);
  const least = rules.indistinguishableQuality;
  if (least === undefined || atCap >= rules.saturationQuality || atCap < least) return rules.saturationQuality;
  return Math.max(atCap - (rules.topQualityTolerance ?? 0), least);
}

/** `count` bitrates from `floor` to `top`, equally spaced in log bitrate (a geometric ladder). */
function evenLadder(floor: number, top: number, count: number): number[] {
  if (count === 1) return [top];
  const ratio = (top / floor) ** (1 / (count - 1));
  return Array.from({ length: count }, (_, i) => (i === count - 1 ? top : floor * ratio ** i));
}

/** A rung chosen on the hull. */
export interface PlannedRung {
  readonly width: number;
  readonly height: number;
  /** Target average bitrate for the final encode, bits/s. */
  readonly bitrateBps: number;
  /** Quality the hull predicts at that bitrate (metric units). */
  readonly predictedQuality: number;
  /** Output frame rate, frames/s, when below the title's (RdPoint.frameRate); absent = the title's. */
  readonly frameRate?: number | undefined;
}

/** Quality on the hull at `bitrateBps` (linear between hull points; clamped at both ends). */
export function hullQualityAt(hull: readonly RdPoint[], bitrateBps: number): number {
  if (hull.length === 0) throw new RangeError('empty hull');
  if (bitrateBps <= hull[0]!.bitrateBps) return hull[0]!.quality;
  for (let i = 1; i < hull.length; i++) {
    const b = hull[i]!;
    if (bitrateBps <= b.bitrateBps) {
      const a = hull[i - 1]!;
      return a.quality + ((b.quality - a.quality) * (bitrateBps - a.bitrateBps)) / (b.bitrateBps - a.bitrateBps);
    }
  }
  return hull[hull.length - 1]!.quality;
}

/** Lowest bitrate at which the hull reaches `quality`; Infinity when it never does. */
export function hullBitrateFor(hull: readonly RdPoint[], quality: number): number {
  if (hull.length === 0) throw new RangeError('empty hull');
  if (quality <= hull[0]!.quality) return hull[0]!.bitrateBps;
  for (let i = 1; i < hull.length; i++) {
    const b = hull[i]!;
    if (quality <= b.quality) {
      const a = hull[i - 1]!;
      return a.bitrateBps + ((b.bitrateBps - a.bitrateBps) * (quality - a.quality)) / (b.quality - a.quality);
    }
  }
  return Number.POSITIVE_INFINITY;
}

/**
 * Quality of one variant's own encodes (a resolution, at a reduced frame rate when `size` has
 * one) at `bitrateBps`: linear in log bitrate between its two points that bracket it (its trials
 * at other CRFs); undefined outside its points' range.
 */
export function resolutionQualityAt(points: readonly RdPoint[], size: Variant, bitrateBps: number): number | undefined {
  const own = points.filter((p) => sameVariant(p, size)).sort((x, y) => x.bitrateBps - y.bitrateBps);
  for (let i = 0; i < own.length; i++) {
    const b = own[i]!;
    if (bitrateBps > b.bitrateBps) continue;
    if (bitrateBps === b.bitrateBps || i === 0) return bitrateBps === b.bitrateBps ? b.quality : undefined;
    const a = own[i - 1]!;
    const t = Math.log(bitrateBps / a.bitrateBps) / Math.log(b.bitrateBps / a.bitrateBps);
    return a.quality + t * (b.quality - a.quality);
  }
  return undefined;
}

/**
 * The lowest bitrate at which one resolution's own encodes reach `quality`, over every resolution
 * in `points`: per resolution, linear in log bitrate between its two trial points that bracket
 * the quality (its first point when that already reaches it, as no encode below it was made).
 * This is where a real encode (a CRF between two trials) gives the quality, unlike the hull's
 * straight line between two resolutions' points, which no single encode follows.
 * @param points trial RD points (bits/s, metric units), any order.
 * @returns that resolution, bitrate (bits/s) and the quality its encodes give there (`quality`, or
 *   more at a first trial already above it); undefined when no resolution reaches it.
 */
export function firstEncodeReaching(points: readonly RdPoint[], quality: number): RdPoint | undefined {
  let best: RdPoint | undefined;
  const sizes = new Map<string, RdPoint[]>();
  for (const p of points) {
    const key = variantKey(p);
    const own = sizes.get(key);
    if (own) own.push(p);
    else sizes.set(key, [p]);
  }
  for (const own of sizes.values()) {
    own.sort((x, y) => x.bitrateBps - y.bitrateBps);
    const i = own.findIndex((p) => p.quality >= quality);
    if (i < 0) continue;
    const b = own[i]!;
    const a = i > 0 ? own[i - 1]! : undefined;
    const between = a !== undefined && b.quality > a.quality;
    const bitrateBps = between ? a.bitrateBps * (b.bitrateBps / a.bitrateBps) ** ((quality - a.quality) / (b.quality - a.quality)) : b.bitrateBps;
    if (!best || bitrateBps < best.bitrateBps) best = { width: b.width, height: b.height, ...variantRate(b), bitrateBps, quality: between ? quality : b.quality };
  }
  return best;
}

/**
 * Resolution to encode at `bitrateBps`, and the quality it is expected to give: the resolution
 * of the hull segment holding it. On a segment joining two resolutions the hull's straight line
 * is no encode's (it would take time-sharing between the two), so with `points` (every trial)
 * each endpoint's resolution is judged by its own encodes at that bitrate (resolutionQualityAt)
 * and the better one taken, with its own quality; one whose encodes end below the bitrate is
 * judged by the best of them (bestOwnQualityBelow, a lower bound), and one whose encodes do not
 * reach down to the bitrate is not a candidate; any other variant whose own encodes bracket the
 * bitrate competes too (a noisy 1080p60 master's 1.8 Mbit/s rung went to 540p at a CRF extrapolated
 * past its last trial, 1.57× its target; 720p's bracket it). Without `points`, or when none can be judged, the endpoint
 * nearer in log bitrate and the hull's quality. (A 640x360 test-pattern title had a 360p rung at
 * 218 kbit/s predicted at VMAF 85.6 on the hull line between 234p at 167 kbit/s and 360p at 252
 * kbit/s; 360p's own encodes give about 75 there, and it measured 78.9 — below the 234p rung under
 * it, at 82. 234p's own encodes give 84.5.) The top rung is placed by selectRungs.
 */
function resolutionAt(hull: readonly RdPoint[], bitrateBps: number, points?: readonly RdPoint[]): Variant & { quality: number } {
  let a = hull[0]!;
  let b = hull[0]!;
  for (let i = 1; i < hull.length; i++) {
    b = hull[i]!;
    if (bitrateBps <= b.bitrateBps) break;
    a = b;
  }
  const onHull = hullQualityAt(hull, bitrateBps);
  if (points && !sameVariant(a, b)) {
    const judged = [a, b].flatMap((e) => {
      const q = resolutionQualityAt(points, e, bitrateBps) ?? bestOwnQualityBelow(points, e, bitrateBps);
      return q === undefined ? [] : [{ width: e.width, height: e.height, ...variantRate(e), quality: q }];
    });
    for (const v of new Map(points.map((p) => [variantKey(p), p])).values()) {
      const q = sameVariant(v, a) || sameVariant(v, b) ? undefined : resolutionQualityAt(points, v, bitrateBps);
      if (q !== undefined) judged.push({ width: v.width, height: v.height, ...variantRate(v), quality: q });
    }
    if (judged.length > 0) return judged.reduce((x, y) => (y.quality > x.quality ? y : x));
  }
  const pick = Math.abs(Math.log(bitrateBps / a.bitrateBps)) <= Math.abs(Math.log(b.bitrateBps / bitrateBps)) ? a : b;
  return { width: pick.width, height: pick.height, ...variantRate(pick), quality: onHull };
}

/**
 * The best quality a variant's own encodes reach at or below `bitrateBps` (undefined when none is
 * that cheap): what it gives at least there, since more bits at one size and rate do not lower
 * quality. It judges a variant whose trials end below the bitrate (its cheapest CRF's neighbour
 * was never run), which resolutionQualityAt cannot: a 1080p60 pan's hull ran from 540p's last
 * trial (CRF 20, 302 kbit/s, VMAF 85) to 1080p's, and the rung at 326 kbit/s went to 1080p, whose
 * own encodes give VMAF 73 there — below the 540p rung under it (measured 71.8 against 81.2).
 */
function bestOwnQualityBelow(points: readonly RdPoint[], v: Variant, bitrateBps: number): number | undefined {
  let best: number | undefined;
  for (const p of points) if (sameVariant(p, v) && p.bitrateBps <= bitrateBps && (best === undefined || p.quality > best)) best = p.quality;
  return best;
}

/** A variant's reduced frame rate as an object to spread into another (nothing at the title's rate). */
export const variantRate = (v: { readonly frameRate?: number | undefined }): { frameRate?: number } => (v.frameRate !== undefined ? { frameRate: v.frameRate } : {});

/**
 * Picks the ladder's rungs on the hull; with `points` (every trial the hull was made from), a
 * rung between two resolutions' hull points takes the one whose own encodes are better there,
 * and its predicted quality is that resolution's (resolutionAt).
 *
 * Rule: the lowest rung sits at the floor bitrate (or the hull's first point when the hull
 * starts above the floor). The top bitrate is where the top quality (topRungQuality: the
 * saturation quality, or less on a hull that flattens short of it) is first reached —
 * with `points`, by one resolution's own encodes (firstEncodeReaching), which is the top's
 * resolution; without, on the hull line — else the hull's best point, never above
 * `maxBitrateBps`. (On the hull line between two resolutions no single encode reaches the
 * saturation quality: a static test pattern's top rung was predicted 45 dB there and its own
 * resolution's encodes give 36.5.) From each rung the next
 * one is where quality has risen by one `qualityStep`, but no closer than `minStepRatio`
 * and no further than `maxStepRatio` times the bitrate; the last rung is the top, which
 * replaces the rung below it when within TOP_MERGE_RATIO (1.2×) of it (so the step to the
 * top rung is 1.2×–2.4×, the others 1.5×–2×).
 * When those steps make more than `rules.maxRungs` rungs (hard content: quality rises slowly,
 * so steps stay at the 1.5× minimum), the floor and the top stay and the rungs between are
 * spread evenly in log bitrate (steps may then exceed maxStepRatio). Dropping the lowest rungs
 * instead once made a 1080p60 title start at 326 kbit/s with VMAF 23, leaving viewers below
 * that with nothing to play.
 * Resolutions never go down as bitrate goes up, and neither does the frame rate: once a rung is
 * at the title's own rate, no rung above it is at a reduced one (a viewer switching up would see
 * smoother motion turn choppy); such a rung takes the variant of the rung below instead.
 * @param hull output of upperConvexHull (ascending bitrate), non-empty.
 * @returns rungs in ascending bitrate order, at most `rules.maxRungs`, the lowest at the floor.
 * @throws RangeError for an empty hull or inconsistent rules.
 */
export function selectRungs(hull: readonly RdPoint[], rules: RungRules, points?: readonly RdPoint[]): PlannedRung[] {
  if (hull.length === 0) throw new RangeError('cannot pick rungs on an empty hull');
  if (!(rules.minStepRatio > 1 && rules.maxStepRatio >= rules.minStepRatio && rules.maxRungs >= 1 && rules.qualityStep > 0)) {
    throw new RangeError('rung rules need 1 < minStepRatio <= maxStepRatio, maxRungs >= 1 and qualityStep > 0');
  }
  const first = hull[0]!.bitrateBps;
  const last = hull[hull.length - 1]!.bitrateBps;
  const topQuality = topRungQuality(hull, rules);
  const saturated = points && firstEncodeReaching(points, topQuality);
  const top = Math.max(first, Math.min(last, saturated ? saturated.bitrateBps : hullBitrateFor(hull, topQuality), rules.maxBitrateBps));
  const floor = Math.min(Math.max(rules.floorBitrateBps, first), top);

  // Only the floor may be below the least quality: every other rung starts where the hull reaches it.
  const aboveFloor = rules.minQualityAboveFloor !== undefined ? Math.min(top, hullBitrateFor(hull, rules.minQualityAboveFloor)) : 0;
  const bitrates = [floor];
  while (bitrates[bitrates.length - 1]! < top) {
    const prev = bitrates[bitrates.length - 1]!;
    const byQuality = hullBitrateFor(hull, hullQualityAt(hull, prev) + rules.qualityStep);
    const next = Math.max(prev * rules.minStepRatio, Math.min(byQuality, prev * rules.maxStepRatio), aboveFloor);
    if (next < top) {
      bitrates.push(next);
      continue;
    }
    // The top rung: merged into the rung below when it would be within TOP_MERGE_RATIO of it.
    if (top < prev * TOP_MERGE_RATIO) bitrates[bitrates.length - 1] = top;
    else bitrates.push(top);
    break;
  }
  let kept = bitrates.length > rules.maxRungs ? evenLadder(floor, top, rules.maxRungs) : bitrates;
  if (kept.length > 2 && kept[1]! < aboveFloor) kept = [floor, ...evenLadder(Math.max(aboveFloor, floor * rules.minStepRatio), top, kept.length - 1)];

  let below: Variant | undefined;
  return kept.map((bitrateBps, k) => {
    // A top at the saturation crossing of one resolution's own encodes is that resolution's.
    const atSaturation = k === kept.length - 1 && saturated && bitrateBps === saturated.bitrateBps;
    let res: Variant & { quality: number } = atSaturation ? { width: saturated.width, height: saturated.height, ...variantRate(saturated), quality: saturated.quality } : resolutionAt(hull, bitrateBps, points);
    if (below && (res.height < below.height || (below.frameRate === undefined && res.frameRate !== undefined))) {
      // Keep resolutions and frame rates monotonic: reuse the rung below's variant.
      res = { ...below, quality: (points && resolutionQualityAt(points, below, bitrateBps)) ?? hullQualityAt(hull, bitrateBps) };
    }
    below = { width: res.width, height: res.height, ...variantRate(res) };
    return { width: res.width, height: res.height, ...variantRate(res), bitrateBps: Math.round(bitrateBps), predictedQuality: res.quality };
  });
}
