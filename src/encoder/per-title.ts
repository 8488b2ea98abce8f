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
 * Cost control (the analysis must stay within about 2× the final encode): the trials run on
 * a sample of windows spread across the title rather than the whole title; each resolution
 * stops lowering its CRF once it reaches the saturation quality; VMAF is computed on every
 * `vmafSubsample`-th frame of the sample (PSNR on all frames; trials skip SSIM). The sample
 * itself lives in per-title-sample.ts.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import { PSNR_RUNG_RULES, selectRungs, upperConvexHull, VMAF_RUNG_RULES, type PlannedRung, type RdPoint, type RungRules } from './convex-hull.js';
import { probePackets, runFfmpeg, type FfmpegPaths, type ProbeResult } from './ffmpeg.js';
import { extractSample, measuredBitrate, sampleWindows, type SampleWindow } from './per-title-sample.js';
import { APPLE_FIXED_LADDER, fitToBox, fixedLadderFor, toEven, type LadderRung } from './fixed-ladder.js';
import { measureQuality, scoreOf, type LadderMetric, type QualityScores } from './quality-metrics.js';

/** Candidate resolutions as 16:9 bounding boxes (the 1080p … 234p); fitted to the source's aspect ratio. */
export const PER_TITLE_RESOLUTION_BOXES: readonly { width: number; height: number }[] = Object.freeze([
  { width: 1920, height: 1080 },
  { width: 1280, height: 720 },
  { width: 960, height: 540 },
  { width: 768, height: 432 },
  { width: 640, height: 360 },
  { width: 416, height: 234 },
]);

/**
 * x264 CRF values of the trial grid, 6 apart (about a doubling of bitrate per step, x264's
 * rate-control rule of thumb: ±6 CRF ≈ ×0.5/×2 bitrate). 20 reaches visually transparent
 * quality on most content at the top resolution; 38 reaches below the 145 kbit/s floor at
 * the lowest.
 */
export const DEFAULT_CRF_VALUES: readonly number[] = Object.freeze([38, 32, 26, 20]);

/**
 * Grid extensions, tried only when the grid falls short (issue 13: hard content stopped at
 * VMAF 91.8 because the grid ended at CRF 20, and a hull that never came down to the floor
 * started the ladder above it):
 * - toward quality: CRF 17 then 14 at the largest resolution, while its best trial is below the
 *   saturation quality and under its bitrate cap (`trialBitrateCapBps`);
 * - toward the floor: CRF 44 then 50 at the smallest resolution, while no trial is at or below
 *   the floor bitrate.
 * Same 3-6 CRF spacing as the grid (±6 CRF ≈ ×2 bitrate, x264's rule of thumb).
 */
export const QUALITY_EXTENSION_CRFS: readonly number[] = Object.freeze([17, 14]);
export const FLOOR_EXTENSION_CRFS: readonly number[] = Object.freeze([44, 50]);

/**
 * Highest trial bitrate worth paying for at one resolution, bits/s: 1.5× the top bitrate
 * Apple's HLS Authoring Specification lists for that height (7.8 Mbit/s at 1080p, 4.5 Mbit/s
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
  /** Most sample windows. Default 10. */
  readonly maxWindows?: number;
  /** VMAF on every n-th frame of the sample. Default 6 (measured on BBB: within 0.1 VMAF of every frame). */
  readonly vmafSubsample?: number;
  /** Rung rules; default VMAF_RUNG_RULES or PSNR_RUNG_RULES by metric. */
  readonly rules?: RungRules;
  /** Also encode the fixed ladder's rungs on the sample (capped VBR, same preset) for comparison plots. */
  readonly includeFixed?: boolean;
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

/** One measured trial encode. */
export interface TrialPoint extends RdPoint {
  /** x264 CRF of the trial, or absent for a fixed-ladder (bitrate-targeted) trial. */
  readonly crf?: number;
  /** Target bitrate of a fixed-ladder trial, bits/s. */
  readonly targetBitrateBps?: number;
  readonly psnrDb: number;
  /** Absent for trials (they skip SSIM; no ladder decision reads it). */
  readonly ssim?: number;
  readonly vmaf?: number;
}

/** Everything the analysis found; stored in ladder.json. */
export interface LadderAnalysis {
  readonly metric: LadderMetric;
  readonly settings: {
    readonly trialPreset: string;
    readonly crfValues: readonly number[];
    /** CRF values tried beyond the grid (toward quality, toward the floor), when it fell short. */
    readonly extensionCrfs: readonly number[];
    readonly resolutions: readonly { width: number; height: number }[];
    readonly vmafSubsample: number;
    readonly vmafModel?: string;
    readonly rules: RungRules;
  };
  readonly sample: { readonly windows: readonly SampleWindow[]; readonly durationS: number; readonly frameRate: number };
  /** Every RD point, ascending resolution then bitrate. */
  readonly points: readonly TrialPoint[];
  /** Upper convex hull of `points`, ascending bitrate. */
  readonly hull: readonly TrialPoint[];
  /** Rungs chosen on the hull. */
  /** The chosen rungs, each with the CRF of its final capped-CRF encode (crfForBitrate). */
  readonly rungs: readonly (PlannedRung & { readonly crf?: number | undefined })[];
  /** Fixed-ladder rungs encoded on the same sample (when `includeFixed`). */
  readonly fixedPoints?: readonly TrialPoint[];
  /** Wall-clock seconds: sample extraction, trial encodes, trial quality measurement, total. */
  readonly timings: { readonly sampleS: number; readonly trialEncodeS: number; readonly trialQualityS: number; readonly totalS: number };
}

/** The source's own size joins the candidates when it is at least this much taller than the largest fitted box (our choice). */
export const NATIVE_CANDIDATE_RATIO = 1.1;

/**
 * Candidate trial resolutions for a source: each box fitted to the source's display aspect
 * ratio, never upscaling; plus the source's own size when no box comes within
 * NATIVE_CANDIDATE_RATIO of it (a 640x480 source would otherwise top out at 576x432) or
 * when it is smaller than every box.
 * @returns distinct sizes, largest first.
 */
export function candidateResolutions(source: { displayWidth: number; displayHeight: number }): { width: number; height: number }[] {
  const out: { width: number; height: number }[] = [];
  for (const box of PER_TITLE_RESOLUTION_BOXES) {
    const fit = fitToBox(source, box.width, box.height);
    if (!fit.upscales && !out.some((r) => r.height === fit.height)) out.push({ width: fit.width, height: fit.height });
  }
  const native = { width: toEven(source.displayWidth), height: toEven(source.displayHeight) };
  if (out.length === 0 || native.height >= out[0]!.height * NATIVE_CANDIDATE_RATIO) out.unshift(native);
  return out;
}

/**
 * The x264 CRF that gives `bitrateBps` at a resolution, from that resolution's CRF trials:
 * linear in log(bitrate) between the two trials that bracket it (bitrate falls about
 * exponentially with CRF: "+6 roughly halves the bitrate", FFmpeg's H.264 encoding guide), held
 * at the nearest trial's CRF beyond them. The final encode runs at this CRF capped by the rung's
 * maxrate ("capped CRF", as per-title services describe it, e.g. JW Player's and Mux's
 * per-title encoding notes). Rounded to 0.1 (x264 takes fractional CRF).
 * @returns undefined when the resolution has no CRF trial.
 */
export function crfForBitrate(points: readonly TrialPoint[], size: { width: number; height: number }, bitrateBps: number): number | undefined {
  const trials = points.filter((p) => p.crf !== undefined && p.width === size.width && p.height === size.height).sort((a, b) => a.bitrateBps - b.bitrateBps);
  if (trials.length === 0) return undefined;
  if (bitrateBps <= trials[0]!.bitrateBps) return trials[0]!.crf;
  if (bitrateBps >= trials.at(-1)!.bitrateBps) return trials.at(-1)!.crf;
  for (let i = 1; i < trials.length; i++) {
    const [a, b] = [trials[i - 1]!, trials[i]!];
    if (bitrateBps > b.bitrateBps) continue;
    const t = (Math.log(bitrateBps) - Math.log(a.bitrateBps)) / (Math.log(b.bitrateBps) - Math.log(a.bitrateBps));
    return Math.round((a.crf! + t * (b.crf! - a.crf!)) * 10) / 10;
  }
  return trials.at(-1)!.crf;
}

/** Share of a trial's time its encode takes, for progress (the quality measurement, VMAF at the master's size, is the rest; on a 1080p60 master trial encodes took 249 s and their quality 1,413 s, issue #13). */
const TRIAL_ENCODE_SHARE = 0.2;

/**
 * Analyses a title and picks its per-title ladder. Writes only to a temporary folder,
 * removed before returning.
 * @param probed the master's probe (inspectMaster); must have a video stream.
 * @param frameRate output frame rate, frames/s.
 * @throws FfmpegError when a trial fails; EncodeCancelledError when `signal` aborts;
 *         RangeError when the master has no video.
 */
export async function analyzeTitle(
  masterPath: string,
  probed: ProbeResult,
  frameRate: number,
  paths: FfmpegPaths,
  options: PerTitleOptions,
): Promise<LadderAnalysis> {
  const log = options.log ?? silentLogger;
  const video = probed.video;
  if (!video) throw new RangeError('per-title analysis needs a video stream');
  const started = performance.now();
  const metric: LadderMetric = options.vmafModelPath ? 'vmaf' : 'psnr';
  const rules = options.rules ?? (metric === 'vmaf' ? VMAF_RUNG_RULES : PSNR_RUNG_RULES);
  const trialPreset = options.trialPreset ?? 'veryfast';
  const crfValues = [...(options.crfValues ?? DEFAULT_CRF_VALUES)].sort((a, b) => b - a); // cheapest first
  const vmafSubsample = Math.max(1, Math.floor(options.vmafSubsample ?? 6));
  const windowS = options.windowS ?? options.segmentDurationS;
  const resolutions = candidateResolutions(video).reverse(); // smallest first
  const reference = { width: toEven(video.displayWidth), height: toEven(video.displayHeight) };
  const windows = sampleWindows(probed.durationS, windowS, options.sampleFraction ?? 0.2, options.maxWindows ?? 10);
  const fixedRungs: LadderRung[] = options.includeFixed ? fixedLadderFor(video) : [];
  // Progress counts trials, the sample's extraction as one more; within a trial, the encode as
  // TRIAL_ENCODE_SHARE of it and the quality measurement as the rest (ffmpeg's out_time).
  let totalTrials = 1 + resolutions.length * crfValues.length + fixedRungs.length;
  let doneTrials = 0;
  // Extensions add trials as they go: progress never steps back for it.
  let reported = 0;
  const tick = (partial = 0) => {
    reported = Math.max(reported, Math.min(1, (doneTrials + partial) / totalTrials));
    options.onProgress?.(reported);
  };
  const extraTrials = (n: number) => {
    totalTrials += n;
  };

  const work = await fs.mkdtemp(path.join(options.workParent ?? os.tmpdir(), options.workParent ? '.per-title-' : 'vod-per-title-'));
  const timings = { sampleS: 0, trialEncodeS: 0, trialQualityS: 0, totalS: 0 };
  try {
    options.onProgress?.(0);
    const samplePath = path.join(work, 'sample.mp4');
    let t0 = performance.now();
    await extractSample(masterPath, windows, reference, frameRate, samplePath, paths, options.signal, (f) => tick(f));
    timings.sampleS = (performance.now() - t0) / 1000;
    doneTrials += 1;
    tick();
    const sampleFrames = (await probePackets(samplePath, paths)).length;
    const sampleDurationS = sampleFrames / frameRate;
    const gop = Math.max(1, Math.round(frameRate * windowS));
    const run = options.signal ? { signal: options.signal } : {};

    const trial = async (size: { width: number; height: number }, rate: { crf: number } | { bitrateBps: number }, name: string): Promise<TrialPoint> => {
      const out = path.join(work, `${name}.mp4`);
      const rateOptions =
        'crf' in rate
          ? ['-crf', String(rate.crf)]
          : ['-b:v', String(rate.bitrateBps), '-maxrate', String(Math.round(rate.bitrateBps * 1.5)), '-bufsize', String(rate.bitrateBps * 2)];
      t0 = performance.now();
      await runFfmpeg(
        {
          inputs: [{ source: samplePath }],
          outputOptions: [
            '-map', '0:v:0',
            '-vf', `scale=${size.width}:${size.height}:flags=bicubic,setsar=1`,
            '-c:v', 'libx264', '-profile:v', 'high', '-preset', trialPreset, '-pix_fmt', 'yuv420p', ...rateOptions,
            // Same GOP structure as the final encodes: a closed GOP per window.
            '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-x264-params', 'open-gop=0',
          ],
          output: out,
        },
        paths,
        { ...run, durationS: sampleDurationS, onProgress: (f) => tick(f * TRIAL_ENCODE_SHARE) },
      );
      timings.trialEncodeS += (performance.now() - t0) / 1000;
      const bitrateBps = await measuredBitrate(out, sampleFrames, frameRate, paths);
      t0 = performance.now();
      const scores: QualityScores = await measureQuality(
        {
          distorted: out,
          reference: samplePath,
          ...reference,
          frameRate,
          vmafSubsample,
          ssim: false,
          ...(options.vmafModelPath ? { vmafModelPath: options.vmafModelPath } : {}),
        },
        paths,
        { ...run, durationS: sampleDurationS, onProgress: (f) => tick(TRIAL_ENCODE_SHARE + f * (1 - TRIAL_ENCODE_SHARE)) },
      );
      timings.trialQualityS += (performance.now() - t0) / 1000;
      await fs.rm(out, { force: true });
      doneTrials += 1;
      tick();
      return {
        width: size.width,
        height: size.height,
        bitrateBps,
        quality: scoreOf(scores, metric),
        psnrDb: scores.psnrDb,
        ...(scores.ssim !== undefined ? { ssim: scores.ssim } : {}),
        ...(scores.vmaf !== undefined ? { vmaf: scores.vmaf } : {}),
        ...('crf' in rate ? { crf: rate.crf } : { targetBitrateBps: rate.bitrateBps }),
      };
    };

    const points: TrialPoint[] = [];
    for (const size of resolutions) {
      for (const [i, crf] of crfValues.entries()) {
        const p = await trial(size, { crf }, `trial_${size.height}p_crf${crf}`);
        points.push(p);
        log.debug({ height: size.height, crf, bitrateBps: Math.round(p.bitrateBps), quality: p.quality }, 'trial point');
        if (p.quality >= rules.saturationQuality || p.bitrateBps > rules.maxBitrateBps) {
          // More bits at this resolution buy nothing visible (or exceed the cap): skip the rest.
          doneTrials += crfValues.length - 1 - i;
          tick();
          break;
        }
      }
    }
    // Extensions where the grid fell short (QUALITY_EXTENSION_CRFS, FLOOR_EXTENSION_CRFS).
    const largest = resolutions.at(-1)!;
    const atLargest = () => points.filter((p) => p.height === largest.height);
    const cap = trialBitrateCapBps(largest.height, frameRate, rules.maxBitrateBps);
    for (const crf of QUALITY_EXTENSION_CRFS) {
      const best = atLargest().reduce((a, b) => (b.quality > a.quality ? b : a));
      if (best.quality >= rules.saturationQuality || best.bitrateBps >= cap || (best.crf !== undefined && best.crf <= crf)) break;
      extraTrials(1);
      const p = await trial(largest, { crf }, `trial_${largest.height}p_crf${crf}`);
      points.push(p);
      log.debug({ height: largest.height, crf, bitrateBps: Math.round(p.bitrateBps), quality: p.quality }, 'trial point (toward quality)');
    }
    const smallest = resolutions[0]!;
    for (const crf of FLOOR_EXTENSION_CRFS) {
      if (points.some((p) => p.bitrateBps <= rules.floorBitrateBps) || crfValues.includes(crf)) break;
      extraTrials(1);
      const p = await trial(smallest, { crf }, `trial_${smallest.height}p_crf${crf}`);
      points.push(p);
      log.debug({ height: smallest.height, crf, bitrateBps: Math.round(p.bitrateBps), quality: p.quality }, 'trial point (toward the floor)');
    }
    const fixedPoints: TrialPoint[] = [];
    for (const rung of fixedRungs) {
      fixedPoints.push(await trial(rung, { bitrateBps: rung.bitrateBps }, `fixed_${rung.height}p_${rung.bitrateBps}`));
    }

    const hull = upperConvexHull(points);
    const rungs = selectRungs(hull, rules).map((r) => ({ ...r, crf: crfForBitrate(points, r, r.bitrateBps) }));
    timings.totalS = (performance.now() - started) / 1000;
    log.info({ metric, points: points.length, hull: hull.length, rungs: rungs.length, analysisS: Math.round(timings.totalS * 10) / 10 }, 'per-title ladder chosen');
    return {
      metric,
      settings: {
        trialPreset,
        crfValues,
        extensionCrfs: [...new Set(points.filter((p) => p.crf !== undefined && !crfValues.includes(p.crf)).map((p) => p.crf!))],
        resolutions: [...resolutions].reverse(),
        vmafSubsample,
        ...(options.vmafModelPath ? { vmafModel: path.basename(options.vmafModelPath) } : {}),
        rules,
      },
      sample: { windows, durationS: sampleDurationS, frameRate },
      points: points.sort((a, b) => a.height - b.height || a.bitrateBps - b.bitrateBps),
      hull,
      rungs,
      ...(options.includeFixed ? { fixedPoints } : {}),
      timings,
    };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
