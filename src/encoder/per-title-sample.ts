/**
 * The per-title analysis's sample of a title (per-title.ts): where its windows lie, how ffmpeg
 * reads them from the master (inputs and filter graph, shared by the trial encodes and their
 * quality measurement), the sample decoded once into raw frames for every pass that reads it,
 * and a trial's bitrate from its packets.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { probePackets, runFfmpeg, type FfmpegPaths, type RunOptions } from './ffmpeg.js';
import { masterSeek } from './master-seek.js';
import { masterPictureFilter, type MasterPicture } from './media-info.js';
import { freeBytesOf } from '../util/disk-space.js';

/** A window of the title in the sample, s; `seekFromS` as master-seek.ts withSeekStarts gives it (a container not sought exactly). */
export interface SampleWindow {
  readonly startS: number;
  readonly durationS: number;
  readonly seekFromS?: number | undefined;
}

/**
 * Sample windows spread evenly across a title: `round(duration × fraction / window)` windows
 * (at least 1, at most `maxWindows`), each centred in its share of the title. A title no
 * longer than one window is sampled whole. With the master's `frameRate` (frames/s) each start
 * is on its frame grid (a whole number of frames from the video's start): a window starting
 * between two frames began at the later one, and the sample's `fps` filter then padded the
 * window's end with its last frame twice.
 * @throws RangeError for non-positive durations or a fraction outside (0, 1].
 */
export function sampleWindows(durationS: number, windowS: number, fraction: number, maxWindows: number, frameRate?: number): SampleWindow[] {
  if (!(durationS > 0 && windowS > 0 && fraction > 0 && fraction <= 1 && maxWindows >= 1)) {
    throw new RangeError('sampleWindows needs positive durations, a fraction in (0, 1] and maxWindows >= 1');
  }
  if (durationS <= windowS) return [{ startS: 0, durationS }];
  const count = Math.min(maxWindows, Math.max(1, Math.round((durationS * fraction) / windowS)), Math.floor(durationS / windowS));
  const share = durationS / count;
  return Array.from({ length: count }, (_, i) => {
    const centre = share * (i + 0.5);
    const startS = Math.min(Math.max(0, centre - windowS / 2), durationS - windowS);
    return { startS: frameRate && frameRate > 0 ? onFrameGrid(startS, frameRate) : Math.round(startS * 1000) / 1000, durationS: windowS };
  });
}

/**
 * The frame time at or before `timeS` (frames at whole multiples of 1 / `frameRate` from the
 * video's start), less one microsecond and floored to microseconds: ffmpeg reads `-ss` in
 * microseconds and drops the frames before it, so a frame time such as 1001/24000 s printed to
 * six places must not round up past the frame. No other frame lies within a microsecond.
 */
function onFrameGrid(timeS: number, frameRate: number): number {
  const frame = Math.floor(timeS * frameRate + 1e-9);
  return frame === 0 ? 0 : Math.floor((frame / frameRate) * 1e6 - 1) / 1e6;
}

/**
 * The ffmpeg inputs that read a sample's windows from the master: one input per window, each
 * with input seeking (master-seek.ts masterSeek: on the video's timeline, from before the keyframe in
 * a container not sought exactly) and `-t`, so a long master is not decoded whole.
 * @param videoStartOffsetS the master's ProbeResult.videoStartOffsetS, s.
 */
export function sampleInputs(masterPath: string, windows: readonly SampleWindow[], videoStartOffsetS = 0): { source: string; options: string[] }[] {
  return windows.map((w) => ({ source: masterPath, options: [...masterSeek(w, videoStartOffsetS), '-t', w.durationS.toFixed(6)] }));
}

/**
 * The filter graph (without an output label) that turns sampleInputs into the sample: each
 * window deinterlaced when the master is interlaced (media-info.ts deinterlaceFilter), restamped from zero, resampled to the output frame rate, scaled bicubic to the
 * source's display size, the windows concatenated. The quality pass reads the same windows the
 * same way (measureFrameScoresBatch with `referenceWindows`), so both passes see the same frames
 * without a lossless copy of the sample on disk (which cost a 1.1 Gbit/s file and a slow
 * decode per trial on a noisy 1080p60 master).
 */
export function sampleGraph(windows: readonly SampleWindow[], size: { width: number; height: number }, frameRate: number, picture: MasterPicture = {}): string {
  const fps = Number(frameRate.toFixed(3));
  const per = windows.map((_, i) => `[${i}:v:0]${masterPictureFilter(picture)}setpts=PTS-STARTPTS,fps=fps=${fps},scale=${size.width}:${size.height}:flags=bicubic,setsar=1,format=yuv420p[w${i}]`);
  return `${per.join(';')};${windows.map((_, i) => `[w${i}]`).join('')}concat=n=${windows.length}:v=1:a=0`;
}

/** Video bitrate of a file from its packets, bits/s. */
export async function measuredBitrate(file: string, frames: number, frameRate: number, paths: FfmpegPaths): Promise<number> {
  const packets = await probePackets(file, paths);
  const bytes = packets.reduce((s, p) => s + p.sizeBytes, 0);
  const durationS = (frames || packets.length) / frameRate;
  return (bytes * 8) / durationS;
}

/** What a sample is made of (TrialSettings holds these): the master's windows, the size and frame rate they are brought to, and whether the master is deinterlaced first. */
export interface SampleSpec extends MasterPicture {
  readonly windows: readonly SampleWindow[];
  /** The source's display size, even (the trials' reference). */
  readonly reference: { readonly width: number; readonly height: number };
  readonly frameRate: number;
  /** The master's video start offset (ProbeResult.videoStartOffsetS), s: each window's seek adds it. Absent: 0. */
  readonly videoStartOffsetS?: number | undefined;
}

/**
 * Most bytes a decoded sample may take on disk (8 GiB: a 40 s 1080p60 sample is 7.5 GB), and
 * at most this share of the free space where it is written. Our choice.
 */
export const DECODED_SAMPLE_MAX_BYTES = 8 * 1024 ** 3;
export const DECODED_SAMPLE_MAX_FREE_SHARE = 0.5;

/** Bytes of a sample's frames as raw 8-bit 4:2:0 (1.5 bytes per pixel), rounded up a frame per window. */
export function decodedSampleBytes(windows: readonly SampleWindow[], size: { width: number; height: number }, frameRate: number): number {
  const frames = windows.reduce((n, w) => n + Math.ceil(w.durationS * frameRate) + 1, 0);
  return frames * size.width * size.height * 1.5;
}

/**
 * Decodes a sample's windows once (sampleInputs + sampleGraph: the same frames every pass would
 * read from the master) into raw yuv420p frames in a NUT file, which every trial encode pass and
 * quality pass then reads instead of decoding the master again. Decoding the master is the
 * analysis's hidden cost: 8.4 s for an 8 s sample of a noisy 1080p30 master on this 2-core
 * machine, paid by every encode pass and every quality pass (one per trial with VMAF), where
 * reading the raw frames back takes 0.1 s (measured; README, per-title analysis).
 * @param sample the windows, the size and frame rate they are brought to, and whether the master
 *        is deinterlaced first (a TrialSettings serves).
 * @returns the file's path, or undefined when the raw frames would exceed DECODED_SAMPLE_MAX_BYTES
 *          or DECODED_SAMPLE_MAX_FREE_SHARE of the free space in `dir` (the passes then read
 *          the master).
 * @throws FfmpegError; EncodeCancelledError when `run.signal` aborts.
 */
export async function decodeSample(
  masterPath: string,
  sample: SampleSpec,
  dir: string,
  paths: FfmpegPaths,
  run: RunOptions = {},
): Promise<string | undefined> {
  const { windows, reference: size, frameRate } = sample;
  const bytes = decodedSampleBytes(windows, size, frameRate);
  const free = (await freeBytesOf(dir)) ?? 0;
  if (bytes > DECODED_SAMPLE_MAX_BYTES || bytes > free * DECODED_SAMPLE_MAX_FREE_SHARE) return undefined;
  const out = path.join(dir, `sample-${size.width}x${size.height}.nut`);
  await runFfmpeg(
    { inputs: sampleInputs(masterPath, windows, sample.videoStartOffsetS), outputOptions: ['-filter_complex', sampleGraph(windows, size, frameRate, sample), '-c:v', 'rawvideo', '-an', '-sn', '-dn', '-f', 'nut'], output: out },
    paths,
    { ...run, durationS: windows.reduce((t, w) => t + w.durationS, 0) },
  );
  return out;
}

/**
 * Decoded samples a worker keeps between the trial groups it runs (a chunked title's flow hands
 * each group to a worker as its own job; one worker often runs several groups of a title one
 * after another). Keeps the sample of the most recent key, and any still in use; an older one is
 * deleted once its last user is done, and the latest once unused for `idleMs` (it can be
 * gigabytes). Samples that do not fit (decodeSample) are not kept.
 */
export class DecodedSampleKeeper {
  private readonly entries = new Map<string, { readonly made: Promise<string | undefined>; readonly dir: string; users: number }>();
  private latest: string | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  /**
   * @param parent folder the samples' folders are made in.
   * @param idleMs how long the latest sample is kept unused, ms (default 10 minutes: longer than
   *        the gap between two trial groups of a title on a busy worker; our choice).
   */
  constructor(
    private readonly parent: string,
    private readonly idleMs = 10 * 60_000,
  ) {}

  /**
   * Runs `fn` with the decoded sample of `key`, made by `make(dir)` the first time (dir: an empty
   * folder for it). A failed `make` is not kept (the next use tries again).
   * @throws what `make` or `fn` throws.
   */
  async use<T>(key: string, make: (dir: string) => Promise<string | undefined>, fn: (samplePath: string | undefined) => Promise<T>): Promise<T> {
    this.latest = key;
    clearTimeout(this.idleTimer);
    let entry = this.entries.get(key);
    if (!entry) {
      const dir = path.join(this.parent, `sample-${this.entries.size}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`);
      const made = fs.mkdir(dir, { recursive: true }).then(() => make(dir));
      entry = { made, dir, users: 0 };
      this.entries.set(key, entry);
    }
    entry.users += 1;
    try {
      let samplePath: string | undefined;
      try {
        samplePath = await entry.made;
      } catch (err) {
        if (this.entries.get(key) === entry) this.entries.delete(key);
        await fs.rm(entry.dir, { recursive: true, force: true });
        throw err;
      }
      return await fn(samplePath);
    } finally {
      entry.users -= 1;
      await this.evict();
      if ([...this.entries.values()].every((e) => e.users === 0) && this.entries.size > 0) {
        clearTimeout(this.idleTimer);
        this.idleTimer = setTimeout(() => void this.clear(), this.idleMs).unref();
      }
    }
  }

  /** Deletes every unused sample but the latest key's. */
  private async evict(): Promise<void> {
    for (const [key, e] of [...this.entries]) {
      if (e.users > 0 || key === this.latest) continue;
      this.entries.delete(key);
      await fs.rm(e.dir, { recursive: true, force: true });
    }
  }

  /** Deletes every unused sample (the worker is stopping, or the latest sat unused for idleMs). */
  async clear(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.latest = undefined;
    await this.evict();
  }
}
