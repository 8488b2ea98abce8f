/**
 * Subtitle renditions: every text subtitle stream of the master, and every side file given at
 * upload, becomes a WebVTT rendition segmented with the video (RFC 8216 §3.5: WebVTT segments;
 * §4.3.4.1: EXT-X-MEDIA TYPE=SUBTITLES). ffmpeg converts the stream to WebVTT, the `subtitle`
 * library parses the cues, and we cut them into one WebVTT file per video segment: a cue goes
 * into every segment its time overlaps (Apple's HLS Authoring Specification, WebVTT: "cues that
 * span segments are repeated"; hls.js drops the repeats by id), each file headed by
 * X-TIMESTAMP-MAP (RFC 8216 §3.5) mapping its cue times onto the media timeline.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { formatTimestamp, parseSync, type Cue } from 'subtitle';
import type { Logger } from '../util/logger.js';
import { runFfmpeg, type FfmpegPaths } from './ffmpeg.js';
import { languageName, uniqueTrackNames, type SubtitleStreamInfo } from './media-info.js';

/** Folder of the n-th subtitle rendition (from 1), and its playlist and segment names. */
export const subtitleRenditionName = (n: number): string => `subtitles_${n}`;
export const SUBTITLE_PLAYLIST_NAME = 'index.m3u8';
export const subtitleSegmentName = (k: number): string => `seg_${String(k).padStart(5, '0')}.vtt`;
/** GROUP-ID of a title's subtitle renditions. */
export const SUBTITLE_GROUP_ID = 'subs';

/** One subtitle rendition of a title. */
export interface SubtitleTrackPlan {
  /** Rendition folder (subtitleRenditionName). */
  readonly name: string;
  /**
   * Where the cues come from: one of the master's subtitle streams (`-map 0:s:N`), or a side
   * file given at upload (its store key; `localPath` where the packaging worker put its copy).
   */
  readonly source: { readonly subtitleIndex: number } | { readonly sideFile: SubtitleSideFile };
  /** RFC 5646 language tag (EXT-X-MEDIA LANGUAGE), when known. */
  readonly language?: string | undefined;
  /** EXT-X-MEDIA NAME, unique among the title's subtitles. */
  readonly label: string;
  /** DEFAULT=YES: shown without the viewer asking. Always false for now (planSubtitleTracks). */
  readonly isDefault: boolean;
  /** FORCED=YES: only foreign-dialogue cues, shown when the viewer chose no subtitles. */
  readonly isForced: boolean;
}

/** A subtitle file given beside the master at upload (`vod upload --subtitles en=FILE.srt`). */
export interface SubtitleSideFile {
  /** Object store key of the uploaded copy (subtitleObjectKey). */
  readonly key: string;
  /** The file name it was uploaded from. */
  readonly fileName: string;
  /** RFC 5646 language tag. */
  readonly language: string;
  /** A copy on this machine, when the caller fetched one (never stored in a shared plan). */
  readonly localPath?: string | undefined;
}

/**
 * The subtitle renditions of a master: one per text subtitle stream (bitmap ones — DVD, PGS,
 * DVB — are skipped: WebVTT is text), NAME from the title tag, else the language's English name,
 * else "Subtitles <n>" (repeats get " (2)", …; RFC 8216 §4.3.4.1.1: NAMEs differ within a
 * group), FORCED from the master's `forced` disposition; then one per side file given at upload,
 * named after its language. None is DEFAULT=YES (which would show it unasked): in MP4 and MOV
 * every enabled track reads as `default` (ffmpeg maps tkhd's enabled flag to it), so the master's
 * flag does not say the author wanted subtitles on; forced subtitles reach viewers through
 * FORCED=YES instead.
 * @param streams the master's subtitle streams (ProbeResult.subtitleStreams).
 * @param sideFiles subtitle files uploaded beside the master, in the order given.
 */
export function planSubtitleTracks(streams: readonly SubtitleStreamInfo[], sideFiles: readonly SubtitleSideFile[] = []): SubtitleTrackPlan[] {
  const text = streams.filter((s) => s.isText);
  const unique = uniqueTrackNames();
  const fromMaster = text.map((s, k): SubtitleTrackPlan => ({
    name: subtitleRenditionName(k + 1),
    source: { subtitleIndex: s.subtitleIndex },
    ...(s.language ? { language: s.language } : {}),
    label: unique(s.title ?? (s.language ? languageName(s.language) : `Subtitles ${k + 1}`)),
    isDefault: false,
    isForced: s.isForced,
  }));
  const fromFiles = sideFiles.map((f, k): SubtitleTrackPlan => ({
    name: subtitleRenditionName(text.length + k + 1),
    source: { sideFile: { key: f.key, fileName: f.fileName, language: f.language, ...(f.localPath ? { localPath: f.localPath } : {}) } },
    language: f.language,
    label: unique(languageName(f.language)),
    isDefault: false,
    isForced: false,
  }));
  return [...fromMaster, ...fromFiles];
}

/**
 * Segment boundaries of a title, s: every `segmentDurationS` from 0, the last segment shorter
 * (the video's segments: keyframes are forced at the same times, rendition.ts).
 * @returns ascending times from 0 to `durationS` inclusive.
 * @throws RangeError for a non-positive segment duration.
 */
export function segmentBoundariesS(durationS: number, segmentDurationS: number): number[] {
  if (!(segmentDurationS > 0)) throw new RangeError(`segment duration must be positive, got ${segmentDurationS}`);
  const out = [0];
  // A last piece under 1 ms is rounding, not a segment.
  while (out.at(-1)! + segmentDurationS < durationS - 0.001) out.push(out.at(-1)! + segmentDurationS);
  out.push(Math.max(durationS, out.at(-1)! + 0.001));
  return out;
}

/**
 * Cuts cues into one WebVTT document per segment: a cue is written into every segment whose
 * [start, end) it overlaps, whole (its own times, never clipped). Each document starts with
 * `WEBVTT` and `X-TIMESTAMP-MAP=MPEGTS:<timestampMapMpegTs>,LOCAL:00:00:00.000` (RFC 8216 §3.5:
 * cue time 0 is media time MPEGTS/90000 s).
 * @param cues times in milliseconds (the `subtitle` library's Cue).
 * @param boundariesS segment boundaries (segmentBoundariesS).
 * @param timestampMapMpegTs the media's presentation time at cue time 0, in 90 kHz ticks.
 */
export function segmentWebVtt(cues: readonly Cue[], boundariesS: readonly number[], timestampMapMpegTs = 0): string[] {
  const header = `WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:${timestampMapMpegTs},LOCAL:00:00:00.000\n`;
  const docs: string[] = [];
  for (let k = 0; k + 1 < boundariesS.length; k++) {
    const from = boundariesS[k]! * 1000;
    const to = boundariesS[k + 1]! * 1000;
    const blocks = cues
      .filter((c) => c.end > from && c.start < to && c.end > c.start)
      .map((c) => `${formatTimestamp(c.start, { format: 'WebVTT' })} --> ${formatTimestamp(c.end, { format: 'WebVTT' })}${c.settings ? ` ${c.settings}` : ''}\n${c.text}\n`);
    docs.push([header, ...blocks].join('\n'));
  }
  return docs;
}

/**
 * Writes a WebVTT rendition into `outDir`: one segment per video segment (segmentWebVtt) and its
 * media playlist (EXT-X-TARGETDURATION the longest segment rounded, EXT-X-PLAYLIST-TYPE:VOD;
 * RFC 8216 §4.3.3).
 * @returns the number of segments.
 */
export async function writeSubtitleRendition(cues: readonly Cue[], boundariesS: readonly number[], outDir: string): Promise<number> {
  await fs.mkdir(outDir, { recursive: true });
  const docs = segmentWebVtt(cues, boundariesS);
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', `#EXT-X-TARGETDURATION:${Math.max(1, ...docs.map((_, k) => Math.round(boundariesS[k + 1]! - boundariesS[k]!)))}`, '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:VOD'];
  for (const [k, doc] of docs.entries()) {
    await fs.writeFile(path.join(outDir, subtitleSegmentName(k)), doc);
    lines.push(`#EXTINF:${(boundariesS[k + 1]! - boundariesS[k]!).toFixed(3)},`, subtitleSegmentName(k));
  }
  lines.push('#EXT-X-ENDLIST');
  await fs.writeFile(path.join(outDir, SUBTITLE_PLAYLIST_NAME), `${lines.join('\n')}\n`);
  return docs.length;
}

/**
 * A subtitle stream's cues: ffmpeg converts it to WebVTT (its text decoders read SubRip, ASS,
 * MP4 timed text, …), the `subtitle` library parses the result.
 * @returns cues in milliseconds, in file order.
 * @throws FfmpegError when ffmpeg cannot read or convert the stream.
 */
export async function readSubtitleCues(inputPath: string, subtitleIndex: number, workDir: string, paths: FfmpegPaths, signal?: AbortSignal): Promise<Cue[]> {
  const out = path.join(workDir, `.subtitles-${subtitleIndex}-${process.pid}.vtt`);
  try {
    await runFfmpeg({ inputs: [{ source: inputPath }], outputOptions: ['-map', `0:s:${subtitleIndex}`, '-c:s', 'webvtt', '-f', 'webvtt'], output: out }, paths, signal ? { signal } : {});
    const nodes = parseSync(await fs.readFile(out, 'utf8'));
    return nodes.flatMap((n) => (n.type === 'cue' ? [n.data] : []));
  } finally {
    await fs.rm(out, { force: true });
  }
}

/** A published subtitle rendition (the title record's `subtitles`). */
export interface SubtitleRenditionRecord {
  /** Media playlist, relative to the title folder. */
  readonly uri: string;
  readonly name: string;
  readonly language?: string | undefined;
  readonly isDefault: boolean;
  readonly isForced: boolean;
  readonly segmentCount: number;
}

/**
 * Writes every planned subtitle rendition under `outDir/<name>/`, segmented like the video. A
 * stream ffmpeg cannot convert is left out with a warning (as a poster that cannot be made): the
 * title's video and audio are not held back by one broken subtitle stream.
 * @returns one record per written track, in plan order.
 * @throws EncodeCancelledError when `signal` aborts.
 */
export async function packageSubtitleTracks(
  tracks: readonly SubtitleTrackPlan[],
  masterPath: string,
  timing: { readonly durationS: number; readonly segmentDurationS: number },
  outDir: string,
  paths: FfmpegPaths,
  options: { readonly log: Logger; readonly signal?: AbortSignal | undefined },
): Promise<SubtitleRenditionRecord[]> {
  const boundaries = segmentBoundariesS(timing.durationS, timing.segmentDurationS);
  const records: SubtitleRenditionRecord[] = [];
  for (const t of tracks) {
    let cues: Cue[];
    try {
      if ('sideFile' in t.source) {
        if (!t.source.sideFile.localPath) throw new Error(`no local copy of the subtitle file ${t.source.sideFile.key}`);
        cues = await readSubtitleCues(t.source.sideFile.localPath, 0, outDir, paths, options.signal);
      } else {
        cues = await readSubtitleCues(masterPath, t.source.subtitleIndex, outDir, paths, options.signal);
      }
    } catch (err) {
      if (options.signal?.aborted) throw err;
      options.log.warn({ subtitles: t.name, language: t.language, err: String(err) }, 'subtitle stream left out: ffmpeg could not convert it to WebVTT');
      continue;
    }
    const segmentCount = await writeSubtitleRendition(cues, boundaries, path.join(outDir, t.name));
    records.push({ uri: `${t.name}/${SUBTITLE_PLAYLIST_NAME}`, name: t.label, ...(t.language ? { language: t.language } : {}), isDefault: t.isDefault, isForced: t.isForced, segmentCount });
  }
  return records;
}
