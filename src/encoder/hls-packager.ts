/**
 * HLS packaging that is ours to do: measuring the renditions ffmpeg wrote and writing the
 * multivariant playlist from those measurements (RFC 8216). ffmpeg writes each media
 * playlist; the multivariant playlist's BANDWIDTH and AVERAGE-BANDWIDTH come from the real
 * segment sizes, never from the encoder's targets.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import HLS from 'hls-parser';
import { countFragments, rebaseFragment, videoTimescale } from './fmp4-rebase.js';

export interface MeasuredSegment {
  /** Segment URI relative to its media playlist. */
  readonly uri: string;
  /** EXTINF duration in seconds. */
  readonly durationS: number;
  readonly sizeBytes: number;
}

export interface MeasuredMediaPlaylist {
  readonly targetDurationS: number;
  readonly segments: readonly MeasuredSegment[];
  /** Sum of the EXTINF durations, seconds. */
  readonly totalDurationS: number;
  /** Peak segment bit rate, bits/s (RFC 8216 §4.3.4.2). */
  readonly peakBitrateBps: number;
  /** Average segment bit rate, bits/s (RFC 8216 §4.3.4.2). */
  readonly averageBitrateBps: number;
  /** Init segment (EXT-X-MAP) URI relative to the media playlist, if any. */
  readonly initUri: string | undefined;
}

/**
 * Peak and average segment bit rates of a media playlist, per RFC 8216 §4.3.4.2:
 * the peak is "the largest bit rate of any contiguous set of segments whose total duration
 * is between 0.5 and 1.5 times the target duration", a set's bit rate being its summed
 * sizes over its summed durations; the average is all segment bytes over the total duration.
 * When no set fits the window (a title shorter than half a target duration), the peak is the
 * largest single-segment bit rate.
 * @param segments durations in seconds and sizes in bytes.
 * @param targetDurationS EXT-X-TARGETDURATION in seconds.
 * @returns bit rates in bits per second (0 for an empty list).
 */
export function segmentBitrates(
  segments: readonly { durationS: number; sizeBytes: number }[],
  targetDurationS: number,
): { peakBitrateBps: number; averageBitrateBps: number } {
  let totalBytes = 0;
  let totalS = 0;
  for (const s of segments) {
    totalBytes += s.sizeBytes;
    totalS += s.durationS;
  }
  const averageBitrateBps = totalS > 0 ? (totalBytes * 8) / totalS : 0;
  const lo = 0.5 * targetDurationS;
  const hi = 1.5 * targetDurationS;
  let peak = 0;
  let singlePeak = 0;
  for (let i = 0; i < segments.length; i++) {
    let bytes = 0;
    let dur = 0;
    const first = segments[i]!;
    if (first.durationS > 0) singlePeak = Math.max(singlePeak, (first.sizeBytes * 8) / first.durationS);
    for (let j = i; j < segments.length; j++) {
      bytes += segments[j]!.sizeBytes;
      dur += segments[j]!.durationS;
      if (dur > hi) break;
      if (dur >= lo && dur > 0) peak = Math.max(peak, (bytes * 8) / dur);
    }
  }
  return { peakBitrateBps: peak > 0 ? peak : singlePeak, averageBitrateBps };
}

/**
 * Parses a media playlist written by ffmpeg (hls-parser) and measures its segment files.
 * @param playlistPath path of the media playlist on disk; segments are resolved beside it.
 * @throws Error when the playlist is not a media playlist or a segment file is missing.
 */
export async function measureMediaPlaylist(playlistPath: string): Promise<MeasuredMediaPlaylist> {
  const text = await fs.readFile(playlistPath, 'utf8');
  const parsed = HLS.parse(text);
  if (parsed.isMasterPlaylist) throw new Error(`${playlistPath} is a multivariant playlist, expected a media playlist`);
  const dir = path.dirname(playlistPath);
  const segments: MeasuredSegment[] = [];
  for (const seg of parsed.segments) {
    const stat = await fs.stat(path.join(dir, seg.uri));
    segments.push({ uri: seg.uri, durationS: seg.duration, sizeBytes: stat.size });
  }
  if (segments.length === 0) throw new Error(`${playlistPath} lists no segments`);
  const { peakBitrateBps, averageBitrateBps } = segmentBitrates(segments, parsed.targetDuration);
  return {
    targetDurationS: parsed.targetDuration,
    segments,
    totalDurationS: segments.reduce((sum, s) => sum + s.durationS, 0),
    peakBitrateBps,
    averageBitrateBps,
    initUri: parsed.segments[0]?.map?.uri,
  };
}

export interface VariantStreamEntry {
  /** Media playlist URI relative to the multivariant playlist. */
  readonly uri: string;
  /** BANDWIDTH: peak bit rate of this variant plus its audio, bits/s. */
  readonly bandwidthBps: number;
  /** AVERAGE-BANDWIDTH: average bit rate of this variant plus its audio, bits/s. */
  readonly averageBandwidthBps: number;
  readonly width: number;
  readonly height: number;
  /** Frames per second. */
  readonly frameRate: number;
  /** RFC 6381 codec strings of every rendition played with this variant. */
  readonly codecs: readonly string[];
  readonly audioGroupId?: string;
  /** GROUP-ID of the subtitle renditions offered with this variant (SUBTITLES). */
  readonly subtitlesGroupId?: string;
  /** HLS Content Steering pathway this variant belongs to (PATHWAY-ID). */
  readonly pathwayId?: string;
}

export interface AudioRenditionEntry {
  readonly groupId: string;
  readonly name: string;
  readonly uri: string;
  readonly channels: number;
  /** RFC 5646 tag (LANGUAGE). */
  readonly language?: string;
  /** DEFAULT=YES; unset = the group's first rendition is its default. At most one per group. */
  readonly isDefault?: boolean;
}

/** A subtitle rendition (EXT-X-MEDIA TYPE=SUBTITLES, RFC 8216 §4.3.4.1): a WebVTT media playlist. */
export interface SubtitleRenditionEntry {
  readonly groupId: string;
  readonly name: string;
  readonly uri: string;
  /** RFC 5646 tag (LANGUAGE). */
  readonly language?: string;
  /** DEFAULT=YES (at most one per group; our packager never sets it: subtitles.ts planSubtitleTracks). */
  readonly isDefault?: boolean;
  /** FORCED=YES (then AUTOSELECT=YES, as §4.3.4.1 requires). */
  readonly isForced?: boolean;
}

/** An I-frame stream (EXT-X-I-FRAME-STREAM-INF, RFC 8216 §4.3.4.3): a video rendition's I-frame playlist. */
export interface IFrameStreamEntry {
  /** I-frame playlist URI relative to the multivariant playlist. */
  readonly uri: string;
  /** Peak bit rate of the I-frames, bits/s. */
  readonly bandwidthBps: number;
  readonly averageBandwidthBps?: number;
  readonly width: number;
  readonly height: number;
  /** The video codec's RFC 6381 string. */
  readonly codecs: string;
  readonly pathwayId?: string;
}

const quote = (s: string) => {
  if (/["\r\n]/.test(s)) throw new Error(`quoted-string may not contain quotes or line breaks: ${JSON.stringify(s)}`);
  return `"${s}"`;
};

/**
 * Writes a multivariant playlist (RFC 8216 §4.3.4): EXT-X-INDEPENDENT-SEGMENTS (§4.3.5.1,
 * applies to every media playlist), one EXT-X-MEDIA per audio and per subtitle rendition
 * (§4.3.4.1) and one EXT-X-STREAM-INF per variant (§4.3.4.2) with BANDWIDTH, AVERAGE-BANDWIDTH,
 * CODECS, RESOLUTION, FRAME-RATE, AUDIO and SUBTITLES, then one EXT-X-I-FRAME-STREAM-INF per I-frame stream
 * (§4.3.4.3). Version 7 matches the media playlists ffmpeg writes.
 * @param variants in the order they should be listed (ascending bandwidth by convention).
 * @returns the playlist text, ending with a newline.
 * @throws Error when a variant names an audio or subtitles group that is not defined.
 */
export function writeMultivariantPlaylist(
  variants: readonly VariantStreamEntry[],
  audio: readonly AudioRenditionEntry[] = [],
  contentSteering?: { readonly serverUri: string; readonly pathwayId: string },
  iFrameStreams: readonly IFrameStreamEntry[] = [],
  subtitles: readonly SubtitleRenditionEntry[] = [],
): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS'];
  // HLS Content Steering (Apple, "HLS Content Steering Specification"; RFC 8216bis §4.4.6.6).
  if (contentSteering) lines.push(`#EXT-X-CONTENT-STEERING:SERVER-URI=${quote(contentSteering.serverUri)},PATHWAY-ID=${quote(contentSteering.pathwayId)}`);
  const groups = new Set(audio.map((a) => a.groupId));
  // One DEFAULT=YES per group (RFC 8216 §4.3.4.1.1): the rendition marked so, else the group's first.
  const defaultOf = new Map<string, AudioRenditionEntry>();
  for (const a of audio) if (a.isDefault && !defaultOf.has(a.groupId)) defaultOf.set(a.groupId, a);
  for (const a of audio) if (!defaultOf.has(a.groupId)) defaultOf.set(a.groupId, a);
  audio.forEach((a) => {
    const isDefault = defaultOf.get(a.groupId) === a;
    const attrs = [
      'TYPE=AUDIO',
      `GROUP-ID=${quote(a.groupId)}`,
      `NAME=${quote(a.name)}`,
      ...(a.language ? [`LANGUAGE=${quote(a.language)}`] : []),
      `DEFAULT=${isDefault ? 'YES' : 'NO'}`,
      'AUTOSELECT=YES',
      `CHANNELS=${quote(String(a.channels))}`,
      `URI=${quote(a.uri)}`,
    ];
    lines.push(`#EXT-X-MEDIA:${attrs.join(',')}`);
  });
  const subtitleGroups = new Set(subtitles.map((t) => t.groupId));
  const defaultSubtitles = new Set<string>();
  for (const t of subtitles) {
    const isDefault = t.isDefault === true && !defaultSubtitles.has(t.groupId);
    if (isDefault) defaultSubtitles.add(t.groupId);
    const attrs = [
      'TYPE=SUBTITLES',
      `GROUP-ID=${quote(t.groupId)}`,
      `NAME=${quote(t.name)}`,
      ...(t.language ? [`LANGUAGE=${quote(t.language)}`] : []),
      `DEFAULT=${isDefault ? 'YES' : 'NO'}`,
      'AUTOSELECT=YES',
      `FORCED=${t.isForced ? 'YES' : 'NO'}`,
      `URI=${quote(t.uri)}`,
    ];
    lines.push(`#EXT-X-MEDIA:${attrs.join(',')}`);
  }
  for (const v of variants) {
    if (v.audioGroupId && !groups.has(v.audioGroupId)) throw new Error(`variant ${v.uri} names undefined audio group ${v.audioGroupId}`);
    if (v.subtitlesGroupId && !subtitleGroups.has(v.subtitlesGroupId)) throw new Error(`variant ${v.uri} names undefined subtitles group ${v.subtitlesGroupId}`);
    const attrs = [
      `BANDWIDTH=${Math.ceil(v.bandwidthBps)}`,
      `AVERAGE-BANDWIDTH=${Math.ceil(v.averageBandwidthBps)}`,
      `CODECS=${quote(v.codecs.join(','))}`,
      `RESOLUTION=${v.width}x${v.height}`,
      `FRAME-RATE=${v.frameRate.toFixed(3)}`,
      ...(v.audioGroupId ? [`AUDIO=${quote(v.audioGroupId)}`] : []),
      ...(v.subtitlesGroupId ? [`SUBTITLES=${quote(v.subtitlesGroupId)}`] : []),
      ...(v.pathwayId ? [`PATHWAY-ID=${quote(v.pathwayId)}`] : []),
    ];
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, v.uri);
  }
  for (const f of iFrameStreams) {
    const attrs = [
      `BANDWIDTH=${Math.ceil(f.bandwidthBps)}`,
      ...(f.averageBandwidthBps !== undefined ? [`AVERAGE-BANDWIDTH=${Math.ceil(f.averageBandwidthBps)}`] : []),
      `CODECS=${quote(f.codecs)}`,
      `RESOLUTION=${f.width}x${f.height}`,
      ...(f.pathwayId ? [`PATHWAY-ID=${quote(f.pathwayId)}`] : []),
      `URI=${quote(f.uri)}`,
    ];
    lines.push(`#EXT-X-I-FRAME-STREAM-INF:${attrs.join(',')}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Joins an fMP4 rendition (init segment + media segments, in playlist order) into one
 * fragmented MP4 file that any MP4 reader plays, e.g. to measure the rendition's quality.
 * CMAF segments are designed to be concatenated this way (ISO/IEC 23000-19 §7.3).
 * @param media the rendition's measured playlist (measureMediaPlaylist).
 * @throws Error when the rendition has no init segment or a segment cannot be read.
 */
export async function joinFmp4Rendition(playlistPath: string, media: MeasuredMediaPlaylist, outFile: string): Promise<void> {
  if (!media.initUri) throw new Error(`${playlistPath} has no EXT-X-MAP init segment`);
  const dir = path.dirname(playlistPath);
  const out = await fs.open(outFile, 'w');
  try {
    for (const uri of [media.initUri, ...media.segments.map((s) => s.uri)]) await out.write(await fs.readFile(path.join(dir, uri)));
  } finally {
    await out.close();
  }
}

/** One chunk of a rendition, encoded on its own (its decode timeline starts at 0). */
export interface RenditionChunk {
  /** The chunk's folder: a media playlist `playlistName`, its init segment and segments. */
  readonly dir: string;
  /** Where the chunk starts in the title, s. */
  readonly startS: number;
}

/**
 * Stitches separately encoded chunks of one rendition into one CMAF rendition in `outDir`,
 * with the timing of a one-pass encode: the first chunk's init segment (every chunk's is the
 * same but for its edit list), every segment renamed in order (`seg_%05d.m4s`) with its
 * `tfdt` moved by its chunk's start and its `mfhd` sequence number continued
 * (fmp4-rebase.ts), and one media playlist listing them all (written with hls-parser;
 * EXT-X-TARGETDURATION the largest of the chunks', RFC 8216 §4.3.3.1).
 * @param segmentNameFor name of the n-th segment of the rendition.
 * @throws Error when a chunk's playlist or segments are missing or malformed.
 */
export async function stitchChunkedRendition(chunks: readonly RenditionChunk[], outDir: string, playlistName: string, segmentNameFor: (n: number) => string): Promise<void> {
  if (chunks.length === 0) throw new Error('no chunks to stitch');
  await fs.mkdir(outDir, { recursive: true });
  const playlists = await Promise.all(chunks.map(async (c) => {
    const parsed = HLS.parse(await fs.readFile(path.join(c.dir, playlistName), 'utf8'));
    if (parsed.isMasterPlaylist) throw new Error(`${c.dir}/${playlistName} is not a media playlist`);
    return parsed;
  }));
  const firstMap = playlists[0]!.segments[0]?.map;
  if (!firstMap) throw new Error(`${chunks[0]!.dir}/${playlistName} has no EXT-X-MAP init segment`);
  const init = await fs.readFile(path.join(chunks[0]!.dir, firstMap.uri));
  await fs.writeFile(path.join(outDir, firstMap.uri), init);
  const timescale = videoTimescale(init);
  const segments: InstanceType<typeof HLS.types.Segment>[] = [];
  let sequence = 0;
  for (const [i, chunk] of chunks.entries()) {
    const offset = Math.round(chunk.startS * timescale);
    for (const seg of playlists[i]!.segments) {
      const bytes = await fs.readFile(path.join(chunk.dir, seg.uri));
      const name = segmentNameFor(segments.length);
      await fs.writeFile(path.join(outDir, name), rebaseFragment(bytes, offset, sequence, timescale));
      // Each chunk numbers its fragments from 1: continue from where the previous chunk ended.
      sequence += countFragments(bytes);
      seg.uri = name;
      seg.map = firstMap;
      seg.mediaSequenceNumber = segments.length;
      segments.push(seg);
    }
  }
  const stitched = playlists[0]!;
  stitched.segments = segments;
  stitched.targetDuration = Math.max(...playlists.map((p) => p.targetDuration));
  stitched.endlist = true;
  await fs.writeFile(path.join(outDir, playlistName), `${HLS.stringify(stitched).trimEnd()}\n`);
}
