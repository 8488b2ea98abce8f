/**
 * The rules the per-title ladder's rungs are picked by on the convex hull (convex-hull.ts
 * selectRungs), and their defaults for VMAF- and PSNR-driven ladders, each constant with its source.
 */

/** Rules for picking rungs on the hull. Each constant's source is on the default below. */
export interface RungRules {
  /** Bitrate of the lowest rung, bits/s (or the hull's lowest point when the hull starts above it). */
  readonly floorBitrateBps: number;
  /** Highest rung bitrate allowed, bits/s. */
  readonly maxBitrateBps: number;
  /** Quality rise that makes a step perceptible (one just-noticeable difference), metric units. */
  readonly qualityStep: number;
  /** Quality above which more bits are not seen: the top rung stops at the first hull point reaching it. */
  readonly saturationQuality: number;
  /** Least and greatest bitrate ratio between adjacent rungs. */
  readonly minStepRatio: number;
  readonly maxStepRatio: number;
  /** Most rungs in a ladder. */
  readonly maxRungs: number;
  /**
   * Least quality of any rung but the lowest: below it a picture is bad enough that only the
   * floor (for viewers who could not play at all otherwise) may be there. Absent = no such rule.
   */
  readonly minQualityAboveFloor?: number;
  /**
   * Quality from which viewers no longer tell an encode from its source. When the hull does not
   * reach `saturationQuality` within `maxBitrateBps` but does reach this, it has flattened short
   * of saturation (grain, noise), and the top rung is the cheapest encode within
   * `topQualityTolerance` of the best quality the hull reaches within the cap, and at least this
   * quality (topRungQuality). Absent = the top goes to the hull's best point within the cap.
   */
  readonly indistinguishableQuality?: number;
  /** Quality below the hull's best (within the cap) that the top rung may give up, metric units. */
  readonly topQualityTolerance?: number;
}

/**
 * Rungs for VMAF-driven ladders.
 * - floor 145 kbit/s: the lowest H.264 rung of Apple's HLS Authoring Specification (§2).
 * - step 6 VMAF points: "a differential of 6 VMAF points equals a just noticeable
 *   difference" (J. Ozer, "Finding the Just Noticeable Difference with Netflix VMAF",
 *   Streaming Learning Center, 2017, from a Netflix contact).
 * - saturation 95: "if your top rung VMAF score exceeds 95, you're wasting bandwidth on
 *   video quality that your viewers won't notice" (J. Ozer, "Finding the Optimal Top Rung
 *   Data Rate", Streaming Learning Center; after R. Rassool, "VMAF reproducibility", 2017,
 *   who puts the indistinguishable threshold at about 93).
 * - step ratio 1.5×–2×: most adjacent rungs of Apple's ladder are 1.5×–2× apart (its range is
 *   1.3×–2.5×); at most 2× keeps every step switchable without a long stall, at least 1.5×
 *   keeps rungs distinct enough for the player's bandwidth estimate to tell apart.
 * - top 12 Mbit/s, 8 rungs: our caps (Apple's top 1080p H.264 rung is 7.8 Mbit/s; hard
 *   content may need more).
 * - VMAF 30 as the least quality above the floor: the bottom of VMAF's "poor" band (its
 *   scale is anchored to ACR ratings, 20 = bad, 40 = poor, 60 = fair: Netflix Technology Blog,
 *   "Toward a Practical Perceptual Video Quality Metric", 2016); the number issue 13 states.
 * - indistinguishable 93 (Rassool 2017, above) and a top tolerance of 1 VMAF point (our choice:
 *   a sixth of the 6-point JND): a hull that flattens between 93 and 95 stops within 1 point of
 *   its best instead of climbing to the cap for fractions of a point (a 1080p60 pan was given
 *   rungs at 2.3, 4.7 and 7.6 Mbit/s measuring VMAF 92.6, 93.2 and 93.6).
 */
export const VMAF_RUNG_RULES: RungRules = Object.freeze({
  floorBitrateBps: 145_000,
  maxBitrateBps: 12_000_000,
  qualityStep: 6,
  saturationQuality: 95,
  minStepRatio: 1.5,
  maxStepRatio: 2,
  maxRungs: 8,
  minQualityAboveFloor: 30,
  indistinguishableQuality: 93,
  topQualityTolerance: 1,
});

/**
 * Rungs for PSNR-driven ladders (no VMAF model configured). Same floor, ratios and caps as
 * VMAF_RUNG_RULES, no least quality above the floor (no published PSNR maps to VMAF's bands). Saturation 45 dB: "anything beyond 45 dB won't be perceived by the
 * viewer" (rule of thumb quoted in Ozer 2017, above). The 1.5 dB step is our choice (no
 * published PSNR JND applies across content); it gives ladders of similar length to VMAF's.
 */
export const PSNR_RUNG_RULES: RungRules = Object.freeze({ floorBitrateBps: 145_000, maxBitrateBps: 12_000_000, qualityStep: 1.5, saturationQuality: 45, minStepRatio: 1.5, maxStepRatio: 2, maxRungs: 8 });
