/**
 * Per-frame quality scores and what is made of them: the filters' logs parsed (ffmpeg's psnr and
 * ssim `stats_file`, libvmaf's JSON log), chunks' scores concatenated, and a title's summary — the
 * mean of each metric and its 5th-percentile frame. quality-metrics.ts measures; this reads.
 */

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
