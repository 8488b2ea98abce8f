/**
 * Full-reference quality metrics of an encode against its source, measured by ffmpeg's
 * filters in one pass: PSNR and SSIM unless turned off, VMAF when a model file is configured
 * (libvmaf; the bundled ffmpeg has the filter but no model). Several encodes of one source
 * are measured in one process, the source decoded once (measureFrameScoresBatch). With Netflix's
 * v0.6.1 model, comparisons whose inputs are read whole (a prepared reference, trial files) run in
 * the bundled ffprobe's libvmaf 2.3 (lavfi-scorer.ts), others in the bundled ffmpeg's libvmaf 1.3.
 *
 * As Netflix compares (Netflix Technology Blog, "Per-Title Encode Optimization", 2015, and
 * the VMAF README), the distorted video is scaled back to the reference's display
 * resolution with a bicubic filter before comparison, so a 360p rung is judged as it looks
 * on the same screen as the 1080p one.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { probePackets, runFfmpeg, type FfmpegPaths, type RunOptions } from './ffmpeg.js';
import { DECODED_SAMPLE_MAX_BYTES, DECODED_SAMPLE_MAX_FREE_SHARE } from './per-title-sample.js';
import { LIBVMAF_MALLOC_ENV } from '../util/transparent-huge-pages.js';
import { indexOf, libvmaf2ModelFor, linkGraphInputs, oneProcessEngine, scoredInLavfi } from './lavfi-scorer.js';
import { freeBytesOf } from '../util/disk-space.js';
import { parsePsnrFrames, parseSsimFrames, parseVmafFrames, summarizeFrames, type FrameScores, type QualityScores } from './frame-scores.js';
import { batchGraph, concatenatedGraph, concatenatedLayout, FRAME_SAMPLE_PAD, frameSampleOf, KEPT_PER_SAMPLE, MIN_FRAME_SAMPLE, referenceGraph, referenceInputs } from './quality-graph.js';
import type { MasterPicture } from './media-info.js';
import { fitToBox, orientBox, toEven, type SourceDimensions } from './fixed-ladder.js';

export { concatFrameScores, LOW_FRAME_PERCENTILE, nearestRankPercentile, parsePsnrFrames, parseSsimFrames, parseVmafFrames, PSNR_CAP_DB, psnrFromMse, summarizeFrames, type FrameScores, type QualityScores } from './frame-scores.js';

/** The metric a ladder is built on: VMAF when a model is configured, else PSNR. */
export type LadderMetric = 'vmaf' | 'psnr';

/** A stretch of a file, s; `seekFromS`: where its input seek starts when the container's seeking is not exact (master-seek.ts masterSeek). */
export interface TimeWindow {
  readonly startS: number;
  readonly durationS: number;
  readonly seekFromS?: number | undefined;
}

/**
 * What every comparison of a batch shares: the reference, the frame grid and the metrics. Its
 * MasterPicture fields say how a master read as the reference is deinterlaced, inverse-telecined
 * or tone-mapped before comparison, as the encodes' pictures were (media-info.ts
 * masterPictureFilter); not applied to a prepared reference.
 */
export interface QualityReferenceSpec extends MasterPicture {
  /** The source the encodes were made from (any file ffmpeg reads). */
  readonly reference: string;
  /** The reference master's video start offset (ProbeResult.videoStartOffsetS), s: each window's seek adds it. */
  readonly videoStartOffsetS?: number | undefined;
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
 * Largest picture quality is measured at: 1920x1080 (turned for a portrait source). The VMAF
 * v0.6.1 model predicts quality on a 1080p display seen from three picture heights (Netflix/vmaf
 * README and FAQ; a separate 4K model exists for 4K TVs at 1.5 heights), and our ladders stop at
 * the 1920x1080 box (H.264 level 4.2, fixed-ladder.ts), so a larger master is scored against
 * its picture brought down to that box — at a quarter of the VMAF time of 4K frames.
 */
export const QUALITY_MEASUREMENT_BOX = Object.freeze({ width: 1920, height: 1080 });

/**
 * The size trials and published rungs are compared with the master at: its display size (even),
 * or, for a master larger than QUALITY_MEASUREMENT_BOX (turned for a portrait one), the box
 * fitted to its aspect ratio. A 3840x2160 master is measured at 1920x1080, a 2160x3840 one at
 * 1080x1920, a 1280x720 one at its own size.
 * @param source display size of the master, pixels.
 */
export function qualityMeasurementSize(source: SourceDimensions): { width: number; height: number } {
  const box = orientBox(source, QUALITY_MEASUREMENT_BOX);
  const fit = fitToBox(source, box.width, box.height);
  return fit.upscales ? { width: toEven(source.displayWidth), height: toEven(source.displayHeight) } : { width: fit.width, height: fit.height };
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
  const free = (await freeBytesOf(dir)) ?? 0;
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
 * decoded and scaled once for all of them. With VMAF (libvmaf 1.x in the bundled ffmpeg crashes
 * with two instances in a process) and a frame sample, the encodes are concatenated and scored by
 * one libvmaf in one process (measureConcatenated: 4 trials of Big Buck Bunny 4.3 → 2.6 s);
 * without a frame sample, or when the encodes do not all cover the reference, one process each.
 * @returns per-frame scores of each distorted file, in the order given.
 * @throws RangeError when every metric is off or no file is given; FfmpegError when ffmpeg
 *         cannot read an input or the model; Error when the filters compared no frames;
 *         EncodeCancelledError when `run.signal` aborts.
 */
export async function measureFrameScoresBatch(asked: QualityReferenceSpec, distorted: readonly string[], paths: FfmpegPaths, run: RunOptions = {}): Promise<FrameScores[]> {
  if (distorted.length === 0) throw new RangeError('no encode to measure');
  const spec = effectiveSpec(asked);
  const libvmaf2 = spec.vmafModelPath ? await libvmaf2ModelFor(spec.vmafModelPath, paths) : undefined;
  // With libvmaf 2.x a single encode on a frame sample goes this way too (its reference prepared
  // from the master's windows by the bundled ffmpeg), so it scores as it would in a batch.
  if (spec.vmafModelPath && (distorted.length > 1 || (libvmaf2 && frameSampleOf(spec) > 1))) {
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
      if (prepared !== undefined) {
        const together = await measureConcatenated(spec, distorted, paths, { ...run, ...(run.onProgress ? { onProgress: (f: number, t: number) => run.onProgress!((1 + f * distorted.length) / steps, t) } : {}) }, prepared, libvmaf2);
        if (together) return together;
      }
      const out: FrameScores[] = [];
      const engine = await oneProcessEngine(spec, prepared, libvmaf2, paths);
      for (const [j, file] of distorted.entries()) out.push(...(await measureOneProcess(spec, [file], paths, step(j + 1), prepared, engine)));
      return out;
    } finally {
      if (dir) await fs.rm(dir, { recursive: true, force: true });
    }
  }
  const prepared = frameSampleOf(spec) > 1 ? spec.preparedReference : undefined;
  return measureOneProcess(spec, distorted, paths, run, prepared, await oneProcessEngine(spec, prepared, libvmaf2, paths));
}

/**
 * Links a VMAF model (and its .model companion) into `dir` under a plain name, so the filter graph
 * needs no escaping of whatever characters the configured path holds. @returns the link.
 */
async function linkModel(modelPath: string, dir: string): Promise<string> {
  const model = path.join(dir, 'vmaf.pkl');
  await fs.symlink(path.resolve(modelPath), model);
  await fs.symlink(`${path.resolve(modelPath)}.model`, `${model}.model`);
  return model;
}

/** The log files of one comparison: `psnr<tag>.log`, `ssim<tag>.log`, `vmaf<tag>.json`, in `dir` (or bare names, for a graph run in `dir`). */
const logFiles = (tag: string | number, dir = ''): { psnr: string; ssim: string; vmafLog: string } => ({ psnr: path.join(dir, `psnr${tag}.log`), ssim: path.join(dir, `ssim${tag}.log`), vmafLog: path.join(dir, `vmaf${tag}.json`) });

/**
 * Scores a batch of encodes in one process with one libvmaf (and PSNR/SSIM when on): the
 * prepared reference's kept frames and each encode's, concatenated (quality-graph.ts
 * concatenatedGraph, concatenatedLayout). Saves each encode's process start, decode set-up and
 * libvmaf initialisation, which cost about 40% of a 720p trial's scoring (1.1 s, 14 frames).
 * The process is the bundled ffprobe with libvmaf 2.x when the model is Netflix's v0.6.1
 * (lavfi-scorer.ts: same scores within 0.05, 1.75× faster), else the bundled ffmpeg's libvmaf 1.x.
 * @param prepared the reference's kept frames (prepareReferenceFrames or a referenceTap).
 * @param builtIn the libvmaf 2.x model to score with in the bundled ffprobe (libvmaf2ModelFor), or undefined for the bundled ffmpeg.
 * @returns per-frame scores of each encode, in order; undefined when the frame sample has no
 *          whole triple or an encode has fewer kept frames than the reference (the caller then
 *          measures each encode alone, as the frames no longer pair up).
 * @throws FfmpegError; EncodeCancelledError.
 */
async function measureConcatenated(spec: QualityReferenceSpec, distorted: readonly string[], paths: FfmpegPaths, run: RunOptions, prepared: string, builtIn: string | undefined): Promise<FrameScores[] | undefined> {
  const layout = concatenatedLayout(distorted.length, (await probePackets(prepared, paths)).length);
  if (layout.length === 0) return undefined;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-quality-'));
  try {
    const files = logFiles('', dir);
    const frames = layout.reduce((t, l) => t + l.pad + l.body, 0);
    const inputs = [...distorted.map(() => prepared), ...distorted];
    // libvmaf 2.x in ffprobe's lavfi device (lavfi-scorer.ts), run in `dir`: plain names throughout;
    // where it cannot run the graph, the bundled ffmpeg's 1.x scores it.
    const graph = builtIn && concatenatedGraph(spec, layout, logFiles(''), `model=version=${builtIn}`, indexOf(await linkGraphInputs(inputs, dir)));
    if (!graph || !(await scoredInLavfi(graph, dir, { frames, frameRate: spec.frameRate }, paths, run))) {
      const model = spec.vmafModelPath ? `model_path=${await linkModel(spec.vmafModelPath, dir)}` : undefined;
      await runFfmpeg(
        {
          inputs: inputs.map((source) => ({ source })),
          outputOptions: ['-filter_complex', concatenatedGraph(spec, layout, files, model), '-an', '-sn', '-dn', '-f', 'null'],
          output: '/dev/null',
        },
        paths,
        // The output is restamped frame by frame: its duration is the kept frames'.
        { ...run, durationS: frames / spec.frameRate, ...(model ? { env: { ...LIBVMAF_MALLOC_ENV, ...run.env } } : {}) },
      );
    }
    const mseY = spec.psnr !== false ? parsePsnrFrames(await fs.readFile(files.psnr, 'utf8')) : undefined;
    const ssim = spec.ssim !== false ? parseSsimFrames(await fs.readFile(files.ssim, 'utf8')) : undefined;
    const vmaf = spec.vmafModelPath ? parseVmafFrames(await fs.readFile(files.vmafLog, 'utf8')) : undefined;
    if ([mseY, ssim].some((v) => v && v.length !== frames) || (vmaf && vmaf.length !== layout.reduce((t, l) => t + l.scores, 0))) return undefined;
    const out: FrameScores[] = [];
    let [frame, score] = [0, 0];
    for (const l of layout) {
      const cut = (xs: readonly number[] | undefined, from: number, to: number) => xs?.slice(from, to);
      const [m, s, v] = [cut(mseY, frame + l.pad, frame + l.pad + l.body), cut(ssim, frame + l.pad, frame + l.pad + l.body), cut(vmaf, score + l.padScores, score + l.scores)];
      out.push({ ...(m ? { mseY: m } : {}), ...(s ? { ssim: s } : {}), ...(v ? { vmaf: v } : {}) });
      frame += l.pad + l.body;
      score += l.scores;
    }
    return out;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * @param prepared the reference's kept frames (prepareReferenceFrames), read instead of the reference.
 * @param builtIn the libvmaf 2.x model to score with in the bundled ffprobe (oneProcessEngine), or undefined for the bundled ffmpeg.
 */
async function measureOneProcess(spec: QualityReferenceSpec, distorted: readonly string[], paths: FfmpegPaths, run: RunOptions, prepared: string | undefined, builtIn: string | undefined): Promise<FrameScores[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-quality-'));
  try {
    const files = (j: number) => logFiles(j, dir);
    const inputs: { source: string; options?: string[] }[] = [...(prepared !== undefined ? [{ source: prepared }] : referenceInputs(spec)), ...distorted.map((source) => ({ source }))];
    const graph = builtIn && batchGraph(spec, distorted.length, (j) => logFiles(j), `model=version=${builtIn}`, prepared !== undefined, indexOf(await linkGraphInputs(inputs.map((i) => i.source), dir)));
    const frames = spec.referenceDurationS !== undefined ? Math.round(spec.referenceDurationS * spec.frameRate) * distorted.length : 0;
    if (!graph || !(await scoredInLavfi(graph, dir, { frames, frameRate: spec.frameRate }, paths, run))) {
      const model = spec.vmafModelPath ? `model_path=${await linkModel(spec.vmafModelPath, dir)}` : undefined;
      await runFfmpeg({ inputs, outputOptions: ['-filter_complex', batchGraph(spec, distorted.length, files, model, prepared !== undefined), '-an', '-sn', '-dn', '-f', 'null'], output: '/dev/null' }, paths, model ? { ...run, env: { ...LIBVMAF_MALLOC_ENV, ...run.env } } : run);
    }
    const model = spec.vmafModelPath;
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
