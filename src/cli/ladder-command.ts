/**
 * `vod ladder <master>`: runs the per-title analysis on a file without publishing anything,
 * prints the chosen ladder (and optionally every RD point) as a table and writes the RD plot
 * (SVG) and, on request, the analysis as JSON.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { formatAnalysisTable, formatPointsTable, renderLadderSvg } from '../encoder/ladder-report.js';
import { admitMaster, type AdmittedMaster } from '../encoder/master-check.js';
import { outputFrameRate } from '../encoder/title-stages.js';
import { analyzeTitle, type LadderAnalysis } from '../encoder/per-title.js';
import { CRF_SPLIT_RATIO } from '../encoder/per-title-search.js';
import type { SamplePlacement } from '../encoder/per-title-sample.js';
import { UserError } from '../util/errors.js';
import type { CliContext } from './context.js';
import { vmafScoredByLibvmaf1 } from '../encoder/lavfi-scorer.js';
import { transparentHugePagesMode, vmafThpAdvice } from '../util/transparent-huge-pages.js';

export interface LadderFlags {
  readonly plot?: string;
  readonly json?: string;
  readonly fixed: boolean;
  readonly points?: boolean;
  readonly crf?: number[];
  readonly sampleFraction?: number;
  readonly trialPreset?: string;
  readonly fullGrid?: boolean;
  /** False with --no-half-rate: no half-rate trials of the low resolutions (PerTitleOptions.halfRate). */
  readonly halfRate?: boolean;
}

/**
 * Analyses `file` and reports its per-title ladder.
 * @throws UserError for a master that cannot be encoded or an unwritable output path.
 */
export async function runLadder(ctx: CliContext, file: string, flags: LadderFlags): Promise<void> {
  // A master whose picture is not its first video stream is analysed as a copy with it first.
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-ladder-'));
  try {
    const master = await admitMaster(file, ctx.paths, work);
    if (master.wrappedRawStream !== undefined) {
      process.stderr.write(`Note: a raw ${master.wrappedRawStream} stream without a container; analysing it wrapped in MP4 at ${Number(master.probe.video!.frameRate.toFixed(3))} fps (its own timing), nothing re-encoded\n`);
    }
    if (master.remuxedFromStream !== undefined) {
      process.stderr.write(`Note: the main picture is video stream 0:v:${master.remuxedFromStream}, not the first; analysing a copy with it first (nothing re-encoded)\n`);
    }
    await analyseAndReport(ctx, file, master, flags);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** runLadder's work on the admitted master; `file` is the path the user gave (names, plot). */
async function analyseAndReport(ctx: CliContext, file: string, master: AdmittedMaster, flags: LadderFlags): Promise<void> {
  const probed = master.probe;
  const video = probed.video!;
  const frameRate = outputFrameRate(video);
  const plotPath = path.resolve(flags.plot ?? `${path.parse(file).name}.ladder.svg`);
  const metricNote = ctx.config.vmafModelPath ? `VMAF (${path.basename(ctx.config.vmafModelPath)})` : 'PSNR (set VMAF_MODEL for VMAF)';
  process.stderr.write(`Analysing ${path.basename(file)}: ${video.displayWidth}x${video.displayHeight}, ${probed.durationS.toFixed(1)} s; ladder metric ${metricNote}\n`);
  const model = ctx.config.vmafModelPath;
  const thpAdvice = model && (await vmafScoredByLibvmaf1(model, ctx.paths)) ? vmafThpAdvice(await transparentHugePagesMode()) : undefined;
  if (thpAdvice) process.stderr.write(`Note: ${thpAdvice}\n`);

  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar({ format: 'analysis |{bar}| {percentage}% | {duration_formatted} elapsed', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
    : undefined;
  bar?.start(100, 0);
  let analysis;
  try {
    analysis = await analyzeTitle(master.file, probed, frameRate, ctx.paths, {
      segmentDurationS: ctx.config.segmentDurationS,
      includeFixed: flags.fixed,
      finalPreset: ctx.config.x264Preset,
      ...(ctx.config.vmafModelPath ? { vmafModelPath: ctx.config.vmafModelPath } : {}),
      ...(flags.crf ? { crfValues: flags.crf } : {}),
      ...(flags.sampleFraction ? { sampleFraction: flags.sampleFraction } : {}),
      ...(flags.trialPreset ? { trialPreset: flags.trialPreset } : {}),
      search: flags.fullGrid ? 'grid' : 'coarse-to-fine',
      ...(flags.halfRate === false ? { halfRate: false } : {}),
      onProgress: (f) => bar?.update(Math.round(f * 100)),
      log: ctx.log,
    });
  } finally {
    bar?.stop();
  }

  if (flags.points) process.stdout.write(`RD points (● on the convex hull):\n${formatPointsTable(analysis)}\n\n`);
  process.stdout.write(`Per-title ladder (${analysis.metric.toUpperCase()}):\n${formatAnalysisTable(analysis)}\n`);
  if (analysis.fixedPoints?.length) {
    const top = analysis.fixedPoints[analysis.fixedPoints.length - 1]!;
    process.stdout.write(
      `Fixed ladder on the same sample: ${analysis.fixedPoints.length} rungs, top ${top.width}x${top.height} at ${Math.round(top.bitrateBps / 1000)} kbit/s, ${analysis.metric.toUpperCase()} ${top.quality.toFixed(2)}\n`,
    );
  }
  const pc = analysis.presetCorrection;
  if (pc) {
    process.stdout.write(
      `Preset correction: ${pc.preset} gives ${pc.measuredRatio.toFixed(2)}× the bits of ${analysis.settings.trialPreset} at CRF ${pc.crf}, ${pc.width}x${pc.height}; ${pc.applied ? `rung CRFs are read off the trials at bitrate ÷ ${pc.ratio.toFixed(2)}` : 'not applied (it gave two rungs of one resolution the same CRF)'}\n`,
    );
  }
  const t = analysis.timings;
  process.stdout.write(
    `Sample: ${analysis.sample.windows.length} window(s), ${analysis.sample.durationS.toFixed(1)} s of ${probed.durationS.toFixed(1)} s${placementText(analysis.sample.placement, probed.durationS)}; ${trialCount(analysis)}; analysis ${t.totalS.toFixed(1)} s (trial encodes ${t.trialEncodeS.toFixed(1)} s, quality ${t.trialQualityS.toFixed(1)} s)\n`,
  );

  const svg = await renderLadderSvg(analysis, `${path.basename(file)}: RD curves, convex hull and ladders (${analysis.metric.toUpperCase()})`);
  await writeOut(plotPath, svg);
  process.stdout.write(`Plot:   ${plotPath}\n`);
  if (flags.json) {
    const jsonPath = path.resolve(flags.json);
    await writeOut(jsonPath, `${JSON.stringify(analysis, null, 2)}\n`);
    process.stdout.write(`JSON:   ${jsonPath}\n`);
  }
}

/** ", placed by a complexity scan of the whole title" — how the sample's windows were placed (per-title-sample.ts samplePlacement). */
function placementText(placement: SamplePlacement | undefined, titleS: number): string {
  if (!placement) return '';
  if (placement.by === 'centred') return ', centred in their shares';
  return placement.spans === undefined ? ', placed by a complexity scan of the whole title' : `, placed by a complexity scan of ${placement.spans} spans (${Math.round(placement.readS)} s of ${Math.round(titleS)} s)`;
}

/** "17 of the grid's 20 trial encodes (coarse-to-fine search) + 1 extension", as the analysis ran them. */
function trialCount(analysis: LadderAnalysis): string {
  const { gridTrials, search, extensionCrfs, splitCrfs = [] } = analysis.settings;
  const count = (crfs: readonly number[]) => analysis.points.filter((p) => p.crf !== undefined && crfs.includes(p.crf)).length;
  const [extensions, splits] = [count(extensionCrfs), count(splitCrfs)];
  const grid = analysis.points.length - extensions - splits;
  const ran = gridTrials !== undefined && search === 'coarse-to-fine' ? `${grid} of the grid's ${gridTrials} trial encodes (coarse-to-fine search)` : `${grid} trial encodes (full grid)`;
  return `${ran}${extensions > 0 ? ` + ${extensions} beyond the grid` : ''}${splits > 0 ? ` + ${splits} between grid steps (bitrates over ${CRF_SPLIT_RATIO}× apart)` : ''}`;
}

async function writeOut(file: string, text: string): Promise<void> {
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, text);
  } catch (err) {
    throw new UserError(`Cannot write ${file}: ${(err as Error).message}`);
  }
}
