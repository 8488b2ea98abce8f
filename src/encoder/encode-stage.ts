/**
 * The encode stage (title-stages.ts lists them all): one ffmpeg process for the video ladder (per
 * chunk for chunked titles; a distributed encode's children take one chunk of the whole ladder),
 * the audio rendition once per title, the poster and the thumbnail sprites.
 * Its pieces — one chunk of the ladder, the audio, stitching, the poster — also run apart,
 * as the child jobs of a distributed encode (ingest/title-flow.ts), on any worker.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Chunk } from './chunk-plan.js';
import { runFfmpeg, type FfmpegPaths } from './ffmpeg.js';
import { masterPictureFilter, masterPictureOf, type MasterPicture } from './media-info.js';
import { stitchChunkedRendition } from './hls-packager.js';
import { encodeAudioRendition, encodeVideoRenditions, MEDIA_PLAYLIST_NAME, SEGMENT_PATTERN, type AudioRenditionSpec, type ReferenceTap, type VideoRenditionSpec } from './rendition.js';
import { referenceTapFor, type MeasureSettings } from './measure-stage.js';
import { packageSubtitleTracks } from './subtitles.js';
import { makeThumbnails, type ThumbnailTrack } from './trick-play.js';
import type { AudioTrackPlan } from './audio-tracks.js';
import { POSTER_NAME, type EncodedTitle, type EncodePlan, type StageOptions } from './title-stages.js';

/** The n-th segment's name in a stitched rendition: the name ffmpeg gives it in a one-pass encode (SEGMENT_PATTERN). */
export const segmentName = (n: number): string => SEGMENT_PATTERN.replace('%05d', String(n).padStart(5, '0'));

/**
 * Writes a 320-pixel-wide JPEG of the frame at 10% of the title (at most 5 s in), for the catalog
 * (deinterlaced first when `interlaced`).
 * @returns the poster's name, relative to the title folder.
 */
export async function makePoster(masterPath: string, out: string, durationS: number, paths: FfmpegPaths, signal?: AbortSignal, picture: MasterPicture = {}): Promise<string> {
  const atS = Math.min(5, durationS * 0.1);
  await runFfmpeg(
    { inputs: [{ source: masterPath, options: ['-ss', atS.toFixed(2)] }], outputOptions: ['-map', '0:v:0', '-frames:v', '1', '-vf', `${masterPictureFilter(picture)}scale=320:-2`, '-q:v', '4'], output: out },
    paths,
    signal ? { signal } : {},
  );
  return POSTER_NAME;
}

/** The reference frames a ladder encode writes for the measurement (hidden: a staging commit never publishes dot-names). */
export const REFERENCE_FRAMES_NAME = '.reference-frames.nut';

/**
 * Encode: one ffmpeg process for every video rendition (one decode of the master, rendition.ts
 * encodeVideoRenditions) — one per chunk when the plan has several chunks, each rendition stitched
 * back from its chunks (hls-packager.ts stitchChunkedRendition) — into
 * `outDir/<rendition>/` (CMAF fMP4, keyframes at every segment boundary), audio once for the
 * whole title (each of its audio tracks), the WebVTT subtitle renditions, then the poster. Progress is weighted by pixel rate × duration: a rendition
 * costs about its pixel count; audio about a tenth of the smallest rung.
 * @param options.measure the settings the rungs will be measured with: a one-pass encode (one
 *        chunk) then also writes the measurement's reference frames (measure-stage.ts
 *        referenceTapFor; EncodedTitle.referenceFrames), so measuring does not decode the master again.
 * @throws FfmpegError; EncodeCancelledError when `signal` aborts.
 */
export async function encodeRenditions(
  plan: EncodePlan,
  outDir: string,
  x264Preset: string,
  paths: FfmpegPaths,
  options: StageOptions & { measure?: Pick<MeasureSettings, 'vmafModelPath' | 'frameSample'> | undefined },
): Promise<EncodedTitle> {
  const started = performance.now();
  const { probe } = plan;
  const weights = plan.rungs.map((r) => r.rung.width * r.rung.height);
  const audioWeight = Math.min(...weights) * 0.1;
  const totalWeight = weights.reduce((a, b) => a + b, 0) + audioWeight * plan.audio.length;
  let doneWeight = 0;
  const runFor = (name: string, weight: number) => ({
    durationS: probe.durationS,
    signal: options.signal,
    onProgress: (f: number) => options.onProgress?.((doneWeight + f * weight) / totalWeight, name),
  });
  options.log.info({ titleId: plan.titleId, durationS: probe.durationS, rungs: plan.rungs.length, audioTracks: plan.audio.length }, 'encoding title');
  const chunked = plan.chunks.length > 1;
  const specs = ladderSpecs(plan, (name) => path.join(outDir, name), x264Preset);
  const videoWeight = weights.reduce((a, b) => a + b, 0);
  const ladderName = `${plan.rungs.length} video renditions`;
  let referenceFrames: string | undefined;
  if (!chunked) {
    // Every rung from one decode of the master (encodeVideoRenditions), which also writes the
    // measurement's reference frames when they will be needed and fit.
    await fs.mkdir(outDir, { recursive: true });
    const tap = options.measure ? await referenceTapFor(plan, options.measure, undefined, path.join(outDir, REFERENCE_FRAMES_NAME)) : undefined;
    await encodeVideoRenditions(specs, paths, { ...runFor(ladderName, videoWeight), ...(tap ? { referenceTap: tap } : {}) });
    referenceFrames = tap?.output;
    doneWeight += videoWeight;
  } else {
    for (const chunk of plan.chunks) {
      const weight = (videoWeight * chunk.durationS) / probe.durationS;
      const chunkSpecs = ladderSpecs(plan, (name) => path.join(outDir, '.chunks', name, String(chunk.index)), x264Preset);
      await encodeVideoRenditions(chunkSpecs, paths, { ...runFor(`${ladderName}, chunk ${chunk.index + 1}/${plan.chunks.length}`, weight), durationS: chunk.durationS, chunk });
      doneWeight += weight;
    }
    for (const [i, { name }] of plan.rungs.entries()) {
      await stitchChunkedRendition(plan.chunks.map((c) => ({ dir: path.join(outDir, '.chunks', name, String(c.index)), startS: c.startS })), specs[i]!.outDir, MEDIA_PLAYLIST_NAME, segmentName);
    }
    await fs.rm(path.join(outDir, '.chunks'), { recursive: true, force: true });
  }
  options.log.debug({ renditions: plan.rungs.length, chunks: plan.chunks.length }, 'video renditions encoded');
  for (const track of plan.audio) {
    await encodeAudioRendition(audioSpec(plan, track, path.join(outDir, track.name)), paths, runFor(track.name, audioWeight));
    doneWeight += audioWeight;
  }
  const encodeS = (performance.now() - started) / 1000;
  const subtitles = await packageSubtitleTracks(plan.subtitles, plan.masterPath, { durationS: probe.durationS, segmentDurationS: plan.segmentDurationS }, outDir, paths, options);
  const poster = await makePoster(plan.masterPath, path.join(outDir, POSTER_NAME), probe.durationS, paths, options.signal, masterPictureOf(probe.video)).catch((err: unknown) => {
    options.log.warn({ err: String(err) }, 'no poster');
    return undefined;
  });
  const thumbnails = await makeTitleThumbnails(plan, outDir, paths, options);
  return { plan, outDir, poster, thumbnails, subtitles, encodeS, ...(referenceFrames ? { referenceFrames } : {}) };
}

/**
 * The title's thumbnail sprites and WebVTT track (trick-play.ts) under `outDir`; a failure is
 * logged and leaves the title without them (as the poster).
 */
export async function makeTitleThumbnails(plan: EncodePlan, outDir: string, paths: FfmpegPaths, options: Pick<StageOptions, 'log' | 'signal'>): Promise<ThumbnailTrack | undefined> {
  const video = plan.probe.video!;
  return makeThumbnails(plan.masterPath, outDir, plan.probe.durationS, { width: video.displayWidth, height: video.displayHeight, ...masterPictureOf(video) }, paths, options.signal).catch((err: unknown) => {
    options.log.warn({ err: String(err) }, 'no thumbnails');
    return undefined;
  });
}

/** The rendition spec of every planned rung, lowest first, each writing into `outDirOf(rendition)`. */
function ladderSpecs(plan: EncodePlan, outDirOf: (rendition: string) => string, x264Preset: string): VideoRenditionSpec[] {
  const picture = masterPictureOf(plan.probe.video);
  const videoStartOffsetS = plan.probe.videoStartOffsetS ?? 0;
  return plan.rungs.map(({ name, rung }) => ({ masterPath: plan.masterPath, outDir: outDirOf(name), rung, frameRate: rung.frameRate ?? plan.frameRate, segmentDurationS: plan.segmentDurationS, x264Preset, ...picture, ...(videoStartOffsetS > 0 ? { videoStartOffsetS } : {}) }));
}

/**
 * Encodes one chunk of every video rendition of a plan in one ffmpeg process (one decode of the
 * master's chunk, encodeVideoRenditions), each rung into `outDirOf(rendition)` (a chunk folder
 * that stitchRendition reads). One child job of a distributed encode.
 * @param outDirOf the chunk folder of a rendition, by name.
 * @param options.referenceTap also write the chunk's reference frames for its measurement (measure-stage.ts referenceTapFor with the chunk).
 * @throws RangeError for a chunk the plan does not have; FfmpegError; EncodeCancelledError.
 */
export async function encodeLadderChunk(
  plan: EncodePlan,
  chunk: Chunk,
  outDirOf: (rendition: string) => string,
  x264Preset: string,
  paths: FfmpegPaths,
  options: StageOptions & { referenceTap?: ReferenceTap | undefined },
): Promise<void> {
  if (!plan.chunks.some((c) => c.index === chunk.index && c.startS === chunk.startS)) throw new RangeError(`the plan has no chunk ${chunk.index} at ${chunk.startS} s`);
  const specs = ladderSpecs(plan, outDirOf, x264Preset);
  const label = `${plan.rungs.length} video renditions`;
  await encodeVideoRenditions(specs, paths, { durationS: chunk.durationS, chunk, signal: options.signal, onProgress: (f) => options.onProgress?.(f, label), ...(options.referenceTap ? { referenceTap: options.referenceTap } : {}) });
}

/** The encoder spec of one of the plan's audio tracks, writing into `outDir`. */
function audioSpec(plan: EncodePlan, track: AudioTrackPlan, outDir: string): AudioRenditionSpec {
  return { masterPath: plan.masterPath, audioIndex: track.audioIndex, codec: track.codec ?? 'aac', outDir, bitrateBps: track.bitrateBps, sampleRateHz: track.sampleRateHz, segmentDurationS: plan.segmentDurationS, ...(plan.audioStartS ? { startS: plan.audioStartS } : {}) };
}

/**
 * Encodes one of the plan's audio renditions (once for the whole title) into `outDir`.
 * @param rendition the track's name (AudioTrackPlan.name).
 * @throws RangeError when the plan has no such audio rendition; FfmpegError; EncodeCancelledError.
 */
export async function encodeTitleAudio(plan: EncodePlan, rendition: string, outDir: string, paths: FfmpegPaths, options: StageOptions): Promise<void> {
  const track = plan.audio.find((t) => t.name === rendition);
  if (!track) throw new RangeError(`the plan has no audio rendition ${rendition}`);
  await encodeAudioRendition(audioSpec(plan, track, outDir), paths, {
    durationS: plan.probe.durationS,
    signal: options.signal,
    onProgress: (f) => options.onProgress?.(f, track.name),
  });
}

/**
 * Stitches a rendition's chunk folders (in chunk order) into `outDir` (stitchChunkedRendition).
 * @param chunkDirs one folder per chunk of the plan, in order.
 */
export async function stitchRendition(plan: EncodePlan, chunkDirs: readonly string[], outDir: string): Promise<void> {
  if (chunkDirs.length !== plan.chunks.length) throw new RangeError(`expected ${plan.chunks.length} chunk folders, got ${chunkDirs.length}`);
  await stitchChunkedRendition(plan.chunks.map((c, i) => ({ dir: chunkDirs[i]!, startS: c.startS })), outDir, MEDIA_PLAYLIST_NAME, segmentName);
}
