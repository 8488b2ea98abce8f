/**
 * Full-reference quality metrics of an encode against its source, measured by ffmpeg's
 * filters in one pass: PSNR and SSIM unless turned off, VMAF when a model file is configured
 * (libvmaf; the bundled ffmpeg has the filter but no model). Several encodes of one source
 * are measured in one process, the source decoded once (measureFrameScoresBatch).
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
import { DECODED_SAMPLE_MAX_BYTES, DECODED_SAMPLE_MAX_FREE_SHARE } from './per-title-sample.js';
import { batchGraph, frameSampleOf, KEPT_PER_SAMPLE, referenceGraph, referenceInputs } from './quality-graph.js';

/** Quality of one encode, averaged over its frames. */
export interface QualityScores {
  /**
   * Luma PSNR in dB, from the mean luma MSE over the compared frames (all of them, or a frame
   * sample's kept frames; ffmpeg psnr filter's `y:` summary); capped at 100 dB.
   */
  readonly psnrDb: number;
  /** Mean luma SSIM over the compared frames, in [0, 1]; absent when not measured (QualityMeasureSpec.ssim). */
  readonly ssim?: number;
  /** Mean per-frame VMAF (0..100) over the measured frames; absent without a model. */
  readonly vmaf?: number;
  /** Frames compared (with a frame sample, the kept frames: three per sampled frame). */
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
  /** Absent when PSNR was not measured. */
  readonly mseY?: readonly number[];
  /** Absent when SSIM was not measured. */
  readonly ssim?: readonly number[];
  readonly vmaf?: readonly number[];
}

/** The metric a ladder is built on: VMAF when a model is configured, else PSNR. */
export type LadderMetric = 'vmaf' | 'psnr';

/** A stretch of a file, s. */
export interface TimeWindow {
  readonly startS: number;
  readonly durationS: number;
}

/** What every comparison of a batch shares: the reference, the frame grid and the metrics. */
export interface QualityReferenceSpec {
  /** The source the encodes were made from (any file ffmpeg reads). */
  readonly reference: string;
  /**
   * The parts of the reference the encodes cover, concatenated in order (a chunk: one window; the
   * per-title sample: several), each read with input seeking as the encode read it. Unset = the
   * whole reference.
   */
  readonly referenceWindows?: readonly TimeWindow[];
  /** Display size of the reference in pixels; both sides are brought to it (bicubic). */
  readonly width: number;
  readonly height: number;
  /** Both sides are resampled to this constant frame rate (frames/s) so frames pair up. */
  readonly frameRate: number;
  /** VMAF model (`.pkl` with its `.pkl.model` beside it); unset = no VMAF. */
  readonly vmafModelPath?: string;
  /**
   * Compute VMAF on every n-th frame only (libvmaf `n_subsample`; default 1 = every frame; see
   * vmafSubsampleFor). PSNR and SSIM always use every frame. Ignored with `frameSample`.
   */
  readonly vmafSubsample?: number;
  /**
   * Compare only every n-th frame and its two neighbours (VMAF's motion2 feature is the smaller of
   * a frame's motion against the frame before and the frame after's against it: keeping the
   * triple gives the scored frame the score it has when every frame is fed; tested): both sides
   * drop the other frames before they are scaled, PSNR and SSIM see the kept triples, VMAF scores
   * the n-th frames. With VMAF and several encodes, the reference's kept frames are decoded once
   * for all of them (prepareReferenceFrames). Unset, 1 or 2 = every frame. The published rungs
   * use it (rungFrameSample).
   */
  readonly frameSample?: number;
  /** Seconds of the reference compared (sizes prepareReferenceFrames' file); default the windows' total. */
  readonly referenceDurationS?: number;
  /** Measure PSNR (default true). The per-title trials built on VMAF skip it. */
  readonly psnr?: boolean;
  /** Measure SSIM too (default true). The per-title trials skip it: no ladder decision reads it, and at 1080p it costs more than PSNR. */
  readonly ssim?: boolean;
}

export interface QualityMeasureSpec extends Omit<QualityReferenceSpec, 'referenceWindows'> {
  /** The encode to judge (any file ffmpeg reads). */
  readonly distorted: string;
  /**
   * The part of the reference the encode covers (a chunk): from `startS`, for `durationS`
   * seconds (input seeking, as the chunk's encode did). Unset = the whole reference.
   */
  readonly referenceWindow?: TimeWindow;
}

/**
 * Frames per second of content that VMAF is computed on by default in the per-title trials (the
 * published rungs use RUNG_QUALITY_FRAMES_PER_S, measure-stage.ts): libvmaf's `n_subsample`
 * becomes round(frame rate / this), so a 24 fps
 * title keeps every 6th frame (measured on Big Buck Bunny: within 0.1 VMAF of every frame) and a
 * 60 fps title every 15th instead of paying 2.5× for the same seconds. VMAF's cost is per frame
 * (about 0.5 s per 1080p frame with the bundled libvmaf 1.x on 2 cores), so this sets the
 * measurement's cost per second of content whatever the frame rate. Our choice; the error it
 * causes is measured in docs/per-title.md.
 */
export const VMAF_FRAMES_PER_S = 4;

/** libvmaf `n_subsample` for a frame rate: every round(frameRate / framesPerS)-th frame, at least 1. */
export function vmafSubsampleFor(frameRate: number, framesPerS = VMAF_FRAMES_PER_S): number {
  return Math.max(1, Math.round(frameRate / framesPerS));
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
  const all = <K extends keyof FrameScores>(key: K, name: string): number[] | undefined => {
    const withIt = parts.filter((p) => p[key]).length;
    if (withIt !== 0 && withIt !== parts.length) throw new Error(`some parts were measured with ${name} and some without`);
    return withIt ? parts.flatMap((p) => p[key]!) : undefined;
  };
  const [mseY, ssim, vmaf] = [all('mseY', 'PSNR'), all('ssim', 'SSIM'), all('vmaf', 'VMAF')];
  return { ...(mseY ? { mseY } : {}), ...(ssim ? { ssim } : {}), ...(vmaf ? { vmaf } : {}) };
}

/**
 * Summarises per-frame scores: PSNR from the mean luma MSE (every frame weighs the same, so
 * chunks weigh by their frame count), mean SSIM and VMAF, and the 5th-percentile frame of each.
 * @throws Error when PSNR was not measured or there are no frames.
 */
export function summarizeFrames(frames: FrameScores): QualityScores {
  if (!frames.mseY) throw new Error('PSNR was not measured');
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
 * Decodes the reference's kept frames (frameSample > 1) once, prepared as every comparison needs
 * them (quality-graph.ts framePrep), into raw frames in a NUT file in `dir`, so that the encodes of a batch
 * measured in separate processes (VMAF) do not each decode and scale the reference again (a
 * noisy 1080p30 master decodes at about real time on this 2-core machine, docs/per-title.md).
 * @returns the file, or undefined when it would exceed the trials' decoded-sample limits
 *          (DECODED_SAMPLE_MAX_BYTES, half the free space): the processes then decode the
 *          reference themselves.
 * @throws FfmpegError; EncodeCancelledError.
 */
export async function prepareReferenceFrames(spec: QualityReferenceSpec, durationS: number, dir: string, paths: FfmpegPaths, run: RunOptions = {}): Promise<string | undefined> {
  const n = frameSampleOf(spec);
  const kept = Math.ceil((KEPT_PER_SAMPLE * durationS * spec.frameRate) / n) + KEPT_PER_SAMPLE;
  const bytes = kept * spec.width * spec.height * 1.5;
  const free = await fs.statfs(dir).then((st) => st.bavail * st.bsize).catch(() => 0);
  if (bytes > DECODED_SAMPLE_MAX_BYTES || bytes > free * DECODED_SAMPLE_MAX_FREE_SHARE) return undefined;
  const graph = referenceGraph(spec, 'null[ref]');
  const out = path.join(dir, 'reference-frames.nut');
  // -vsync 0: keep the kept frames' timestamps (gaps included); the comparisons pair frames by them.
  await runFfmpeg({ inputs: referenceInputs(spec), outputOptions: ['-filter_complex', graph, '-map', '[ref]', '-vsync', '0', '-c:v', 'rawvideo', '-an', '-sn', '-dn', '-f', 'nut'], output: out }, paths, { ...run, durationS });
  return out;
}

/**
 * Measures several encodes of the same reference, frame by frame: PSNR (unless off), SSIM
 * (unless off) and, with a model, VMAF. Without VMAF in one ffmpeg process, so the reference is
 * decoded and scaled once for all of them; with VMAF one process per encode (libvmaf 1.x in the
 * bundled ffmpeg crashes with two instances in a process).
 * @returns per-frame scores of each distorted file, in the order given.
 * @throws RangeError when every metric is off or no file is given; FfmpegError when ffmpeg
 *         cannot read an input or the model; Error when the filters compared no frames;
 *         EncodeCancelledError when `run.signal` aborts.
 */
export async function measureFrameScoresBatch(spec: QualityReferenceSpec, distorted: readonly string[], paths: FfmpegPaths, run: RunOptions = {}): Promise<FrameScores[]> {
  if (distorted.length === 0) throw new RangeError('no encode to measure');
  if (spec.vmafModelPath && distorted.length > 1) {
    // The bundled ffmpeg's libvmaf 1.x is not reentrant: two libvmaf filters in one process
    // crash it (double free). With VMAF, each encode gets its own process; with a frame sample
    // they read the reference's kept frames decoded once (prepareReferenceFrames), else each
    // decodes the reference. Progress runs over the batch, the preparation counted as one encode.
    const steps = distorted.length + 1;
    const step = (k: number) => ({ ...run, ...(run.onProgress ? { onProgress: (f: number, t: number) => run.onProgress!((k + f) / steps, t) } : {}) });
    const durationS = spec.referenceDurationS ?? spec.referenceWindows?.reduce((t, w) => t + w.durationS, 0);
    const dir = frameSampleOf(spec) > 1 && durationS !== undefined ? await fs.mkdtemp(path.join(os.tmpdir(), 'vod-reference-')) : undefined;
    try {
      const prepared = dir ? await prepareReferenceFrames(spec, durationS!, dir, paths, step(0)) : undefined;
      const out: FrameScores[] = [];
      for (const [j, file] of distorted.entries()) out.push(...(await measureOneProcess(spec, [file], paths, step(j + 1), prepared)));
      return out;
    } finally {
      if (dir) await fs.rm(dir, { recursive: true, force: true });
    }
  }
  return measureOneProcess(spec, distorted, paths, run);
}

/** @param prepared the reference's kept frames (prepareReferenceFrames), read instead of the reference. */
async function measureOneProcess(spec: QualityReferenceSpec, distorted: readonly string[], paths: FfmpegPaths, run: RunOptions, prepared?: string): Promise<FrameScores[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-quality-'));
  try {
    const files = (j: number) => ({ psnr: path.join(dir, `psnr${j}.log`), ssim: path.join(dir, `ssim${j}.log`), vmafLog: path.join(dir, `vmaf${j}.json`) });
    let model: string | undefined;
    if (spec.vmafModelPath) {
      // Link the model (and its .model companion) under a plain name: the filter graph then
      // needs no escaping of whatever characters the configured path holds.
      model = path.join(dir, 'vmaf.pkl');
      await fs.symlink(path.resolve(spec.vmafModelPath), model);
      await fs.symlink(`${path.resolve(spec.vmafModelPath)}.model`, `${model}.model`);
    }
    const graph = batchGraph(spec, distorted.length, files, model, prepared !== undefined);
    await runFfmpeg(
      {
        inputs: [...(prepared !== undefined ? [{ source: prepared }] : referenceInputs(spec)), ...distorted.map((source) => ({ source }))],
        outputOptions: ['-filter_complex', graph, '-an', '-sn', '-dn', '-f', 'null'],
        output: '/dev/null',
      },
      paths,
      run,
    );
    const out: FrameScores[] = [];
    for (let j = 0; j < distorted.length; j++) {
      const f = files(j);
      out.push({
        ...(spec.psnr !== false ? { mseY: parsePsnrFrames(await fs.readFile(f.psnr, 'utf8')) } : {}),
        ...(spec.ssim !== false ? { ssim: parseSsimFrames(await fs.readFile(f.ssim, 'utf8')) } : {}),
        ...(model ? { vmaf: parseVmafFrames(await fs.readFile(f.vmafLog, 'utf8')) } : {}),
      });
    }
    return out;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * Measures PSNR, SSIM and (with a model) VMAF of `distorted` against `reference` (or the
 * reference's `referenceWindow`), frame by frame.
 * @returns the per-frame scores, in frame order.
 * @throws as measureFrameScoresBatch.
 */
export async function measureFrameScores(spec: QualityMeasureSpec, paths: FfmpegPaths, run: RunOptions = {}): Promise<FrameScores> {
  const { distorted, referenceWindow, ...shared } = spec;
  const [scores] = await measureFrameScoresBatch({ ...shared, ...(referenceWindow ? { referenceWindows: [referenceWindow] } : {}) }, [distorted], paths, run);
  return scores!;
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
