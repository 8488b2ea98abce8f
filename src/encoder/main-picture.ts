/**
 * Which of a master's video streams is its picture, and a master whose picture is not its
 * first video stream (a preview track or a cover picture first) remuxed so that it is: every
 * encode reads the first video stream (`-map 0:v:0`), so the stored master is the remuxed copy.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { FfmpegError, InvalidMasterError } from '../util/errors.js';
import { runFfmpeg, type FfmpegPaths } from './ffmpeg.js';
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

/** The master's main picture is not its first video stream; `mainIndex` is its N in `0:v:N`. */
export class MainPictureNotFirstError extends InvalidMasterError {
  constructor(
    message: string,
    readonly mainIndex: number,
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
  );
}

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
export async function remuxMainPictureFirst(file: string, result: Pick<ProbeResult, 'videoStreams'>, mainIndex: number, outDir: string, paths: FfmpegPaths): Promise<string> {
  const name = path.basename(file);
  const others = (result.videoStreams ?? []).map((_s, k) => k).filter((k) => k !== mainIndex);
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
  const reason = last?.ffmpegOutputTail.at(-1)?.replace(/^.*?:\s*/, '') ?? 'ffmpeg failed';
  throw new InvalidMasterError(`${name}'s main picture is video stream 0:v:${mainIndex}, not the first, and copying it first failed (${reason}); put it first yourself, e.g. ${remuxCommand(name, mainIndex)}`, { cause: last });
}
