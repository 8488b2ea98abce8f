/**
 * The measure stage (title-stages.ts lists them all): peak and average bit rates from the real
 * segments (RFC 8216 §4.3.4.2), codec strings from the init segments, and each video rung's
 * quality against the master at its display size — every rung against one decode of the master.
 * A distributed encode's children measure their own chunks (measureLadderChunkQuality).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { AudioRenditionRecord, VideoRenditionRecord } from '../origin/catalog.js';
import type { Chunk } from './chunk-plan.js';
import { audioCodecString, videoCodecString } from './codecs.js';
import type { FfmpegPaths } from './ffmpeg.js';
import { joinFmp4Rendition, measureMediaPlaylist } from './hls-packager.js';
import { referenceFramesFilter } from './quality-graph.js';
import { effectiveSpec, measureFrameScoresBatch, qualityMeasurementSize, referenceFramesFit, strideCoprimeWith, summarizeFrames, vmafSubsampleFor, type FrameScores, type QualityReferenceSpec, type QualityScores } from './quality-metrics.js';
import { MEDIA_PLAYLIST_NAME, type ReferenceTap } from './rendition.js';
import type { EncodedTitle, EncodePlan, StageOptions } from './title-stages.js';
import { masterPictureOf } from './media-info.js';

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

/** Scores as the title record keeps them: PSNR to 0.001 dB, SSIM to 1e-5, VMAF to 0.001. */
function roundScores(q: Pick<QualityScores, 'psnrDb' | 'ssim' | 'vmaf'>): { psnrDb: number; ssim?: number; vmaf?: number } {
  return { psnrDb: round(q.psnrDb, 3), ...(q.ssim !== undefined ? { ssim: round(q.ssim, 5) } : {}), ...(q.vmaf !== undefined ? { vmaf: round(q.vmaf, 3) } : {}) };
}


/**
 * Frames per second of content the published rungs are compared on when VMAF is measured (each
 * with its two neighbours, for VMAF's motion feature; QualityReferenceSpec.frameSample): every
 * 24th frame at 24 fps, every 60th at 60 fps, up to RUNG_QUALITY_MAX_FRAMES. Until 2026-12-02
 * PSNR and SSIM were computed on every frame and VMAF on 4 frames per second, which made
 * measuring the rungs cost 2.3–2.9× the final encodes at 1080p (issue 12's bench); our choice,
 * the error it causes measured against every frame in docs/per-title.md.
 */
export const RUNG_QUALITY_FRAMES_PER_S = 1;

/**
 * Most frames a rung is scored on (our choice): one frame per second up to 10 minutes of content,
 * then the stride grows so that a title of any length is scored on about this many frames per
 * rung, spread over the whole title. Scoring costs per frame (libvmaf 1.x in the bundled ffmpeg:
 * 0.41 s per 1080p frame on this 2-core machine, docs/per-title.md), so at one frame per second a
 * 2-hour 1080p title's eight rungs took about 7 hours to measure, 0.77× their encodes (with
 * transparent huge pages `madvise`; src/util/transparent-huge-pages.ts). The error of a mean over
 * N frames sampled evenly was below σ/√N on every shared clip's rung up to N = 80 (σ, the spread
 * of the rung's per-frame VMAF: 0.9–24), and at N = 600 within 0.79 of every frame on the one clip
 * long enough to try (bench:rung-sample, bench/results/rung-sample.md).
 */
export const RUNG_QUALITY_MAX_FRAMES = 600;

/**
 * The published rungs' frame sample for a title: about every round(frameRate /
 * RUNG_QUALITY_FRAMES_PER_S)-th frame, a longer stride when that would score more than
 * RUNG_QUALITY_MAX_FRAMES frames over `durationS` (ceil(frames / RUNG_QUALITY_MAX_FRAMES)), then
 * made coprime with the segment's frame count (strideCoprimeWith: every segment starts with a
 * keyframe). Every 25th frame at 24 fps with 4 s segments, every 31st at 30 fps; a 2-hour title at
 * 30 fps every 361st (598 frames).
 * @param durationS the title's duration, s (unset: no budget, one frame per second).
 */
export function rungFrameSample(frameRate: number, segmentDurationS: number, durationS?: number): number {
  const perSecond = vmafSubsampleFor(frameRate, RUNG_QUALITY_FRAMES_PER_S);
  const budget = durationS !== undefined && durationS > 0 ? Math.ceil((durationS * frameRate) / RUNG_QUALITY_MAX_FRAMES) : 1;
  return strideCoprimeWith(Math.max(perSecond, budget), frameRate * segmentDurationS);
}

/**
 * A planned title's rung frame sample (rungFrameSample at its frame rate, segment and duration):
 * what every process measuring its rungs — a chunk's child, the title job, a one-pass encode —
 * must use alike, so the chunks' frames join into the title's sample.
 */
export function planRungFrameSample(plan: Pick<EncodePlan, 'frameRate' | 'segmentDurationS' | 'probe'>): number {
  return rungFrameSample(plan.frameRate, plan.segmentDurationS, plan.probe.durationS);
}

export interface MeasureSettings {
  /** Measure every video rung's quality against the master (PSNR, SSIM, VMAF with a model). */
  readonly measureQuality: boolean;
  readonly vmafModelPath?: string | undefined;
  /**
   * With VMAF, compare every n-th frame and its two neighbours (rungFrameSample; 1 = every frame).
   * Without VMAF every frame is compared (PSNR and SSIM cost little).
   */
  readonly frameSample: number;
  /**
   * Quality measured already, by rendition name (a distributed encode's children measure their
   * own chunks: measureLadderChunkQuality); these rungs are not measured again.
   */
  readonly measuredQuality?: ReadonlyMap<string, QualityScores> | undefined;
  /** Time those measurements took, s (counted in measureS). */
  readonly measuredElsewhereS?: number | undefined;
}

/**
 * The reference every rung of a plan (or of one chunk, `window`) is measured against: the master
 * (or the chunk's window of it) at qualityMeasurementSize — its display size, at most 1920x1080.
 */
export function rungReferenceSpec(plan: EncodePlan, settings: Pick<MeasureSettings, 'vmafModelPath' | 'frameSample'>, window: Chunk | undefined): QualityReferenceSpec {
  const video = plan.probe.video!;
  return {
    reference: plan.masterPath,
    ...masterPictureOf(video),
    ...(plan.probe.videoStartOffsetS ? { videoStartOffsetS: plan.probe.videoStartOffsetS } : {}),
    ...(window ? { referenceWindows: [{ startS: window.startS, durationS: window.durationS, ...(window.seekFromS !== undefined ? { seekFromS: window.seekFromS } : {}) }] } : {}),
    ...qualityMeasurementSize(video),
    frameRate: plan.frameRate,
    referenceDurationS: window?.durationS ?? plan.probe.durationS,
    ...(settings.vmafModelPath ? { vmafModelPath: settings.vmafModelPath, frameSample: settings.frameSample } : {}),
  };
}

/**
 * The reference tap for a ladder encode whose rungs will be measured with these settings
 * (rendition.ts encodeVideoRenditions): the encode's decode of the master (or of `window`, a chunk)
 * also writes the measurement's reference frames to `output`, so measuring does not decode the
 * master again — a 1080p master decodes at about real time on this 2-core machine, a sixth of
 * measuring a chunk's rungs with VMAF (docs/per-title.md).
 * @returns the tap, or undefined when there is nothing to share (no VMAF frame sample: PSNR and
 *          SSIM on every frame read the master in the comparisons' own process) or the frames
 *          would not fit beside `output` (referenceFramesFit).
 */
export async function referenceTapFor(plan: EncodePlan, settings: Pick<MeasureSettings, 'vmafModelPath' | 'frameSample'>, window: Chunk | undefined, output: string): Promise<ReferenceTap | undefined> {
  const spec = effectiveSpec(rungReferenceSpec(plan, settings, window));
  if (!spec.vmafModelPath || !(await referenceFramesFit(spec, spec.referenceDurationS!, path.dirname(output)))) return undefined;
  return { filter: referenceFramesFilter(spec), output };
}

/**
 * Measures rendition folders (each a media playlist and its fMP4 segments, joined into one file
 * for ffmpeg) against one decode of the master, or of its `window` (a chunk), at the master's
 * display size, frame by frame (measureFrameScoresBatch: one ffmpeg process with PSNR/SSIM, and
 * with VMAF on a frame sample too, the rungs concatenated into one libvmaf; VMAF on every frame
 * one process per folder, as libvmaf 1.x allows). Decoding a 1080p master costs more than the
 * comparisons, so one decode for the ladder instead of one per rung.
 * @param folders rendition folders by name.
 * @param preparedReference the reference frames a referenceTap wrote (none: decoded here).
 * @returns per-frame scores by name, in the order given.
 * @throws RangeError when no folder is given; FfmpegError; EncodeCancelledError.
 */
async function measureFolders(
  plan: EncodePlan,
  folders: ReadonlyMap<string, string>,
  settings: Pick<MeasureSettings, 'vmafModelPath' | 'frameSample'>,
  window: Chunk | undefined,
  paths: FfmpegPaths,
  run: { signal?: AbortSignal | undefined; onProgress?: ((fraction: number) => void) | undefined },
  preparedReference?: string,
): Promise<Map<string, FrameScores>> {
  if (folders.size === 0) throw new RangeError('no rendition folder to measure');
  const names = [...folders.keys()];
  // Beside each folder, hidden (a staging commit never publishes dot-names).
  const joined = names.map((n) => path.join(path.dirname(folders.get(n)!), `.${path.basename(folders.get(n)!)}.${n}.measure.mp4`));
  try {
    for (const [j, n] of names.entries()) {
      const playlist = path.join(folders.get(n)!, MEDIA_PLAYLIST_NAME);
      await joinFmp4Rendition(playlist, await measureMediaPlaylist(playlist), joined[j]!);
    }
    const reference = { ...rungReferenceSpec(plan, settings, window), ...(preparedReference ? { preparedReference } : {}) };
    const frames = await measureFrameScoresBatch(reference, joined, paths, {
      ...(run.signal ? { signal: run.signal } : {}),
      ...(run.onProgress ? { durationS: window?.durationS ?? plan.probe.durationS, onProgress: (f: number) => run.onProgress!(f) } : {}),
    });
    return new Map(names.map((n, j) => [n, frames[j]!]));
  } finally {
    await Promise.all(joined.map((f) => fs.rm(f, { force: true })));
  }
}

/** Measures every rung not measured elsewhere (measureFolders on the whole master). @returns scores by rendition name. */
async function measureRungsBatch(encoded: EncodedTitle, settings: MeasureSettings, paths: FfmpegPaths, options: StageOptions): Promise<Map<string, QualityScores>> {
  const { plan, outDir } = encoded;
  const names = plan.rungs.map((r) => r.name).filter((n) => !settings.measuredQuality?.has(n));
  const out = new Map<string, QualityScores>();
  if (names.length === 0) return out;
  const label = `${names.length} video renditions`;
  const frames = await measureFolders(plan, new Map(names.map((n) => [n, path.join(outDir, n)])), settings, undefined, paths, {
    signal: options.signal,
    onProgress: options.onProgress ? (f) => options.onProgress!(f, label) : undefined,
  }, encoded.referenceFrames); // read only with a VMAF frame sample (measureFrameScoresBatch ignores it otherwise)
  for (const [n, f] of frames) out.set(n, summarizeFrames(f));
  return out;
}

/**
 * Measures one encoded chunk of every rung against the master's same frames (the chunk's window
 * of the master), frame by frame, against one decode of that window (measureFolders): a
 * distributed encode's child measures its own chunk, and the title job summarises the chunks'
 * frames (quality-metrics.ts concatFrameScores, summarizeFrames).
 * @param chunkDirs each rung's chunk folder (encodeLadderChunk's output), by rendition name.
 * @param options.referenceFrames the chunk's reference frames written by its encode (referenceTapFor), when it wrote them.
 * @returns per-frame scores by rendition name, in the order given.
 * @throws RangeError for a chunk the plan does not have or no folder; FfmpegError; EncodeCancelledError.
 */
export async function measureLadderChunkQuality(
  plan: EncodePlan,
  chunk: Chunk,
  chunkDirs: ReadonlyMap<string, string>,
  settings: Pick<MeasureSettings, 'vmafModelPath' | 'frameSample'>,
  paths: FfmpegPaths,
  options: Pick<StageOptions, 'signal'> & { onProgress?: (fraction: number) => void; referenceFrames?: string | undefined },
): Promise<Map<string, FrameScores>> {
  if (!plan.chunks.some((c) => c.index === chunk.index && c.startS === chunk.startS)) throw new RangeError(`the plan has no chunk ${chunk.index} at ${chunk.startS} s`);
  const { referenceFrames, ...run } = options;
  return measureFolders(plan, chunkDirs, settings, chunk, paths, run, referenceFrames);
}

export interface MeasuredTitle {
  readonly encoded: EncodedTitle;
  /** Video renditions, lowest rung first, with measured bit rates, codecs and quality. */
  readonly video: readonly VideoRenditionRecord[];
  /** Audio renditions, in the master's stream order (none for a title without audio). */
  readonly audio: readonly AudioRenditionRecord[];
  /** Wall-clock time of the quality measurements, s (0 when not measured). */
  readonly measureS: number;
}

/**
 * Measure: peak and average bit rates from the real segments (RFC 8216 §4.3.4.2), codec strings
 * from the init segments, and each video rung's quality against the master at its display size.
 * @throws FfmpegError; EncodeCancelledError.
 */
export async function measureRenditions(encoded: EncodedTitle, settings: MeasureSettings, paths: FfmpegPaths, options: StageOptions): Promise<MeasuredTitle> {
  const { plan, outDir } = encoded;
  const audio: AudioRenditionRecord[] = [];
  for (const track of plan.audio) {
    const dir = path.join(outDir, track.name);
    const m = await measureMediaPlaylist(path.join(dir, MEDIA_PLAYLIST_NAME));
    const init = await fs.readFile(path.join(dir, m.initUri ?? 'init.mp4'));
    audio.push({
      kind: 'audio',
      uri: `${track.name}/${MEDIA_PLAYLIST_NAME}`,
      name: track.label,
      ...(track.language ? { language: track.language } : {}),
      isDefault: track.isDefault,
      audioIndex: track.audioIndex,
      channels: track.channels ?? 2,
      sampleRateHz: track.sampleRateHz,
      targetBitrateBps: track.bitrateBps,
      peakBitrateBps: Math.round(m.peakBitrateBps),
      averageBitrateBps: Math.round(m.averageBitrateBps),
      codecs: audioCodecString(init),
      segmentCount: m.segments.length,
    });
  }
  const started = performance.now();
  let measuredHere = new Map<string, QualityScores>();
  try {
    if (settings.measureQuality) measuredHere = await measureRungsBatch(encoded, settings, paths, options);
  } finally {
    // The encode's reference frames are read once, here (or not at all).
    if (encoded.referenceFrames) await fs.rm(encoded.referenceFrames, { force: true });
  }
  const records: VideoRenditionRecord[] = [];
  for (const { name, rung } of plan.rungs) {
    const dir = path.join(outDir, name);
    const m = await measureMediaPlaylist(path.join(dir, MEDIA_PLAYLIST_NAME));
    const init = await fs.readFile(path.join(dir, m.initUri ?? 'init.mp4'));
    const quality: QualityScores | undefined = settings.measuredQuality?.get(name) ?? measuredHere.get(name);
    records.push({
      kind: 'video',
      uri: `${name}/${MEDIA_PLAYLIST_NAME}`,
      width: rung.width,
      height: rung.height,
      frameRate: rung.frameRate ?? plan.frameRate,
      targetBitrateBps: rung.bitrateBps,
      peakBitrateBps: Math.round(m.peakBitrateBps),
      averageBitrateBps: Math.round(m.averageBitrateBps),
      codecs: videoCodecString(init),
      segmentCount: m.segments.length,
      ...(quality ? { quality: { ...roundScores(quality), ...(quality.low ? { low: roundScores(quality.low) } : {}) } } : {}),
    });
  }
  return { encoded, video: records, audio, measureS: (settings.measuredElsewhereS ?? 0) + (settings.measureQuality ? (performance.now() - started) / 1000 : 0) };
}
