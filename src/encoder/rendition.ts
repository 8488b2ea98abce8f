/**
 * Encodes one rendition of a title into CMAF fMP4 HLS: one ffmpeg process per rendition
 * (DESIGN.md: one process writing several renditions with -var_stream_map in fmp4 mode
 * crashes the bundled 2018 ffmpeg). Video renditions are video-only; audio is its own
 * rendition. Every video rendition gets keyframes at the same timestamps — every
 * `segmentDurationS` seconds, with scene-cut keyframes off and a closed, fixed GOP — so
 * segment boundaries line up across the ladder and switching is seamless
 * (Apple HLS Authoring Specification §1.10, "Keyframes" and §1.9 segment alignment).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { runFfmpeg, type FfmpegPaths, type RunOptions } from './ffmpeg.js';
import { masterSeek, type MasterWindowStart } from './master-seek.js';
import { advancePresentation, dropEditLists, firstCompositionOffset } from './fmp4-composition.js';
import type { LadderRung, VideoCodec } from './fixed-ladder.js';
import { masterPictureFilter, type MasterPicture } from './media-info.js';

/** File names inside a rendition folder; fixed so URLs are predictable. */
export const MEDIA_PLAYLIST_NAME = 'index.m3u8';
export const INIT_SEGMENT_NAME = 'init.mp4';
export const SEGMENT_PATTERN = 'seg_%05d.m4s';

/** A video rendition to encode; its MasterPicture fields say how the master's pictures are read before scaling. */
export interface VideoRenditionSpec extends MasterPicture {
  readonly masterPath: string;
  /** Folder to write index.m3u8, init.mp4 and the segments into (created if missing). */
  readonly outDir: string;
  readonly rung: LadderRung;
  /**
   * Output frame rate in frames per second, constant: the title's, or the rung's own when it has
   * one (LadderRung.frameRate, a half-rate low rung: the scaler then drops frames evenly first).
   */
  readonly frameRate: number;
  /** Target segment duration in seconds; keyframes are forced at every multiple of it. */
  readonly segmentDurationS: number;
  /** Encoder preset (x264's names, which x265 shares: ultrafast … placebo). */
  readonly x264Preset: string;
  /** The master's video start offset (ProbeResult.videoStartOffsetS), s: a chunk's seek adds it. */
  readonly videoStartOffsetS?: number | undefined;
}

/**
 * Peak rate and decoder buffer relative to the target bitrate (capped VBR). Apple's HLS
 * Authoring Specification §2.4 asks that a VOD rendition's peak stay within 200% of its
 * average; 1.5x maxrate with a 2 s-equivalent buffer keeps well inside that.
 */
export const MAXRATE_FACTOR = 1.5;
export const BUFSIZE_FACTOR = 2;

/** Builds ffmpeg output options for a video rendition (exported for tests of the command line). */
export function videoRenditionOptions(spec: VideoRenditionSpec): string[] {
  return ['-map', '0:v:0', '-an', '-sn', '-dn', '-vf', `${masterPictureFilter(spec)}${rungScaleFilter(spec)}`, ...videoEncodeOptions(spec)];
}

/**
 * The filter (with its trailing comma) that brings frames to a reduced frame rate before a
 * scaler — ffmpeg's `fps`, which drops frames evenly — or nothing at the title's rate (undefined).
 * A half-rate rung and the trials that chose it (per-title-round.ts) drop frames alike.
 */
export const reducedRateFilter = (frameRate: number | undefined): string => (frameRate === undefined ? '' : `fps=fps=${Number(frameRate.toFixed(6))},`);

/**
 * The scaler of a rung: first ffmpeg's `fps` filter to the rendition's frame rate (dropping or
 * repeating frames: every n-th frame of a half-rate rung, reducedRateFilter; every other frame of
 * a 120 fps master published at 60; each frame of a 1 fps time-lapse 24 times; a variable-frame-
 * rate master's stills repeated at its cadence), then bicubic to its size, square pixels. The
 * filter, not the output's `-r`, converts the rate: `-r` converts only under `-vsync cfr`, and the
 * bundled 2018 ffmpeg's `-vsync` is global, so the `-vsync 0` of a reference tap in the same
 * process (encodeVideoRenditions) turned it off for every rendition (a 3 s 120 fps master came out
 * with all 360 frames under a 6 s playlist); under cfr, `-r` also ends a rendition long (2 frames
 * at 60 fps from 120, 23 at 24 fps from 1 fps).
 */
const rungScaleFilter = (spec: VideoRenditionSpec): string => `${reducedRateFilter(spec.frameRate)}scale=${spec.rung.width}:${spec.rung.height}:flags=bicubic,setsar=1`;

/**
 * Encoder options of one video encode, after the frame rate: the same rate control and GOP for
 * both codecs — a CRF (capped by the VBV when `vbv` is given) or a target bitrate (one-pass ABR,
 * capped the same way); a closed GOP of exactly `gop` frames and no scene-cut keyframes. HEVC is
 * written with the `hvc1` sample entry (parameter sets in the `hvcC` box only), which Apple's
 * HLS Authoring Specification asks for HEVC in fMP4 (§1.5); x265's VBV (kbit/s) and GOP are set
 * in -x265-params rather than relying on which generic options the bundled 2018 ffmpeg's wrapper
 * maps onto x265's. The final encodes (this module) and the per-title trials
 * (per-title-trials.ts) both use it, so a trial is the encode it predicts.
 * @throws RangeError without a CRF or a bitrate.
 */
export function videoEncoderOptions(o: { readonly codec?: VideoCodec | undefined; readonly preset: string; readonly crf?: number | undefined; readonly bitrateBps?: number | undefined; readonly vbv?: { readonly maxrateBps: number; readonly bufsizeBps: number } | undefined; readonly gop: number }): string[] {
  let rate: string[];
  if (o.crf !== undefined) rate = ['-crf', String(o.crf)];
  else if (o.bitrateBps !== undefined) rate = ['-b:v', String(o.bitrateBps)];
  else throw new RangeError('an encode needs a CRF or a bitrate');
  if ((o.codec ?? 'h264') === 'hevc') {
    const params = [`keyint=${o.gop}`, `min-keyint=${o.gop}`, 'scenecut=0', 'open-gop=0', ...(o.vbv ? [`vbv-maxrate=${Math.round(o.vbv.maxrateBps / 1000)}`, `vbv-bufsize=${Math.round(o.vbv.bufsizeBps / 1000)}`] : []), 'log-level=error'];
    return ['-c:v', 'libx265', '-preset', o.preset, '-tag:v', 'hvc1', '-pix_fmt', 'yuv420p', ...rate, '-x265-params', params.join(':')];
  }
  return [
    '-c:v', 'libx264', '-profile:v', 'high', '-preset', o.preset, '-pix_fmt', 'yuv420p', ...rate,
    ...(o.vbv ? ['-maxrate', String(Math.round(o.vbv.maxrateBps)), '-bufsize', String(Math.round(o.vbv.bufsizeBps))] : []),
    '-g', String(o.gop), '-keyint_min', String(o.gop), '-sc_threshold', '0',
    '-x264-params', 'open-gop=0',
  ];
}

/** A VBV peaking at `maxrateBps` with a buffer in the same proportion to it as BUFSIZE_FACTOR is to MAXRATE_FACTOR (bits/s, bits). */
export function vbvAtPeak(maxrateBps: number): { maxrateBps: number; bufsizeBps: number } {
  return { maxrateBps, bufsizeBps: (maxrateBps * BUFSIZE_FACTOR) / MAXRATE_FACTOR };
}

/** A rung's VBV: vbvAtPeak of `rung.maxrateBps`, else of its bitrate × MAXRATE_FACTOR (bits/s, bits). */
export function rungVbv(rung: LadderRung): { maxrateBps: number; bufsizeBps: number } {
  return vbvAtPeak(rung.maxrateBps ?? rung.bitrateBps * MAXRATE_FACTOR);
}

/** A rung's encoder options: capped CRF for per-title rungs, one-pass capped ABR otherwise. */
function codecOptions(spec: VideoRenditionSpec, gop: number): string[] {
  const { rung } = spec;
  return videoEncoderOptions({
    codec: rung.codec,
    preset: spec.x264Preset,
    ...(rung.crf !== undefined ? { crf: rung.crf } : { bitrateBps: rung.bitrateBps }),
    vbv: rungVbv(rung),
    gop,
  });
}

/** Output options of a rung after its picture is chosen (frame rate, encoder, HLS muxer). */
function videoEncodeOptions(spec: VideoRenditionSpec): string[] {
  const { frameRate, segmentDurationS } = spec;
  const gop = Math.max(1, Math.round(frameRate * segmentDurationS));
  const fps = Number(frameRate.toFixed(3));
  return [
    // The frames already come at this rate (rungScaleFilter's fps filter): -r sets the time base and
    // -vsync 0 keeps the frames as they are (ffmpeg's cfr would repeat the last one for the length
    // of a master frame: 23 more of a 1 fps time-lapse's last frame at 24 fps).
    '-r', String(fps), '-vsync', '0',
    ...codecOptions(spec, gop),
    '-force_key_frames', `expr:gte(t,n_forced*${segmentDurationS})`,
    ...hlsMuxerOptions(spec.outDir, segmentDurationS),
  ];
}

export interface AudioRenditionSpec {
  readonly masterPath: string;
  /** Which of the master's audio streams (`-map 0:a:N`). Default 0. */
  readonly audioIndex?: number;
  readonly outDir: string;
  /** Bitrate in bits per second. */
  readonly bitrateBps: number;
  /** AAC-LC stereo (default) or AC-3 5.1 (AUDIO_CODECS). */
  readonly codec?: AudioCodec;
  /** Output sample rate in Hz (the master's when it is 44.1 or 48 kHz, else 48 kHz). */
  readonly sampleRateHz: number;
  readonly segmentDurationS: number;
  /** Start reading the master here, s on the file's timeline (EncodePlan.audioStartS: the first video frame). Default 0. */
  readonly startS?: number | undefined;
}

/**
 * Audio codecs of the renditions: ffmpeg encoder and output channels. AC-3 rather than E-AC-3:
 * the bundled ffmpeg writes E-AC-3 into fMP4 without its `dec3` box (ffprobe then reads the
 * init segment as 2 channels), AC-3 with its `dac3`.
 */
export const AUDIO_CODECS = Object.freeze({ aac: { encoder: 'aac', channels: 2 }, ac3: { encoder: 'ac3', channels: 6 } } as const);
export type AudioCodec = keyof typeof AUDIO_CODECS;

/**
 * The audio's resampler: its timeline starts at 0, the read's start, with silence before a stream
 * that starts later (`first_pts=0`, the use ffmpeg's documentation gives it: "pad the beginning
 * with silence if an audio stream starts after the video stream"), and gaps of more than 0.1 s in
 * it filled with silence (`async=1`: swresample's hard compensation; no stretching). Every
 * rendition's timeline starts at 0 and players line them up from there, so audio starting 0.7 s
 * after the video (an MP4 whose audio track opens with an empty edit) played 0.58 s early.
 */
const AUDIO_TIMELINE_FILTER = 'aresample=async=1:first_pts=0';

/** Builds ffmpeg output options for an audio rendition (AAC-LC stereo or AC-3 5.1) of one of the master's audio streams. */
export function audioRenditionOptions(spec: AudioRenditionSpec): string[] {
  const codec = AUDIO_CODECS[spec.codec ?? 'aac'];
  return [
    '-map', `0:a:${spec.audioIndex ?? 0}`, '-vn', '-sn', '-dn', '-af', AUDIO_TIMELINE_FILTER,
    '-c:a', codec.encoder, '-b:a', String(spec.bitrateBps), '-ac', String(codec.channels), '-ar', String(spec.sampleRateHz),
    ...hlsMuxerOptions(spec.outDir, spec.segmentDurationS),
  ];
}

function hlsMuxerOptions(outDir: string, segmentDurationS: number): string[] {
  return [
    '-f', 'hls',
    '-hls_time', String(segmentDurationS),
    '-hls_playlist_type', 'vod',
    '-hls_segment_type', 'fmp4',
    '-hls_fmp4_init_filename', INIT_SEGMENT_NAME,
    '-hls_segment_filename', path.join(outDir, SEGMENT_PATTERN),
  ];
}

/**
 * Makes a rendition folder's video segments present from their segment boundaries (CMAF's
 * rule; fmp4-composition.ts says why hls.js needs it): the delay ffmpeg gave the first sample
 * (x264's B-frame delay, 2 frames) is taken off every composition offset and sidx time, and the
 * init segment's edit list, which compensated for it, is dropped. Idempotent (a second call finds
 * no delay). Every encode of this module calls it on its output.
 * @throws RangeError from fmp4-composition.ts on segments it cannot read.
 */
export async function alignVideoPresentation(outDir: string): Promise<void> {
  const segments = (await fs.readdir(outDir)).filter((f) => /^seg_\d+\.m4s$/.test(f)).sort();
  if (segments.length === 0) return;
  const delay = firstCompositionOffset(await fs.readFile(path.join(outDir, segments[0]!)));
  if (delay <= 0) return;
  for (const name of segments) {
    const file = path.join(outDir, name);
    await fs.writeFile(file, advancePresentation(await fs.readFile(file), delay));
  }
  const init = path.join(outDir, INIT_SEGMENT_NAME);
  await fs.writeFile(init, dropEditLists(await fs.readFile(init)));
}

/**
 * Encodes a video rendition.
 * @throws FfmpegError or EncodeCancelledError from `runFfmpeg`.
 */
export async function encodeVideoRendition(spec: VideoRenditionSpec, paths: FfmpegPaths, run: RunOptions = {}): Promise<void> {
  await fs.mkdir(spec.outDir, { recursive: true });
  await runFfmpeg(
    { inputs: [{ source: spec.masterPath }], outputOptions: videoRenditionOptions(spec), output: path.join(spec.outDir, MEDIA_PLAYLIST_NAME) },
    paths,
    run,
  );
  await alignVideoPresentation(spec.outDir);
}

/** A chunk of a master to encode (chunk-plan.ts Chunk): its start, length and, in a container whose seeking is not exact, where its seek starts. */
export interface ChunkWindow extends MasterWindowStart {
  readonly durationS: number;
}

/**
 * Encodes one chunk of a video rendition into `spec.outDir`: the master from `startS` for
 * `durationS` seconds (input seeking, which decodes from the keyframe before `startS` and
 * drops what comes before it, so the chunk starts on the frame a one-pass encode would start
 * that segment on; in a container whose seeking is not exact, from `chunk.seekFromS`, before the
 * keyframe, the frames up to the start decoded and dropped: master-seek.ts masterSeek), with the rendition's settings; keyframes are forced every segment duration
 * from the chunk's start, which is a segment boundary of the title. The chunk's decode timeline
 * starts at 0; stitchChunkedRendition (hls-packager.ts) moves it into place.
 * @throws FfmpegError or EncodeCancelledError from `runFfmpeg`.
 */
export async function encodeVideoChunk(spec: VideoRenditionSpec, chunk: ChunkWindow, paths: FfmpegPaths, run: RunOptions = {}): Promise<void> {
  await fs.mkdir(spec.outDir, { recursive: true });
  await runFfmpeg(
    {
      inputs: [{ source: spec.masterPath, options: masterSeek(chunk, spec.videoStartOffsetS) }],
      outputOptions: ['-t', chunk.durationS.toFixed(6), ...videoRenditionOptions(spec)],
      output: path.join(spec.outDir, MEDIA_PLAYLIST_NAME),
    },
    paths,
    run,
  );
  await alignVideoPresentation(spec.outDir);
}

/** One more output of a ladder encode: the reference frames a quality measurement reads (encodeVideoRenditions). */
export interface ReferenceTap {
  /** Filter chain from the decoded (and, for an interlaced master, deinterlaced) master to the reference frames (quality-graph.ts referenceFramesFilter). */
  readonly filter: string;
  /** NUT file to write (raw video). */
  readonly output: string;
}

/**
 * Encodes several video renditions of one master in one ffmpeg process — the whole title, or
 * one chunk of it (input seeking as encodeVideoChunk): the master is decoded once and `split`
 * into one scaler and one x264 per rendition, each output with the options videoRenditionOptions
 * gives it alone (so the encodes are the ones a process per rendition would make). Decoding a
 * 1080p master costs about as much as encoding a small rung, so one decode for the ladder
 * instead of one per rung roughly halves a ladder's time (measured: 3 rungs of a 1080p30 master,
 * 11.0 s in one process against 21.4 s in three). All specs share the master and segment
 * duration; a rung at a reduced frame rate (LadderRung.frameRate) drops frames in its own branch.
 *
 * With `referenceTap`, the same decode also feeds one more output: the master's frames through
 * `referenceTap.filter` (quality-graph.ts referenceFramesFilter: the frames a quality measurement
 * compares, already scaled to the display size) as raw video in a NUT file, which the measurement
 * then reads instead of decoding the master again (QualityReferenceSpec.preparedReference).
 * @throws RangeError for an empty list or specs of different masters; FfmpegError or
 *         EncodeCancelledError from `runFfmpeg`.
 */
export async function encodeVideoRenditions(
  specs: readonly VideoRenditionSpec[],
  paths: FfmpegPaths,
  run: RunOptions & { chunk?: ChunkWindow; referenceTap?: ReferenceTap } = {},
): Promise<void> {
  const first = specs[0];
  if (!first) throw new RangeError('no rendition to encode');
  if (specs.some((s) => s.masterPath !== first.masterPath || masterPictureFilter(s) !== masterPictureFilter(first))) throw new RangeError('renditions of one process must share the master and how its pictures are read');
  for (const s of specs) await fs.mkdir(s.outDir, { recursive: true });
  const { chunk, referenceTap, ...runOptions } = run;
  const labels = specs.map((_s, i) => `[v${i}]`);
  const branches = specs.length + (referenceTap ? 1 : 0);
  const graph = [
    `[0:v:0]${masterPictureFilter(first)}split=${branches}${Array.from({ length: branches }, (_s, i) => `[s${i}]`).join('')}`,
    ...specs.map((s, i) => `[s${i}]${rungScaleFilter(s)}${labels[i]}`),
    ...(referenceTap ? [`[s${specs.length}]${referenceTap.filter}[ref]`] : []),
  ].join(';');
  const limit = chunk ? ['-t', chunk.durationS.toFixed(6)] : [];
  const outputs = specs.map((s, i) => ({
    outputOptions: [...limit, '-map', labels[i]!, '-an', '-sn', '-dn', ...videoEncodeOptions(s)],
    output: path.join(s.outDir, MEDIA_PLAYLIST_NAME),
  }));
  // -vsync 0: keep the kept frames' timestamps (gaps included), as prepareReferenceFrames does (in
  // this ffmpeg it applies to every output; the renditions pass their frames through as well).
  if (referenceTap) outputs.push({ outputOptions: [...limit, '-map', '[ref]', '-vsync', '0', '-c:v', 'rawvideo', '-an', '-sn', '-dn', '-f', 'nut'], output: referenceTap.output });
  await runFfmpeg(
    {
      inputs: [{ source: first.masterPath, options: chunk ? masterSeek(chunk, first.videoStartOffsetS) : [] }],
      outputOptions: ['-filter_complex', graph, ...outputs[0]!.outputOptions],
      output: outputs[0]!.output,
      moreOutputs: outputs.slice(1),
    },
    paths,
    runOptions,
  );
  for (const s of specs) await alignVideoPresentation(s.outDir);
}

/**
 * Encodes the audio rendition.
 * @throws FfmpegError or EncodeCancelledError from `runFfmpeg`.
 */
export async function encodeAudioRendition(spec: AudioRenditionSpec, paths: FfmpegPaths, run: RunOptions = {}): Promise<void> {
  await fs.mkdir(spec.outDir, { recursive: true });
  await runFfmpeg(
    { inputs: [{ source: spec.masterPath, options: spec.startS && spec.startS > 0 ? ['-ss', spec.startS.toFixed(6)] : [] }], outputOptions: audioRenditionOptions(spec), output: path.join(spec.outDir, MEDIA_PLAYLIST_NAME) },
    paths,
    run,
  );
}
