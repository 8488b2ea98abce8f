/**
 * Encodes one title from its master into a folder holding the full HLS package:
 * probe → analyze (per-title) → bitrate ladder → one ffmpeg process per rendition →
 * measure (bitrates and quality) → multivariant playlist, ladder report and title record.
 * The caller (the ingest worker) publishes the folder atomically; this module never
 * touches the object store.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import type { AudioRenditionRecord, TitleRecord, VideoRenditionRecord } from '../origin/catalog.js';
import { DEFAULT_LADDER_KIND, LADDER_REPORT_NAME, MULTIVARIANT_PLAYLIST_NAME, TITLE_RECORD_NAME, type LadderKind } from '../title/title-address.js';
import { aacCodecString, avcCodecString } from './codecs.js';
import { runFfmpeg, type FfmpegPaths } from './ffmpeg.js';
import { fixedLadderFor, toEven, type LadderRung } from './fixed-ladder.js';
import { joinFmp4Rendition, measureMediaPlaylist, writeMultivariantPlaylist, type AudioRenditionEntry } from './hls-packager.js';
import type { LadderReport } from './ladder-report.js';
import { inspectMaster } from './master-check.js';
import { analyzeTitle, type LadderAnalysis, type PerTitleOptions } from './per-title.js';
import { measureQuality, type QualityScores } from './quality-metrics.js';
import { encodeAudioRendition, encodeVideoRendition, MEDIA_PLAYLIST_NAME } from './rendition.js';

/** AAC-LC stereo at 128 kbit/s: Apple HLS Authoring Specification §3 (audio) lists it for stereo. */
export const AUDIO_BITRATE_BPS = 128_000;
export const AUDIO_GROUP_ID = 'audio-aac';

export interface EncodeTitleInput {
  readonly titleId: string;
  /** Human title shown in the catalog. */
  readonly title: string;
  readonly masterPath: string;
  /** Original file name of the master, for the record. */
  readonly masterFileName: string;
  /** Empty folder to write the package into. */
  readonly outDir: string;
  readonly segmentDurationS: number;
  readonly x264Preset: string;
  /**
   * Which ladder: 'fixed' (Apple's, fitted to the master) or 'per-title' (analysed from the
   * title's own RD curves, per-title.ts). Default DEFAULT_LADDER_KIND (per-title), as for uploads.
   */
  readonly ladderKind?: LadderKind;
  /** Rungs to encode instead of the chosen ladder (tests); `ladderKind` is then only recorded. */
  readonly ladder?: readonly LadderRung[];
  /** VMAF model file; unset = PSNR drives per-title ladders and no VMAF is measured. */
  readonly vmafModelPath?: string;
  /** Overrides of the per-title analysis settings (CRF grid, sample, rules, trial preset). */
  readonly perTitle?: Omit<PerTitleOptions, 'segmentDurationS' | 'vmafModelPath' | 'workParent' | 'signal' | 'onProgress' | 'log'>;
  /** Measure every published video rung's quality against the master. Default true. */
  readonly measureRungs?: boolean;
  /** VMAF on every n-th frame when measuring published rungs (libvmaf n_subsample). Default 6. */
  readonly rungVmafSubsample?: number;
}

export type EncodeStage = 'probe' | 'analyze' | 'encode' | 'measure' | 'package';

export interface EncodeProgress {
  readonly stage: EncodeStage;
  /** Fraction of the whole title done, in [0, 1]. */
  readonly fraction: number;
  /** Rendition being encoded (its folder name), during the encode stage. */
  readonly rendition?: string;
}

export interface EncodeTitleOptions {
  readonly onProgress?: (progress: EncodeProgress) => void;
  readonly signal?: AbortSignal;
  readonly log?: Logger;
}

/** Folder name of a video rendition: `video_<height>p_<kbit/s>k`. */
export const videoRenditionName = (rung: LadderRung): string => `video_${rung.height}p_${Math.round(rung.bitrateBps / 1000)}k`;
const AUDIO_RENDITION_NAME = `audio_aac_${AUDIO_BITRATE_BPS / 1000}k`;

export const POSTER_NAME = 'poster.jpg';

/**
 * Writes a 320-pixel-wide JPEG of the frame at 10% of the title (at most 5 s in), for the catalog.
 * @returns the poster's name, relative to the title folder.
 */
async function makePoster(masterPath: string, out: string, durationS: number, paths: FfmpegPaths, signal?: AbortSignal): Promise<string> {
  const atS = Math.min(5, durationS * 0.1);
  await runFfmpeg(
    { inputs: [{ source: masterPath, options: ['-ss', atS.toFixed(2)] }], outputOptions: ['-map', '0:v:0', '-frames:v', '1', '-vf', 'scale=320:-2', '-q:v', '4'], output: out },
    paths,
    signal ? { signal } : {},
  );
  return POSTER_NAME;
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

/** Output frame rate: the master's average rate, or 24 fps when the master does not state a usable one. */
export function outputFrameRate(masterFrameRate: number): number {
  return masterFrameRate > 1 && masterFrameRate <= 120 ? masterFrameRate : 24;
}

/**
 * Encodes a title.
 * @returns the title record, also written as `title.json` in `outDir`, beside
 *          `master.m3u8` and one folder per rendition.
 * @throws InvalidMasterError when the master cannot be encoded; FfmpegError when ffmpeg
 *         fails; EncodeCancelledError when `signal` aborts.
 */
export async function encodeTitle(input: EncodeTitleInput, paths: FfmpegPaths, options: EncodeTitleOptions = {}): Promise<TitleRecord> {
  const log = options.log ?? silentLogger;
  const started = performance.now();
  const report = (p: EncodeProgress) => options.onProgress?.(p);
  report({ stage: 'probe', fraction: 0 });

  const probed = await inspectMaster(input.masterPath, paths);
  const video = probed.video!;
  const frameRate = outputFrameRate(video.frameRate);
  const ladderKind = input.ladderKind ?? DEFAULT_LADDER_KIND;
  const measureRungs = input.measureRungs ?? true;
  // Share of the progress bar per stage: analysis, encodes, quality of the published rungs.
  const span = ladderKind === 'per-title' && !input.ladder ? { analyze: 0.4, encode: 0.5 } : { analyze: 0, encode: 0.9 };
  if (!measureRungs) span.encode += 0.08;
  let analysis: LadderAnalysis | undefined;
  if (ladderKind === 'per-title' && !input.ladder) {
    report({ stage: 'analyze', fraction: 0 });
    analysis = await analyzeTitle(input.masterPath, probed, frameRate, paths, {
      ...input.perTitle,
      segmentDurationS: input.segmentDurationS,
      workParent: input.outDir,
      ...(input.vmafModelPath ? { vmafModelPath: input.vmafModelPath } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (f) => report({ stage: 'analyze', fraction: f * span.analyze }),
      log,
    });
  }
  const ladder: readonly LadderRung[] =
    input.ladder ?? (analysis ? analysis.rungs.map((r) => ({ width: r.width, height: r.height, bitrateBps: r.bitrateBps })) : fixedLadderFor(video));
  const encodeStarted = performance.now();
  const sampleRateHz = probed.audio && [44_100, 48_000].includes(probed.audio.sampleRateHz) ? probed.audio.sampleRateHz : 48_000;
  log.info({ titleId: input.titleId, durationS: probed.durationS, rungs: ladder.length, audio: Boolean(probed.audio) }, 'encoding title');

  // Progress weights: a rendition costs about its pixel rate; audio about a tenth of the smallest rung.
  const weights = ladder.map((r) => r.width * r.height);
  const audioWeight = probed.audio ? Math.min(...weights) * 0.1 : 0;
  const totalWeight = weights.reduce((a, b) => a + b, 0) + audioWeight;
  let doneWeight = 0;
  const runFor = (name: string, weight: number) => ({
    durationS: probed.durationS,
    signal: options.signal,
    onProgress: (f: number) => report({ stage: 'encode' as const, rendition: name, fraction: span.analyze + (span.encode * (doneWeight + f * weight)) / totalWeight }),
  });

  const videoNames: string[] = [];
  for (const [i, rung] of ladder.entries()) {
    const name = videoRenditionName(rung);
    videoNames.push(name);
    await encodeVideoRendition(
      { masterPath: input.masterPath, outDir: path.join(input.outDir, name), rung, frameRate, segmentDurationS: input.segmentDurationS, x264Preset: input.x264Preset },
      paths,
      runFor(name, weights[i]!),
    );
    doneWeight += weights[i]!;
    log.debug({ rendition: name }, 'rendition encoded');
  }
  if (probed.audio) {
    await encodeAudioRendition(
      { masterPath: input.masterPath, outDir: path.join(input.outDir, AUDIO_RENDITION_NAME), bitrateBps: AUDIO_BITRATE_BPS, sampleRateHz, segmentDurationS: input.segmentDurationS },
      paths,
      runFor(AUDIO_RENDITION_NAME, audioWeight),
    );
    doneWeight += audioWeight;
  }
  const encodeS = (performance.now() - encodeStarted) / 1000;
  const poster = await makePoster(input.masterPath, path.join(input.outDir, POSTER_NAME), probed.durationS, paths, options.signal).catch((err: unknown) => {
    log.warn({ err: String(err) }, 'no poster');
    return undefined;
  });

  const renditions: (VideoRenditionRecord | AudioRenditionRecord)[] = [];
  let audioRecord: AudioRenditionRecord | undefined;
  if (probed.audio) {
    const dir = path.join(input.outDir, AUDIO_RENDITION_NAME);
    const m = await measureMediaPlaylist(path.join(dir, MEDIA_PLAYLIST_NAME));
    const init = await fs.readFile(path.join(dir, m.initUri ?? 'init.mp4'));
    audioRecord = {
      kind: 'audio',
      uri: `${AUDIO_RENDITION_NAME}/${MEDIA_PLAYLIST_NAME}`,
      channels: 2,
      sampleRateHz,
      targetBitrateBps: AUDIO_BITRATE_BPS,
      peakBitrateBps: Math.round(m.peakBitrateBps),
      averageBitrateBps: Math.round(m.averageBitrateBps),
      codecs: aacCodecString(init),
      segmentCount: m.segments.length,
    };
  }
  const measureStarted = performance.now();
  const displaySize = { width: toEven(video.displayWidth), height: toEven(video.displayHeight) };
  for (const [i, rung] of ladder.entries()) {
    const dir = path.join(input.outDir, videoNames[i]!);
    const m = await measureMediaPlaylist(path.join(dir, MEDIA_PLAYLIST_NAME));
    const init = await fs.readFile(path.join(dir, m.initUri ?? 'init.mp4'));
    let quality: QualityScores | undefined;
    if (measureRungs) {
      report({ stage: 'measure', rendition: videoNames[i]!, fraction: span.analyze + span.encode + (0.08 * i) / ladder.length });
      const joined = path.join(input.outDir, `.${videoNames[i]}.measure.mp4`);
      try {
        await joinFmp4Rendition(path.join(dir, MEDIA_PLAYLIST_NAME), m, joined);
        quality = await measureQuality(
          {
            distorted: joined,
            reference: input.masterPath,
            ...displaySize,
            frameRate,
            vmafSubsample: input.rungVmafSubsample ?? 6,
            ...(input.vmafModelPath ? { vmafModelPath: input.vmafModelPath } : {}),
          },
          paths,
          options.signal ? { signal: options.signal } : {},
        );
      } finally {
        await fs.rm(joined, { force: true });
      }
    }
    renditions.push({
      kind: 'video',
      uri: `${videoNames[i]}/${MEDIA_PLAYLIST_NAME}`,
      width: rung.width,
      height: rung.height,
      frameRate,
      targetBitrateBps: rung.bitrateBps,
      peakBitrateBps: Math.round(m.peakBitrateBps),
      averageBitrateBps: Math.round(m.averageBitrateBps),
      codecs: avcCodecString(init),
      segmentCount: m.segments.length,
      ...(quality ? { quality: { psnrDb: round(quality.psnrDb, 3), ssim: round(quality.ssim, 5), ...(quality.vmaf !== undefined ? { vmaf: round(quality.vmaf, 3) } : {}) } } : {}),
    });
  }
  const measureS = (performance.now() - measureStarted) / 1000;
  report({ stage: 'package', fraction: 0.98 });
  if (audioRecord) renditions.push(audioRecord);

  const audioEntries: AudioRenditionEntry[] = audioRecord
    ? [{ groupId: AUDIO_GROUP_ID, name: 'Main', uri: audioRecord.uri, channels: audioRecord.channels }]
    : [];
  const playlist = writeMultivariantPlaylist(
    renditions
      .filter((r): r is VideoRenditionRecord => r.kind === 'video')
      .map((v) => ({
        uri: v.uri,
        // RFC 8216 §4.3.4.2: BANDWIDTH covers every rendition played together (video + audio).
        bandwidthBps: v.peakBitrateBps + (audioRecord?.peakBitrateBps ?? 0),
        averageBandwidthBps: v.averageBitrateBps + (audioRecord?.averageBitrateBps ?? 0),
        width: v.width,
        height: v.height,
        frameRate: v.frameRate,
        codecs: audioRecord ? [v.codecs, audioRecord.codecs] : [v.codecs],
        ...(audioRecord ? { audioGroupId: AUDIO_GROUP_ID } : {}),
      })),
    audioEntries,
  );
  await fs.writeFile(path.join(input.outDir, MULTIVARIANT_PLAYLIST_NAME), playlist);

  const record: TitleRecord = {
    titleId: input.titleId,
    title: input.title,
    publishedAt: new Date().toISOString(),
    durationS: probed.durationS,
    playlist: MULTIVARIANT_PLAYLIST_NAME,
    ladder: ladderKind,
    ladderReport: LADDER_REPORT_NAME,
    ...(measureRungs || analysis ? { qualityMetric: analysis?.metric ?? (input.vmafModelPath ? ('vmaf' as const) : ('psnr' as const)) } : {}),
    segmentDurationS: input.segmentDurationS,
    master: {
      fileName: input.masterFileName,
      sizeBytes: probed.sizeBytes,
      formatName: probed.formatName,
      videoCodec: video.codecName,
      width: video.width,
      height: video.height,
      frameRate: video.frameRate,
      ...(probed.audio ? { audioCodec: probed.audio.codecName } : {}),
    },
    renditions,
    encodeTimeS: (performance.now() - started) / 1000,
    ...(poster ? { poster } : {}),
  };
  const ladderReport: LadderReport = {
    titleId: input.titleId,
    ladder: ladderKind,
    metric: record.qualityMetric ?? 'psnr',
    source: { width: video.width, height: video.height, displayWidth: video.displayWidth, displayHeight: video.displayHeight, frameRate, durationS: probed.durationS },
    rungs: renditions
      .filter((r): r is VideoRenditionRecord => r.kind === 'video')
      .map((r, i) => ({
        uri: r.uri,
        width: r.width,
        height: r.height,
        targetBitrateBps: r.targetBitrateBps,
        averageBitrateBps: r.averageBitrateBps,
        peakBitrateBps: r.peakBitrateBps,
        ...(analysis ? { predictedQuality: round(analysis.rungs[i]!.predictedQuality, 3) } : {}),
        ...(r.quality ? { quality: r.quality } : {}),
      })),
    ...(analysis ? { analysis } : {}),
    timings: { analysisS: analysis?.timings.totalS ?? 0, encodeS, measureS: measureRungs ? measureS : 0, totalS: (performance.now() - started) / 1000 },
  };
  await fs.writeFile(path.join(input.outDir, LADDER_REPORT_NAME), `${JSON.stringify(ladderReport, null, 2)}\n`);
  await fs.writeFile(path.join(input.outDir, TITLE_RECORD_NAME), `${JSON.stringify(record, null, 2)}\n`);
  report({ stage: 'package', fraction: 1 });
  return record;
}
