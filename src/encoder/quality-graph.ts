/**
 * The ffmpeg filter graphs of quality measurement (quality-metrics.ts runs them): how the
 * reference and each encode are brought to one frame grid — restamped, resampled, the kept frames
 * of a frame sample selected, scaled to the display size — and chained into psnr → ssim → libvmaf.
 */
import os from 'node:os';
import { masterSeek } from './master-seek.js';
import { masterPictureFilter } from './media-info.js';
import type { QualityReferenceSpec } from './quality-metrics.js';

/**
 * Shortest frame sample stride: a sampled frame, its two neighbours and two more frames kept
 * before the first sample (FRAME_SAMPLE_PAD) must not overlap.
 */
export const MIN_FRAME_SAMPLE = 6;

/** The frame sample of a spec: every n-th frame, n ≥ MIN_FRAME_SAMPLE; 1 = every frame. */
export const frameSampleOf = (spec: Pick<QualityReferenceSpec, 'frameSample'>): number => {
  const n = Math.floor(spec.frameSample ?? 1);
  return n >= MIN_FRAME_SAMPLE ? n : 1;
};

/** Frames kept per sampled frame: the frame and its two neighbours. */
export const KEPT_PER_SAMPLE = 3;

/**
 * Frames kept before the first sample (frames 0 and 1), whose scores are dropped: libvmaf's
 * `n_subsample` 3 scores kept frames 0, 3, 6, …, so two leading frames put every score on the
 * middle frame of a triple.
 */
export const FRAME_SAMPLE_PAD = 2;

/**
 * The select filter of frame sample n, with its trailing comma ('' for every frame): frames 0
 * and 1 (the pad, unless `pad` is false), and each sampled frame o + k·n with its neighbours,
 * o = floor(n / 2). The samples sit in the middle of each stride rather than on frames 0, n,
 * 2n, …: frame 0 of a window is a keyframe and often an outlier (on a Big Buck Bunny trial at
 * 416x234, frame 0 scored VMAF 97 against a mean of 23, which put the mean of every 24th frame 12
 * points high; from the middle of each stride, 1.8 points).
 */
function selectKept(spec: Pick<QualityReferenceSpec, 'frameSample'>, pad = true): string {
  const n = frameSampleOf(spec);
  if (n === 1) return '';
  const o = Math.floor(n / 2);
  return `select='${pad ? `lt(n,${FRAME_SAMPLE_PAD})+` : ''}not(mod(n-${o},${n}))+not(mod(n-${o + 1},${n}))+not(mod(n-${o - 1},${n}))',`;
}

/** Whether a graph reads its inputs with `movie` sources (run by lavfi-scorer.ts) rather than as ffmpeg's `[j:v]`. */
const isLavfi = (inputOf: (j: number) => string): boolean => !inputOf(0).startsWith('[');

/**
 * What a graph run in the bundled ffprobe (FFmpeg 6.1) puts before `fps`: the last frame once more.
 * Its `fps` ends at the end-of-stream time a `movie` source signals, the last frame's start, so
 * it drops that frame (95 frames out of a 96-frame 24 fps trial), where the bundled ffmpeg's (4.1)
 * outputs it; one clone after it brings the same frames out of both. Frames beyond the encode's
 * own are cut by the comparison's `trim` (concatenatedGraph) or paired with nothing (batchGraph).
 */
const EOF_PAD = 'tpad=stop=1:stop_mode=clone,';

/**
 * What every input goes through before comparison: restamped from zero, resampled to the frame
 * rate, the kept frames selected (frameSample, unless `select` is false: a window of a
 * concatenated reference is selected after the concatenation, where its frames are counted),
 * scaled bicubic to the display size, 8-bit 4:2:0.
 */
function framePrep(spec: QualityReferenceSpec, select = true, reference = false, lavfi = false): string {
  const fps = Number(spec.frameRate.toFixed(3));
  return `${reference ? masterPictureFilter(spec) : ''}setpts=PTS-STARTPTS,${lavfi ? EOF_PAD : ''}fps=fps=${fps},${select ? selectKept(spec) : ''}scale=${spec.width}:${spec.height}:flags=bicubic,setsar=1,format=yuv420p`;
}

/**
 * The filter chain that turns decoded master frames into a measurement's reference frames (one
 * window read from its start: restamped, resampled, the frame sample's kept frames selected,
 * scaled to the display size) — what prepareReferenceFrames writes, for a process that decodes the
 * master anyway (rendition.ts encodeVideoRenditions' referenceTap). Without the deinterlacer: that
 * process deinterlaces the master once before its split.
 */
export function referenceFramesFilter(spec: QualityReferenceSpec): string {
  return framePrep(spec);
}

/** The reference's graph: each window prepared, concatenated, the kept frames selected; output `label`s. */
export function referenceGraph(spec: QualityReferenceSpec, outputs: string, inputOf: (j: number) => string = (j) => `[${j}:v]`): string {
  const windows = Math.max(1, spec.referenceWindows?.length ?? 1);
  const lavfi = isLavfi(inputOf);
  if (windows === 1) return `${inputOf(0)}${framePrep(spec, true, true, lavfi)},${outputs}`;
  const parts = Array.from({ length: windows }, (_, i) => `${inputOf(i)}${framePrep(spec, false, true, lavfi)}[w${i}]`);
  const select = selectKept(spec);
  parts.push(`${Array.from({ length: windows }, (_, i) => `[w${i}]`).join('')}concat=n=${windows}:v=1:a=0,${select}${outputs}`);
  return parts.join(';');
}

/**
 * ffmpeg inputs of the reference: each window read with input seeking (from before its start in a
 * container whose seeking is not exact: master-seek.ts masterSeek), or the whole file.
 */
export function referenceInputs(spec: QualityReferenceSpec): { source: string; options?: string[] }[] {
  return spec.referenceWindows?.length
    ? spec.referenceWindows.map((w) => ({ source: spec.reference, options: [...masterSeek(w, spec.videoStartOffsetS), '-t', w.durationS.toFixed(6)] }))
    : [{ source: spec.reference }];
}

/**
 * The filter graph of a batch: the reference (each window restamped from zero, resampled to the
 * frame rate, scaled bicubic to the display size, the windows concatenated, the kept frames of a
 * frame sample selected; or a prepared reference read as is) split once per comparison; each
 * distorted input brought to the same grid (framePrep), then psnr → ssim → libvmaf (those
 * measured) chained against its copies of the reference, each passing its first input through.
 * Inputs: the reference's windows (or the whole reference, or the prepared reference) first, then
 * the distorted files.
 * @param vmafModel libvmaf's model option (`model_path=<file>` for 1.x, `model=version=…` for
 *        2.x) or undefined for no VMAF.
 * @param inputOf how the graph reads input j: `[j:v]` (ffmpeg, the default) or a `movie=<file>,`
 *        source (lavfi-scorer.ts; outputs are then labelled out0, out1, …).
 */
export function batchGraph(
  spec: QualityReferenceSpec,
  distorted: number,
  files: (j: number) => { psnr: string; ssim: string; vmafLog: string },
  vmafModel: string | undefined,
  referencePrepared = false,
  inputOf: (j: number) => string = (j) => `[${j}:v]`,
): string {
  const windows = Math.max(1, spec.referenceWindows?.length ?? 1);
  const sample = frameSampleOf(spec);
  // Two pad frames, then triples: libvmaf scores every 3rd frame it is fed from the first, so the
  // pad's first frame (dropped by the caller) and then the middle of each triple.
  const sub = sample > 1 ? KEPT_PER_SAMPLE : Math.max(1, Math.floor(spec.vmafSubsample ?? 1));
  const filters = (j: number) => [
    ...(spec.psnr !== false ? [`psnr=stats_file=${files(j).psnr}`] : []),
    ...(spec.ssim !== false ? [`ssim=stats_file=${files(j).ssim}`] : []),
    ...(vmafModel ? [`libvmaf=${vmafModel}:log_path=${files(j).vmafLog}:log_fmt=json:n_threads=${os.availableParallelism()}:n_subsample=${sub}`] : []),
  ];
  const perDistorted = filters(0).length;
  if (perDistorted === 0) throw new RangeError('nothing to measure: PSNR, SSIM and VMAF are all off');
  const refLabels = Array.from({ length: distorted * perDistorted }, (_, k) => `[r${k}]`).join('');
  const parts: string[] = [];
  // A prepared reference (prepareReferenceFrames) is read as is: its frames carry the kept frames' timestamps.
  if (referencePrepared) parts.push(`${inputOf(0)}setsar=1,split=${distorted * perDistorted}${refLabels}`);
  else parts.push(referenceGraph(spec, `split=${distorted * perDistorted}${refLabels}`, inputOf));
  const first = referencePrepared ? 1 : windows;
  // A graph run by lavfi-scorer.ts names its outputs out0, out1, …; ffmpeg's are left unlabelled.
  const end = (j: number) => (isLavfi(inputOf) ? `[out${j}]` : '');
  for (let j = 0; j < distorted; j++) {
    parts.push(`${inputOf(first + j)}${framePrep(spec, true, false, isLavfi(inputOf))}[d${j}_0]`);
    filters(j).forEach((f, i) => parts.push(`[d${j}_${i}][r${j * perDistorted + i}]${f}${i < perDistorted - 1 ? `[d${j}_${i + 1}]` : end(j)}`));
  }
  return parts.join(';');
}

/**
 * How the comparisons of a concatenated batch (concatenatedGraph) sit in the one stream libvmaf
 * is fed. Each comparison is a segment of the frame sample's kept frames: the first keeps the two
 * pad frames, as a comparison alone does (their one score is dropped), the others none; then
 * `body` frames, whole triples only. libvmaf's `n_subsample` 3 scores fed frames 0, 3, 6, … of
 * the whole stream, so every triple's middle frame is scored, with its own two neighbours around
 * it as when alone (VMAF's motion2 reads only those): every score equals the single-process one.
 * A triple cut short by the end of the span is left out of every segment (alone, its middle frame
 * would be scored without its next neighbour; in a batch that neighbour would be the next
 * comparison's first frame), so a batch then scores one frame fewer per comparison than a
 * comparison alone.
 * @param kept the prepared reference's frame count (the pad and the kept frames).
 * @returns per segment: frames taken from the pad, body frames, libvmaf scores given to the pad
 *          (to drop), and scores in all; empty when there is no whole triple.
 */
export function concatenatedLayout(segments: number, kept: number): { pad: number; body: number; padScores: number; scores: number }[] {
  const triples = Math.floor((kept - FRAME_SAMPLE_PAD) / KEPT_PER_SAMPLE);
  if (triples <= 0) return [];
  return Array.from({ length: segments }, (_, j) => {
    const padScores = j === 0 ? 1 : 0;
    return { pad: j === 0 ? FRAME_SAMPLE_PAD : 0, body: triples * KEPT_PER_SAMPLE, padScores, scores: padScores + triples };
  });
}

/**
 * The filter graph of a VMAF batch in one process (libvmaf 1.x cannot run twice in a process):
 * the prepared reference's kept frames (prepareReferenceFrames; inputs 0…k−1, the same file k
 * times) and each distorted input (inputs k…2k−1, brought to the grid as framePrep does, its kept
 * frames selected with the segment's pad and cut to the reference's count) are concatenated in
 * the same order, restamped frame by frame (frames pair by index: both sides hold the same frames
 * in the same order), then psnr → ssim → libvmaf (those measured) run once over the whole stream,
 * writing one log each to `files`. Layout: concatenatedLayout.
 * @param vmafModel libvmaf's model option — `model_path=<file>` (libvmaf 1.x) or
 *        `model=version=vmaf_v0.6.1` (2.x, lavfi-scorer.ts) — or undefined for no VMAF.
 * @param inputOf how the graph reads input j: `[j:v]` (an ffmpeg input, the default) or a
 *        `movie=<file>,` source (a graph run by lavfi-scorer.ts, whose one output is then `[out0]`).
 */
export function concatenatedGraph(
  spec: QualityReferenceSpec,
  layout: readonly { pad: number; body: number }[],
  files: { psnr: string; ssim: string; vmafLog: string },
  vmafModel: string | undefined,
  inputOf: (j: number) => string = (j) => `[${j}:v]`,
): string {
  const k = layout.length;
  const fps = Number(spec.frameRate.toFixed(3));
  // shortest=1: an encode with fewer kept frames than the reference must end the stream short (the
  // caller sees the count and measures alone) instead of its last frame repeated, which would
  // shift every later comparison against the reference.
  const filters = [
    ...(spec.psnr !== false ? [`psnr=stats_file=${files.psnr}:shortest=1`] : []),
    ...(spec.ssim !== false ? [`ssim=stats_file=${files.ssim}:shortest=1`] : []),
    ...(vmafModel ? [`libvmaf=${vmafModel}:log_path=${files.vmafLog}:log_fmt=json:n_threads=${os.availableParallelism()}:n_subsample=${KEPT_PER_SAMPLE}:shortest=1`] : []),
  ];
  if (filters.length === 0) throw new RangeError('nothing to measure: PSNR, SSIM and VMAF are all off');
  const parts: string[] = [];
  layout.forEach(({ pad, body }, j) => {
    parts.push(`${inputOf(j)}setsar=1,trim=start_frame=${FRAME_SAMPLE_PAD - pad}:end_frame=${FRAME_SAMPLE_PAD + body}[r${j}]`);
    parts.push(`${inputOf(k + j)}setpts=PTS-STARTPTS,${isLavfi(inputOf) ? EOF_PAD : ''}fps=fps=${fps},${selectKept(spec, pad > 0)}trim=end_frame=${pad + body},scale=${spec.width}:${spec.height}:flags=bicubic,setsar=1,format=yuv420p[d${j}]`);
  });
  const restamp = `setpts=N/(${fps}*TB)`;
  parts.push(`${layout.map((_, j) => `[r${j}]`).join('')}concat=n=${k}:v=1:a=0,${restamp},split=${filters.length}${filters.map((_, i) => `[c${i}]`).join('')}`);
  parts.push(`${layout.map((_, j) => `[d${j}]`).join('')}concat=n=${k}:v=1:a=0,${restamp}[x0]`);
  const lavfi = isLavfi(inputOf);
  filters.forEach((f, i) => parts.push(`[x${i}][c${i}]${f}${i < filters.length - 1 ? `[x${i + 1}]` : lavfi ? '[out0]' : ''}`));
  return parts.join(';');
}
