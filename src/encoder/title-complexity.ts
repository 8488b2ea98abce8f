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
import { masterSeek, withSeekStarts } from './master-seek.js';
import { masterPictureFilter, masterPictureOf, type ProbeResult } from './media-info.js';
import { onFrameGrid } from './per-title-sample.js';

/**
 * Bits per frame of a title's scan encodes (scanComplexity), one list per scan size, frame i at
 * i / frameRate s from the video's first frame; NaN for a frame the scan did not read (a long
 * title is scanned in spans: scanSpans).
 */
export interface ComplexityProfile {
  /** Frames per second of the lists (the title's output frame rate). */
  readonly frameRate: number;
  /** One list per scan size (scanHeights), smallest first. */
  readonly frameBits: readonly (readonly number[])[];
  /** How many spans the scan read (scanSpans); absent when it read the whole title. */
  readonly spans?: number;
}

/** A stretch of the title a scan reads: `frames` output frames from output frame `startFrame`. */
export interface ScanSpan {
  readonly startFrame: number;
  readonly frames: number;
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
 * How much of a title the scan reads (scanSpans). The whole title, unless it is long enough that
 * SCAN_SPANS_PER_SHARE spans of SCAN_SPAN_WINDOWS sample windows in each window's share read at
 * most SCAN_SPANS_MAX_SHARE of it — with the default sample (ten 4 s windows) 240 s of spans, for
 * titles over 600 s — so the scan's cost stops growing with the title. Decoding is most of that
 * cost: a noisy 1080p24 mezzanine here decodes at 64 frames/s and scans at 53 (measured,
 * docs/per-title.md "Sample"), so a two-hour title's whole scan would take about an hour, serial
 * in the planning job before any trial starts. Each span also decodes from the keyframe before
 * it (up to a GOP), which is why a title is read whole until the spans are well under half of it.
 * Four spans per share, so that their mean stands for the share's (with one, the window is only
 * placed inside its span: on the Intel clip, one span per share placed windows that cost +49% of
 * the title at 144p, where three centred windows cost +37%; measured by hand with
 * bench:sample-bias's ways). A span a window and a half long lets the window slide inside it.
 * Our choices.
 */
export const SCAN_SPANS_PER_SHARE = 4;
export const SCAN_SPAN_WINDOWS = 1.5;
export const SCAN_SPANS_MAX_SHARE = 0.4;

/**
 * The spans a title of `durationS` seconds is scanned in, for a sample of `windows` (the
 * windows sampleWindows centres, one per equal share of the title): in each share `perShare`
 * spans of SCAN_SPAN_WINDOWS windows (no longer than the share), each centred in one of
 * `perShare` equal parts of it, starting on the frame grid of `frameRate` — a systematic sample
 * of candidate windows per share, from which representativeStartS takes the one that costs what
 * the candidates cost on average. Undefined (the whole title) when the spans would read more than
 * `maxShare` of the title.
 */
export function scanSpans(
  durationS: number,
  frameRate: number,
  windows: readonly { readonly durationS: number }[],
  perShare = SCAN_SPANS_PER_SHARE,
  maxShare = SCAN_SPANS_MAX_SHARE,
): ScanSpan[] | undefined {
  if (windows.length === 0 || perShare < 1) return undefined;
  const share = durationS / windows.length;
  const spanS = Math.min(share, windows[0]!.durationS * SCAN_SPAN_WINDOWS);
  if (windows.length * perShare * spanS > maxShare * durationS) return undefined;
  const frames = Math.max(1, Math.round(spanS * frameRate));
  const last = Math.max(0, Math.floor(durationS * frameRate) - frames);
  return windows.flatMap((_, i) =>
    Array.from({ length: perShare }, (_, j) => {
      const centreS = share * i + (share / perShare) * (j + 0.5);
      return { startFrame: Math.min(last, Math.max(0, Math.round((centreS - spanS / 2) * frameRate))), frames };
    }),
  );
}

/**
 * Decodes the master's first video stream once (the picture filters every stage puts first:
 * media-info.ts masterPictureFilter; restamped from its first frame; resampled to `frameRate`)
 * and encodes it at each of its scanHeights, returning the bits of each frame: the whole title,
 * or with `spans` (scanSpans) only those, each read with input seeking (master-seek.ts, from
 * before its keyframe in a container not sought exactly: `keyframesS`), cut to its frames and
 * joined, the other frames NaN.
 * @param frameRate the title's output frame rate, frames/s.
 * @param run progress (over what is read) and cancellation.
 * @throws FfmpegError when ffmpeg or ffprobe fails; Error when a span gave fewer frames than
 *         asked (the master is shorter than probed); EncodeCancelledError when `run.signal` aborts.
 */
export async function scanComplexity(
  masterPath: string,
  probed: ProbeResult,
  frameRate: number,
  paths: FfmpegPaths,
  run: RunOptions = {},
  spans?: readonly ScanSpan[],
  keyframesS?: readonly number[],
): Promise<ComplexityProfile> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-complexity-'));
  try {
    const heights = scanHeights(probed.video?.height ?? 0);
    const files = heights.map((h) => path.join(dir, `scan-${h}.mkv`));
    const picture = `${masterPictureFilter(masterPictureOf(probed.video))}setpts=PTS-STARTPTS,fps=fps=${Number(frameRate.toFixed(3))}`;
    const encode = (i: number) => ['-map', `[v${i}]`, '-c:v', 'libx264', '-preset', COMPLEXITY_SCAN.preset, '-crf', String(COMPLEXITY_SCAN.crf), '-an', '-sn', '-dn', '-f', 'matroska'];
    /** One ffmpeg run: `read` (a filter graph ending in one stream) split to every scan size; the bits of each size's frames. */
    const scanOnce = async (inputs: { source: string; options?: string[] }[], read: string, runOnce: RunOptions): Promise<number[][]> => {
      const graph = [`${read},split=${heights.length}${heights.map((_, i) => `[s${i}]`).join('')}`, ...heights.map((h, i) => `[s${i}]scale=-2:${h},format=yuv420p[v${i}]`)].join(';');
      await runFfmpeg({ inputs, outputOptions: ['-filter_complex', graph, ...encode(0)], output: files[0]!, moreOutputs: files.slice(1).map((output, k) => ({ outputOptions: encode(k + 1), output })) }, paths, runOnce);
      return Promise.all(files.map(async (f) => frameBitsOf(await probePackets(f, paths), frameRate)));
    };
    if (!spans) return { frameRate, frameBits: await scanOnce([{ source: masterPath }], `[0:v:0]${picture}`, { ...run, durationS: run.durationS ?? probed.durationS }) };
    // Spans, SCAN_SPANS_PER_PROCESS to an ffmpeg process (each input holds a decoder).
    const starts = withSeekStarts(spans.map((sp) => ({ startS: onFrameGrid(sp.startFrame / frameRate, frameRate) })), probed.formatName, keyframesS);
    const totalFrames = spans.reduce((n, sp) => n + sp.frames, 0);
    const joined: number[][] = heights.map(() => []);
    for (let from = 0, done = 0; from < spans.length; from += SCAN_SPANS_PER_PROCESS) {
      const batch = spans.slice(from, from + SCAN_SPANS_PER_PROCESS);
      const inputs = batch.map((sp, i) => ({ source: masterPath, options: [...masterSeek(starts[from + i]!, probed.videoStartOffsetS), '-t', ((sp.frames + 1) / frameRate + SPAN_READ_MARGIN_S).toFixed(6)] }));
      const read = `${batch.map((sp, i) => `[${i}:v:0]${picture},trim=end_frame=${sp.frames}[c${i}]`).join(';')};${batch.map((_, i) => `[c${i}]`).join('')}concat=n=${batch.length}:v=1:a=0`;
      const batchFrames = batch.reduce((n, sp) => n + sp.frames, 0);
      const before = done;
      const bits = await scanOnce(inputs, read, { ...run, durationS: batchFrames / frameRate, onProgress: (f, t) => run.onProgress?.((before + f * batchFrames) / totalFrames, t) });
      bits.forEach((b, k) => joined[k]!.push(...b));
      done += batchFrames;
    }
    return { frameRate, frameBits: joined.map((bits) => spreadOverTitle(bits, spans, probed.durationS * frameRate)), spans: spans.length };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * Spans read by one ffmpeg process: each input opens a decoder, and 40 spans of a 1080p master in
 * one process peaked at 2.0 GB resident here (measured by hand, /usr/bin/time -v); a few per
 * process keep the scan's memory near a whole scan's for a few process starts. Our choice.
 */
export const SCAN_SPANS_PER_PROCESS = 4;

/** Seconds read past a span's last frame (its frames are then cut exactly by `trim`): room for a frame time not on the output's grid. */
const SPAN_READ_MARGIN_S = 0.5;

/** A spans scan's joined bits (span after span) placed at their frames of a title of `titleFrames`, NaN elsewhere. @throws Error when the spans' frames are not all there. */
function spreadOverTitle(joined: readonly number[], spans: readonly ScanSpan[], titleFrames: number): number[] {
  const wanted = spans.reduce((n, sp) => n + sp.frames, 0);
  if (joined.length !== wanted) throw new Error(`complexity scan read ${joined.length} frames of the ${wanted} its spans hold`);
  const last = spans.reduce((m, sp) => Math.max(m, sp.startFrame + sp.frames), 0);
  const out = new Array<number>(Math.max(last, Math.ceil(titleFrames - 1e-9))).fill(NaN);
  let k = 0;
  for (const sp of spans) for (let i = 0; i < sp.frames; i++) out[sp.startFrame + i] = joined[k++]!;
  return out;
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
 * scanComplexity for the per-title analysis's plan: the whole title, or the spans scanSpans gives
 * for the sample's centred `windows` (planAnalysis without a profile; `perShare` and `maxShare`
 * default to SCAN_SPANS_PER_SHARE and SCAN_SPANS_MAX_SHARE). A failed scan gives no profile (the sample's windows are
 * then centred in their shares) and is reported to `onScanError`.
 * @param keyframesS the master's keyframe times for a container not sought exactly (master-seek.ts keyframesForSeeking).
 * @throws EncodeCancelledError when `run.signal` aborts.
 */
export async function complexityForSample(
  masterPath: string,
  probed: ProbeResult,
  frameRate: number,
  paths: FfmpegPaths,
  run: RunOptions & {
    readonly onScanError?: (err: Error) => void;
    readonly windows?: readonly { readonly durationS: number }[];
    readonly keyframesS?: readonly number[] | undefined;
    readonly perShare?: number;
    readonly maxShare?: number;
  } = {},
): Promise<ComplexityProfile | undefined> {
  const { onScanError, windows, keyframesS, perShare, maxShare, ...options } = run;
  const spans = windows ? scanSpans(probed.durationS, frameRate, windows, perShare, maxShare) : undefined;
  return scanComplexity(masterPath, probed, frameRate, paths, options, spans, keyframesS).catch((err: Error) => {
    if (options.signal?.aborted) throw err;
    onScanError?.(err);
    return undefined;
  });
}
