/**
 * The per-title analysis's trial encodes (per-title.ts), run as groups: one group is a set of
 * trials (usually every CRF of one resolution) that one ffmpeg process encodes from a single
 * decode of the sample (the master's windows, concatenated, `split` into every trial), and one
 * more process measures against a single decode of the same windows (measureFrameScoresBatch).
 * Both passes read the sample decoded once into raw frames (per-title-sample.ts decodeSample:
 * decoding the master cost more than the trials' PSNR), made by the group itself or shared by
 * the caller across groups. A group is self-contained — it needs only the master, the sample's
 * windows and its own specs — so a worker anywhere can run it (title-flow.ts makes each group a
 * child job). On one machine (runTrialGroupsTogether) the groups' grids share one quality pass.
 * The passes themselves are per-title-round.ts.
 *
 * A group may carry grid extensions (issue 13: hard content stopped at VMAF 91.8 because the
 * grid ended at CRF 20; a hull that never came down to the floor started the ladder above it):
 * after its grid, the group tries further CRFs one at a time while its own points fall short.
 */
import fs from 'node:fs/promises';
import { variantRate, type RdPoint } from './convex-hull.js';
import type { FfmpegPaths } from './ffmpeg.js';
import { decodeSample, type SampleWindow } from './per-title-sample.js';
import { encodeRound, measureRounds, planPasses, removeRound, type EncodedRound, type GroupTotals } from './per-title-round.js';
import type { LadderMetric } from './quality-metrics.js';
import type { VideoCodec } from './fixed-ladder.js';
import { coarseTrials, refineTrials, type TrialSearch } from './per-title-search.js';
import type { MasterPicture } from './media-info.js';

/** One trial encode: a size and either an x264 CRF or a target bitrate (a fixed-ladder rung, capped VBR). */
export interface TrialSpec {
  readonly width: number;
  readonly height: number;
  readonly crf?: number;
  /** Target bitrate, bits/s (when no CRF). */
  readonly bitrateBps?: number;
  /**
   * Output frame rate, frames/s, when below the sample's (a half-rate trial: planAnalysis); the
   * trial keeps every n-th frame and is still scored against every frame of the sample, its
   * frames shown until the next, so the motion it leaves out counts against it. Absent = the
   * sample's rate.
   */
  readonly frameRate?: number;
  /**
   * For a CRF trial, a VBV cap, bits/s (x264 maxrate; the buffer in the final encodes' proportion,
   * rendition.ts). The quality extension's trials have one (GridExtension `trialMaxrateBps`: the
   * peak the top rung's final encode may reach, planAnalysis): uncapped, a 1080p60 pan with light
   * noise ran to 69 Mbit/s at CRF 14 — on a long title's 20% sample, gigabytes of trial output.
   * Absent = CRF uncapped.
   */
  readonly maxrateBps?: number;
}

/**
 * Further CRFs a group tries, one at a time after its grid, while its own points fall short:
 * - `quality`: while the group's best trial is below `saturationQuality`, under `capBps`, and
 *   its CRF above the next one (the largest resolution); each such trial is capped at
 *   `trialMaxrateBps` (TrialSpec.maxrateBps);
 * - `floor`: while none of the group's trials is at or below `floorBitrateBps` (the smallest
 *   resolution, whose cheapest trial is the title's cheapest).
 */
export type GridExtension =
  | {
      readonly toward: 'quality';
      readonly crfs: readonly number[];
      readonly saturationQuality: number;
      readonly capBps: number;
      /** VBV cap of each extension trial, bits/s (TrialSpec.maxrateBps); absent = uncapped (analyses planned before it). */
      readonly trialMaxrateBps?: number;
    }
  | { readonly toward: 'floor'; readonly crfs: readonly number[]; readonly floorBitrateBps: number };

export interface TrialGroup {
  readonly trials: readonly TrialSpec[];
  /** Codec of the group's encodes (default H.264); a title's ladder per codec comes from its own groups. */
  readonly codec?: VideoCodec | undefined;
  readonly extensions?: readonly GridExtension[];
  /**
   * Also encode the group's trial at `crf` with the final encodes' preset, in the same encode
   * pass (bitrate only, no quality pass): the measured ratio of the two presets' bitrates at one
   * CRF corrects the CRF chosen for each rung (concludeAnalysis).
   */
  readonly presetProbe?: { readonly preset: string; readonly crf: number };
}

/** The final preset's bitrate beside the trial preset's, same size, CRF and sample. */
export interface PresetProbe {
  readonly preset: string;
  readonly width: number;
  readonly height: number;
  readonly crf: number;
  /** Bitrate at the final preset, bits/s. */
  readonly bitrateBps: number;
  /** Bitrate of the trial at the trial preset, bits/s. */
  readonly trialBitrateBps: number;
}

/**
 * What every group of one title's analysis shares (serialisable: the flow stores it for its
 * children). Its MasterPicture fields: the sample is read as the final encodes read the master
 * (absent in plans stored before them: progressive SDR).
 */
export interface TrialSettings extends MasterPicture {
  readonly windows: readonly SampleWindow[];
  /** Display size of the source: the sample is brought to it, and trials are judged at it. */
  readonly reference: { readonly width: number; readonly height: number };
  /** Output frame rate, frames/s. */
  readonly frameRate: number;
  /** The master's video start offset (ProbeResult.videoStartOffsetS), s: the windows are on the video's timeline. Absent: 0. */
  readonly videoStartOffsetS?: number | undefined;
  /** Keyframe interval of the trials, frames (one closed GOP per window, as the final encodes). */
  readonly gop: number;
  readonly trialPreset: string;
  readonly metric: LadderMetric;
  /**
   * The trials' VMAF scores every n-th frame of the sample (per-title.ts trialVmafSubsample),
   * fed as a frame sample: only those frames and their two neighbours are scaled and compared
   * (QualityReferenceSpec.frameSample; n < 3: libvmaf `n_subsample` on every frame fed).
   */
  readonly vmafSubsample: number;
}

/** One measured trial encode. */
export interface TrialPoint extends RdPoint {
  /** Set for HEVC trials only (H.264 is the default, and older analyses have no codec). */
  readonly codec?: 'hevc';
  /** x264 CRF of the trial, or absent for a fixed-ladder (bitrate-targeted) trial. */
  readonly crf?: number;
  /** Target bitrate of a fixed-ladder trial, bits/s. */
  readonly targetBitrateBps?: number;
  /** Luma PSNR, dB: measured when the ladder is built on PSNR (trials built on VMAF skip it). */
  readonly psnrDb?: number;
  /** Absent for trials (they skip SSIM; no ladder decision reads it). */
  readonly ssim?: number;
  readonly vmaf?: number;
}

export interface TrialGroupResult {
  readonly points: TrialPoint[];
  /** When the group had a preset probe. */
  readonly presetProbe?: PresetProbe;
  /** Frames in the sample (every trial has them all). */
  readonly sampleFrames: number;
  /** Wall-clock seconds spent encoding and measuring. */
  readonly encodeS: number;
  readonly qualityS: number;
}

export interface TrialRunOptions {
  /** Folder for the trial files (removed as each round is measured). */
  readonly workDir: string;
  /** VMAF model on this machine; required when the metric is VMAF. */
  readonly vmafModelPath?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /**
   * The sample already decoded (decodeSample with the group's settings), shared across groups.
   * Unset: the group decodes it into `workDir` itself (and removes it), unless `decodeSample` is
   * false or it would not fit (decodeSample), when every pass reads the master's windows.
   */
  readonly samplePath?: string | undefined;
  /** Decode the sample once for the group's passes (default true; see samplePath). */
  readonly decodeSample?: boolean | undefined;
  /** Fraction of the group done, [0, 1], never decreasing. */
  readonly onProgress?: ((fraction: number) => void) | undefined;
}

/**
 * Share of a round's time its encode pass takes, for progress (the rest is the quality pass:
 * VMAF at the source's size). Measured with `vod ladder` on Big Buck Bunny: 8 s of 58 s
 * (2026-12-02), 9.1 s of 23.6 s once a group's trials shared one libvmaf (2026-12-03).
 */
const ENCODE_SHARE = 0.4;

/**
 * Runs one group: its trials in one encode pass and one quality pass, then its extensions.
 * @returns the group's RD points, in the order run.
 * @throws RangeError when the metric is VMAF and no model is given, or a trial has neither CRF
 *         nor bitrate; FfmpegError when ffmpeg fails; EncodeCancelledError when `signal` aborts.
 */
export async function runTrialGroup(masterPath: string, group: TrialGroup, settings: TrialSettings, paths: FfmpegPaths, options: TrialRunOptions): Promise<TrialGroupResult> {
  if (settings.metric === 'vmaf' && !options.vmafModelPath) throw new RangeError('the ladder is built on VMAF but this worker has no VMAF model (set VMAF_MODEL)');
  const decodes = options.samplePath === undefined && options.decodeSample !== false ? 1 : 0;
  const rounds = decodes + 1 + (group.extensions ?? []).reduce((n, e) => n + e.crfs.length, 0);
  let reported = 0;
  const report = (round: number, f: number) => {
    reported = Math.max(reported, Math.min(1, (decodes + round + f) / rounds));
    options.onProgress?.(reported);
  };
  const decodeReport = (f: number) => report(-1, f);
  const result: GroupTotals = { points: [], sampleFrames: 0, encodeS: 0, qualityS: 0 };
  let own: string | undefined;
  if (decodes === 1) {
    // Counted as trial encoding: it replaces the encode pass's own decode.
    const t0 = performance.now();
    // Progress: the decode as one more round's worth before the grid (report maps round -1 to 0).
    own = await decodeSample(masterPath, settings, options.workDir, paths, {
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (f) => decodeReport(f),
    });
    result.encodeS += (performance.now() - t0) / 1000;
  }
  try {
    return await runRounds(masterPath, own ?? options.samplePath, group, settings, paths, options, result, report);
  } finally {
    if (own) await fs.rm(own, { force: true });
  }
}

/** The rounds of a group (runTrialGroup): the grid, then the extensions while they are needed. */
async function runRounds(
  masterPath: string,
  samplePath: string | undefined,
  group: TrialGroup,
  settings: TrialSettings,
  paths: FfmpegPaths,
  options: TrialRunOptions,
  result: GroupTotals,
  report: (round: number, f: number) => void,
): Promise<TrialGroupResult> {
  checkPresetProbe(group);
  let round = 0;
  // One round at a time through runJointRound, as one group of one: the grid (with the preset probe), then each extension.
  const runRound = async (trials: readonly TrialSpec[], first = false) => {
    await runJointRound({ master: masterPath, decoded: samplePath }, [group], [trials], first, settings, paths, options, [result], (n) => report(round, n / trials.length));
    round += 1;
    report(round, 0);
  };
  await runRound(group.trials, true);
  await runExtensions(group, result, runRound);
  options.onProgress?.(1);
  return result;
}

function checkPresetProbe(group: TrialGroup): void {
  if (group.presetProbe && !group.trials.some((t) => t.crf === group.presetProbe!.crf)) throw new RangeError(`a preset probe at CRF ${group.presetProbe.crf} needs a trial at that CRF in its group`);
}

/** A group's extensions (GridExtension), after its grid's points are in `result`: one round per CRF tried. */
async function runExtensions(group: TrialGroup, result: GroupTotals, runRound: (trials: readonly TrialSpec[]) => Promise<void>): Promise<void> {
  for (const ext of group.extensions ?? []) {
    for (const crf of ext.crfs) {
      const own = result.points.filter((p) => p.crf !== undefined);
      if (own.length === 0) break;
      if (ext.toward === 'quality') {
        const best = own.reduce((a, b) => (b.quality > a.quality ? b : a));
        if (best.quality >= ext.saturationQuality || best.bitrateBps >= ext.capBps || best.crf! <= crf) break;
        await runRound([{ width: best.width, height: best.height, ...variantRate(best), crf, ...(ext.trialMaxrateBps !== undefined ? { maxrateBps: ext.trialMaxrateBps } : {}) }]);
      } else {
        if (own.some((p) => p.bitrateBps <= ext.floorBitrateBps) || own.some((p) => p.crf === crf)) break;
        const cheapest = own.reduce((a, b) => (b.bitrateBps < a.bitrateBps ? b : a));
        await runRound([{ width: cheapest.width, height: cheapest.height, ...variantRate(cheapest), crf }]);
      }
    }
  }
}

/** Options of runTrialGroupsTogether. */
export interface TogetherRunOptions extends TrialRunOptions {
  /**
   * How the grids are explored (per-title-search.ts): `grid` runs every trial in one round;
   * `coarse-to-fine` (default) runs coarseTrials, then refineTrials' rounds until they add none.
   */
  readonly search?: TrialSearch | undefined;
}

/**
 * Runs several groups here with their grids measured together, in rounds — each round one encode
 * pass per codec (all its groups' trials of the round from one read of the sample) and one
 * quality pass over all its trials (with VMAF on a frame sample, one libvmaf in one process:
 * measureFrameScoresBatch): the first round (with `search` `grid` every trial, with
 * `coarse-to-fine`, the default, the search's coarse trials: per-title-search.ts), then each
 * group's extensions as runTrialGroup runs them, then the search's refinement rounds until they
 * add none. Each trial's point is the one runTrialGroup finds (a concatenated batch scores each
 * trial as it would alone, and the encodes are the same), and the order is a chunked title's
 * flow's (title-flow.ts: a first wave of child jobs, each a group's first-round trials and its
 * extensions, then a wave per refinement round), so both choose the same ladder.
 * @param options.samplePath the sample decoded once (decodeSample), or unset to read the master's windows.
 * @returns one result per group, in order (a group's points in the order run); each round's
 *          quality pass's time shared by trial count.
 * @throws as runTrialGroup.
 */
export async function runTrialGroupsTogether(masterPath: string, groups: readonly TrialGroup[], settings: TrialSettings, paths: FfmpegPaths, options: TogetherRunOptions): Promise<TrialGroupResult[]> {
  if (settings.metric === 'vmaf' && !options.vmafModelPath) throw new RangeError('the ladder is built on VMAF but this worker has no VMAF model (set VMAF_MODEL)');
  groups.forEach(checkPresetProbe);
  const source = { master: masterPath, decoded: options.samplePath };
  const total = groups.reduce((n, g) => n + g.trials.length + (g.extensions ?? []).reduce((m, e) => m + e.crfs.length, 0), 0);
  let reported = 0;
  const report = (done: number) => {
    reported = Math.max(reported, Math.min(1, done / total));
    options.onProgress?.(reported);
  };
  const results: GroupTotals[] = groups.map(() => ({ points: [], sampleFrames: 0, encodeS: 0, qualityS: 0 }));
  const coarse = (options.search ?? 'coarse-to-fine') === 'coarse-to-fine';
  // The first round (the whole grid, or the search's coarse trials), then each group's
  // extensions, then the search's refinement rounds — the order of a chunked title's flow, whose
  // first wave of child jobs runs each group's first-round trials and extensions together.
  const first = coarse ? coarseTrials(groups) : groups.map((g) => [...g.trials]);
  let done = 0;
  await runJointRound(source, groups, first, true, settings, paths, options, results, (f) => report(f));
  done += first.reduce((n, p) => n + p.length, 0);
  for (const [i, g] of groups.entries()) {
    const result = results[i]!;
    let round = 0;
    const before = done;
    await runExtensions(g, result, async (trials) => {
      await runJointRound(source, [g], [trials], false, settings, paths, options, [result], (n) => report(before + round + n / trials.length));
      round += 1;
    });
    done += (g.extensions ?? []).reduce((m, e) => m + e.crfs.length, 0);
    report(done);
  }
  for (let pending = coarse ? refineTrials(groups, results.map((r) => r.points)) : []; pending.some((p) => p.length > 0); pending = refineTrials(groups, results.map((r) => r.points))) {
    const before = done;
    await runJointRound(source, groups, pending, false, settings, paths, options, results, (f) => report(before + f));
    done += pending.reduce((n, p) => n + p.length, 0);
  }
  options.onProgress?.(1);
  return results;
}

/**
 * One round of runTrialGroupsTogether: `pending[i]`, group i's trials this round, encoded in one
 * pass per codec (with the groups' preset probes in the first round) — then all measured in one
 * quality pass; each point appended to its group's result, each pass's time shared by its trials.
 * @param onProgress trials' worth of the round done (0 to the round's trial count).
 */
async function runJointRound(
  source: { readonly master: string; readonly decoded: string | undefined },
  groups: readonly TrialGroup[],
  pending: readonly (readonly TrialSpec[])[],
  first: boolean,
  settings: TrialSettings,
  paths: FfmpegPaths,
  options: TrialRunOptions,
  results: GroupTotals[],
  onProgress: (trialsDone: number) => void,
): Promise<void> {
  const passes = planPasses(groups, pending, first);
  const count = passes.reduce((n, p) => n + p.trials.length, 0);
  const encoded: EncodedRound[] = [];
  try {
    let before = 0;
    for (const pass of passes) {
      const totals: GroupTotals = { points: [], sampleFrames: 0, encodeS: 0, qualityS: 0 };
      encoded.push(await encodeRound(source, pass.trials, pass.codec, settings, paths, options, totals, (f) => onProgress((before + f * pass.trials.length) * ENCODE_SHARE), pass.probe));
      before += pass.trials.length;
      for (const i of pass.owners) {
        results[i]!.encodeS += totals.encodeS / pass.trials.length;
        results[i]!.sampleFrames = totals.sampleFrames;
      }
      if (pass.probe && totals.presetProbe) results[pass.probe.owner]!.presetProbe = totals.presetProbe;
    }
    const t0 = performance.now();
    const points = await measureRounds(source, encoded, settings, paths, options, (f) => onProgress(count * (ENCODE_SHARE + f * (1 - ENCODE_SHARE))));
    const qualityS = (performance.now() - t0) / 1000;
    for (const [j, pass] of passes.entries()) {
      for (const [k, i] of pass.owners.entries()) {
        results[i]!.points.push(points[j]![k]!);
        results[i]!.qualityS += qualityS / count;
      }
    }
  } finally {
    await Promise.all(encoded.map(removeRound));
  }
}
