/**
 * A CRF trial's bitrate as the title's final encodes would spend it. A trial encodes the sample,
 * its windows joined into one stream; each join is a cut the title does not have, coded as an
 * intra picture (a forced keyframe or, with scene-cut detection off as in every encode here, a P
 * picture made of intra blocks), while the final encodes have one keyframe per segment. With
 * windows shorter than a segment (a short title's sample: three 1.33 s windows for 4 s segments)
 * the trial pays for three intra pictures where the title pays for one: measured 2–10% more bits
 * than the title's own encode at the same CRF on Big Buck Bunny (CRF 20–38, x264 veryfast), and 28%
 * more on a scrolling-text screen recording, whose intra pictures are most of its bits
 * (docs/per-title.md, "Joins"). With windows of a segment each the joins fall on the segment
 * keyframes and nothing changes.
 */
import { probePackets, type FfmpegPaths, type PacketInfo } from './ffmpeg.js';

/** How a trial's sample is joined and how the final encodes place keyframes. */
export interface SampleJoins {
  /** Frames of each window at the trial's rate, in order (their sum is the sample's frames). */
  readonly windowFrames: readonly number[];
  /** Final encodes' keyframe interval at the trial's rate, frames (a segment). */
  readonly gop: number;
  /** The title's frames at the trial's rate (its keyframes: one per `gop`, the last part-GOP included). */
  readonly titleFrames: number;
}

/**
 * The sample's bytes re-weighted to the final encodes' keyframe density: the intra pictures (the
 * first, every keyframe, and at each join without a keyframe within one frame of its nominal
 * position the largest of those three frames, in presentation order) are counted at their mean size, as often as the final
 * encodes have keyframes — ⌈titleFrames ÷ gop⌉ in titleFrames, scaled to the sample's frames —
 * and the other frames fill the rest at their mean size. Unchanged when the intra pictures are
 * already at that density (windows of a segment each, or one window holding the title).
 * @param packets the trial's video packets (ffprobe's pts, size and key flag).
 * @returns bytes over the sample's frames (packets.length of them).
 */
export function bytesAtFinalKeyframes(packets: readonly PacketInfo[], joins: SampleJoins): number {
  const sizes = [...packets].sort((a, b) => a.ptsS - b.ptsS);
  const n = sizes.length;
  const total = sizes.reduce((s, p) => s + p.sizeBytes, 0);
  if (n < 2 || !(joins.gop > 0) || !(joins.titleFrames > 0)) return total;
  const intra = new Set<number>([0]);
  sizes.forEach((p, i) => p.keyframe && intra.add(i));
  let at = 0;
  for (const frames of joins.windowFrames.slice(0, -1)) {
    at += frames;
    const near = [at - 1, at, at + 1].filter((i) => i > 0 && i < n);
    // A keyframe there is the join's intra picture (windows of a segment: the GOPs start at the joins).
    if (near.length > 0 && !near.some((i) => intra.has(i))) intra.add(near.reduce((a, b) => (sizes[b]!.sizeBytes > sizes[a]!.sizeBytes ? b : a)));
  }
  if (intra.size >= n) return total;
  const intraBytes = [...intra].reduce((s, i) => s + sizes[i]!.sizeBytes, 0);
  const keyframes = (n * Math.ceil(joins.titleFrames / joins.gop)) / joins.titleFrames;
  return ((total - intraBytes) * (n - keyframes)) / (n - intra.size) + (intraBytes / intra.size) * keyframes;
}

/**
 * A CRF trial's bitrate at the final encodes' keyframe density (bytesAtFinalKeyframes), and as
 * encoded, bits/s over the sample's duration.
 * @param frames the sample's frames at `frameRate` (0: the packet count).
 * @throws FfmpegError when ffprobe cannot list the file's packets.
 */
export async function trialBitrateAtFinalKeyframes(file: string, frames: number, frameRate: number, joins: SampleJoins, paths: FfmpegPaths): Promise<{ bitrateBps: number; encodedBitrateBps: number }> {
  const packets = await probePackets(file, paths);
  const durationS = (frames || packets.length) / frameRate;
  return { bitrateBps: (bytesAtFinalKeyframes(packets, joins) * 8) / durationS, encodedBitrateBps: (packets.reduce((s, p) => s + p.sizeBytes, 0) * 8) / durationS };
}
