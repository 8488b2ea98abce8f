/**
 * The stages of a title's encode, each a function with a typed input and output so a stage can
 * run on any worker (the chunked-encoding work builds on them):
 *
 *   plan    master → EncodePlan       probe, per-title analysis or the fixed ladder, audio settings
 *   encode  plan → EncodedTitle       one ffmpeg process for the video ladder (or per chunk), audio,
 *                                     poster, thumbnails (encode-stage.ts)
 *   measure encoded → MeasuredTitle   bit rates from the real segments, codec strings, quality
 *                                     against one decode of the master (measure-stage.ts)
 *   package measured → TitleRecord    encryption, I-frame playlists, multivariant playlist,
 *                                     ladder.json, title.json
 *   publish                           the worker's atomic commit of the staging folder (ingest/)
 *
 * Every stage writes only under the title's work folder (`outDir`); none touches the object
 * store. encode-title.ts chains them for one worker.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Protection } from '../keys/content-keys.js';
import type { TitleRecord, VideoRenditionRecord } from '../origin/catalog.js';
import { LADDER_REPORT_NAME, MULTIVARIANT_PLAYLIST_NAME, TITLE_RECORD_NAME, type LadderKind } from '../title/title-address.js';
import type { Logger } from '../util/logger.js';
import { firstVideoFrameS, probeKeyframeTimesS, type FfmpegPaths } from './ffmpeg.js';
import type { ProbeResult } from './media-info.js';
import { APPLE_FIXED_LADDER, fixedLadderFor, type LadderRung, type VideoCodec } from './fixed-ladder.js';
import { variantRate } from './convex-hull.js';
import { protectRenditions, withKeyBeforeMap } from './hls-encryption.js';
import { writeMultivariantPlaylist, type IFrameStreamEntry, type SubtitleRenditionEntry } from './hls-packager.js';
import { audioGroups, planAudioTracks, type AudioTrackPlan } from './audio-tracks.js';
import { writeIFramePlaylist, type ThumbnailTrack } from './trick-play.js';
import type { LadderReport } from './ladder-report.js';
import { inspectMaster } from './master-check.js';
import { analyzeTitle, type LadderAnalysis, type PerTitleOptions } from './per-title.js';
import { planChunks, type Chunk } from './chunk-plan.js';
import { seeksToKeyframe, withSeekStarts } from './master-seek.js';
import { planSubtitleTracks, SUBTITLE_GROUP_ID, type SubtitleRenditionRecord, type SubtitleSideFile, type SubtitleTrackPlan } from './subtitles.js';

export const POSTER_NAME = 'poster.jpg';

/** Folder name of a video rendition: `video_<height>p_<kbit/s>k`, `video_hevc_<height>p_<kbit/s>k` for HEVC, `video_360p30_<kbit/s>k` for a rung at a reduced frame rate. */
export const videoRenditionName = (rung: LadderRung): string =>
  `video_${rung.codec === 'hevc' ? 'hevc_' : ''}${rung.height}p${rung.frameRate !== undefined ? Math.round(rung.frameRate) : ''}_${Math.round(rung.bitrateBps / 1000)}k`;

/**
 * Highest output frame rate, fps: Apple's HLS Authoring Specification, 1.15 "Frame rates above
 * 60 fps SHALL NOT be used".
 */
export const MAX_OUTPUT_FRAME_RATE = 60;

/**
 * Lowest output frame rate, fps (our choice): a frame every second keeps a frame on every
 * segment boundary, where each segment's keyframe must fall. A still-image master (an audio
 * podcast with its cover, commonly made at 1 fps or less) is published at its own rate, not 24:
 * a 300 s 1 fps 720p master took 46 s from upload to published instead of 113 s (2026-12-04,
 * by hand, this 2-core machine, VMAF on), the same single rung.
 */
export const MIN_OUTPUT_FRAME_RATE = 1;

/**
 * A title's output frame rate, fps, from its master's video: the field rate of an interlaced
 * master (twice its frame rate: Apple's HLS Authoring Specification 1.11, "de-interlace 30i
 * content to 60p instead of 30p"; the deinterlacer then makes a frame of every field,
 * media-info.ts deinterlaceFilter); for telecined film four fifths of its frame rate (29.97i →
 * 23.976p: inverse telecine drops the one repeated frame in five, media-info.ts ivtcFilter); else
 * its average frame rate, or a variable-frame-rate master's cadence (VideoStreamInfo.cadenceFrameRate); halved while above
 * MAX_OUTPUT_FRAME_RATE (120 → 60, 119.88 → 59.94, 100 → 50: every other frame, so motion stays
 * even); at least MIN_OUTPUT_FRAME_RATE (a 0.5 fps slideshow: every picture twice); 24 when the
 * master states no usable rate (none, 0, or above 1000: a container timebase).
 */
export function outputFrameRate(video: { readonly frameRate: number; readonly cadenceFrameRate?: number | undefined; readonly interlaced?: boolean | undefined; readonly telecined?: boolean | undefined }): number {
  const base = video.cadenceFrameRate ?? video.frameRate;
  if (!(base > 0 && base <= 1000)) return 24;
  if (base < MIN_OUTPUT_FRAME_RATE) return MIN_OUTPUT_FRAME_RATE;
  let rate = base * (video.telecined ? 4 / 5 : video.interlaced ? 2 : 1);
  while (rate > MAX_OUTPUT_FRAME_RATE) rate /= 2;
  return rate;
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

/** The rung a per-title analysis's rung is encoded as: its size, rate, target, capped-CRF setting (CRF, VBV peak) and codec. */
export function ladderRungOf(r: LadderAnalysis['rungs'][number], codec: VideoCodec): LadderRung {
  return { width: r.width, height: r.height, ...variantRate(r), bitrateBps: r.bitrateBps, ...(r.crf !== undefined ? { crf: r.crf } : {}), ...(r.maxrateBps !== undefined ? { maxrateBps: r.maxrateBps } : {}), ...(codec === 'hevc' ? { codec } : {}) };
}



/** What every stage may be given: cancellation, a logger and progress in [0, 1] of the stage itself. */
export interface StageOptions {
  readonly signal?: AbortSignal | undefined;
  readonly log: Logger;
  /** Fraction of this stage done, and the rendition being worked on when there is one. */
  readonly onProgress?: (fraction: number, rendition?: string) => void;
}

// ---- plan --------------------------------------------------------------------------------

export interface PlanInput {
  readonly titleId: string;
  readonly masterPath: string;
  /** Which ladder: 'per-title' analyses the title's own RD curves (per-title.ts); 'fixed' is Apple's. */
  readonly ladderKind: LadderKind;
  /** Rungs to encode instead of the chosen ladder (tests); `ladderKind` is then only recorded. */
  readonly ladder?: readonly LadderRung[] | undefined;
  readonly segmentDurationS: number;
  /** VMAF model file; unset = PSNR drives per-title ladders and no VMAF is measured. */
  readonly vmafModelPath?: string | undefined;
  /** The per-title analysis when it was already made elsewhere (a chunked title's trial-group children); it is then not run here. */
  readonly analysis?: LadderAnalysis | undefined;
  /** Overrides of the per-title analysis settings. */
  readonly perTitle?: Omit<PerTitleOptions, 'segmentDurationS' | 'vmafModelPath' | 'workParent' | 'signal' | 'onProgress' | 'log'> | undefined;
  /** Folder for the analysis's work files (inside the staging folder, so a killed worker's leftovers are swept with it). */
  readonly workDir: string;
  /** Chunk length, s (chunk-plan.ts); 0 = the whole title in one pass. */
  readonly chunkDurationS: number;
  /** x264 preset of the final encodes: the per-title analysis corrects its rungs' CRF for it (PerTitleOptions.finalPreset). */
  readonly x264Preset?: string | undefined;
  /** Subtitle files uploaded beside the master (published after its own subtitle streams). */
  readonly subtitleFiles?: readonly SubtitleSideFile[] | undefined;
}

export interface EncodePlan {
  readonly titleId: string;
  readonly masterPath: string;
  readonly probe: ProbeResult;
  readonly ladderKind: LadderKind;
  /** Output frame rate, frames/s. */
  readonly frameRate: number;
  readonly segmentDurationS: number;
  /** The video rungs to encode, lowest first, with their rendition folder names. */
  readonly rungs: readonly { readonly name: string; readonly rung: LadderRung }[];
  /** One audio rendition per audio stream of the master, in its order (none without audio). */
  readonly audio: readonly AudioTrackPlan[];
  /** One WebVTT rendition per text subtitle stream of the master (subtitles.ts). */
  readonly subtitles: readonly SubtitleTrackPlan[];
  /** The per-title analysis the rungs came from (per-title ladders only). */
  readonly analysis: LadderAnalysis | undefined;
  /** The chunks every video rendition is encoded in (one for short titles), cut at segment boundaries. */
  readonly chunks: readonly Chunk[];
  /**
   * Where each audio rendition starts on the master's timeline, s (ffmpeg.ts firstVideoFrameS):
   * at the first video frame, because every video rendition's timeline starts at its first
   * frame (CMAF alignment) and the players line the renditions up from 0. Audio read from the
   * file's start led the pictures by 0.61 s on a TS recorded mid-GOP. Absent = 0 (plans stored
   * before it; masters whose streams start together).
   */
  readonly audioStartS?: number | undefined;
}

/**
 * Plan: probes the master and chooses the ladder (per-title analysis, fixed ladder or given rungs).
 * @throws InvalidMasterError when the master cannot be encoded; FfmpegError; EncodeCancelledError.
 */
export async function planTitle(input: PlanInput, paths: FfmpegPaths, options: StageOptions): Promise<EncodePlan> {
  const probe = await inspectMaster(input.masterPath, paths);
  const video = probe.video!;
  const frameRate = outputFrameRate(video);
  let analysis: LadderAnalysis | undefined = input.ladderKind === 'per-title' ? input.analysis : undefined;
  // The master's keyframe times, scanned once for what needs them: the analysis's sample
  // windows and the chunks in a container whose seeking is not exact, the chunk boundaries.
  let keyframes: Promise<number[] | undefined> | undefined;
  const keyframesS = (): Promise<number[] | undefined> =>
    (keyframes ??= probeKeyframeTimesS(input.masterPath, paths).catch((err: unknown) => {
      options.log.warn({ err: String(err) }, 'could not list the master keyframes: chunks keep their wanted lengths and seeks assume long GOPs');
      return undefined;
    }));
  if (input.ladderKind === 'per-title' && !input.ladder && !analysis) {
    analysis = await analyzeTitle(input.masterPath, probe, frameRate, paths, {
      ...(seeksToKeyframe(probe.formatName) ? {} : { keyframesS: await keyframesS() }),
      ...(input.x264Preset ? { finalPreset: input.x264Preset } : {}),
      ...input.perTitle,
      segmentDurationS: input.segmentDurationS,
      workParent: input.workDir,
      ...(input.vmafModelPath ? { vmafModelPath: input.vmafModelPath } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (f) => options.onProgress?.(f),
      log: options.log,
    });
  }
  const perTitleRung = (codec: VideoCodec) => (r: LadderAnalysis['rungs'][number]) => ladderRungOf(r, codec);
  // H.264 first (every player decodes it), then the HEVC ladder from its own hull.
  const ladder: readonly LadderRung[] = input.ladder ?? (analysis ? [...analysis.rungs.map(perTitleRung('h264')), ...(analysis.hevc?.rungs ?? []).map(perTitleRung('hevc'))] : fixedLadderFor(video, APPLE_FIXED_LADDER, frameRate));
  // Where the audio starts so that it plays in sync with the video (EncodePlan.audioStartS).
  const audioStartS = probe.audioStreams.length > 0 ? await firstVideoFrameS(input.masterPath, paths, probe.startTimeS ?? 0) : 0;
  return {
    titleId: input.titleId,
    masterPath: input.masterPath,
    probe,
    ladderKind: input.ladderKind,
    frameRate,
    ...(audioStartS > 0.001 ? { audioStartS } : {}),
    segmentDurationS: input.segmentDurationS,
    rungs: ladder.map((rung) => ({ name: videoRenditionName(rung), rung })),
    audio: planAudioTracks(probe.audioStreams),
    subtitles: planSubtitleTracks(probe.subtitleStreams, input.subtitleFiles),
    analysis,
    chunks: await planTitleChunks(input, probe, keyframesS),
  };
}

/**
 * The title's chunks (chunk-plan.ts): with the master's keyframe times when it will be chunked
 * (planChunks starts chunks near them; withSeekStarts seeks a container without an index from
 * before them); without them (a failed scan) the chunks keep their wanted lengths.
 * @param keyframesS the master's keyframe times, scanned on first call (planTitle shares them with the analysis).
 */
async function planTitleChunks(input: PlanInput, probe: ProbeResult, keyframesS: () => Promise<number[] | undefined>): Promise<Chunk[]> {
  const wanted = planChunks(probe.durationS, input.segmentDurationS, input.chunkDurationS);
  if (wanted.length <= 1) return wanted;
  const keyframes = await keyframesS();
  return withSeekStarts(planChunks(probe.durationS, input.segmentDurationS, input.chunkDurationS, keyframes), probe.formatName, keyframes);
}

// ---- encode ------------------------------------------------------------------------------

export interface EncodedTitle {
  readonly plan: EncodePlan;
  /** The folder holding one sub-folder per rendition. */
  readonly outDir: string;
  /** Poster name relative to `outDir`, when one could be made. */
  readonly poster: string | undefined;
  /** Thumbnail sprites and their WebVTT track (trick-play.ts), when they could be made. */
  readonly thumbnails?: ThumbnailTrack | undefined;
  /** The WebVTT subtitle renditions written (subtitles.ts packageSubtitleTracks). */
  readonly subtitles?: readonly SubtitleRenditionRecord[] | undefined;
  /** Wall-clock time of the rendition encodes, s. */
  readonly encodeS: number;
  /**
   * The measurement's reference frames, written by the ladder's encode (a hidden file in
   * `outDir`, measure-stage.ts referenceTapFor), when the encode was asked for them and could.
   */
  readonly referenceFrames?: string | undefined;
}

// ---- measure: measure-stage.ts ------------------------------------------------------------

export { measureLadderChunkQuality, measureRenditions, referenceTapFor, planRungFrameSample, rungFrameSample, RUNG_QUALITY_FRAMES_PER_S, RUNG_QUALITY_MAX_FRAMES, type MeasuredTitle, type MeasureSettings } from './measure-stage.js';
import type { MeasuredTitle } from './measure-stage.js';

// ---- package -----------------------------------------------------------------------------

export interface PackageInput {
  readonly measured: MeasuredTitle;
  /** Human title for the catalog. */
  readonly title: string;
  /** The file name the master was uploaded from. */
  readonly masterFileName: string;
  /** Metric the quality was measured with, when it was (per-title: the analysis's metric). */
  readonly qualityMetric: 'vmaf' | 'psnr' | undefined;
  /** When the whole encode started (performance.now() ms), for the record's encode time. */
  readonly startedAtMs: number;
  /** Encrypt the renditions (hls-encryption.ts) with keys derived from `keySeed`. */
  readonly protection?: { readonly settings: Protection; readonly keySeed: Buffer } | undefined;
}

/**
 * Package: writes the multivariant playlist (BANDWIDTH and AVERAGE-BANDWIDTH measured, video +
 * audio, RFC 8216 §4.3.4.2), the ladder report and the title record into the title folder;
 * with `protection`, first encrypts every rendition (AES-128, RFC 8216 §5.2, or Common
 * Encryption; hls-encryption.ts) and re-measures it; writes an I-frame playlist per video
 * rendition (trick-play.ts) and lists them, except under AES-128.
 * @returns the title record, as written to `title.json`.
 */
export async function packageTitle(input: PackageInput): Promise<TitleRecord> {
  const protectedTitle = input.protection ? await protectRenditions(input.measured, input.protection.settings, input.protection.keySeed) : undefined;
  const measured = protectedTitle?.measured ?? input.measured;
  const { encoded } = measured;
  const { plan, outDir } = encoded;
  const video = plan.probe.video!;
  const audio = measured.audio;
  const groups = audioGroups(audio);
  const subtitles = encoded.subtitles ?? [];
  const subtitleEntries: SubtitleRenditionEntry[] = subtitles.map((t) => ({ groupId: SUBTITLE_GROUP_ID, name: t.name, uri: t.uri, ...(t.language ? { language: t.language } : {}), isDefault: t.isDefault, isForced: t.isForced }));
  // I-frame playlists address byte ranges of segments: none under AES-128 (segments are
  // encrypted whole, so a range cannot be decrypted on its own); under cenc a range holds its
  // moof with the samples' IVs, so it can, with the rendition's EXT-X-KEY.
  const videoRecords: VideoRenditionRecord[] = [];
  const iFrameStreams: IFrameStreamEntry[] = [];
  for (const v of measured.video) {
    if (input.protection && !protectedTitle?.cencKeyTag) {
      videoRecords.push(v);
      continue;
    }
    const f = await writeIFramePlaylist(path.join(outDir, v.uri));
    if (protectedTitle?.cencKeyTag) {
      const iFramePath = path.join(outDir, path.dirname(v.uri), f.uri);
      await fs.writeFile(iFramePath, withKeyBeforeMap(await fs.readFile(iFramePath, 'utf8'), protectedTitle.cencKeyTag));
    }
    const iFrameUri = path.posix.join(path.posix.dirname(v.uri), f.uri);
    videoRecords.push({ ...v, iFrameUri });
    iFrameStreams.push({ uri: iFrameUri, bandwidthBps: f.peakBitrateBps, averageBandwidthBps: f.averageBitrateBps, width: v.width, height: v.height, codecs: v.codecs });
  }
  // One variant per video rendition and audio group (a title without audio: one per rendition).
  const playlist = writeMultivariantPlaylist(
    (groups.length > 0 ? groups : [undefined]).flatMap((g) =>
      measured.video.map((v) => ({
        uri: v.uri,
        bandwidthBps: v.peakBitrateBps + (g?.peakBitrateBps ?? 0),
        averageBandwidthBps: v.averageBitrateBps + (g?.averageBitrateBps ?? 0),
        width: v.width,
        height: v.height,
        frameRate: v.frameRate,
        codecs: [v.codecs, ...(g?.codecs ?? [])],
        ...(g ? { audioGroupId: g.groupId } : {}),
        ...(subtitles.length > 0 ? { subtitlesGroupId: SUBTITLE_GROUP_ID } : {}),
      })),
    ),
    groups.flatMap((g) => g.entries),
    undefined,
    iFrameStreams,
    subtitleEntries,
  );
  await fs.writeFile(path.join(outDir, MULTIVARIANT_PLAYLIST_NAME), playlist);

  const record: TitleRecord = {
    titleId: plan.titleId,
    title: input.title,
    publishedAt: new Date().toISOString(),
    durationS: plan.probe.durationS,
    playlist: MULTIVARIANT_PLAYLIST_NAME,
    ladder: plan.ladderKind,
    ladderReport: LADDER_REPORT_NAME,
    ...(input.qualityMetric ? { qualityMetric: input.qualityMetric } : {}),
    segmentDurationS: plan.segmentDurationS,
    master: {
      fileName: input.masterFileName,
      sizeBytes: plan.probe.sizeBytes,
      formatName: plan.probe.formatName,
      videoCodec: video.codecName,
      width: video.width,
      height: video.height,
      frameRate: video.frameRate,
      ...(plan.probe.audio ? { audioCodec: plan.probe.audio.codecName } : {}),
    },
    renditions: [...videoRecords, ...audio],
    ...(subtitles.length > 0 ? { subtitles: subtitles.map((t) => ({ ...t })) } : {}),
    encodeTimeS: (performance.now() - input.startedAtMs) / 1000,
    ...(encoded.poster ? { poster: encoded.poster } : {}),
    ...(encoded.thumbnails ? { thumbnails: encoded.thumbnails.vtt } : {}),
    ...(input.protection ? { protection: input.protection.settings } : {}),
  };
  const analysis = plan.analysis;
  // The plan's rungs in order: the H.264 ladder's, then the HEVC ladder's (planTitle).
  const analysisRungs = analysis ? [...analysis.rungs, ...(analysis.hevc?.rungs ?? [])] : [];
  const ladderReport: LadderReport = {
    titleId: plan.titleId,
    ladder: plan.ladderKind,
    metric: record.qualityMetric ?? 'psnr',
    source: { width: video.width, height: video.height, displayWidth: video.displayWidth, displayHeight: video.displayHeight, frameRate: plan.frameRate, durationS: plan.probe.durationS },
    rungs: measured.video.map((r, i) => ({
      uri: r.uri,
      ...(plan.rungs[i]?.rung.codec === 'hevc' ? { codec: 'hevc' as const } : {}),
      ...variantRate(plan.rungs[i]?.rung ?? {}),
      width: r.width,
      height: r.height,
      targetBitrateBps: r.targetBitrateBps,
      averageBitrateBps: r.averageBitrateBps,
      peakBitrateBps: r.peakBitrateBps,
      ...(analysisRungs[i] ? { predictedQuality: round(analysisRungs[i].predictedQuality, 3) } : {}),
      ...(plan.rungs[i]?.rung.crf !== undefined ? { crf: plan.rungs[i]!.rung.crf } : {}),
      ...(r.quality ? { quality: r.quality } : {}),
    })),
    ...(analysis ? { analysis } : {}),
    timings: { analysisS: analysis?.timings.totalS ?? 0, encodeS: encoded.encodeS, measureS: measured.measureS, totalS: (performance.now() - input.startedAtMs) / 1000 },
  };
  await fs.writeFile(path.join(outDir, LADDER_REPORT_NAME), `${JSON.stringify(ladderReport, null, 2)}\n`);
  await fs.writeFile(path.join(outDir, TITLE_RECORD_NAME), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}
