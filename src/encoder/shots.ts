/**
 * Shots: the stretches of a title between picture cuts, the unit of shot-aware allocation
 * (Netflix's "Dynamic Optimizer": I. Katsavounidis, "Dynamic optimizer — a perceptual video
 * encoding optimization framework", Netflix Technology Blog, 2018), where each shot gets its own
 * encoder setting.
 *
 * Cuts are found with ffmpeg's scene-change score (the `select` filter's `scene` variable: the
 * normalised sum of absolute differences between a frame and the one before it, 0..1, FFmpeg
 * Filters documentation, "select, aselect"), a frame being a cut when its score is above
 * SCENE_CUT_THRESHOLD. The shots are then given to x264 as zones (`--zones`, x264 --fullhelp:
 * "<start frame>,<end frame>,<option>", options separated by commas, zones by slashes; `crf=`
 * sets a zone's CRF).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FfmpegError } from '../util/errors.js';
import { ffmpegChildEnv, parseShowinfoTimesS, type FfmpegPaths } from './ffmpeg.js';

const execFileAsync = promisify(execFile);

/**
 * Scene score above which a frame starts a new shot. 0.3 is the value FFmpeg's documentation
 * uses in its example ("select='gt(scene\,0.3)'"); on the shared Tears of Steel clip it finds
 * its 20 visible cuts and none inside a shot.
 */
export const SCENE_CUT_THRESHOLD = 0.3;

/** Shortest shot kept, s: a cut closer than this to the previous one (a flash, a fade's frames) is merged into that shot. */
export const MIN_SHOT_S = 0.5;

/** One shot: frames [startFrame, endFrame) of the title at its output frame rate. */
export interface Shot {
  readonly startFrame: number;
  /** Exclusive. */
  readonly endFrame: number;
}

/**
 * The times of the picture cuts in `file`, s from its first video frame, ascending (the first
 * frame itself is not a cut). Decodes the whole first video stream once (about real time ÷ 10
 * for 800x332 on this project's 2-core machine).
 * @param threshold the scene score a cut must exceed, 0..1.
 * @throws FfmpegError when ffmpeg cannot read the file.
 */
export async function detectCutTimesS(file: string, paths: FfmpegPaths, threshold = SCENE_CUT_THRESHOLD): Promise<number[]> {
  const args = ['-hide_banner', '-nostdin', '-i', file, '-map', '0:v:0', '-an', '-sn', '-vf', `setpts=PTS-STARTPTS,select='gt(scene,${threshold})',showinfo`, '-f', 'null', '-'];
  let stderr: string;
  try {
    ({ stderr } = await execFileAsync(paths.ffmpegPath, args, { maxBuffer: 64 * 1024 * 1024, env: ffmpegChildEnv() }));
  } catch (err) {
    const text = String((err as { stderr?: string }).stderr ?? (err as Error).message);
    throw new FfmpegError(`ffmpeg could not detect the shots of ${file}`, text.trim().split('\n').slice(-10), null);
  }
  return parseShowinfoTimesS(stderr);
}

/** Re-exported from ffmpeg.ts, which parses showinfo for firstVideoFrameS too. */
export { parseShowinfoTimesS } from './ffmpeg.js';

/**
 * Shots of a title of `frameCount` frames at `frameRate` from its cut times: each cut starts a
 * shot at the frame nearest to it; a shot shorter than `minShotS` is merged into the one before
 * (the first shot always starts at frame 0).
 * @throws RangeError for a non-positive frame count or frame rate.
 */
export function shotsFromCuts(cutTimesS: readonly number[], frameRate: number, frameCount: number, minShotS = MIN_SHOT_S): Shot[] {
  if (!(frameRate > 0) || !(frameCount > 0)) throw new RangeError('a title needs frames and a frame rate');
  const minFrames = Math.max(1, Math.round(minShotS * frameRate));
  const starts = [0];
  for (const t of [...cutTimesS].sort((a, b) => a - b)) {
    const f = Math.round(t * frameRate);
    if (f - starts.at(-1)! >= minFrames && frameCount - f >= minFrames) starts.push(f);
  }
  return starts.map((s, i) => ({ startFrame: s, endFrame: starts[i + 1] ?? frameCount }));
}

/**
 * x264's `zones` value giving shot i the CRF `crfs[i]` ("0,47,crf=30/48,95,crf=24"; end frames
 * inclusive, x264 --fullhelp). Pass it in `-x264-params zones=…` with the title's own `-crf`
 * (frames outside every zone keep it).
 * @throws RangeError when there is not one CRF per shot, or a CRF is outside x264's 0–51.
 */
export function x264ZonesForShots(shots: readonly Shot[], crfs: readonly number[]): string {
  if (crfs.length !== shots.length) throw new RangeError(`${shots.length} shots but ${crfs.length} CRFs`);
  return shots
    .map((s, i) => {
      const crf = crfs[i]!;
      if (!(crf >= 0 && crf <= 51)) throw new RangeError(`CRF ${crf} is outside x264's 0–51`);
      return `${s.startFrame},${s.endFrame - 1},crf=${Number(crf.toFixed(2))}`;
    })
    .join('/');
}
