/**
 * The per-title analysis's conclusion (per-title.ts plans and runs it): from the trial groups'
 * RD points, each codec's upper convex hull, the rungs on it (convex-hull.ts selectRungs) and
 * each rung's capped-CRF setting, corrected for the final encodes' preset. Pure functions.
 */
import { sameVariant, selectRungs, upperConvexHull, variantKey, type RungRules, type Variant } from './convex-hull.js';
import type { VideoCodec } from './fixed-ladder.js';
import { MAXRATE_FACTOR } from './rendition.js';
import type { AnalysisPlan, LadderAnalysis } from './per-title.js';
import type { TrialGroupResult, TrialPoint } from './per-title-trials.js';

/**
 * Bounds of the preset correction's bitrate ratio (about ±6 CRF, one doubling of bitrate): a
 * ratio beyond them means the two presets' CRF scales differ too much to transfer by one ratio
 * (ultrafast against veryfast on synthetic testsrc2 content measured 5.4×). Our choice.
 */
export const PRESET_RATIO_BOUNDS = Object.freeze({ min: 0.5, max: 2 });

/** x264's CRF range (8-bit). */
export const X264_CRF_RANGE = Object.freeze({ min: 0, max: 51 });

/**
 * The x264 CRF that gives `bitrateBps` at a variant (a resolution, at a reduced frame rate when
 * `size` has one), from that variant's CRF trials:
 * linear in log(bitrate) between the two trials that bracket it (bitrate falls about
 * exponentially with CRF: "+6 roughly halves the bitrate", FFmpeg's H.264 encoding guide), and
 * beyond the trials extrapolated along the two nearest ones, within x264's CRF range — holding
 * the nearest trial's CRF there gave two rungs of one resolution the same CRF, so the same
 * encode and the same BANDWIDTH, which hls.js merges into one level. The final encode runs at
 * this CRF capped by the rung's maxrate ("capped CRF", as per-title services describe it, e.g.
 * JW Player's and Mux's per-title encoding notes). Rounded to 0.1 (x264 takes fractional CRF).
 * @returns undefined when the resolution has no CRF trial; the one trial's CRF when it has one.
 */
export function crfForBitrate(points: readonly TrialPoint[], size: Variant, bitrateBps: number): number | undefined {
  const trials = points.filter((p) => p.crf !== undefined && sameVariant(p, size)).sort((a, b) => a.bitrateBps - b.bitrateBps);
  if (trials.length === 0) return undefined;
  if (trials.length === 1) return trials[0]!.crf;
  // The segment that brackets the bitrate, or the nearest one at either end.
  let i = 1;
  while (i < trials.length - 1 && bitrateBps > trials[i]!.bitrateBps) i++;
  const [a, b] = [trials[i - 1]!, trials[i]!];
  const span = Math.log(b.bitrateBps) - Math.log(a.bitrateBps);
  if (!(span > 0)) return a.crf;
  const t = (Math.log(bitrateBps) - Math.log(a.bitrateBps)) / span;
  const crf = Math.min(X264_CRF_RANGE.max, Math.max(X264_CRF_RANGE.min, a.crf! + t * (b.crf! - a.crf!)));
  return Math.round(crf * 10) / 10;
}

/**
 * A rung's VBV peak when the usual one (bitrate × MAXRATE_FACTOR, rendition.ts) would pass the
 * rules' `maxBitrateBps`: the cap itself (never below the rung's bitrate), so no rung peaks above
 * the ladder's cap — the top rung of a 1080p60 noise master, at the 12 Mbit/s cap with an 18 Mbit/s
 * peak, averaged 15.6 Mbit/s (its CRF read off faster-preset trials). Empty otherwise.
 */
export function rungMaxrate(bitrateBps: number, rules: RungRules): { maxrateBps?: number } {
  return bitrateBps * MAXRATE_FACTOR > rules.maxBitrateBps ? { maxrateBps: Math.max(bitrateBps, rules.maxBitrateBps) } : {};
}

/**
 * One codec's ladder from its groups' results: the upper convex hull of their points, the rungs
 * on it (selectRungs) and each rung's capped-CRF setting (crfForBitrate), corrected by the
 * groups' preset probe when there is one (presetCorrection).
 */
function ladderFrom(results: readonly TrialGroupResult[], rules: RungRules): { points: TrialPoint[]; hull: TrialPoint[]; rungs: LadderAnalysis['rungs']; presetCorrection?: LadderAnalysis['presetCorrection'] } {
  const points = results.flatMap((r) => r.points);
  const hull = upperConvexHull(points);
  const probe = results.find((r) => r.presetProbe)?.presetProbe;
  const measured = probe && probe.trialBitrateBps > 0 && probe.bitrateBps > 0 ? probe.bitrateBps / probe.trialBitrateBps : undefined;
  const chosen = selectRungs(hull, rules, points);
  const withCrf = (ratio: number) => chosen.map((r) => ({ ...r, crf: crfForBitrate(points, r, r.bitrateBps / ratio), ...rungMaxrate(r.bitrateBps, rules) }));
  let rungs = withCrf(1);
  let presetCorrection: LadderAnalysis['presetCorrection'];
  if (measured !== undefined) {
    const ratio = Math.min(PRESET_RATIO_BOUNDS.max, Math.max(PRESET_RATIO_BOUNDS.min, measured));
    const corrected = withCrf(ratio);
    // Two rungs of one resolution at one CRF would encode alike (hls.js merges equal variants):
    // then the correction is not applied.
    const distinct = new Set(corrected.map((r) => `${variantKey(r)}/${r.crf}`)).size === corrected.length;
    if (distinct) rungs = corrected;
    presetCorrection = { ...probe!, measuredRatio: measured, ratio, applied: distinct };
  }
  return { points, hull, rungs, ...(presetCorrection ? { presetCorrection } : {}) };
}

/**
 * The analysis's conclusion from every group's points: the upper convex hull of the CRF trials,
 * the rungs on it (selectRungs) and each rung's capped-CRF setting (crfForBitrate).
 * @param results one per group of `plan`, in order.
 * @param totalS the analysis's wall-clock time, s.
 * @throws RangeError when `results` does not match the plan's groups.
 */
export function concludeAnalysis(plan: AnalysisPlan, results: readonly TrialGroupResult[], totalS: number): LadderAnalysis {
  if (results.length !== plan.groups.length) throw new RangeError(`${results.length} group results for ${plan.groups.length} groups`);
  const ofCodec = (codec: VideoCodec) => results.filter((_, i) => i !== plan.fixedGroup && (plan.groups[i]!.codec ?? 'h264') === codec);
  const { points, hull, rungs, presetCorrection } = ladderFrom(ofCodec('h264'), plan.rules);
  const hevcResults = ofCodec('hevc');
  const hevc = hevcResults.length > 0 ? ladderFrom(hevcResults, plan.rules) : undefined;
  const fixedPoints = plan.fixedGroup !== undefined ? results[plan.fixedGroup]!.points : undefined;
  const sampleFrames = Math.max(0, ...results.map((r) => r.sampleFrames));
  // CRFs off the grid: the groups' extensions', and the search's split trials' (per-title-search.ts).
  const offGrid = [...new Set(points.filter((p) => p.crf !== undefined && !plan.crfValues.includes(p.crf)).map((p) => p.crf!))];
  const extensionCrfs = new Set(plan.groups.flatMap((g) => (g.extensions ?? []).flatMap((e) => e.crfs)));
  return {
    metric: plan.settings.metric,
    settings: {
      trialPreset: plan.settings.trialPreset,
      crfValues: plan.crfValues,
      search: plan.search ?? 'grid',
      gridTrials: plan.groups.reduce((n, g, i) => n + (i === plan.fixedGroup || (g.codec ?? 'h264') !== 'h264' ? 0 : g.trials.length), 0),
      extensionCrfs: offGrid.filter((crf) => extensionCrfs.has(crf)),
      splitCrfs: offGrid.filter((crf) => !extensionCrfs.has(crf)),
      resolutions: plan.resolutions,
      ...(plan.halfFrameRate !== undefined ? { halfFrameRate: plan.halfFrameRate } : {}),
      vmafSubsample: plan.settings.vmafSubsample,
      ...(plan.vmafModel ? { vmafModel: plan.vmafModel } : {}),
      rules: plan.rules,
    },
    sample: { windows: plan.settings.windows, durationS: sampleFrames / plan.settings.frameRate, frameRate: plan.settings.frameRate, ...(plan.placement ? { placement: plan.placement } : {}) },
    points: [...points].sort((a, b) => a.height - b.height || a.bitrateBps - b.bitrateBps),
    hull,
    ...(presetCorrection ? { presetCorrection } : {}),
    rungs,
    ...(fixedPoints ? { fixedPoints } : {}),
    ...(hevc ? { hevc: { ...hevc, points: [...hevc.points].sort((a, b) => a.height - b.height || a.bitrateBps - b.bitrateBps) } } : {}),
    timings: {
      trialEncodeS: results.reduce((t, r) => t + r.encodeS, 0),
      trialQualityS: results.reduce((t, r) => t + r.qualityS, 0),
      totalS,
    },
  };
}

