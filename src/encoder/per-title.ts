/**
 * Per-title analysis: the worker's analyze → ladder steps. Trial-encodes a sample of the
 * title at every candidate resolution and several x264 CRF values with a fast preset,
 * measures each RD point against the source at its display resolution, takes the upper
 * convex hull and picks the rungs on it (convex-hull.ts).
 *
 * After Netflix Technology Blog, "Per-Title Encode Optimization" (Dec 2015): trial encodes
 * over a grid of resolutions and quality settings, quality measured after upscaling to the
 * source resolution, the ladder chosen on the convex hull of the RD curves.
 *
 * Cost control (issue 13: the analysis at most 1× the final encodes): the trials run on a
 * sample of windows spread across the title rather than the whole title; every CRF of one
 * resolution is encoded and measured from the sample decoded once into raw frames (the master's
 * decode cost more than the trials' PSNR; one decode for every group here, one per group in a
 * chunked title's flow, which hands each group to a worker: per-title-trials.ts); VMAF scores
 * a frame sample (trialVmafSubsample) and PSNR is measured only when the ladder is built on it;
 * trials skip SSIM. The sample lives in per-title-sample.ts.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import { PSNR_RUNG_RULES, variantRate, VMAF_RUNG_RULES, type PlannedRung, type RungRules } from './convex-hull.js';
import type { FfmpegPaths } from './ffmpeg.js';
import { keyframesForSeeking, withSeekStarts } from './master-seek.js';
import { complexityForSample, type ComplexityProfile } from './title-complexity.js';
import { masterPictureOf, type ProbeResult } from './media-info.js';
import { decodeSample, samplePlacement, sampleWindows, trialVmafSubsample, type SamplePlacement, type SampleWindow } from './per-title-sample.js';
import { runTrialGroupsTogether, type PresetProbe, type TrialGroup, type TrialPoint, type TrialSettings } from './per-title-trials.js';
import { concludeAnalysis } from './per-title-ladder.js';
import type { TrialSearch } from './per-title-search.js';
import { APPLE_FIXED_LADDER, fixedLadderFor, halfFrameRateFor, HALF_RATE_MAX_HEIGHT, type VideoCodec } from './fixed-ladder.js';
import { qualityMeasurementSize, type LadderMetric } from './quality-metrics.js';
import { candidateResolutions } from './per-title-candidates.js';
import { DEFAULT_CRF_VALUES } from './trial-grid.js';

export type { TrialPoint } from './per-title-trials.js';
export { halfFrameRateFor, HALF_RATE_MAX_HEIGHT, HALF_RATE_MIN_FRAME_RATE } from './fixed-ladder.js';
export { trialVmafSubsample, TRIAL_VMAF_FRAMES_PER_S, TRIAL_VMAF_MIN_FRAMES } from './per-title-sample.js';
export { candidateResolutions, NATIVE_CANDIDATE_RATIO, PER_TITLE_RESOLUTION_BOXES } from './per-title-candidates.js';

export { DEFAULT_CRF_VALUES } from './trial-grid.js';

/**
 * Grid extensions, tried only when the grid falls short (issue 13: hard content stopped at
 * VMAF 91.8 because the grid ended at CRF 20, and a hull that never came down to the floor
 * started the ladder above it):
 * - toward quality: CRF 17 then 14 at the largest resolution, while its best trial is below the
 *   saturation quality and under its bitrate cap (`trialBitrateCapBps`);
 * - toward the floor: CRF 44 then 50 at the smallest resolution, while none of its trials is at
 *   or below the floor bitrate (its cheapest trial is the title's cheapest).
 * Same 3-6 CRF spacing as the grid (±6 CRF ≈ ×2 bitrate, x264's rule of thumb).
 */
export const QUALITY_EXTENSION_CRFS: readonly number[] = Object.freeze([17, 14]);
export const FLOOR_EXTENSION_CRFS: readonly number[] = Object.freeze([44, 50]);

/**
 * Highest trial bitrate worth paying for at one resolution, bits/s: 1.5× the top bitrate
 * Apple's HLS Authoring Specification lists for that height (pass a portrait size's width: its
 * short side, as orientBox turns the boxes) (7.8 Mbit/s at 1080p, 4.5 Mbit/s
 * at 720p, …; the headroom is our choice, for content harder than Apple's reference), ×1.5
 * again above 30 fps (twice the frames cost far less than twice the bits), and never above the
 * rules' maximum rung bitrate.
 */
export function trialBitrateCapBps(height: number, frameRate: number, maxBitrateBps: number): number {
  const apple = APPLE_FIXED_LADDER.filter((r) => r.height <= Math.max(height, APPLE_FIXED_LADDER[0]!.height)).at(-1)!.bitrateBps;
  return Math.min(maxBitrateBps * (frameRate > 30 ? 1.5 : 1), apple * 1.5 * (frameRate > 30 ? 1.5 : 1));
}

export interface PerTitleOptions {
  /** VMAF model; unset = the ladder is built on PSNR. */
  readonly vmafModelPath?: string;
  /** x264 preset of the trial encodes. Default `veryfast`. */
  readonly trialPreset?: string;
  /** CRF grid. Default DEFAULT_CRF_VALUES. */
  readonly crfValues?: readonly number[];
  /** Length of one sample window, seconds; also the keyframe interval of the trials. Default the segment duration. */
  readonly windowS?: number;
  /** Share of the title the sample covers, (0, 1]. Default 0.2. */
  readonly sampleFraction?: number;
  /**
   * The master's keyframe times when its container is not sought exactly (master-seek.ts
   * keyframesForSeeking): the sample's windows seek from before them (master-seek.ts
   * withSeekStarts). analyzeTitle scans for them when absent; planAnalysis without them assumes
   * a long GOP for such a container.
   */
  readonly keyframesS?: readonly number[] | undefined;
  /**
   * The title's complexity profile (title-complexity.ts): each sample window is placed where it
   * stands for its share of the title. analyzeTitle scans for it when undefined (null: do not
   * scan); planAnalysis without it centres the windows in their shares.
   */
  readonly complexity?: ComplexityProfile | null | undefined;
  /** Most sample windows. Default 10. */
  readonly maxWindows?: number;
  /** Fewest sample windows, shorter ones on a short title (per-title-sample.ts sampleWindows). Default MIN_SAMPLE_WINDOWS. */
  readonly minWindows?: number;
  /** VMAF on every n-th frame of the sample. Default trialVmafSubsample(frame rate, sample duration). */
  readonly vmafSubsample?: number;
  /** Rung rules; default VMAF_RUNG_RULES or PSNR_RUNG_RULES by metric. */
  readonly rules?: RungRules;
  /**
   * x264 preset of the final encodes. When it differs from the trial preset, one trial (the
   * middle resolution at the grid's middle CRF) is also encoded at it, and the bitrate ratio
   * corrects each rung's CRF (presetCorrection). Unset = no correction.
   */
  readonly finalPreset?: string;
  /**
   * How to explore the trial grid (per-title-search.ts): `coarse-to-fine` (default) skips trials
   * far from the hull, `grid` runs every one.
   */
  readonly search?: TrialSearch;
  /** Also encode the fixed ladder's rungs on the sample (capped VBR, same preset) for comparison plots. */
  readonly includeFixed?: boolean;
  /**
   * Also trial the low resolutions at half the frame rate when the title is 48 fps or more
   * (halfFrameRateFor). Default true.
   */
  readonly halfRate?: boolean;
  /**
   * Codecs to build a ladder for, each from its own trials and hull (the same grid, sample and
   * rules). Default ['h264']; H.264 always comes first and is always built.
   */
  readonly codecs?: readonly VideoCodec[];
  readonly segmentDurationS: number;
  /**
   * Folder to create the temporary work folder in (sample, trial encodes; removed at the end).
   * Default the OS temp folder; the worker uses its staging folder, so a killed worker's
   * leftovers are swept with it.
   */
  readonly workParent?: string;
  readonly signal?: AbortSignal;
  /** Called with the fraction of the analysis done, in [0, 1]. */
  readonly onProgress?: (fraction: number) => void;
  readonly log?: Logger;
}

/** Everything the analysis found; stored in ladder.json. */
export interface LadderAnalysis {
  readonly metric: LadderMetric;
  readonly settings: {
    readonly trialPreset: string;
    readonly crfValues: readonly number[];
    /**
     * How the grid was explored (per-title-search.ts): `coarse-to-fine` skips trials far from the
     * hull, `grid` runs them all. Absent in analyses made before 2026-12-03 (they ran the grid).
     */
    readonly search?: TrialSearch;
    /** H.264 trials in the grid (resolutions, and half-rate variants, × CRFs); `points` holds those run, plus extensions. */
    readonly gridTrials?: number;
    /** CRF values tried beyond the grid (toward quality, toward the floor), when it fell short. */
    readonly extensionCrfs: readonly number[];
    /** CRF values tried between grid steps whose bitrates were too far apart (per-title-search.ts CRF_SPLIT_RATIO). Absent before 2026-12-04. */
    readonly splitCrfs?: readonly number[];
    readonly resolutions: readonly { width: number; height: number }[];
    /** The half rate the low resolutions were also tried at, frames/s (absent: none were). */
    readonly halfFrameRate?: number;
    readonly vmafSubsample: number;
    readonly vmafModel?: string;
    readonly rules: RungRules;
  };
  /** The sample: its windows, seconds and rate, and how the windows were placed (absent before 2026-12-04). */
  readonly sample: { readonly windows: readonly SampleWindow[]; readonly durationS: number; readonly frameRate: number; readonly placement?: SamplePlacement };
  /** Every RD point, ascending resolution then bitrate. */
  readonly points: readonly TrialPoint[];
  /** Upper convex hull of `points`, ascending bitrate. */
  readonly hull: readonly TrialPoint[];
  /**
   * The final preset's bitrate over the trial preset's at one size and CRF (when the final
   * preset differs): `measuredRatio`, and `ratio` the same within PRESET_RATIO_BOUNDS; each
   * rung's CRF is read off the trials at bitrate ÷ ratio, unless that gave two rungs of one
   * resolution the same CRF (`applied` false: the uncorrected CRFs are used).
   */
  readonly presetCorrection?: PresetProbe & { readonly measuredRatio: number; readonly ratio: number; readonly applied: boolean };
  /** The chosen rungs, each with the CRF of its final capped-CRF encode (crfForBitrate) and, near the cap, its VBV peak (rungMaxrate). */
  readonly rungs: readonly (PlannedRung & { readonly crf?: number | undefined; readonly maxrateBps?: number | undefined })[];
  /** Fixed-ladder rungs encoded on the same sample (when `includeFixed`). */
  readonly fixedPoints?: readonly TrialPoint[];
  /**
   * The HEVC ladder (`codecs` with 'hevc'): its own trial points, hull and rungs, chosen by the
   * same rules from HEVC trials of the same sample.
   */
  readonly hevc?: { readonly points: readonly TrialPoint[]; readonly hull: readonly TrialPoint[]; readonly rungs: LadderAnalysis['rungs']; readonly presetCorrection?: LadderAnalysis['presetCorrection'] };
  /**
   * Seconds: trial encodes and trial quality measurement (summed over the groups, wherever they
   * ran), and the analysis's wall-clock time from planning to the chosen ladder.
   */
  readonly timings: { readonly trialEncodeS: number; readonly trialQualityS: number; readonly totalS: number };
}

/**
 * A title's analysis, planned: the sample, the settings every trial shares and the trial groups
 * (one per candidate resolution with the whole CRF grid, and one per low resolution at half rate
 * for a 48 fps or faster title (halfFrameRateFor); the largest also extends toward quality, the
 * smallest at the title's rate toward the floor; plus the fixed ladder's rungs when asked). Plain data:
 * a chunked title's flow stores it and hands each group to a worker (title-flow.ts).
 */
export interface AnalysisPlan {
  readonly settings: TrialSettings;
  readonly groups: readonly TrialGroup[];
  /** Index in `groups` of the fixed-ladder comparison group, if any. */
  readonly fixedGroup?: number;
  readonly rules: RungRules;
  /** The CRF grid, highest (cheapest) first. */
  readonly crfValues: readonly number[];
  /** Candidate resolutions, largest first. */
  readonly resolutions: readonly { width: number; height: number }[];
  /** The half rate the resolutions up to HALF_RATE_MAX_HEIGHT are also tried at, frames/s (absent: none). */
  readonly halfFrameRate?: number;
  /** File name of the VMAF model the ladder is built on, when it is. */
  readonly vmafModel?: string;
  /**
   * How the groups' grids are explored (per-title-search.ts); absent in plans stored before
   * 2026-12-03, which ran every trial (`grid`).
   */
  readonly search?: TrialSearch;
  /** How the sample's windows were placed (per-title-sample.ts samplePlacement); absent in plans stored before 2026-12-04. */
  readonly placement?: SamplePlacement;
}

/**
 * Plans a title's analysis (no encoding).
 * @param probed the master's probe (inspectMaster); must have a video stream.
 * @param frameRate output frame rate, frames/s.
 * @throws RangeError when the master has no video.
 */
export function planAnalysis(probed: ProbeResult, frameRate: number, options: Omit<PerTitleOptions, 'signal' | 'onProgress' | 'log' | 'workParent'>): AnalysisPlan {
  const video = probed.video;
  if (!video) throw new RangeError('per-title analysis needs a video stream');
  const metric: LadderMetric = options.vmafModelPath ? 'vmaf' : 'psnr';
  const rules = options.rules ?? (metric === 'vmaf' ? VMAF_RUNG_RULES : PSNR_RUNG_RULES);
  const crfValues = [...(options.crfValues ?? DEFAULT_CRF_VALUES)].sort((a, b) => b - a); // cheapest first
  const windowS = options.windowS ?? options.segmentDurationS;
  const resolutions = candidateResolutions(video); // largest first
  const windows = withSeekStarts(sampleWindows(probed.durationS, windowS, options.sampleFraction ?? 0.2, options.maxWindows ?? 10, video.cadenceFrameRate ?? video.frameRate, options.minWindows, options.complexity ?? undefined), probed.formatName, options.keyframesS);
  const gop = Math.max(1, Math.round(frameRate * windowS));
  const settings: TrialSettings = {
    windows,
    reference: qualityMeasurementSize(video),
    frameRate,
    ...masterPictureOf(video),
    ...(probed.videoStartOffsetS ? { videoStartOffsetS: probed.videoStartOffsetS } : {}),
    gop,
    trialPreset: options.trialPreset ?? 'veryfast',
    metric,
    vmafSubsample: Math.max(1, Math.floor(options.vmafSubsample ?? trialVmafSubsample(frameRate, windows.reduce((t, w) => t + w.durationS, 0), gop))),
  };
  const largest = resolutions[0]!;
  const smallest = resolutions.at(-1)!;
  // The preset probe: the middle resolution, the grid's middle CRF (where most rungs land).
  const probeAt = options.finalPreset && options.finalPreset !== settings.trialPreset ? resolutions[Math.floor(resolutions.length / 2)] : undefined;
  const codecs: VideoCodec[] = ['h264', ...(options.codecs ?? []).filter((c) => c !== 'h264')];
  // The variants tried: every resolution at the title's rate, then the low ones at half rate.
  const halfFrameRate = options.halfRate === false ? undefined : halfFrameRateFor(frameRate);
  const halfRated = halfFrameRate === undefined ? [] : resolutions.filter((r) => Math.min(r.width, r.height) <= HALF_RATE_MAX_HEIGHT).map((r) => ({ ...r, frameRate: halfFrameRate }));
  const variants: { width: number; height: number; frameRate?: number }[] = [...resolutions, ...halfRated];
  const groups: TrialGroup[] = codecs.flatMap((codec) => variants.map((size) => ({
    ...(codec === 'h264' ? {} : { codec }),
    trials: crfValues.map((crf) => ({ ...size, crf })),
    ...(size === probeAt ? { presetProbe: { preset: options.finalPreset!, crf: crfValues[Math.floor(crfValues.length / 2)]! } } : {}),
    extensions: [
      ...(size === largest ? [{ toward: 'quality' as const, crfs: QUALITY_EXTENSION_CRFS, saturationQuality: rules.saturationQuality, capBps: trialBitrateCapBps(Math.min(size.width, size.height), frameRate, rules.maxBitrateBps), trialMaxrateBps: rules.maxBitrateBps }] : []),
      ...(size === smallest ? [{ toward: 'floor' as const, crfs: FLOOR_EXTENSION_CRFS.filter((c) => !crfValues.includes(c)), floorBitrateBps: rules.floorBitrateBps }] : []),
    ],
  })));
  // Largest first: the longest groups start (and are queued) first.
  const fixedRungs = options.includeFixed ? fixedLadderFor(video, APPLE_FIXED_LADDER, frameRate) : [];
  if (fixedRungs.length > 0) groups.push({ trials: fixedRungs.map((r) => ({ width: r.width, height: r.height, bitrateBps: r.bitrateBps, ...variantRate(r) })) });
  return {
    settings,
    groups,
    ...(fixedRungs.length > 0 ? { fixedGroup: groups.length - 1 } : {}),
    rules,
    crfValues,
    resolutions,
    ...(halfRated.length > 0 ? { halfFrameRate } : {}),
    ...(options.vmafModelPath ? { vmafModel: path.basename(options.vmafModelPath) } : {}),
    search: options.search ?? 'coarse-to-fine',
    placement: samplePlacement(options.complexity),
  };
}

/**
 * planAnalysis with the sample's windows placed by the complexity scan (title-complexity.ts
 * complexityForSample): the plan's centred windows say where a long title is scanned (in spans
 * around them), then the plan is made again with the scan's profile. A scan that fails leaves
 * the windows centred (reported to `scan.onScanError`). What analyzeTitle and the chunked
 * flow's planning job (encode-worker.ts) both run.
 * @throws EncodeCancelledError when `scan.signal` aborts; RangeError as planAnalysis.
 */
export async function planPlacedAnalysis(
  masterPath: string,
  probed: ProbeResult,
  frameRate: number,
  paths: FfmpegPaths,
  options: Omit<PerTitleOptions, 'signal' | 'onProgress' | 'log' | 'workParent' | 'complexity'>,
  scan: Omit<NonNullable<Parameters<typeof complexityForSample>[4]>, 'windows' | 'keyframesS'> = {},
): Promise<AnalysisPlan> {
  const centred = planAnalysis(probed, frameRate, options);
  const complexity = await complexityForSample(masterPath, probed, frameRate, paths, { ...scan, windows: centred.settings.windows, keyframesS: options.keyframesS });
  return planAnalysis(probed, frameRate, { ...options, complexity });
}

/**
 * Progress weight of decoding the sample, in trials (a group weighs its trials): reading 1080p
 * windows costs about one trial's encode and quality passes (per-title-sample.ts decodeSample).
 */
export const SAMPLE_DECODE_WEIGHT = 1;

/** Progress weight of a group: its trials and possible extension trials. */
export const groupWeight = (g: TrialGroup): number => g.trials.length + (g.extensions ?? []).reduce((n, e) => n + e.crfs.length, 0);

/**
 * Analyses a title and picks its per-title ladder, running every trial group here
 * (runTrialGroupsTogether: by default the coarse-to-fine search's first round over the groups'
 * grids, the groups' extensions, then its refinement rounds; each round one quality pass for all
 * its trials). Writes only to a temporary folder, removed before returning.
 * @param probed the master's probe (inspectMaster); must have a video stream.
 * @param frameRate output frame rate, frames/s.
 * @throws FfmpegError when a trial fails; EncodeCancelledError when `signal` aborts;
 *         RangeError when the master has no video.
 */
export async function analyzeTitle(masterPath: string, probed: ProbeResult, frameRate: number, paths: FfmpegPaths, options: PerTitleOptions): Promise<LadderAnalysis> {
  const log = options.log ?? silentLogger;
  const started = performance.now();
  const keyframesS = options.keyframesS ?? (await keyframesForSeeking(masterPath, probed.formatName, paths));
  // Progress: the complexity scan and the sample's decode weigh SAMPLE_DECODE_WEIGHT each, the
  // groups their trials (the same groups wherever the windows lie).
  const before = 2 * SAMPLE_DECODE_WEIGHT;
  const total = planAnalysis(probed, frameRate, { ...options, keyframesS }).groups.map(groupWeight).reduce((a, b) => a + b, before);
  options.onProgress?.(0);
  const scan = {
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (f: number) => options.onProgress?.((f * SAMPLE_DECODE_WEIGHT) / total),
    onScanError: (err: Error) => log.warn({ err: err.message }, 'complexity scan failed: sample windows centred in their shares'),
  };
  const plan = options.complexity === undefined ? await planPlacedAnalysis(masterPath, probed, frameRate, paths, { ...options, keyframesS }, scan) : planAnalysis(probed, frameRate, { ...options, keyframesS });
  const scanS = (performance.now() - started) / 1000;
  const work = await fs.mkdtemp(path.join(options.workParent ?? os.tmpdir(), options.workParent ? '.per-title-' : 'vod-per-title-'));
  try {
    // The sample decoded once for every group's passes (decodeSample; undefined when too big: the
    // groups then read the master's windows).
    const decodeStarted = performance.now();
    const { settings } = plan;
    const samplePath = await decodeSample(masterPath, settings, work, paths, {
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (f) => options.onProgress?.(((1 + f) * SAMPLE_DECODE_WEIGHT) / total),
    });
    const decodeS = (performance.now() - decodeStarted) / 1000;
    // The groups' grids measured together (one libvmaf for every trial), then their extensions.
    const results = await runTrialGroupsTogether(masterPath, plan.groups, plan.settings, paths, {
      workDir: work,
      vmafModelPath: options.vmafModelPath,
      signal: options.signal,
      samplePath,
      search: plan.search,
      onProgress: (f) => options.onProgress?.(Math.min(1, (before + f * (total - before)) / total)),
    });
    for (const p of results.flatMap((r) => r.points)) log.debug({ height: p.height, crf: p.crf, bitrateBps: Math.round(p.bitrateBps), quality: p.quality }, 'trial point');
    // The scan and the shared decode count as trial encoding, as a group's own decode does (runTrialGroup).
    if (results[0]) results[0] = { ...results[0], encodeS: results[0].encodeS + scanS + decodeS };
    const analysis = concludeAnalysis(plan, results, (performance.now() - started) / 1000);
    log.info({ metric: analysis.metric, points: analysis.points.length, hull: analysis.hull.length, rungs: analysis.rungs.length, analysisS: Math.round(analysis.timings.totalS * 10) / 10 }, 'per-title ladder chosen');
    return analysis;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
