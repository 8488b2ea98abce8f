/**
 * A title's complexity profile: how many bits fast constant-quality encodes of the whole title
 * spend on each frame, at a small and a middle size. The per-title analysis places its sample
 * windows with it (per-title-sample.ts sampleWindows), so that the sample's frames cost, at both
 * sizes, what the title's cost on average.
 *
 * Bits at a constant quantiser (x264 CRF) as a measure of coding complexity is what per-title
 * encoders rank content by: Netflix's per-title encoding compares titles by their rate at fixed
 * quality ("Per-Title Encode Optimization", Netflix Technology Blog, 2015); Bitmovin's per-title
 * encoding runs a "complexity analysis" encode of the input before it chooses the ladder
 * (Bitmovin, "Per-Title Encoding" documentation). Two sizes, because what costs bits depends on
 * the size: sensor noise and grain at 540 lines, structure and motion at 270 (on a master of
 * noisy live action, animation and a noisy test pattern, the animation was the dearest third at
 * 270 lines and the cheapest at 720; measured by hand).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { probePackets, runFfmpeg, type FfmpegPaths, type RunOptions } from './ffmpeg.js';
import { masterPictureFilter, masterPictureOf, type ProbeResult } from './media-info.js';

/** Bits per frame of a title's scan encodes (scanComplexity), one list per scan size, frame i at i / frameRate s from the video's first frame. */
export interface ComplexityProfile {
  /** Frames per second of the lists (the title's output frame rate). */
  readonly frameRate: number;
  /** One list per scan size (scanHeights), smallest first. */
  readonly frameBits: readonly (readonly number[])[];
}

/**
 * Settings of the scan encodes: heights (a master smaller than one is scanned at its own), x264
 * preset and CRF. Small and fast because only frames' relative costs matter: 270 and 540 lines
 * (a quarter and a half of 1080p), `ultrafast` at CRF 26 (the middle of the trial grid's 20–38),
 * x264's default GOP with scene-cut detection (a cut costs intra blocks in the final encodes too).
 * Our choice; what it buys and costs is measured in docs/per-title.md ("Sample"): 0.7–3.4 s on the
 * shared clips, most of it the encodes (Tears of Steel's 70 s decode in 0.9 s, its scan in 3.4 s).
 */
export const COMPLEXITY_SCAN = Object.freeze({ heights: Object.freeze([270, 540]), preset: 'ultrafast', crf: 26 });

/**
 * Decodes the master's first video stream once (the picture filters every stage puts first:
 * media-info.ts masterPictureFilter; restamped from its first frame; resampled to `frameRate`)
 * and encodes it whole at each of its scanHeights, returning the bits of each frame.
 * @param frameRate the title's output frame rate, frames/s.
 * @param run progress (over the master's duration) and cancellation.
 * @throws FfmpegError when ffmpeg or ffprobe fails; EncodeCancelledError when `run.signal` aborts.
 */
export async function scanComplexity(masterPath: string, probed: ProbeResult, frameRate: number, paths: FfmpegPaths, run: RunOptions = {}): Promise<ComplexityProfile> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-complexity-'));
  try {
    const heights = scanHeights(probed.video?.height ?? 0);
    const files = heights.map((h) => path.join(dir, `scan-${h}.mkv`));
    const fps = Number(frameRate.toFixed(3));
    const graph = [
      `[0:v:0]${masterPictureFilter(masterPictureOf(probed.video))}setpts=PTS-STARTPTS,fps=fps=${fps},split=${heights.length}${heights.map((_, i) => `[s${i}]`).join('')}`,
      ...heights.map((h, i) => `[s${i}]scale=-2:${h},format=yuv420p[v${i}]`),
    ].join(';');
    const encode = (i: number) => ['-map', `[v${i}]`, '-c:v', 'libx264', '-preset', COMPLEXITY_SCAN.preset, '-crf', String(COMPLEXITY_SCAN.crf), '-an', '-sn', '-dn', '-f', 'matroska'];
    await runFfmpeg(
      { inputs: [{ source: masterPath }], outputOptions: ['-filter_complex', graph, ...encode(0)], output: files[0]!, moreOutputs: files.slice(1).map((output, k) => ({ outputOptions: encode(k + 1), output })) },
      paths,
      { ...run, durationS: run.durationS ?? probed.durationS },
    );
    const frameBits = await Promise.all(files.map(async (f) => frameBitsOf(await probePackets(f, paths), frameRate)));
    return { frameRate, frameBits };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * The heights a master of `height` lines is scanned at: COMPLEXITY_SCAN's, none above the
 * master's own (made even), and the larger only when it is twice the smaller — a master under
 * 540 lines is scanned at 270 only (or its own height): what costs bits at 270 and at 332 or 432
 * lines is much the same (on the shared 432-line clip the 270-line scan alone chose the windows
 * the pair chose, within a frame), and a second encode is a third of a short title's scan. Our choice.
 */
export function scanHeights(height: number): number[] {
  const out: number[] = [];
  for (const h of COMPLEXITY_SCAN.heights.map((h) => (height > 0 ? Math.min(h, Math.max(2, Math.floor(height / 2) * 2)) : h))) {
    if (out.length === 0 || h >= out.at(-1)! * 2) out.push(h);
  }
  return out;
}

/** Packets (any order) to bits per frame index: frame i at (pts − first pts) × frameRate, rounded. */
export function frameBitsOf(packets: readonly { ptsS: number; sizeBytes: number }[], frameRate: number): number[] {
  const timed = packets.filter((p) => Number.isFinite(p.ptsS));
  if (timed.length === 0) return [];
  const first = timed.reduce((m, p) => Math.min(m, p.ptsS), Infinity);
  const bits: number[] = [];
  for (const p of timed) {
    const i = Math.round((p.ptsS - first) * frameRate);
    bits[i] = (bits[i] ?? 0) + p.sizeBytes * 8;
  }
  return Array.from(bits, (b) => b ?? 0);
}

/**
 * scanComplexity for the per-title analysis's plan: a failed scan gives no profile (the sample's
 * windows are then centred in their shares) and is reported to `onScanError`.
 * @throws EncodeCancelledError when `run.signal` aborts.
 */
export async function complexityForSample(
  masterPath: string,
  probed: ProbeResult,
  frameRate: number,
  paths: FfmpegPaths,
  run: RunOptions & { readonly onScanError?: (err: Error) => void } = {},
): Promise<ComplexityProfile | undefined> {
  const { onScanError, ...options } = run;
  return scanComplexity(masterPath, probed, frameRate, paths, options).catch((err: Error) => {
    if (options.signal?.aborted) throw err;
    onScanError?.(err);
    return undefined;
  });
}
