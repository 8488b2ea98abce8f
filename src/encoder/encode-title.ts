/**
 * Encodes one title from its master into a folder holding the full HLS package, by chaining the
 * stages of title-stages.ts on one worker: plan (probe, per-title analysis or fixed ladder) →
 * encode (one ffmpeg process per rendition) → measure (bit rates and quality) → package
 * (multivariant playlist, ladder report, title record). The caller (the ingest worker) runs the
 * last stage, publish: it commits the folder to the object store atomically. This module never
 * touches the object store.
 */
import type { TitleRecord } from '../origin/catalog.js';
import { DEFAULT_LADDER_KIND, type LadderKind } from '../title/title-address.js';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import type { FfmpegPaths } from './ffmpeg.js';
import type { LadderRung } from './fixed-ladder.js';
import type { PerTitleOptions } from './per-title.js';
import { encodeRenditions } from './encode-stage.js';
import type { SubtitleSideFile } from './subtitles.js';
import { measureRenditions, packageTitle, planTitle, planRungFrameSample, type PackageInput } from './title-stages.js';


export interface EncodeTitleInput {
  readonly titleId: string;
  /** Human title shown in the catalog. */
  readonly title: string;
  readonly masterPath: string;
  /** Original file name of the master, for the record. */
  readonly masterFileName: string;
  /** Empty folder to write the package into. */
  readonly outDir: string;
  readonly segmentDurationS: number;
  readonly x264Preset: string;
  /**
   * Which ladder: 'fixed' (Apple's, fitted to the master) or 'per-title' (analysed from the
   * title's own RD curves, per-title.ts). Default DEFAULT_LADDER_KIND (per-title), as for uploads.
   */
  readonly ladderKind?: LadderKind;
  /** Rungs to encode instead of the chosen ladder (tests); `ladderKind` is then only recorded. */
  readonly ladder?: readonly LadderRung[];
  /** VMAF model file; unset = PSNR drives per-title ladders and no VMAF is measured. */
  readonly vmafModelPath?: string;
  /** Overrides of the per-title analysis settings (CRF grid, sample, rules, trial preset). */
  readonly perTitle?: Omit<PerTitleOptions, 'segmentDurationS' | 'vmafModelPath' | 'workParent' | 'signal' | 'onProgress' | 'log'>;
  /** Measure every published video rung's quality against the master. Default true. */
  readonly measureRungs?: boolean;
  /** Encrypt the renditions when packaging (title-stages.ts packageTitle). */
  readonly protection?: PackageInput['protection'];
  /**
   * With VMAF, compare the published rungs on every n-th frame and its two neighbours
   * (QualityReferenceSpec.frameSample; 1 = every frame). Default rungFrameSample(frame rate, segment,
   * duration): RUNG_QUALITY_FRAMES_PER_S frames per second of content, at most
   * RUNG_QUALITY_MAX_FRAMES frames per rung.
   */
  readonly rungFrameSample?: number;
  /**
   * Length of the chunks each video rendition is encoded in, s (cut at segment boundaries and
   * stitched, chunk-plan.ts); 0 = one pass. Default 0 here; the worker passes
   * `VOD_CHUNK_DURATION_S`.
   */
  readonly chunkDurationS?: number;
  /** Subtitle files uploaded beside the master, each with a copy on this machine (`localPath`). */
  readonly subtitleFiles?: readonly SubtitleSideFile[];
}

export type EncodeStage = 'probe' | 'analyze' | 'encode' | 'measure' | 'package';

export interface EncodeProgress {
  readonly stage: EncodeStage;
  /** Fraction of the whole title done, in [0, 1]. */
  readonly fraction: number;
  /** Rendition being encoded or measured (its folder name). */
  readonly rendition?: string;
}

export interface EncodeTitleOptions {
  readonly onProgress?: (progress: EncodeProgress) => void;
  readonly signal?: AbortSignal;
  readonly log?: Logger;
}

/** Share of the progress bar of quality measurement (when measured). */
const MEASURE_SPAN = 0.08;

/**
 * Encodes a title.
 * @returns the title record, also written as `title.json` in `outDir`, beside
 *          `master.m3u8`, `ladder.json` and one folder per rendition.
 * @throws InvalidMasterError when the master cannot be encoded; FfmpegError when ffmpeg
 *         fails; EncodeCancelledError when `signal` aborts.
 */
export async function encodeTitle(input: EncodeTitleInput, paths: FfmpegPaths, options: EncodeTitleOptions = {}): Promise<TitleRecord> {
  const log = options.log ?? silentLogger;
  const startedAtMs = performance.now();
  const report = (p: EncodeProgress) => options.onProgress?.(p);
  const ladderKind = input.ladderKind ?? DEFAULT_LADDER_KIND;
  const measureRungs = input.measureRungs ?? true;
  const analyzes = ladderKind === 'per-title' && !input.ladder;
  // Share of the progress bar per stage: analysis, encodes, quality of the published rungs.
  const span = { analyze: analyzes ? 0.4 : 0, encode: (analyzes ? 0.5 : 0.9) + (measureRungs ? 0 : MEASURE_SPAN) };
  const stage = { signal: options.signal, log };

  report({ stage: 'probe', fraction: 0 });
  let analysisStarted = false;
  const plan = await planTitle(
    { titleId: input.titleId, masterPath: input.masterPath, ladderKind, ladder: input.ladder, segmentDurationS: input.segmentDurationS, vmafModelPath: input.vmafModelPath, perTitle: input.perTitle, workDir: input.outDir, chunkDurationS: input.chunkDurationS ?? 0, x264Preset: input.x264Preset, subtitleFiles: input.subtitleFiles },
    paths,
    {
      ...stage,
      onProgress: (f) => {
        if (!analysisStarted) {
          analysisStarted = true;
          report({ stage: 'analyze', fraction: 0 });
        }
        report({ stage: 'analyze', fraction: f * span.analyze });
      },
    },
  );
  const measureSettings = { measureQuality: measureRungs, vmafModelPath: input.vmafModelPath, frameSample: input.rungFrameSample ?? planRungFrameSample(plan) };
  const encoded = await encodeRenditions(plan, input.outDir, input.x264Preset, paths, {
    ...stage,
    ...(measureRungs ? { measure: measureSettings } : {}),
    onProgress: (f, rendition) => report({ stage: 'encode', fraction: span.analyze + span.encode * f, ...(rendition ? { rendition } : {}) }),
  });
  const measured = await measureRenditions(encoded, measureSettings, paths, {
    ...stage,
    onProgress: (f, rendition) => report({ stage: 'measure', fraction: span.analyze + span.encode + MEASURE_SPAN * f, ...(rendition ? { rendition } : {}) }),
  });
  report({ stage: 'package', fraction: 0.98 });
  const qualityMetric = measureRungs || plan.analysis ? (plan.analysis?.metric ?? (input.vmafModelPath ? 'vmaf' : 'psnr')) : undefined;
  const record = await packageTitle({ measured, title: input.title, masterFileName: input.masterFileName, qualityMetric, startedAtMs, protection: input.protection });
  report({ stage: 'package', fraction: 1 });
  return record;
}
