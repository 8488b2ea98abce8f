/**
 * Full-reference quality metrics of an encode against its source, measured by ffmpeg's
 * filters in one pass: PSNR and SSIM always, VMAF when a model file is configured
 * (libvmaf; the bundled ffmpeg has the filter but no model).
 *
 * As Netflix compares (Netflix Technology Blog, "Per-Title Encode Optimization", 2015, and
 * the VMAF README), the distorted video is scaled back to the reference's display
 * resolution with a bicubic filter before comparison, so a 360p rung is judged as it looks
 * on the same screen as the 1080p one.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runFfmpeg, type FfmpegPaths, type RunOptions } from './ffmpeg.js';

/** Quality of one encode, averaged over its frames. */
export interface QualityScores {
  /** Luma PSNR in dB, from the mean luma MSE over all frames (ffmpeg psnr filter's `y:` summary); capped at 100 dB. */
  readonly psnrDb: number;
  /** Mean luma SSIM over all frames, in [0, 1]; absent when not measured (QualityMeasureSpec.ssim). */
  readonly ssim?: number;
  /** Mean per-frame VMAF (0..100) over the measured frames; absent without a model. */
  readonly vmaf?: number;
  /** Frames compared. */
  readonly frames: number;
  /**
   * The 5th-percentile frame of each metric (nearest rank): the bad moments a viewer notices
   * and a mean hides. PSNR of the frame, dB; SSIM; VMAF when measured.
   */
  readonly low?: { readonly psnrDb: number; readonly ssim?: number; readonly vmaf?: number };
}

/**
 * Per-frame scores of one comparison, in frame order: luma MSE and luma SSIM of every frame,
 * VMAF of every measured frame (every n-th with subsampling). Scores of consecutive parts of a
 * title (chunks) concatenate into the title's (concatFrameScores).
 */
export interface FrameScores {
  readonly mseY: readonly number[];
  /** Absent when SSIM was not measured. */
  readonly ssim?: readonly number[];
  readonly vmaf?: readonly number[];
}

/** The metric a ladder is built on: VMAF when a model is configured, else PSNR. */
export type LadderMetric = 'vmaf' | 'psnr';

export interface QualityMeasureSpec {
  /** The encode to judge (any file ffmpeg reads). */
  readonly distorted: string;
  /** The source it was encoded from. */
  readonly reference: string;
  /**
   * The part of the reference the encode covers (a chunk): from `startS`, for `durationS`
   * seconds (input seeking, as the chunk's encode did). Unset = the whole reference.
   */
  readonly referenceWindow?: { readonly startS: number; readonly durationS: number };
  /** Display size of the reference in pixels; both inputs are brought to it (bicubic). */
  readonly width: number;
  readonly height: number;
  /** Both inputs are resampled to this constant frame rate (frames/s) so frames pair up. */
  readonly frameRate: number;
  /** VMAF model (`.pkl` with its `.pkl.model` beside it); unset = no VMAF. */
  readonly vmafModelPath?: string;
  /**
   * Compute VMAF on every n-th frame only (libvmaf `n_subsample`; default 1 = every frame).
   * PSNR and SSIM always use every frame.
   */
  readonly vmafSubsample?: number;
  /** Measure SSIM too (default true). The per-title trials skip it: no ladder decision reads it, and at 1080p it costs more than PSNR. */
  readonly ssim?: boolean;
}

/** Largest PSNR reported, dB: identical frames have zero MSE and an infinite PSNR. */
export const PSNR_CAP_DB = 100;

/** The percentile of the `low` scores: the 5th-percentile frame. */
export const LOW_FRAME_PERCENTILE = 5;

/**
 * Luma PSNR in dB from a mean squared error on 8-bit samples: 10·log10(255² / MSE)
 * (ITU-T J.340 / the usual definition), capped at PSNR_CAP_DB.
 */
export function psnrFromMse(mse: number): number {
  if (!(mse > 0)) return PSNR_CAP_DB;
  return Math.min(PSNR_CAP_DB, 10 * Math.log10((255 * 255) / mse));
}

/**
 * One per-frame field of an ffmpeg psnr/ssim `stats_file` (one line per frame), in frame order.
 * @throws Error naming `filter` when no line carries the field.
 */
function statsField(text: string, field: RegExp, filter: string): number[] {
  const values: number[] = [];
  for (const line of text.split('\n')) {
    const m = field.exec(line);
    if (m) values.push(Number(m[1]));
  }
  if (values.length === 0) throw new Error(`the ${filter} filter compared no frames`);
  return values;
}

/** Per-frame luma MSE from the psnr filter's `stats_file` text. @throws Error when it holds no frame. */
export function parsePsnrFrames(text: string): number[] {
  return statsField(text, /\bmse_y:([0-9.]+)/, 'psnr');
}

/** Per-frame luma SSIM from the ssim filter's `stats_file` text. @throws Error when it holds no frame. */
export function parseSsimFrames(text: string): number[] {
  return statsField(text, /\bY:([0-9.]+)/, 'ssim');
}

/** Per-frame VMAF from libvmaf's JSON log (`frames[].metrics.vmaf`). @throws Error when it scored no frame. */
export function parseVmafFrames(text: string): number[] {
  const log = JSON.parse(text) as { frames?: { metrics?: { vmaf?: number } }[] };
  const scores = (log.frames ?? []).map((f) => f.metrics?.vmaf).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (scores.length === 0) throw new Error('libvmaf scored no frames');
  return scores;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The p-th percentile by the nearest-rank method: the smallest value with at least p% of the
 * values at or below it (ceil(p/100 · n)-th in ascending order).
 * @throws RangeError on an empty list or p outside (0, 100].
 */
export function nearestRankPercentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('no values');
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile ${p} is outside (0, 100]`);
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}

/**
 * Concatenates per-frame scores of consecutive parts (chunks, in order) into one title's.
 * @throws Error when some parts carry VMAF and others do not.
 */
export function concatFrameScores(parts: readonly FrameScores[]): FrameScores {
  const withVmaf = parts.filter((p) => p.vmaf).length;
  if (withVmaf !== 0 && withVmaf !== parts.length) throw new Error('some parts were measured with VMAF and some without');
  const withSsim = parts.filter((p) => p.ssim).length;
  if (withSsim !== 0 && withSsim !== parts.length) throw new Error('some parts were measured with SSIM and some without');
  return {
    mseY: parts.flatMap((p) => p.mseY),
    ...(withSsim ? { ssim: parts.flatMap((p) => p.ssim!) } : {}),
    ...(withVmaf ? { vmaf: parts.flatMap((p) => p.vmaf!) } : {}),
  };
}

/**
 * Summarises per-frame scores: PSNR from the mean luma MSE (every frame weighs the same, so
 * chunks weigh by their frame count), mean SSIM and VMAF, and the 5th-percentile frame of each.
 * @throws Error when there are no frames.
 */
export function summarizeFrames(frames: FrameScores): QualityScores {
  if (frames.mseY.length === 0) throw new Error('no frames were compared');
  const vmaf = frames.vmaf && frames.vmaf.length > 0 ? frames.vmaf : undefined;
  const ssim = frames.ssim && frames.ssim.length > 0 ? frames.ssim : undefined;
  // The worst PSNR frame is the one with the largest MSE: the (100 − p)th percentile of MSE.
  const lowPsnr = psnrFromMse(-nearestRankPercentile(frames.mseY.map((m) => -m), LOW_FRAME_PERCENTILE));
  return {
    psnrDb: psnrFromMse(mean(frames.mseY)),
    ...(ssim ? { ssim: mean(ssim) } : {}),
    ...(vmaf ? { vmaf: mean(vmaf) } : {}),
    frames: frames.mseY.length,
    low: {
      psnrDb: lowPsnr,
      ...(ssim ? { ssim: nearestRankPercentile(ssim, LOW_FRAME_PERCENTILE) } : {}),
      ...(vmaf ? { vmaf: nearestRankPercentile(vmaf, LOW_FRAME_PERCENTILE) } : {}),
    },
  };
}

/**
 * The filter graph: both inputs restamped from zero, resampled to the same constant frame
 * rate, scaled (bicubic) to the reference display size, then psnr → ssim (unless off) →
 * libvmaf (with a model) chained, each passing its first input through.
 */
function qualityGraph(spec: QualityMeasureSpec, files: { psnr: string; ssim: string; vmafLog: string; model?: string }): string {
  const fps = Number(spec.frameRate.toFixed(3));
  const prep = `setpts=PTS-STARTPTS,fps=fps=${fps},scale=${spec.width}:${spec.height}:flags=bicubic,setsar=1,format=yuv420p`;
  const sub = Math.max(1, Math.floor(spec.vmafSubsample ?? 1));
  const filters = [
    `psnr=stats_file=${files.psnr}`,
    ...(spec.ssim !== false ? [`ssim=stats_file=${files.ssim}`] : []),
    ...(files.model ? [`libvmaf=model_path=${files.model}:log_path=${files.vmafLog}:log_fmt=json:n_threads=${os.availableParallelism()}:n_subsample=${sub}`] : []),
  ];
  const refLabels = filters.map((_, i) => `[r${i}]`).join('');
  const parts = [`[0:v]${prep}[d0]`, `[1:v]${prep},${filters.length > 1 ? `split=${filters.length}${refLabels}` : 'null[r0]'}`];
  filters.forEach((f, i) => parts.push(`[d${i}][r${i}]${f}${i < filters.length - 1 ? `[d${i + 1}]` : ''}`));
  return parts.join(';');
}

/**
 * Measures PSNR, SSIM and (with a model) VMAF of `distorted` against `reference` (or the
 * reference's `referenceWindow`), frame by frame.
 * @returns the per-frame scores, in frame order.
 * @throws FfmpegError when ffmpeg cannot read either input or the model; Error when the
 *         filters compared no frames; EncodeCancelledError when `run.signal` aborts.
 */
export async function measureFrameScores(spec: QualityMeasureSpec, paths: FfmpegPaths, run: RunOptions = {}): Promise<FrameScores> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-quality-'));
  try {
    const files = { psnr: path.join(dir, 'psnr.log'), ssim: path.join(dir, 'ssim.log'), vmafLog: path.join(dir, 'vmaf.json'), model: undefined as string | undefined };
    if (spec.vmafModelPath) {
      // Link the model (and its .model companion) under a plain name: the filter graph then
      // needs no escaping of whatever characters the configured path holds.
      files.model = path.join(dir, 'vmaf.pkl');
      await fs.symlink(path.resolve(spec.vmafModelPath), files.model);
      await fs.symlink(`${path.resolve(spec.vmafModelPath)}.model`, `${files.model}.model`);
    }
    const w = spec.referenceWindow;
    const referenceOptions = w ? [...(w.startS > 0 ? ['-ss', w.startS.toFixed(6)] : []), '-t', w.durationS.toFixed(6)] : [];
    await runFfmpeg(
      {
        inputs: [{ source: spec.distorted }, { source: spec.reference, options: referenceOptions }],
        outputOptions: ['-filter_complex', qualityGraph(spec, files), '-an', '-sn', '-dn', '-f', 'null'],
        output: '/dev/null',
      },
      paths,
      run,
    );
    return {
      mseY: parsePsnrFrames(await fs.readFile(files.psnr, 'utf8')),
      ...(spec.ssim !== false ? { ssim: parseSsimFrames(await fs.readFile(files.ssim, 'utf8')) } : {}),
      ...(files.model ? { vmaf: parseVmafFrames(await fs.readFile(files.vmafLog, 'utf8')) } : {}),
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * Measures PSNR, SSIM and (with a model) VMAF of `distorted` against `reference`.
 * @returns mean scores over the compared frames and the 5th-percentile frame (summarizeFrames).
 * @throws as measureFrameScores.
 */
export async function measureQuality(spec: QualityMeasureSpec, paths: FfmpegPaths, run: RunOptions = {}): Promise<QualityScores> {
  return summarizeFrames(await measureFrameScores(spec, paths, run));
}

/** The score a ladder is built on, from a set of scores. */
export function scoreOf(scores: Pick<QualityScores, 'psnrDb' | 'vmaf'>, metric: LadderMetric): number {
  if (metric === 'vmaf') {
    if (scores.vmaf === undefined) throw new Error('VMAF was not measured (no model configured)');
    return scores.vmaf;
  }
  return scores.psnrDb;
}
