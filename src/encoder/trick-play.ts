/**
 * Trick play: what players show while the viewer scrubs.
 *
 * - **I-frame playlists** (RFC 8216 §4.3.3.6 EXT-X-I-FRAMES-ONLY, §4.3.4.3
 *   EXT-X-I-FRAME-STREAM-INF): for a video rendition, one entry per segment with an
 *   `EXT-X-BYTERANGE` into the existing fMP4 segment covering its first fragment's `moof`, the
 *   `mdat` header and the keyframe's sample (every segment starts with a keyframe: the encoder
 *   forces one at each boundary), the init segment as `EXT-X-MAP`, and the time to the next
 *   keyframe as the EXTINF — no extra media is stored. Apple's fMP4 I-frame playlists are laid
 *   out the same way (HLS Authoring Specification, "Trick Play").
 * - **Thumbnail sprites**: one frame every THUMBNAIL_INTERVAL_S seconds, THUMBNAIL_WIDTH pixels
 *   wide, tiled THUMBNAIL_COLUMNS × THUMBNAIL_ROWS into JPEG sprites by ffmpeg's `tile` filter, and
 *   a WebVTT file whose cues name a sprite and the tile's rectangle with the media-fragment
 *   `#xywh=x,y,w,h` (W3C Media Fragments URI 1.0 §4.2.1): the convention JW Player, Video.js
 *   (videojs-vtt-thumbnails) and Bitmovin read.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import HLS from 'hls-parser';
import { runFfmpeg, type FfmpegPaths } from './ffmpeg.js';
import { firstSample } from './fmp4-boxes.js';
import { segmentBitrates } from './hls-packager.js';
import { masterPictureFilter, type MasterPicture } from './media-info.js';

/** File name of a rendition's I-frame playlist, beside its media playlist. */
export const IFRAME_PLAYLIST_NAME = 'iframes.m3u8';
/** Folder of a title's thumbnail sprites and their WebVTT track. */
export const THUMBNAILS_DIR = 'thumbs';
/** The WebVTT thumbnail track, relative to the title folder. */
export const THUMBNAILS_VTT = `${THUMBNAILS_DIR}/thumbnails.vtt`;
/** Seconds between thumbnails: one per 4 s segment, as the I-frames. */
export const THUMBNAIL_INTERVAL_S = 4;
/** Width of a thumbnail, pixels (JW Player's and Bitmovin's examples use 120–160). */
export const THUMBNAIL_WIDTH = 160;
export const THUMBNAIL_COLUMNS = 5;
export const THUMBNAIL_ROWS = 5;

export interface IFramePlaylistResult {
  /** URI of the I-frame playlist relative to the rendition folder. */
  readonly uri: string;
  /** Peak and average bit rate of the I-frames (RFC 8216 §4.3.4.2 over the byte ranges), bits/s. */
  readonly peakBitrateBps: number;
  readonly averageBitrateBps: number;
  readonly iFrames: number;
}

/**
 * Writes `iframes.m3u8` beside a rendition's media playlist (see the module comment).
 * @param mediaPlaylistPath the rendition's media playlist; its segments must be clear fMP4.
 * @throws Error when the playlist is not a media playlist, has no EXT-X-MAP, or a segment does
 *         not start with a keyframe.
 */
export async function writeIFramePlaylist(mediaPlaylistPath: string): Promise<IFramePlaylistResult> {
  const media = HLS.parse(await fs.readFile(mediaPlaylistPath, 'utf8'));
  if (media.isMasterPlaylist) throw new Error(`${mediaPlaylistPath} is not a media playlist`);
  const dir = path.dirname(mediaPlaylistPath);
  const map = media.segments[0]?.map;
  if (!map) throw new Error(`${mediaPlaylistPath} has no EXT-X-MAP init segment`);
  const segments: InstanceType<typeof HLS.types.Segment>[] = [];
  const sizes: { durationS: number; sizeBytes: number }[] = [];
  for (const seg of media.segments) {
    const s = firstSample(await fs.readFile(path.join(dir, seg.uri)));
    if (!s.isSync) throw new Error(`${seg.uri} does not start with a keyframe`);
    const length = s.dataOffset + s.sizeBytes - s.moofOffset;
    segments.push(new HLS.types.Segment({ uri: seg.uri, duration: seg.duration, byterange: { length, offset: s.moofOffset }, map, mediaSequenceNumber: seg.mediaSequenceNumber, discontinuitySequence: 0 }));
    sizes.push({ durationS: seg.duration, sizeBytes: length });
  }
  const playlist = new HLS.types.MediaPlaylist({
    version: 7,
    targetDuration: media.targetDuration,
    mediaSequenceBase: 0,
    playlistType: 'VOD',
    isIFrame: true,
    endlist: true,
    independentSegments: true,
    segments,
  });
  await fs.writeFile(path.join(dir, IFRAME_PLAYLIST_NAME), `${HLS.stringify(playlist).trimEnd()}\n`);
  const { peakBitrateBps, averageBitrateBps } = segmentBitrates(sizes, media.targetDuration);
  return { uri: IFRAME_PLAYLIST_NAME, peakBitrateBps: Math.round(peakBitrateBps), averageBitrateBps: Math.round(averageBitrateBps), iFrames: segments.length };
}

/** WebVTT timestamp `hh:mm:ss.mmm` (W3C WebVTT §4.1). */
function vttTime(s: number): string {
  const ms = Math.round(s * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const sec = Math.floor((ms % 60_000) / 1000);
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}.${String(ms % 1000).padStart(3, '0')}`;
}

export interface ThumbnailTrack {
  /** The WebVTT file relative to the title folder (THUMBNAILS_VTT). */
  readonly vtt: string;
  readonly count: number;
  readonly width: number;
  readonly height: number;
}

/**
 * Makes the thumbnail sprites and their WebVTT track under `titleDir/thumbs/` from the master,
 * shown at its display aspect ratio (see the module comment). One ffmpeg process.
 * @param display the master's display size (for the thumbnail height), and whether it is interlaced (deinterlaced first).
 * @throws FfmpegError; EncodeCancelledError when `signal` aborts; Error when ffmpeg wrote fewer sprites than the title needs.
 */
export async function makeThumbnails(masterPath: string, titleDir: string, durationS: number, display: { width: number; height: number } & MasterPicture, paths: FfmpegPaths, signal?: AbortSignal): Promise<ThumbnailTrack> {
  const width = THUMBNAIL_WIDTH;
  const height = Math.max(2, 2 * Math.round((width * display.height) / display.width / 2));
  const count = Math.max(1, Math.ceil(durationS / THUMBNAIL_INTERVAL_S - 1e-6));
  const perSprite = THUMBNAIL_COLUMNS * THUMBNAIL_ROWS;
  const dir = path.join(titleDir, THUMBNAILS_DIR);
  await fs.mkdir(dir, { recursive: true });
  // fps=1/I keeps the frame nearest each multiple of I seconds (the first at 0).
  await runFfmpeg(
    {
      inputs: [{ source: masterPath }],
      outputOptions: ['-map', '0:v:0', '-vf', `${masterPictureFilter(display)}fps=fps=1/${THUMBNAIL_INTERVAL_S}:round=down,scale=${width}:${height}:flags=bicubic,setsar=1,tile=${THUMBNAIL_COLUMNS}x${THUMBNAIL_ROWS}`, '-frames:v', String(Math.ceil(count / perSprite)), '-q:v', '5', '-start_number', '0'],
      output: path.join(dir, 'sprite_%03d.jpg'),
    },
    paths,
    signal ? { signal } : {},
  );
  const sprites = Math.ceil(count / perSprite);
  const cues: string[] = ['WEBVTT', ''];
  for (let i = 0; i < count; i++) {
    const sprite = `sprite_${String(Math.floor(i / perSprite)).padStart(3, '0')}.jpg`;
    const tile = i % perSprite;
    const x = (tile % THUMBNAIL_COLUMNS) * width;
    const y = Math.floor(tile / THUMBNAIL_COLUMNS) * height;
    cues.push(`${vttTime(i * THUMBNAIL_INTERVAL_S)} --> ${vttTime(Math.min(durationS, (i + 1) * THUMBNAIL_INTERVAL_S))}`, `${sprite}#xywh=${x},${y},${width},${height}`, '');
  }
  for (let s = 0; s < sprites; s++) {
    const file = path.join(dir, `sprite_${String(s).padStart(3, '0')}.jpg`);
    if (!(await fs.stat(file).catch(() => undefined))) throw new Error(`ffmpeg wrote no ${path.basename(file)} (${count} thumbnails need ${sprites} sprites)`);
  }
  await fs.writeFile(path.join(titleDir, THUMBNAILS_VTT), cues.join('\n'));
  return { vtt: THUMBNAILS_VTT, count, width, height };
}
