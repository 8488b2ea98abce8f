/**
 * Reading a master from a time on: where ffmpeg's input seeking lands depends on the container
 * (an index, or a bisection on packet timestamps), so windows of a master in a container without
 * an index (MPEG-TS) seek from before the keyframe at or before their start and drop the frames
 * up to it. Used by the chunks' encodes and quality references and the per-title sample.
 */
import { prerollS } from './chunk-plan.js';
import { probeKeyframeTimesS, type FfmpegPaths } from './ffmpeg.js';

/**
 * Containers whose seeking lands on the keyframe at or before the time asked (they carry an
 * index: MP4/QuickTime's sample tables, Matroska's Cues, AVI's idx1, MXF's index tables), by
 * ffprobe's format_name. Every other container — MPEG-TS above all — is sought by ffmpeg's
 * generic bisection on packet timestamps, which takes every packet for a keyframe (libavformat
 * mpegts.c, mpegts_get_dts): it lands on the last packet before the time, so the decoder starts at
 * the *next* keyframe and the pictures between are lost (measured on two H.264 TS masters with 4 s
 * GOPs: 89 of 92 seeks to a frame between keyframes gave a later picture first).
 */
const INDEXED_FORMATS: readonly string[] = ['mov', 'mp4', 'matroska', 'webm', 'avi', 'mxf'];

/** Whether input seeking (`-ss` before `-i`) into a file of this format starts on the keyframe at or before the time (INDEXED_FORMATS). */
export function seeksToKeyframe(formatName: string): boolean {
  return formatName.split(',').some((f) => INDEXED_FORMATS.includes(f.trim()));
}

/**
 * How far before a keyframe a seek into a container without an index (seeksToKeyframe false)
 * starts, s: past the keyframe's decode-order lead over its presentation time (B-frame reorder,
 * a few frames) and the bisection's slack. Our choice: a seek 20 ms before a TS keyframe still
 * missed it; from 0.3 s and 1 s before, 0 of 92 seeks did (two H.264 TS masters, 4 s GOPs, 3 B-frames).
 */
export const INEXACT_SEEK_MARGIN_S = 1;

/**
 * Where a read of a master starting at `startS` (video timeline) seeks: `seekFromS` when the
 * container's seeking is not exact (withSeekStarts: the keyframe before `startS`
 * less INEXACT_SEEK_MARGIN_S), else `startS` itself.
 */
export interface MasterWindowStart {
  readonly startS: number;
  readonly seekFromS?: number | undefined;
}

/**
 * Input options that start reading a master at `window.startS` on its video's timeline. The seek
 * is at `window.seekFromS` when set (a container whose seeking is not exact, seeksToKeyframe),
 * with `-itsoffset` moving what it reads back by the difference, so the frames before `startS`
 * fall before 0 and ffmpeg's accurate seek decodes and drops them as it drops those between a
 * keyframe and the time asked: downstream every frame, timestamp and end of stream is what an
 * exact seek to `startS` gives (a `trim` filter would not do: the bundled ffmpeg's `fps` filter
 * then pads to the untrimmed end). Else the seek is at `startS`. The video's start offset is
 * added (ProbeResult.videoStartOffsetS), because ffmpeg's -ss counts from the file's start time,
 * the earliest of its streams (ffmpeg's documentation of -ss, -itsoffset and -seek_timestamp).
 * Without it a chunk of an MPEG-TS master whose audio starts 21 ms before its video started 21 ms
 * early: its first frame landed half a frame late on the output's frame grid and every frame of
 * the chunk came one frame off the master's. No options for a start at 0: the file's start.
 */
export function masterSeek(window: MasterWindowStart, videoStartOffsetS = 0): string[] {
  const from = window.seekFromS !== undefined ? Math.max(0, Math.min(window.seekFromS, window.startS)) : window.startS;
  if (!(window.startS > 0)) return [];
  const skipS = window.startS - from;
  // -ss even at 0 when frames are skipped: without it ffmpeg does not drop the frames before 0.
  return ['-ss', (from + videoStartOffsetS).toFixed(6), ...(skipS > 0 ? ['-itsoffset', (-skipS).toFixed(6)] : [])];
}

/**
 * The master's keyframe times (probeKeyframeTimesS) when its container is not sought exactly
 * (seeksToKeyframe false: withSeekStarts seeks its windows from before them), else
 * undefined without reading the file. A failed scan also gives undefined (withSeekStarts then
 * assumes a long GOP).
 */
export async function keyframesForSeeking(file: string, formatName: string, paths: FfmpegPaths): Promise<number[] | undefined> {
  if (seeksToKeyframe(formatName)) return undefined;
  return probeKeyframeTimesS(file, paths).catch(() => undefined);
}

/**
 * Gives each window after the file's start (a chunk, a per-title sample window) of a master in a
 * container without a seek index its seek start (`seekFromS`, as Chunk.seekFromS):
 * INEXACT_SEEK_MARGIN_S before the master's last keyframe at or before the window's start. ffmpeg
 * seeks such a container (MPEG-TS) by bisecting packet timestamps and takes any packet for a
 * keyframe, so a seek to a time between keyframes starts decoding at the next keyframe and the
 * window's first pictures are lost (seeksToKeyframe); seeking to well before the
 * keyframe and dropping the decoded frames up to the start (masterSeek) gives the window
 * exactly the frames of a one-pass read. Windows of an indexed container (MP4, Matroska) are
 * returned as they are: their seek lands on the keyframe already, and an earlier one would decode
 * a GOP more.
 * @param keyframesS the master's keyframe times on its video timeline (ffmpeg.ts
 *        probeKeyframeTimesS), ascending; empty or absent: every window seeks from
 *        INEXACT_SEEK_MARGIN_S plus `fallbackGopS` before its start.
 * @param fallbackGopS the longest GOP to assume without keyframe times, s (our choice: 10 s,
 *        x264's default keyint of 250 frames at 25 fps).
 */
export function withSeekStarts<W extends { readonly startS: number }>(windows: readonly W[], formatName: string, keyframesS?: readonly number[], fallbackGopS = 10): (W & { readonly seekFromS?: number })[] {
  if (seeksToKeyframe(formatName)) return [...windows];
  return windows.map((w) => {
    if (w.startS <= 0) return w;
    const keyframe = keyframesS && keyframesS.length > 0 ? w.startS - prerollS(keyframesS, w.startS) : w.startS - fallbackGopS;
    return { ...w, seekFromS: Math.max(0, keyframe - INEXACT_SEEK_MARGIN_S) };
  });
}
