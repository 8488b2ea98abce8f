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
import { LIBVMAF_MALLOC_ENV } from '../util/transparent-huge-pages.js';
import { batchGraph, FRAME_SAMPLE_PAD, frameSampleOf, KEPT_PER_SAMPLE, MIN_FRAME_SAMPLE, referenceGraph, referenceInputs } from './quality-graph.js';

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
   * Compute VMAF on every n-th frame only (libvmaf `n_subsample`; default 1 = every frame).
   * PSNR and SSIM always use every frame. Ignored with `frameSample`.
   */
  readonly vmafSubsample?: number;
  /**
   * Compare only frames o + k·n (o = floor(n / 2), the middle of each stride) and their two
   * neighbours (VMAF's motion2 feature is the smaller of a frame's motion against the frame before
   * and the frame after's against it: keeping the triple gives the scored frame the score it has
   * when every frame is fed; tested): both sides drop the other frames before they are scaled,
   * PSNR and SSIM see the kept triples, VMAF scores their middle frames (quality-graph.ts
   * selectKept, FRAME_SAMPLE_PAD). With VMAF and several encodes, the reference's kept frames are
   * decoded once for all of them (prepareReferenceFrames, or `preparedReference`). Unset or below
   * MIN_FRAME_SAMPLE (6) = every frame; a span shorter than half a stride is compared on every
   * frame too (effectiveSpec). The published rungs (rungFrameSample) and the per-title trials
   * (trialVmafSubsample) use it.
   */
  readonly frameSample?: number;
  /**
   * The reference's kept frames already decoded (frameSample > 1): a raw NUT file that
   * prepareReferenceFrames wrote, or a ladder encode's referenceTap (rendition.ts) that decoded
   * the same window of the master for its encodes. Read instead of the reference.
   */
  readonly preparedReference?: string;
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
 * Every n-th frame for about `framesPerS` scored frames per second of content: n =
 * round(frameRate / framesPerS), at least 1 (libvmaf `n_subsample`, or a frameSample).
 */
export function vmafSubsampleFor(frameRate: number, framesPerS: number): number {
  return Math.max(1, Math.round(frameRate / framesPerS));
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * A frame sample's stride near `n` that shares no factor with `period` (the keyframe interval in
 * frames): n, then n + 1, n − 1, n + 2, … (never below 1). A stride that divides the keyframe
 * interval samples the same positions of every GOP — on 24 fps with 4 s segments, every 24th
 * frame is every 4th keyframe and never a frame next to one — while a coprime one walks through
 * every position in turn, keyframes at their own share. Strides below the frame sample's minimum
 * (every frame is compared anyway) are returned as they are.
 */
export function strideCoprimeWith(n: number, period: number): number {
  const stride = Math.max(1, Math.round(n));
  const p = Math.max(1, Math.round(period));
  if (stride < MIN_FRAME_SAMPLE || p === 1) return stride;
  for (let d = 0; ; d++) {
    for (const c of d === 0 ? [stride] : [stride + d, stride - d]) if (c >= MIN_FRAME_SAMPLE && gcd(c, p) === 1) return c;
  }
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
 * The spec as measured: its frame sample dropped (every frame compared) when the compared span
 * (referenceDurationS, or the windows' total) holds fewer frames than the first sample needs
 * (its stride's half and its next neighbour), so a short chunk is still measured.
 */
export function effectiveSpec<S extends QualityReferenceSpec>(spec: S): S {
  const n = frameSampleOf(spec);
  const spanS = spec.referenceDurationS ?? spec.referenceWindows?.reduce((t, w) => t + w.durationS, 0);
  if (n === 1 || spanS === undefined || spanS * spec.frameRate >= Math.floor(n / 2) + 2) return spec;
  const { frameSample: _dropped, preparedReference: _unused, ...rest } = spec;
  return rest as S;
}

/**
 * Whether `durationS` seconds of the reference's kept frames (frameSample > 1), raw yuv420p at the
 * display size, fit in `dir`: at most DECODED_SAMPLE_MAX_BYTES and DECODED_SAMPLE_MAX_FREE_SHARE
 * of its free space (the limits of the trials' decoded sample, per-title-sample.ts).
 */
export async function referenceFramesFit(spec: QualityReferenceSpec, durationS: number, dir: string): Promise<boolean> {
  const n = frameSampleOf(spec);
  if (n <= 1) return false;
  const kept = Math.ceil((KEPT_PER_SAMPLE * durationS * spec.frameRate) / n) + KEPT_PER_SAMPLE + FRAME_SAMPLE_PAD;
  const bytes = kept * spec.width * spec.height * 1.5;
  const free = await fs.statfs(dir).then((st) => st.bavail * st.bsize).catch(() => 0);
  return bytes <= DECODED_SAMPLE_MAX_BYTES && bytes <= free * DECODED_SAMPLE_MAX_FREE_SHARE;
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
  if (!(await referenceFramesFit(spec, durationS, dir))) return undefined;
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
export async function measureFrameScoresBatch(asked: QualityReferenceSpec, distorted: readonly string[], paths: FfmpegPaths, run: RunOptions = {}): Promise<FrameScores[]> {
  if (distorted.length === 0) throw new RangeError('no encode to measure');
  const spec = effectiveSpec(asked);
  if (spec.vmafModelPath && distorted.length > 1) {
    // The bundled ffmpeg's libvmaf 1.x is not reentrant: two libvmaf filters in one process
    // crash it (double free). With VMAF, each encode gets its own process; with a frame sample
    // they read the reference's kept frames decoded once (prepareReferenceFrames), else each
    // decodes the reference. Progress runs over the batch, the preparation counted as one encode.
    const steps = distorted.length + 1;
    const step = (k: number) => ({ ...run, ...(run.onProgress ? { onProgress: (f: number, t: number) => run.onProgress!((k + f) / steps, t) } : {}) });
    const durationS = spec.referenceDurationS ?? spec.referenceWindows?.reduce((t, w) => t + w.durationS, 0);
    const given = frameSampleOf(spec) > 1 ? spec.preparedReference : undefined;
    const dir = !given && frameSampleOf(spec) > 1 && durationS !== undefined ? await fs.mkdtemp(path.join(os.tmpdir(), 'vod-reference-')) : undefined;
    try {
      const prepared = given ?? (dir ? await prepareReferenceFrames(spec, durationS!, dir, paths, step(0)) : undefined);
      const out: FrameScores[] = [];
      for (const [j, file] of distorted.entries()) out.push(...(await measureOneProcess(spec, [file], paths, step(j + 1), prepared)));
      return out;
    } finally {
      if (dir) await fs.rm(dir, { recursive: true, force: true });
    }
  }
  return measureOneProcess(spec, distorted, paths, run, frameSampleOf(spec) > 1 ? spec.preparedReference : undefined);
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
      model ? { ...run, env: { ...LIBVMAF_MALLOC_ENV, ...run.env } } : run,
    );
    const out: FrameScores[] = [];
    for (let j = 0; j < distorted.length; j++) {
      const f = files(j);
      // A frame sample's pad (quality-graph.ts FRAME_SAMPLE_PAD): its two frames and the score libvmaf gave the first.
      const [pad, vmafPad] = frameSampleOf(spec) > 1 ? [FRAME_SAMPLE_PAD, 1] : [0, 0];
      const scores = {
        ...(spec.psnr !== false ? { mseY: parsePsnrFrames(await fs.readFile(f.psnr, 'utf8')).slice(pad) } : {}),
        ...(spec.ssim !== false ? { ssim: parseSsimFrames(await fs.readFile(f.ssim, 'utf8')).slice(pad) } : {}),
        ...(model ? { vmaf: parseVmafFrames(await fs.readFile(f.vmafLog, 'utf8')).slice(vmafPad) } : {}),
      };
      if (Object.values(scores).some((v) => v.length === 0)) throw new Error('the frame sample kept no frame to compare: the input is shorter than half a sample stride');
      out.push(scores);
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
