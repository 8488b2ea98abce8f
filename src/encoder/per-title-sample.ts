/**
 * The per-title analysis's sample of a title (per-title.ts): where its windows lie, the one
 * lossless cut of them that every trial and quality measurement starts from, and a trial's
 * bitrate from its packets.
 */
import { probePackets, runFfmpeg, type FfmpegPaths } from './ffmpeg.js';

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
 * Cuts the sample windows out of the master into one lossless file at the source's display
 * size and the output frame rate (x264 qp 0, so trials and quality both start from the
 * source's pixels; MP4, whose time base keeps 24 fps timestamps exact — Matroska's 1 ms
 * ticks made ffmpeg drop and duplicate frames and misalign the comparison). Each window is read with input seeking, so long masters are not decoded whole.
 */
export async function extractSample(
  masterPath: string,
  windows: readonly SampleWindow[],
  size: { width: number; height: number },
  frameRate: number,
  out: string,
  paths: FfmpegPaths,
  signal?: AbortSignal,
  onProgress?: (fraction: number) => void,
): Promise<void> {
  const fps = Number(frameRate.toFixed(3));
  const per = windows.map(
    (_, i) => `[${i}:v:0]setpts=PTS-STARTPTS,fps=fps=${fps},scale=${size.width}:${size.height}:flags=bicubic,setsar=1,format=yuv420p[w${i}]`,
  );
  const graph = `${per.join(';')};${windows.map((_, i) => `[w${i}]`).join('')}concat=n=${windows.length}:v=1:a=0[s]`;
  await runFfmpeg(
    {
      inputs: windows.map((w) => ({ source: masterPath, options: ['-ss', w.startS.toFixed(3), '-t', w.durationS.toFixed(3)] })),
      outputOptions: ['-filter_complex', graph, '-map', '[s]', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p'],
      output: out,
    },
    paths,
    { ...(signal ? { signal } : {}), durationS: windows.reduce((t, w) => t + w.durationS, 0), ...(onProgress ? { onProgress } : {}) },
  );
}

/** Video bitrate of a file from its packets, bits/s. */
export async function measuredBitrate(file: string, frames: number, frameRate: number, paths: FfmpegPaths): Promise<number> {
  const packets = await probePackets(file, paths);
  const bytes = packets.reduce((s, p) => s + p.sizeBytes, 0);
  const durationS = (frames || packets.length) / frameRate;
  return (bytes * 8) / durationS;
}
