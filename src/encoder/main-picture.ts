/**
 * Masters that are encodable once copied into a container, nothing re-encoded: one whose picture
 * is not its first video stream (a preview track or a cover picture first) remuxed so that it is
 * — every encode reads the first video stream (`-map 0:v:0`) —, and a raw video elementary
 * stream (`.h264`, `.hevc`, `.m2v`: no container, so no timestamps and no duration) wrapped in
 * MP4. The stored master is then the copy (master-check.ts admitMaster).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { FfmpegError, InvalidMasterError } from '../util/errors.js';
import { ffmpegChildEnv, runFfmpeg, type FfmpegPaths } from './ffmpeg.js';
import type { ProbeResult } from './media-info.js';

/**
 * The master's main picture: the largest (width × height) video stream that is not an attached
 * picture (cover art), the first of equals — what ffmpeg's own stream selection picks for a
 * video output (ffmpeg's "highest resolution" rule, fftools/ffmpeg_opt.c).
 * @returns its index N among the video streams (`-map 0:v:N`), with its size; undefined when
 *          the master has no video stream that is not a picture.
 */
export function mainPicture(result: Pick<ProbeResult, 'videoStreams'>): { index: number; width: number; height: number } | undefined {
  const pictures = (result.videoStreams ?? []).map((s, index) => ({ index, width: s.width, height: s.height, attachedPic: s.attachedPic })).filter((s) => !s.attachedPic);
  if (pictures.length === 0) return undefined;
  const main = pictures.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
  return { index: main.index, width: main.width, height: main.height };
}

/** The master's main picture is not its first video stream; `mainIndex` is its N in `0:v:N`, of `videoStreams` video streams. */
export class MainPictureNotFirstError extends InvalidMasterError {
  constructor(
    message: string,
    readonly mainIndex: number,
    readonly videoStreams: number,
  ) {
    super(message);
    this.name = 'MainPictureNotFirstError';
  }
}

/** The one-line remux that puts stream `0:v:index` of `name` first, for messages. */
const remuxCommand = (name: string, index: number): string => `ffmpeg -i ${name} -map 0:v:${index} -map 0:a? -map 0:s? -c copy main.mkv`;

/**
 * Refuses a master whose first video stream — the one every encode reads (`-map 0:v:0`) — is
 * not its main picture (mainPicture): a cover picture (attached_pic), or smaller than another
 * video stream (an MKV with a 160x90 preview track before its 640x360 picture was published at
 * 160x90). `admitMaster` (master-check.ts) catches it and remuxes the master; the message is
 * what the user reads when that remux fails.
 * @throws MainPictureNotFirstError naming both streams and the ffmpeg command that fixes it.
 */
export function checkMainPicture(name: string, result: ProbeResult): void {
  const all = result.videoStreams ?? [];
  const main = mainPicture(result);
  if (all.length < 2 || !main || main.index === 0) return;
  const first = all[0]!;
  throw new MainPictureNotFirstError(
    `${name} has ${all.length} video streams and the first (${first.width}x${first.height}${first.attachedPic ? ', a cover picture' : ''}) is not its main picture (${main.width}x${main.height}, stream 0:v:${main.index}); ` +
      `vod encodes the first video stream, so put the main picture first, e.g. ${remuxCommand(name, main.index)}`,
    main.index,
    all.length,
  );
}

/** ffmpeg's last line of output without its `[muxer @ 0x…]`-style prefix, for messages. */
const ffmpegReason = (err: FfmpegError | undefined): string => err?.ffmpegOutputTail.at(-1)?.replace(/^.*?:\s*/, '') ?? 'ffmpeg failed';

/**
 * Copies `file` into `outDir` with its video stream `0:v:mainIndex` first, then its other video
 * streams, audio, subtitle and attachment streams in their order: no stream is re-encoded and
 * none but data streams (timecode tracks) is dropped, so the copy plays as the original; the
 * streams' timestamps keep their offsets (ffmpeg shifts every stream by the same start time).
 * The copy is in the master's own container (same file name) when ffmpeg can write it, else in
 * Matroska (`<name>.mkv`), which takes almost any codec (not MP4's mov_text subtitles, which
 * the first try keeps).
 * @returns the copy's path.
 * @throws InvalidMasterError, with the remux command to run by hand, when ffmpeg cannot write
 *         either copy (a codec neither container takes, a full disk).
 */
export async function remuxMainPictureFirst(file: string, videoStreams: number, mainIndex: number, outDir: string, paths: FfmpegPaths): Promise<string> {
  const name = path.basename(file);
  const others = Array.from({ length: videoStreams }, (_s, k) => k).filter((k) => k !== mainIndex);
  const maps = [`0:v:${mainIndex}`, ...others.map((k) => `0:v:${k}`), '0:a?', '0:s?', '0:t?'].flatMap((m) => ['-map', m]);
  const outputs = [...(/\.[A-Za-z0-9]{1,5}$/.test(name) ? [path.join(outDir, name)] : []), path.join(outDir, `${name}.mkv`)];
  let last: FfmpegError | undefined;
  for (const out of outputs) {
    try {
      await runFfmpeg({ inputs: [{ source: file }], outputOptions: [...maps, '-c', 'copy', '-map_metadata', '0'], output: out }, paths);
      return out;
    } catch (err) {
      if (!(err instanceof FfmpegError)) throw err;
      last = err;
      await fs.rm(out, { force: true });
    }
  }
  throw new InvalidMasterError(`${name}'s main picture is video stream 0:v:${mainIndex}, not the first, and copying it first failed (${ffmpegReason(last)}); put it first yourself, e.g. ${remuxCommand(name, mainIndex)}`, { cause: last });
}

/**
 * ffprobe's format names of raw video elementary streams (FFmpeg's h264, hevc, mpegvideo and m4v
 * demuxers): no container, so ffprobe gives no duration; the stream's own timing (H.264/HEVC VUI,
 * MPEG-2's frame rate code) or FFmpeg's 25 fps gives the frames their times when copied into one.
 */
export const RAW_VIDEO_FORMATS: ReadonlySet<string> = new Set(['h264', 'hevc', 'mpegvideo', 'm4v']);

/** The master is a raw video elementary stream (RAW_VIDEO_FORMATS); admitMaster wraps it. */
export class RawVideoStreamError extends InvalidMasterError {
  constructor(name: string, codec: string) {
    super(`${name} is a raw ${codec} stream without a container (no timestamps, no duration); wrap it first, e.g. ffmpeg -fflags +genpts -i ${name} -c copy ${path.parse(name).name}.mp4`);
    this.name = 'RawVideoStreamError';
  }
}

/**
 * Copies a raw video elementary stream into MP4 (`<name>.mp4` in `outDir`), nothing re-encoded,
 * its frames stamped at the stream's own rate: the rate FFmpeg reads from its timing (H.264/HEVC
 * VUI, MPEG-2's frame rate code; 25 fps without) in a first copy, given again as the input rate
 * of the second — without it the first frame kept FFmpeg's default 25 fps duration and a 30 fps
 * stream averaged 29.95 fps, the rate it would have been published at.
 * @returns the copy's path.
 * @throws InvalidMasterError when ffmpeg cannot write it.
 */
export async function wrapRawVideoStream(file: string, outDir: string, paths: FfmpegPaths): Promise<string> {
  const name = path.basename(file);
  const out = path.join(outDir, `${name}.mp4`);
  // MP4, not Matroska: the bundled ffmpeg's Matroska muxer refuses a raw HEVC stream's packets
  // ("unknown timestamp"); genpts: a raw MPEG-2 stream's packets carry none.
  const copy = (rate: string[]) => runFfmpeg({ inputs: [{ source: file, options: ['-fflags', '+genpts', ...rate] }], outputOptions: ['-map', '0:v', '-c', 'copy'], output: out }, paths);
  try {
    await copy([]);
    const { stdout } = await promisify(execFile)(paths.ffprobePath, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=r_frame_rate', '-of', 'csv=p=0', out], { env: ffmpegChildEnv() }).catch(() => ({ stdout: '' }));
    const rate = stdout.trim();
    if (/^\d+\/[1-9]\d*$/.test(rate) && rate !== '0/1') await copy(['-r', rate]);
  } catch (err) {
    if (!(err instanceof FfmpegError)) throw err;
    await fs.rm(out, { force: true });
    throw new InvalidMasterError(`${name} is a raw video stream and copying it into MP4 failed (${ffmpegReason(err)}).`, { cause: err });
  }
  return out;
}
