/**
 * Checks that a master file can be encoded before anything is stored or queued, and
 * turns every way it cannot into one clear sentence (InvalidMasterError).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { FfmpegError, InvalidMasterError } from '../util/errors.js';
import { INEXACT_SEEK_MARGIN_S } from './master-seek.js';
import { decodeCheck, ffmpegChildEnv, probe, probeKeyframeTimesS, probeStreamEndS, type DecodeCheck, type FfmpegPaths } from './ffmpeg.js';
import type { ProbeResult } from './media-info.js';
import { checkMainPicture, MainPictureNotFirstError, RAW_VIDEO_FORMATS, RawVideoStreamError, remuxMainPictureFirst, wrapRawVideoStream } from './main-picture.js';

export { checkMainPicture } from './main-picture.js';

const execFileAsync = promisify(execFile);

/**
 * Largest frame a master may have, pixels: H.264 level 6.2's MaxFS of 139,264 macroblocks
 * (ITU-T H.264 Table A-1) × 256 = 8192x4352, the largest frame any H.264 ladder can carry.
 * Larger claims (a 16000x16000 header with nothing behind it) are refused before a decoder
 * tries to allocate them.
 */
export const MAX_MASTER_PIXELS = 139_264 * 256;
/** Shortest master we encode, s: less than one frame at 2 fps is a still image, not a video. */
export const MIN_MASTER_DURATION_S = 0.5;
/**
 * How far before the container's stated end the video may stop before the master counts as
 * truncated, s: the larger of 2 s and 1% of the duration (muxers end audio and video a few
 * frames apart; a cut file ends many seconds early).
 */
export const truncationToleranceS = (durationS: number): number => Math.max(2, durationS * 0.01);
/** Containers that hold still images (ffprobe format names). */
const STILL_IMAGE_FORMATS = /^(image2|[a-z0-9]+_pipe)$/;

/**
 * Walks the top-level boxes of an ISO base media file (ISO/IEC 14496-12 §4.2: 32-bit size
 * and type, size 1 = 64-bit largesize follows, size 0 = to end of file) and reports whether
 * the last box runs past the end of the file: the signature of a truncated MP4/MOV whose
 * `moov` came first (ffprobe still reads such a file; its media data is missing).
 * @returns `isoBmff`: whether the file starts with an ISO BMFF box; `problem`: undefined for
 *          a complete file, otherwise a description of the box that is cut short.
 */
export async function checkIsoBmff(file: string): Promise<{ isoBmff: boolean; problem?: string }> {
  const problem = await findTruncatedBox(file);
  if (problem === NOT_ISO_BMFF) return { isoBmff: false };
  return problem ? { isoBmff: true, problem } : { isoBmff: true };
}

const NOT_ISO_BMFF = '\0not-iso-bmff';
/** Box types an MP4/MOV file starts with in practice. */
const FIRST_BOX_TYPES = new Set(['ftyp', 'moov', 'mdat', 'free', 'wide', 'skip', 'pnot']);

async function findTruncatedBox(file: string): Promise<string | undefined> {
  const handle = await fs.open(file, 'r');
  try {
    const { size: fileSize } = await handle.stat();
    const header = Buffer.alloc(16);
    let offset = 0;
    let first = true;
    while (offset < fileSize) {
      const { bytesRead } = await handle.read(header, 0, 16, offset);
      if (bytesRead < 8) return first ? NOT_ISO_BMFF : `a box header at byte ${offset} is cut short`;
      const type = header.toString('latin1', 4, 8);
      if (first && !FIRST_BOX_TYPES.has(type)) return NOT_ISO_BMFF;
      if (!/^[\x20-\x7e]{4}$/.test(type)) return `byte ${offset} holds no valid box`;
      first = false;
      let boxSize = header.readUInt32BE(0);
      if (boxSize === 1) {
        if (bytesRead < 16) return `the '${type}' box header at byte ${offset} is cut short`;
        boxSize = Number(header.readBigUInt64BE(8));
      } else if (boxSize === 0) {
        return undefined; // extends to the end of the file by definition
      }
      if (boxSize < 8) return `the '${type}' box at byte ${offset} has an impossible size`;
      if (offset + boxSize > fileSize) {
        return `the '${type}' box at byte ${offset} needs ${offset + boxSize} bytes but the file has ${fileSize}`;
      }
      offset += boxSize;
    }
    return undefined;
  } finally {
    await handle.close();
  }
}

/**
 * Inspects a master: it must exist, be non-empty, be readable by ffprobe, hold a video
 * stream with a duration, and (for MP4/MOV) not be truncated.
 * @returns the probe of the master.
 * @throws InvalidMasterError with one sentence naming the file and the problem.
 */
export async function inspectMaster(file: string, paths: FfmpegPaths): Promise<ProbeResult> {
  const name = path.basename(file);
  let st;
  try {
    st = await fs.stat(file);
  } catch {
    throw new InvalidMasterError(`${file} does not exist.`);
  }
  if (!st.isFile()) throw new InvalidMasterError(`${file} is not a file.`);
  if (st.size === 0) throw new InvalidMasterError(`${name} is empty (0 bytes).`);

  const iso = await checkIsoBmff(file);
  if (iso.problem) throw new InvalidMasterError(`${name} is truncated: ${iso.problem}.`);

  let result: ProbeResult;
  try {
    result = await probe(file, paths);
  } catch (err) {
    if (err instanceof FfmpegError) {
      const reason = err.ffmpegOutputTail.at(-1)?.replace(/^.*?:\s*/, '') ?? 'unknown format';
      const kind = iso.isoBmff && /moov atom not found/i.test(err.message) ? 'a truncated or unfinished MP4 (no moov box)' : 'not a media file ffprobe can read';
      throw new InvalidMasterError(`${name} is ${kind} (${reason}).`, { cause: err });
    }
    throw err;
  }
  if (!result.video) {
    const what = result.audio ? 'it is audio only' : 'it holds no audio or video';
    throw new InvalidMasterError(`${name} has no video stream (${what}); a master needs video.`);
  }
  checkMainPicture(name, result);
  const video = result.video;
  if (result.formatName.split(',').some((f) => STILL_IMAGE_FORMATS.test(f))) {
    throw new InvalidMasterError(`${name} is a still image (${video.codecName} in ${result.formatName}), not a video.`);
  }
  if (video.width * video.height > MAX_MASTER_PIXELS) {
    throw new InvalidMasterError(`${name} has a ${video.width}x${video.height} video stream, beyond the largest frame we encode (8192x4352, H.264 level 6.2).`);
  }
  if (RAW_VIDEO_FORMATS.has(result.formatName)) throw new RawVideoStreamError(name, video.codecName === 'mpeg2video' ? 'MPEG-2' : video.codecName === 'hevc' ? 'HEVC' : video.codecName === 'h264' ? 'H.264' : video.codecName);
  if (!(result.durationS > 0)) throw new InvalidMasterError(`${name} has no duration; it may be truncated or a still image.`);
  if (result.durationS < MIN_MASTER_DURATION_S) throw new InvalidMasterError(`${name} lasts ${result.durationS.toFixed(2)} s, too short to be a video.`);
  if (video.displayWidth < 16 || video.displayHeight < 16) {
    throw new InvalidMasterError(`${name} has a ${video.width}x${video.height} video stream, too small to encode.`);
  }
  await checkMediaData(file, name, result, paths);
  if (video.interlaced && (await isTelecined(file, paths, result.durationS))) return { ...result, video: { ...video, telecined: true } };
  if (!video.interlaced) {
    const cadence = frameCadence(await firstPresentationTimesS(file, paths));
    if (cadence !== undefined && cadence > video.frameRate * 1.01) return { ...result, video: { ...video, cadenceFrameRate: cadence } };
  }
  return result;
}

/** A master that passed inspectMaster, and the file every stage should read. */
export interface AdmittedMaster {
  /** The file to store and encode: the master itself, or its remuxed copy in the work folder. */
  readonly file: string;
  /** The probe of `file`. */
  readonly probe: ProbeResult;
  /** Set when `file` is a copy with the master's picture first: the stream it was (`0:v:N`). */
  readonly remuxedFromStream?: number;
  /** Set when `file` is a raw video stream wrapped in MP4: the codec's name (ffprobe's). */
  readonly wrappedRawStream?: string;
}

/**
 * inspectMaster, except that a master whose main picture is not its first video stream (a
 * preview track or a cover picture first: checkMainPicture) is copied into `workDir` with it
 * first (remuxMainPictureFirst), and a raw video elementary stream is copied into MP4
 * (wrapRawVideoStream), nothing re-encoded, and the copy inspected, instead of refused. The
 * caller owns `workDir` (and removes it once the copy is stored or analysed).
 * @throws InvalidMasterError as inspectMaster, or when the copy cannot be written.
 */
export async function admitMaster(file: string, paths: FfmpegPaths, workDir: string): Promise<AdmittedMaster> {
  try {
    return { file, probe: await inspectMaster(file, paths) };
  } catch (err) {
    if (err instanceof RawVideoStreamError) {
      const copy = await wrapRawVideoStream(file, workDir, paths);
      const copied = await inspectMaster(copy, paths);
      return { file: copy, probe: copied, wrappedRawStream: copied.video!.codecName };
    }
    if (!(err instanceof MainPictureNotFirstError)) throw err;
    const copy = await remuxMainPictureFirst(file, err.videoStreams, err.mainIndex, workDir, paths);
    return { file: copy, probe: await inspectMaster(copy, paths), remuxedFromStream: err.mainIndex };
  }
}

/** Frame rates a cadence is snapped to when within 1%: film, PAL and NTSC rates, and their doubles. */
export const STANDARD_FRAME_RATES: readonly number[] = Object.freeze([24000 / 1001, 24, 25, 30000 / 1001, 30, 48, 50, 60000 / 1001, 60, 120000 / 1001, 120]);

/**
 * A variable-frame-rate stream's cadence, frames/s, from its frames' presentation times (any
 * order): the mean of the intervals within 25% of the median one (a dropped frame's double
 * interval and a pause are left out; a millisecond timebase's alternating 33 and 34 ms average
 * out), snapped to the nearest of STANDARD_FRAME_RATES within 1%, else rounded to 3 decimals. Undefined with
 * fewer than 10 intervals.
 */
export function frameCadence(timesS: readonly number[]): number | undefined {
  const sorted = timesS.filter(Number.isFinite).sort((a, b) => a - b);
  const intervals = sorted.slice(1).map((t, i) => t - sorted[i]!).filter((d) => d > 0);
  if (intervals.length < 10) return undefined;
  const median = [...intervals].sort((a, b) => a - b)[Math.floor(intervals.length / 2)]!;
  const usual = intervals.filter((d) => Math.abs(d - median) <= 0.25 * median);
  const rate = usual.length / usual.reduce((t, d) => t + d, 0);
  const standard = STANDARD_FRAME_RATES.filter((r) => Math.abs(rate - r) <= 0.01 * r).sort((a, b) => Math.abs(rate - a) - Math.abs(rate - b))[0];
  return standard ?? Math.round(rate * 1000) / 1000;
}

/** The presentation times of the first video stream's packets in its first 60 s, s (demuxed, not decoded); [] when ffprobe fails. */
async function firstPresentationTimesS(file: string, paths: FfmpegPaths): Promise<number[]> {
  try {
    const { stdout } = await execFileAsync(paths.ffprobePath, ['-v', 'error', '-select_streams', 'v:0', '-read_intervals', '%+60', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file], { maxBuffer: 16 * 1024 * 1024, env: ffmpegChildEnv() });
    return stdout.split('\n').filter((l) => l.trim() !== '').map(Number);
  } catch {
    return [];
  }
}

/** FFmpeg idet's repeated-field counts ("Repeated Fields: Neither: n Top: t Bottom: b"); undefined when absent. */
export function parseRepeatedFields(stderr: string): { neither: number; top: number; bottom: number } | undefined {
  const m = /Repeated Fields: Neither:\s*(\d+)\s*Top:\s*(\d+)\s*Bottom:\s*(\d+)/.exec(stderr);
  return m ? { neither: Number(m[1]), top: Number(m[2]), bottom: Number(m[3]) } : undefined;
}

/** Share of frames with a repeated field in 3:2 pulldown's cadence (two of five), and the band around it taken as telecine. */
export const TELECINE_REPEATED_SHARE = Object.freeze({ min: 0.3, max: 0.5 });
/** Fewest frames idet must have seen before its counts are read as a cadence (our choice: 2 s at 29.97). */
export const TELECINE_MIN_FRAMES = 60;

/**
 * Whether idet's repeated-field counts over an interlaced stretch show 3:2 pulldown: two of every
 * five frames repeat a field (40%), so a share within TELECINE_REPEATED_SHARE. Video shot
 * interlaced repeats none (0 of 150 frames on moving test patterns; a telecined one 72 of 180); a
 * still picture repeats nearly every field and is not taken for film.
 */
export function isTelecinePattern(counts: { neither: number; top: number; bottom: number } | undefined): boolean {
  if (!counts) return false;
  const total = counts.neither + counts.top + counts.bottom;
  if (total < TELECINE_MIN_FRAMES) return false;
  const share = (counts.top + counts.bottom) / total;
  return share >= TELECINE_REPEATED_SHARE.min && share <= TELECINE_REPEATED_SHARE.max;
}

/** Frames FFmpeg's idet reads to tell telecined film from interlaced video (our choice: 8 s at 29.97, 40 cadences). */
const TELECINE_PROBE_FRAMES = 240;

/**
 * Whether an interlaced master is telecined film (media-info.ts isTelecinePattern): FFmpeg's
 * idet over TELECINE_PROBE_FRAMES frames from the middle of the title (or its start when short).
 * A failed run is taken as "not telecined": the master is then deinterlaced, as before.
 */
async function isTelecined(file: string, paths: FfmpegPaths, durationS: number): Promise<boolean> {
  const fromS = Math.max(0, durationS / 2 - 4);
  try {
    const { stderr } = await execFileAsync(paths.ffmpegPath, ['-hide_banner', '-nostdin', '-ss', fromS.toFixed(3), '-i', file, '-map', '0:v:0', '-frames:v', String(TELECINE_PROBE_FRAMES), '-vf', 'idet', '-f', 'null', '-'], { maxBuffer: 16 * 1024 * 1024, env: ffmpegChildEnv() });
    return isTelecinePattern(parseRepeatedFields(stderr));
  } catch {
    return false;
  }
}

/**
 * What FFmpeg's H.264 and HEVC decoders say when decoding starts somewhere in the middle of a
 * stream, without the pictures before it: an MPEG-TS master has no index, so a seek lands on a
 * packet rather than on the keyframe before the point, and the first pictures decoded refer to
 * ones never seen (FFmpeg's h264_refs.c, h264_direct.c, hevc_refs.c messages). Every H.264 TS
 * master gave them at its middle and 90% checks (seen with the bundled ffmpeg), so the check
 * refused them all as media data that does not decode; a TS recorded from a broadcast starts
 * mid-GOP and gives them at 0 too. They are not counted; damaged data still shows as decoding
 * errors of other kinds (concealment, macroblock and NAL errors) or as no frame at all.
 */
const SEEK_START_MESSAGES: readonly RegExp[] = [
  /co located POCs unavailable/i,
  /mmco: unref short failure/i,
  /missing reference picture/i,
  /reference picture missing during reorder/i,
  /Frame num gap/i,
  /Could not find ref with POC/i,
  /Error constructing the frame RPS/i,
  // h264_slice.c / h264dec.c, for slices read before the stream's first parameter sets (seen at
  // 0 s of a TS cut mid-GOP, 8 times each): a stream whose parameter sets are really missing
  // gives no frame at all, and is refused for that.
  /non-existing PPS \d+ referenced/i,
  /decode_slice_header error/i,
  /^(\[[^\]]*\]\s*)?no frame!$/i,
  /^\s*Last message repeated/i,
];


const isNotSeekStart = (message: string): boolean => !SEEK_START_MESSAGES.some((re) => re.test(message));

/**
 * decodeCheck at `pointsS`; a point past the start that gave no frame and only SEEK_START_MESSAGES
 * is checked again by decoding from the last keyframe at or before it through the point and two
 * frames beyond (probeKeyframeTimesS: a scan of the packets, paid only then). A seek into an
 * MPEG-TS master lands on a packet, and the decoder gives nothing until the next keyframe: with a
 * long GOP there may be none before the end (a 4 s H.264 TS with one keyframe gave no frame at
 * 2 s). Decoding through the point keeps the check about the data there.
 * @param pointsS on the file's timeline (what `-ss` takes).
 * @param video the master's frame rate (how many frames lie between keyframe and point) and its
 *        video start offset (ProbeResult.videoStartOffsetS: keyframe times are on the video's
 *        timeline, which starts that much later than the file's).
 */
async function decodeChecksFromKeyframes(file: string, paths: FfmpegPaths, pointsS: readonly number[], video: { readonly frameRate: number; readonly videoStartOffsetS: number }): Promise<DecodeCheck[]> {
  const checks = await decodeCheck(file, paths, pointsS);
  const lost = checks.filter((c) => c.atS > 0 && c.frames === 0 && !c.errors.some(isNotSeekStart));
  if (lost.length === 0) return checks;
  const keyframes = (await probeKeyframeTimesS(file, paths)).map((k) => k + video.videoStartOffsetS);
  const out = [...checks];
  for (const c of lost) {
    const fps = video.frameRate > 0 ? video.frameRate : 30;
    const keyframe = keyframes.filter((k) => k <= c.atS).at(-1) ?? 0;
    // The keyframe through the point, and two frames more.
    const needed = Math.ceil((c.atS - keyframe) * fps) + 2;
    // A TS seek lands near, not at, the time asked (20 ms before a keyframe still missed it):
    // start INEXACT_SEEK_MARGIN_S before it; whatever decodes before the keyframe only adds frames.
    const from = Math.max(0, keyframe - INEXACT_SEEK_MARGIN_S);
    const [again] = await decodeCheck(file, paths, [from], Math.ceil((c.atS - from) * fps) + 2);
    // Fewer frames than the keyframe through the point: the data there did not decode.
    out[checks.indexOf(c)] = again && again.frames >= needed ? again : { atS: c.atS, frames: 0, errors: again?.errors ?? [] };
  }
  return out;
}

/**
 * Checks the media data behind the headers, in every container: the video must run to the
 * container's stated end (a cut WebM keeps its header's duration and was published short) —
 * when its audio does and the video stops early, the streams do not end together, which is said
 * as such (it is not a cut file) —, and frames must decode at the start, the middle and near
 * the end (at 90% of the duration, or two frames before the video's end if that is earlier).
 * @throws InvalidMasterError naming what is wrong.
 */
async function checkMediaData(file: string, name: string, result: ProbeResult, paths: FfmpegPaths): Promise<void> {
  const durationS = result.durationS;
  let endS: number | undefined;
  try {
    endS = await probeStreamEndS(file, paths, durationS - 10);
  } catch (err) {
    if (err instanceof FfmpegError) throw new InvalidMasterError(`${name} cannot be read to its end (${err.ffmpegOutputTail.at(-1) ?? 'unknown error'}).`, { cause: err });
    throw err;
  }
  const tolerance = truncationToleranceS(durationS);
  if (endS === undefined || endS < durationS - tolerance) {
    const audioEndS = result.audio && endS !== undefined ? await probeStreamEndS(file, paths, durationS - 10, 'a:0').catch(() => undefined) : undefined;
    if (endS !== undefined && audioEndS !== undefined && audioEndS >= durationS - tolerance) {
      throw new InvalidMasterError(
        `${name}'s video ends at ${endS.toFixed(1)} s but its audio runs to ${audioEndS.toFixed(1)} s: a master's streams must end together (within ${tolerance.toFixed(0)} s); cut the audio to the picture (ffmpeg -i ${name} -t ${endS.toFixed(1)} -c copy trimmed${path.extname(name)}) and upload that.`,
      );
    }
    throw new InvalidMasterError(`${name} is truncated: its video ends at ${endS === undefined ? 'an unknown time' : `${endS.toFixed(1)} s`} but its container says ${durationS.toFixed(1)} s.`);
  }
  // Each point with two frames after it: a slideshow's last picture can be seconds before its end
  // (a 12 s master at 0.5 fps has none after 10 s, and was refused at 10.8 s).
  const fps = result.video && result.video.frameRate > 0 ? result.video.frameRate : 30;
  const videoEndS = endS;
  const points = [0, durationS * 0.5, durationS * 0.9].map((t) => Math.max(0, Math.min(t, videoEndS - 2 / fps)));
  for (const check of await decodeChecksFromKeyframes(file, paths, points, { frameRate: result.video?.frameRate ?? 0, videoStartOffsetS: result.videoStartOffsetS ?? 0 })) {
    const errors = check.errors.filter(isNotSeekStart);
    if (check.frames === 0 || errors.length > 0) {
      const why = errors.at(-1)?.replace(/^\[[^\]]*\]\s*/, '') ?? 'no frame came out of the decoder';
      throw new InvalidMasterError(`${name} does not decode at ${check.atS.toFixed(1)} s: ${why.replace(/\.+$/, '')}.`);
    }
  }
}
