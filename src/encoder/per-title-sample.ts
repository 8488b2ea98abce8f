/**
 * The per-title analysis's sample of a title (per-title.ts): where its windows lie, how ffmpeg
 * reads them from the master (inputs and filter graph, shared by the trial encodes and their
 * quality measurement), and a trial's bitrate from its packets.
 */
import { probePackets, type FfmpegPaths } from './ffmpeg.js';

/** A window of the title in the sample, s. */
export interface SampleWindow {
  readonly startS: number;
  readonly durationS: number;
}

/**
 * Sample windows spread evenly across a title: `round(duration × fraction / window)` windows
 * (at least 1, at most `maxWindows`), each centred in its share of the title. A title no
 * longer than one window is sampled whole.
 * @throws RangeError for non-positive durations or a fraction outside (0, 1].
 */
export function sampleWindows(durationS: number, windowS: number, fraction: number, maxWindows: number): SampleWindow[] {
  if (!(durationS > 0 && windowS > 0 && fraction > 0 && fraction <= 1 && maxWindows >= 1)) {
    throw new RangeError('sampleWindows needs positive durations, a fraction in (0, 1] and maxWindows >= 1');
  }
  if (durationS <= windowS) return [{ startS: 0, durationS }];
  const count = Math.min(maxWindows, Math.max(1, Math.round((durationS * fraction) / windowS)), Math.floor(durationS / windowS));
  const share = durationS / count;
  return Array.from({ length: count }, (_, i) => {
    const centre = share * (i + 0.5);
    const startS = Math.min(Math.max(0, centre - windowS / 2), durationS - windowS);
    return { startS: Math.round(startS * 1000) / 1000, durationS: windowS };
  });
}

/**
 * The ffmpeg inputs that read a sample's windows from the master: one input per window, each
 * with input seeking (`-ss`/`-t`), so a long master is not decoded whole.
 */
export function sampleInputs(masterPath: string, windows: readonly SampleWindow[]): { source: string; options: string[] }[] {
  return windows.map((w) => ({ source: masterPath, options: [...(w.startS > 0 ? ['-ss', w.startS.toFixed(6)] : []), '-t', w.durationS.toFixed(6)] }));
}

/**
 * The filter graph (without an output label) that turns sampleInputs into the sample: each
 * window restamped from zero, resampled to the output frame rate, scaled bicubic to the
 * source's display size, the windows concatenated. The quality pass reads the same windows the
 * same way (measureFrameScoresBatch with `referenceWindows`), so both passes see the same frames
 * without a lossless copy of the sample on disk (which cost a 1.1 Gbit/s file and a slow
 * decode per trial on a noisy 1080p60 master).
 */
export function sampleGraph(windows: readonly SampleWindow[], size: { width: number; height: number }, frameRate: number): string {
  const fps = Number(frameRate.toFixed(3));
  const per = windows.map((_, i) => `[${i}:v:0]setpts=PTS-STARTPTS,fps=fps=${fps},scale=${size.width}:${size.height}:flags=bicubic,setsar=1,format=yuv420p[w${i}]`);
  return `${per.join(';')};${windows.map((_, i) => `[w${i}]`).join('')}concat=n=${windows.length}:v=1:a=0`;
}

/** Video bitrate of a file from its packets, bits/s. */
export async function measuredBitrate(file: string, frames: number, frameRate: number, paths: FfmpegPaths): Promise<number> {
  const packets = await probePackets(file, paths);
  const bytes = packets.reduce((s, p) => s + p.sizeBytes, 0);
  const durationS = (frames || packets.length) / frameRate;
  return (bytes * 8) / durationS;
}
