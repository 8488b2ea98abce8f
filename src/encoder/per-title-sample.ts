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
import { strideCoprimeWith, vmafSubsampleFor } from './quality-metrics.js';
import { freeBytesOf } from '../util/disk-space.js';
import type { ComplexityProfile } from './title-complexity.js';

/** A window of the title in the sample, s; `seekFromS` as master-seek.ts withSeekStarts gives it (a container not sought exactly). */
export interface SampleWindow {
  readonly startS: number;
  readonly durationS: number;
  readonly seekFromS?: number | undefined;
}

/**
 * How a sample's windows were placed: by a complexity scan (title-complexity.ts) that read the
 * whole title, or `spans` spans of it, `readS` seconds in all; or centred in their shares (no
 * scan asked for, or it failed).
 */
export type SamplePlacement = { readonly by: 'scan'; readonly readS: number; readonly spans?: number } | { readonly by: 'centred' };

/** The placement a complexity profile (or none) gives sampleWindows. */
export function samplePlacement(profile: ComplexityProfile | null | undefined): SamplePlacement {
  if (!profile) return { by: 'centred' };
  const read = (profile.frameBits[0] ?? []).filter((b) => Number.isFinite(b)).length;
  return { by: 'scan', readS: Math.round((read / profile.frameRate) * 10) / 10, ...(profile.spans !== undefined ? { spans: profile.spans } : {}) };
}

/**
 * Fewest windows a sample is cut into, and the shortest window it may be cut into for that, s
 * (our choice). A title shorter than a minute has one or two 4 s windows by the 20% rule, and one
 * window stands for one shot: a 12 s master of three scenes (noisy live action, Big Buck Bunny,
 * noisy testsrc2) had its one window on the animation (its frames cost 64% less than the
 * title's), and its top rung, predicted VMAF 95, measured 87.5 over the title. The same seconds
 * in three windows, one per third of the title, stand for the title as a stratified sample does,
 * with less variance than one cluster of adjacent frames (Cochran, "Sampling Techniques", 3rd ed.,
 * 1977, §9.5: cluster sampling's variance grows with the intra-cluster correlation, and the
 * frames of one shot are alike); a complexity profile then places each window
 * (representativeStartS). The trials keep the segment-long GOP, so shorter windows add no
 * keyframes, and a window starting inside a GOP is coded as after a cut (measured against the
 * same frames in a whole-title encode, and against a GOP per window: docs/per-title.md, "Sample").
 */
export const MIN_SAMPLE_WINDOWS = 3;
export const MIN_SAMPLE_WINDOW_S = 1;

/**
 * Sample windows across a title: `round(duration × fraction / window)` windows (at least 1, at
 * most `maxWindows`) of `windowS`, one in each equal share of the title; when that is fewer than
 * `minWindows`, the same seconds cut into `minWindows` shorter windows (none shorter than
 * MIN_SAMPLE_WINDOW_S), a whole number of frames long with `frameRate`. Without a complexity
 * profile each window is centred in its share; with one (title-complexity.ts scanComplexity) it
 * is placed where it costs what its share costs on average (representativeStartS). A title no
 * longer than one window is sampled whole. With the master's `frameRate` (frames/s) each start
 * is on its frame grid (a whole number of frames from the video's start): a window starting
 * between two frames began at the later one, and the sample's `fps` filter then padded the
 * window's end with its last frame twice.
 * @throws RangeError for non-positive durations or a fraction outside (0, 1].
 */
export function sampleWindows(
  durationS: number,
  windowS: number,
  fraction: number,
  maxWindows: number,
  frameRate?: number,
  minWindows = MIN_SAMPLE_WINDOWS,
  profile?: ComplexityProfile,
): SampleWindow[] {
  if (!(durationS > 0 && windowS > 0 && fraction > 0 && fraction <= 1 && maxWindows >= 1)) {
    throw new RangeError('sampleWindows needs positive durations, a fraction in (0, 1] and maxWindows >= 1');
  }
  if (durationS <= windowS) return [{ startS: 0, durationS }];
  let count = Math.min(maxWindows, Math.max(1, Math.round((durationS * fraction) / windowS)), Math.floor(durationS / windowS));
  let lengthS = windowS;
  if (count < minWindows) {
    const split = Math.max(count, Math.min(minWindows, Math.floor((count * windowS) / MIN_SAMPLE_WINDOW_S)));
    lengthS = (count * windowS) / split;
    if (frameRate && frameRate > 0) lengthS = Math.max(1, Math.round(lengthS * frameRate)) / frameRate;
    count = split;
  }
  const share = durationS / count;
  return Array.from({ length: count }, (_, i) => {
    const centre = share * (i + 0.5);
    const centred = Math.min(Math.max(0, centre - lengthS / 2), durationS - lengthS);
    const startS = profile ? representativeStartS(profile, share * i, Math.min(durationS, share * (i + 1)), lengthS, centred) : centred;
    return { startS: frameRate && frameRate > 0 ? onFrameGrid(startS, frameRate) : Math.round(startS * 1000) / 1000, durationS: lengthS };
  });
}

/**
 * How far a window's cost may be from the best window's, summed over the profile's sizes as
 * shares of the stratum's means, and still count as good as the best: among such windows the one
 * nearest the share's centre is taken, so a title of even complexity keeps centred windows. Our
 * choice, not tuned (2% of a stratum's cost: well inside the ±4–11% the placed samples of the
 * shared clips still differ from their titles by, docs/per-title.md "Sample").
 */
export const REPRESENTATIVE_TOLERANCE = 0.02;

/**
 * The start, s, of the `windowS` window inside the stratum [fromS, toS) whose mean bits per frame
 * are nearest the stratum's, at every size of `profile` (the sum of the relative differences),
 * trying every frame as a start — stratified sampling with a representative unit per stratum
 * rather than a systematic one, which aliases with content that repeats at the windows' spacing
 * (Cochran, "Sampling Techniques", 3rd ed., 1977, §8.4). Windows within REPRESENTATIVE_TOLERANCE
 * of the best go by nearness to `centredS`. A profile scanned in spans (NaN frames: scanSpans)
 * gives the stratum's mean over its scanned frames, and only windows scanned whole are tried.
 * Returns `centredS` when the profile does not cover a whole window of the stratum.
 */
export function representativeStartS(profile: ComplexityProfile, fromS: number, toS: number, windowS: number, centredS: number): number {
  const { frameRate } = profile;
  const sizes = profile.frameBits.filter((b) => b.length > 0);
  const frames = Math.min(...sizes.map((b) => b.length));
  const first = Math.ceil(fromS * frameRate - 1e-9);
  const end = Math.min(Math.floor(toS * frameRate + 1e-9), frames);
  const span = Math.round(windowS * frameRate);
  if (sizes.length === 0 || span < 1 || end - first < span) return centredS;
  // Prefix sums over the stratum's frames only (p[i]: bits of its first i frames; n[i]: how
  // many of them the scan read, at every size).
  const read = Array.from({ length: end - first }, (_, i) => sizes.every((bits) => Number.isFinite(bits[first + i])));
  const prefixes = sizes.map((bits) => read.reduce<number[]>((p, r, i) => (p.push(p.at(-1)! + (r ? bits[first + i]! : 0)), p), [0]));
  const counts = read.reduce<number[]>((n, r) => (n.push(n.at(-1)! + (r ? 1 : 0)), n), [0]);
  const targets = prefixes.map((p) => p[end - first]! / Math.max(1, counts[end - first]!));
  const candidates: { startS: number; off: number }[] = [];
  for (let i = 0; i + span <= end - first; i++) {
    if (counts[i + span]! - counts[i]! < span) continue;
    const off = prefixes.reduce((o, p, k) => o + (targets[k]! > 0 ? Math.abs((p[i + span]! - p[i]!) / span / targets[k]! - 1) : 0), 0);
    candidates.push({ startS: (first + i) / frameRate, off });
  }
  if (candidates.length === 0) return centredS;
  const best = candidates.reduce((m, c) => Math.min(m, c.off), Infinity);
  const near = candidates.filter((c) => c.off <= best + REPRESENTATIVE_TOLERANCE);
  return near.reduce((a, c) => (Math.abs(c.startS - centredS) < Math.abs(a.startS - centredS) ? c : a)).startS;
}

/**
 * The frame time at or before `timeS` (frames at whole multiples of 1 / `frameRate` from the
 * video's start), less one microsecond and floored to microseconds: ffmpeg reads `-ss` in
 * microseconds and drops the frames before it, so a frame time such as 1001/24000 s printed to
 * six places must not round up past the frame. No other frame lies within a microsecond.
 */
export function onFrameGrid(timeS: number, frameRate: number): number {
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

/**
 * Scored frames per second of sample that the trials' VMAF aims at (our choice): the trials'
 * VMAF is a mean over a frame sample, and its sampling error is common to every trial of a title
 * (they are scored on the same frames), so the hull, which compares trials, needs fewer frames
 * than an absolute score. Measured against 4 frames per second in docs/per-title.md.
 */
export const TRIAL_VMAF_FRAMES_PER_S = 1;

/**
 * Fewest VMAF-scored frames per trial (our choice): what 4 frames per second gave on the
 * shortest sample (one 4 s window), the setting the shared clips' ladders were validated with
 * until 2026-12-02; a short sample keeps them, a long one stops at TRIAL_VMAF_FRAMES_PER_S.
 */
export const TRIAL_VMAF_MIN_FRAMES = 16;

/**
 * The trials' VMAF frame sample: every n-th frame of a sample of `sampleDurationS` seconds at
 * `frameRate` frames/s, n = round(frameRate / TRIAL_VMAF_FRAMES_PER_S), lowered so that at least
 * TRIAL_VMAF_MIN_FRAMES frames are scored, then made coprime with the trials' keyframe interval
 * `gop` (strideCoprimeWith; the trials' keyframes fall every `gop` frames of the sample). Examples with 4 s windows: a 4 s
 * sample at 24 fps → every 6th frame → 7th (14 scored); 12 s at 30 fps → every 22nd → 23rd (16);
 * 40 s at 30 fps → every 30th → 31st (39).
 */
export function trialVmafSubsample(frameRate: number, sampleDurationS: number, gop: number): number {
  const frames = Math.max(1, Math.round(frameRate * sampleDurationS));
  return strideCoprimeWith(Math.max(1, Math.min(vmafSubsampleFor(frameRate, TRIAL_VMAF_FRAMES_PER_S), Math.floor(frames / TRIAL_VMAF_MIN_FRAMES))), gop);
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
