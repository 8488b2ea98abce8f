/**
 * The two passes of a per-title trial round (per-title-trials.ts runs them): the encode pass —
 * every trial of the round from one read of the sample, `split` into each trial's scaler and
 * encoder — and the quality pass, every file of one or several rounds against one read of the
 * sample (measureFrameScoresBatch); and how one machine's round is cut into encode passes
 * (planPasses).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { probePackets, runFfmpeg, type FfmpegPaths } from './ffmpeg.js';
import type { VideoCodec } from './fixed-ladder.js';
import { pickMasterPicture } from './media-info.js';
import { measuredBitrate, sampleGraph, sampleInputs } from './per-title-sample.js';
import type { PresetProbe, TrialGroup, TrialPoint, TrialRunOptions, TrialSettings, TrialSpec } from './per-title-trials.js';
import { measureFrameScoresBatch, summarizeFrames, type FrameScores } from './quality-metrics.js';
import { BUFSIZE_FACTOR, MAXRATE_FACTOR, reducedRateFilter, vbvAtPeak, videoEncoderOptions } from './rendition.js';
import { variantRate } from './convex-hull.js';

/** File name stem of a trial's encode. */
export const trialName = (t: TrialSpec, codec: VideoCodec = 'h264'): string =>
  `${codec === 'hevc' ? 'hevc_' : ''}${t.crf !== undefined ? `trial_${t.width}x${t.height}_crf${t.crf}` : `fixed_${t.width}x${t.height}_${t.bitrateBps}`}${t.frameRate !== undefined ? `_fps${Number(t.frameRate.toFixed(3))}` : ''}`;

/** A trial's keyframe interval, frames: the sample's `gop` (frames at `frameRate`) scaled to the trial's own rate, so its keyframes fall where the full-rate trials' do. */
export const trialGop = (t: TrialSpec, gop: number, frameRate: number): number => (t.frameRate === undefined ? gop : Math.max(1, Math.round((gop * t.frameRate) / frameRate)));


/** What a group has found and spent so far. */
export interface GroupTotals {
  points: TrialPoint[];
  presetProbe?: PresetProbe;
  sampleFrames: number;
  encodeS: number;
  qualityS: number;
}

/** One round's trials encoded, not yet measured: their files (the preset probe's apart) and measured bitrates, bits/s. */
export interface EncodedRound {
  readonly trials: readonly TrialSpec[];
  readonly codec: VideoCodec;
  readonly files: readonly string[];
  readonly probeFile?: string | undefined;
  readonly bitrates: readonly number[];
}

/** Deletes a round's files (missing ones are fine). */
export const removeRound = (r: EncodedRound): Promise<unknown> => Promise.all([...r.files, ...(r.probeFile ? [r.probeFile] : [])].map((f) => fs.rm(f, { force: true })));

/**
 * The encode pass of a round: `trials` (and the preset probe's encode) from one read of the sample,
 * `split` into every trial's scaler and encoder; then each file's measured bitrate. Adds its time
 * to `totals.encodeS`, sets `totals.sampleFrames` (and `presetProbe`). Removes its files if it fails.
 */
export async function encodeRound(
  source: { readonly master: string; readonly decoded: string | undefined },
  trials: readonly TrialSpec[],
  codec: VideoCodec,
  settings: TrialSettings,
  paths: FfmpegPaths,
  options: TrialRunOptions,
  totals: GroupTotals,
  onProgress: (fraction: number) => void,
  probe?: { readonly preset: string; readonly crf: number; readonly width?: number; readonly height?: number },
): Promise<EncodedRound> {
  const sampleS = settings.windows.reduce((t, w) => t + w.durationS, 0);
  const files = trials.map((t) => path.join(options.workDir, `${trialName(t, codec)}.mp4`));
  // The probe's trial: at its CRF (and size, when given: a pass may hold several groups' trials).
  const probeIndex = probe ? trials.findIndex((t) => t.crf === probe.crf && t.frameRate === undefined && (probe.width === undefined || (t.width === probe.width && t.height === probe.height))) : -1;
  if (probe && probeIndex < 0) throw new RangeError(`a preset probe at CRF ${probe.crf} needs a trial at that CRF in its pass`);
  const probeFile = probe ? path.join(options.workDir, `${trialName(trials[probeIndex]!, codec)}_${probe.preset}.mp4`) : undefined;
  const round = { trials, codec, files, probeFile };
  try {
    const t0 = performance.now();
    const encodes = [...trials.map((t) => ({ t, preset: settings.trialPreset })), ...(probe ? [{ t: trials[probeIndex]!, preset: probe.preset }] : [])];
    const outputs = encodes.map(({ t, preset }, k) => {
      if (t.crf === undefined && t.bitrateBps === undefined) throw new RangeError('a trial needs a CRF or a bitrate');
      // The final encodes' options (rendition.ts): a closed GOP per window, CRF uncapped (or at
      // a quality extension's cap), a fixed-ladder rung capped as the fixed ladder's final encode is.
      const rate =
        t.crf !== undefined
          ? { crf: t.crf, ...(t.maxrateBps !== undefined ? { vbv: vbvAtPeak(t.maxrateBps) } : {}) }
          : { bitrateBps: t.bitrateBps!, vbv: { maxrateBps: t.bitrateBps! * MAXRATE_FACTOR, bufsizeBps: t.bitrateBps! * BUFSIZE_FACTOR } };
      return {
        outputOptions: ['-map', `[v${k}]`, ...videoEncoderOptions({ codec, preset, gop: trialGop(t, settings.gop, settings.frameRate), ...rate }), '-an'],
        output: k < files.length ? files[k]! : probeFile!,
      };
    });
    const read = source.decoded ? '[0:v]null' : sampleGraph(settings.windows, settings.reference, settings.frameRate, settings);
    const split = `${read},split=${encodes.length}${encodes.map((_, k) => `[s${k}]`).join('')}`;
    const scales = encodes.map(({ t }, k) => `[s${k}]${reducedRateFilter(t.frameRate)}scale=${t.width}:${t.height}:flags=bicubic,setsar=1[v${k}]`);
    await runFfmpeg(
      {
        inputs: source.decoded ? [{ source: source.decoded }] : sampleInputs(source.master, settings.windows, settings.videoStartOffsetS),
        outputOptions: ['-filter_complex', [split, ...scales].join(';'), ...outputs[0]!.outputOptions],
        output: outputs[0]!.output,
        moreOutputs: outputs.slice(1),
      },
      paths,
      { ...(options.signal ? { signal: options.signal } : {}), durationS: sampleS, onProgress: (f) => onProgress(f) },
    );
    totals.encodeS += (performance.now() - t0) / 1000;
    // The sample's frames, from a trial at its rate (a half-rate trial's frames scaled up).
    const atRate = trials.findIndex((t) => t.frameRate === undefined);
    const counted = (await probePackets(files[Math.max(0, atRate)]!, paths)).length;
    const sampleFrames = atRate >= 0 ? counted : Math.round((counted * settings.frameRate) / trials[0]!.frameRate!);
    totals.sampleFrames = sampleFrames;
    // Bits over the sample's duration: a half-rate trial's own frames at its own rate.
    const bitrateOf = (f: string, t: TrialSpec) => (t.frameRate === undefined ? measuredBitrate(f, sampleFrames, settings.frameRate, paths) : measuredBitrate(f, Math.round((sampleFrames * t.frameRate) / settings.frameRate), t.frameRate, paths));
    const bitrates = await Promise.all(files.map((f, k) => bitrateOf(f, trials[k]!)));
    if (probe && probeFile) {
      const t = trials[probeIndex]!;
      totals.presetProbe = { preset: probe.preset, width: t.width, height: t.height, crf: t.crf!, bitrateBps: await bitrateOf(probeFile, t), trialBitrateBps: bitrates[probeIndex]! };
    }
    return { ...round, bitrates };
  } catch (err) {
    await removeRound({ ...round, bitrates: [] });
    throw err;
  }
}

/**
 * The quality pass of encoded rounds: every file of every round against one read of the sample
 * (measureFrameScoresBatch: one process, and with VMAF on a frame sample one libvmaf).
 * @returns each round's points, in order.
 */
export async function measureRounds(
  source: { readonly master: string; readonly decoded: string | undefined },
  rounds: readonly EncodedRound[],
  settings: TrialSettings,
  paths: FfmpegPaths,
  options: TrialRunOptions,
  onProgress: (fraction: number) => void,
): Promise<TrialPoint[][]> {
  const sampleS = settings.windows.reduce((t, w) => t + w.durationS, 0);
  const scores: FrameScores[] = await measureFrameScoresBatch(
    {
      ...(source.decoded ? { reference: source.decoded } : { reference: source.master, referenceWindows: settings.windows, ...pickMasterPicture(settings), ...(settings.videoStartOffsetS ? { videoStartOffsetS: settings.videoStartOffsetS } : {}) }),
      ...settings.reference,
      frameRate: settings.frameRate,
      psnr: settings.metric === 'psnr',
      ssim: false,
      vmafSubsample: settings.vmafSubsample,
      ...(settings.metric === 'vmaf' ? { frameSample: settings.vmafSubsample, referenceDurationS: sampleS } : {}),
      ...(settings.metric === 'vmaf' && options.vmafModelPath ? { vmafModelPath: options.vmafModelPath } : {}),
    },
    rounds.flatMap((r) => r.files),
    paths,
    { ...(options.signal ? { signal: options.signal } : {}), durationS: sampleS, onProgress: (f) => onProgress(f) },
  );
  let next = 0;
  return rounds.map((r) =>
    r.trials.map((t, k) => {
      const s = scores[next++]!;
      const psnrDb = s.mseY ? summarizeFrames(s).psnrDb : undefined;
      const vmaf = s.vmaf && s.vmaf.length > 0 ? s.vmaf.reduce((a, b) => a + b, 0) / s.vmaf.length : undefined;
      const quality = settings.metric === 'vmaf' ? vmaf : psnrDb;
      if (quality === undefined) throw new Error(`trial ${trialName(t)} has no ${settings.metric} score`);
      return {
        width: t.width,
        height: t.height,
        bitrateBps: r.bitrates[k]!,
        quality,
        ...(psnrDb !== undefined ? { psnrDb } : {}),
        ...(vmaf !== undefined ? { vmaf } : {}),
        ...(t.crf !== undefined ? { crf: t.crf } : { targetBitrateBps: t.bitrateBps! }),
        ...variantRate(t),
        ...(r.codec === 'hevc' ? { codec: r.codec } : {}),
      };
    }),
  );
}

/**
 * Most frame area one encode pass of runTrialGroupsTogether encodes at once, pixels: eight 1080p
 * trials (our choice). A pass holds every trial's x264 (lookahead and reference frames); the
 * 1080p60 test master's first round, 14 trials of 10.4 Mpx, peaked at 1.26 GB in one process.
 * A trial larger than the budget (above 4K) gets a pass of its own.
 */
export const PASS_PIXEL_BUDGET = 8 * 1920 * 1080;

/** One encode pass of a round: its trials, the group each came from, and the preset probe it carries. */
export interface TrialPass {
  readonly codec: VideoCodec;
  readonly owners: number[];
  readonly trials: TrialSpec[];
  /** Frame area the pass encodes at once, pixels (a probe counts twice: its trial is encoded at two presets). */
  pixels: number;
  probe?: { readonly preset: string; readonly crf: number; readonly width: number; readonly height: number; readonly owner: number };
}

/**
 * A round's encode passes: one per codec (its trials from one read of the sample; x264's threads
 * across them keep both cores busy, where one small group's pass left a fifth of them idle), each
 * up to PASS_PIXEL_BUDGET of frame area and at most one preset probe (the groups' probes in the
 * first round only), trials in group order.
 * @param pending each group's trials this round (same order as `groups`).
 * @throws RangeError when two trials of one codec in the round are the same encode (same size and
 *         CRF or bitrate: their files, named by trialName, would collide).
 */
export function planPasses(groups: readonly TrialGroup[], pending: readonly (readonly TrialSpec[])[], first: boolean): TrialPass[] {
  const passes: TrialPass[] = [];
  const names = new Set<string>();
  for (const [i, trials] of pending.entries()) {
    const codec = groups[i]!.codec ?? 'h264';
    const own = first ? groups[i]!.presetProbe : undefined;
    for (const t of trials) {
      const name = trialName(t, codec);
      if (names.has(name)) throw new RangeError(`two trials of one round are the same encode: ${name}`);
      names.add(name);
      const probe = own && t.crf === own.crf ? { ...own, width: t.width, height: t.height, owner: i } : undefined;
      const pixels = t.width * t.height * (probe ? 2 : 1);
      let pass = passes.find((p) => p.codec === codec && p.pixels + pixels <= PASS_PIXEL_BUDGET && !(probe && p.probe));
      if (!pass) passes.push((pass = { codec, owners: [], trials: [], pixels: 0 }));
      pass.owners.push(i);
      pass.trials.push(t);
      pass.pixels += pixels;
      if (probe) pass.probe = probe;
    }
  }
  return passes;
}
