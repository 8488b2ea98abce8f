/**
 * A chunked title's encode as a BullMQ flow spread over every worker on every machine. With a
 * per-title ladder, the title job first plans the analysis (per-title.ts planAnalysis), stores
 * it, adds one child job per trial group (the trials of one resolution, per-title-trials.ts) and
 * waits; each child stores its RD points; the title job's next run adds a wave of trial jobs per
 * refinement round of the coarse-to-fine search (per-title-search.ts) while it adds trials, then
 * chooses the ladder from every wave's points.
 * Then (or at once, for the fixed ladder) the title job plans the chunks and writes the encode
 * plan to the object store,
 * adds one child job per chunk (the chunk of every video rendition, encoded and measured in one
 * decode of the master's chunk) and one for the audio, and waits for them (BullMQ's
 * waiting-children step, `moveToWaitingChildren`); any worker takes any child, encodes it from
 * its own copy of the master and puts its output under the title's work prefix in the store;
 * when every child is done the title job runs again, stitches each rendition from its chunks,
 * measures, packages and publishes atomically, then deletes the work prefix. A worker
 * killed mid-chunk costs that chunk only: the child is retried, the other chunks are kept.
 * `REDIS_URL` and `VOD_STORE_URL` are all a worker needs: nothing is shared on disk.
 * Part of the worker (the only code besides the queue module that touches BullMQ).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Job, type Queue } from 'bullmq';
import { z } from 'zod';
import { encodeLadderChunk, encodeTitleAudio, makePoster, makeTitleThumbnails, stitchRendition } from '../encoder/encode-stage.js';
import type { FfmpegPaths } from '../encoder/ffmpeg.js';
import type { AnalysisPlan } from '../encoder/per-title.js';
import { runTrialGroup, type TrialGroup, type TrialSpec } from '../encoder/per-title-trials.js';
import { variantKey } from '../encoder/convex-hull.js';
import { coarseTrials } from '../encoder/per-title-search.js';
import { decodeSample, DecodedSampleKeeper } from '../encoder/per-title-sample.js';
import { packageSubtitleTracks } from '../encoder/subtitles.js';
import { concatFrameScores, summarizeFrames, type FrameScores, type QualityScores } from '../encoder/quality-metrics.js';
import { measureLadderChunkQuality, measureRenditions, packageTitle, referenceTapFor, planRungFrameSample, type EncodePlan, type PackageInput } from '../encoder/title-stages.js';
import type { TitleRecord } from '../origin/catalog.js';
import type { ObjectStore } from '../origin/object-store.js';
import type { Logger } from '../util/logger.js';
import { processRuns } from '../util/process-runs.js';
import { chunkQualityKey, fetchPrefix, loadAnalysisPlan, loadPlan, outputPrefix, putJson, trialsKey, withSubtitleFiles, withTempDir } from './flow-store.js';
import { AUDIO_JOB_NAME, CHUNK_JOB_NAME, TRIALS_JOB_NAME, type ChildJobData, type ChildJobResult, type TrialJobData } from './job-schema.js';

export interface FlowContext {
  readonly store: ObjectStore;
  readonly paths: FfmpegPaths;
  readonly x264Preset: string;
  readonly log: Logger;
  readonly signal?: AbortSignal | undefined;
  /** Children measure their chunk's quality against the master (with VMAF when a model is given). */
  readonly measureQuality?: { readonly vmafModelPath: string | undefined } | undefined;
}

/** What a trial group is, for `vod status`: its sizes (`@30` at a reduced frame rate) and CRFs (or target bitrates). */
function groupLabel(plan: AnalysisPlan, g: number, subset?: readonly TrialSpec[]): string {
  const trials = subset ?? plan.groups[g]!.trials;
  const sizes = [...new Set(trials.map((t) => variantKey(t)))];
  if (g === plan.fixedGroup) return `fixed ladder ${sizes.length} rungs`;
  return `${sizes.join(',')} CRF ${trials.map((t) => t.crf).join(',')}`;
}

/**
 * The trial-group children of one wave of a title's analysis, one per group that has trials in it
 * (largest resolution first). Wave 0: each group's first-round trials — every trial, or with the
 * coarse-to-fine search (plan.search) its coarse ones — and its extensions; wave w > 0: the
 * search's refinement round w, `trials` per group (refineTrials on the points of the waves before;
 * always named in the job, as a round's split trials are not among the group's own).
 */
export function trialJobs(titleId: string, masterKey: string, plan: AnalysisPlan, wave = 0, trials?: readonly (readonly TrialSpec[])[]): { name: string; data: TrialJobData; jobId: string }[] {
  const subsets = trials ?? (plan.search === 'coarse-to-fine' ? coarseTrials(plan.groups) : undefined);
  return plan.groups.flatMap((group, g) => {
    const subset = subsets?.[g];
    if (subset && subset.length === 0) return [];
    const data: TrialJobData = { titleId, masterKey, group: g, label: groupLabel(plan, g, subset), ...(wave > 0 ? { wave } : {}), ...(subset && (wave > 0 || subset.length < group.trials.length) ? { trials: subset.map((t) => ({ ...t })) } : {}) };
    return [{ name: TRIALS_JOB_NAME, data, jobId: `${titleId}-trials-${g}${wave > 0 ? `-w${wave}` : ''}` }];
  });
}

/**
 * Runs one trial-group child: the group's trials from a local copy of the master
 * (runTrialGroup), their result stored for the title job. Safe to run again.
 * @throws what runTrialGroup throws (the child is retried), or Error when the plan is gone.
 */
export async function runTrialJob(data: TrialJobData, ctx: FlowContext, onProgress?: (fraction: number) => void): Promise<ChildJobResult> {
  const plan = await loadAnalysisPlan(ctx.store, data.titleId);
  const planned = plan.groups[data.group];
  if (!planned) throw new Error(`title ${data.titleId} has no trial group ${data.group}`);
  // This job's share of the group: a wave's trials; the extensions and the preset probe in wave 0 only.
  const wave = data.wave ?? 0;
  const group: TrialGroup = {
    ...planned,
    ...(data.trials ? { trials: data.trials } : {}),
    ...(wave > 0 ? { extensions: [], presetProbe: undefined } : {}),
  };
  const { windows, reference, frameRate, deinterlace } = plan.settings;
  const sampleKey = JSON.stringify({ titleId: data.titleId, masterKey: data.masterKey, windows, reference, frameRate, deinterlace });
  const result = await withTempDir((dir) =>
    ctx.store.withLocalFile(data.masterKey, async (masterPath) => {
      // The group that decodes the sample counts the decode as its trial encoding (as runTrialGroup
      // does), and as the first DECODE_SHARE of its progress.
      let decodeS = 0;
      let decoded = false;
      const make = async (sampleDir: string) => {
        const started = performance.now();
        decoded = true;
        const made = await decodeSample(masterPath, plan.settings, sampleDir, ctx.paths, { ...(ctx.signal ? { signal: ctx.signal } : {}), onProgress: (f) => onProgress?.(f * DECODE_SHARE) });
        decodeS = (performance.now() - started) / 1000;
        ctx.log.info({ titleId: data.titleId, decodeS: Math.round(decodeS * 10) / 10, kept: Boolean(made) }, 'analysis sample decoded');
        return made;
      };
      const r = await (await sampleKeeper()).use(sampleKey, make, (samplePath) =>
        runTrialGroup(masterPath, group, plan.settings, ctx.paths, {
          workDir: dir,
          vmafModelPath: ctx.measureQuality?.vmafModelPath,
          signal: ctx.signal,
          onProgress: (f) => onProgress?.(decoded ? DECODE_SHARE + f * (1 - DECODE_SHARE) : f),
          samplePath,
          decodeSample: false,
        }),
      );
      return { ...r, encodeS: r.encodeS + decodeS };
    }),
  );
  await putJson(ctx.store, trialsKey(data.titleId, data.group, wave), result);
  ctx.log.info({ titleId: data.titleId, group: data.group, wave, points: result.points.length, encodeS: Math.round(result.encodeS), qualityS: Math.round(result.qualityS) }, 'trial group done');
  return { encodeS: 0 };
}

/** Share of a trial-group child's progress that decoding the sample takes, when it does (about one trial of 4-6). */
const DECODE_SHARE = 0.15;

/** Where this process keeps decoded analysis samples: `<tmp>/vod-trial-samples/<pid>`. */
const SAMPLES_ROOT = path.join(os.tmpdir(), 'vod-trial-samples');
let keeper: Promise<DecodedSampleKeeper> | undefined;

/**
 * This process's keeper of decoded analysis samples (per-title-sample.ts DecodedSampleKeeper): a
 * worker that runs several trial groups of one title decodes its sample once. Made on first use,
 * after deleting what processes no longer running left behind.
 */
function sampleKeeper(): Promise<DecodedSampleKeeper> {
  keeper ??= (async () => {
    for (const name of await fs.readdir(SAMPLES_ROOT).catch(() => [] as string[])) {
      const pid = Number(name);
      if (!(pid === process.pid || processRuns(pid))) await fs.rm(path.join(SAMPLES_ROOT, name), { recursive: true, force: true });
    }
    const dir = path.join(SAMPLES_ROOT, String(process.pid));
    await fs.mkdir(dir, { recursive: true });
    return new DecodedSampleKeeper(dir);
  })();
  return keeper;
}

/**
 * The children of a planned title: one per chunk (every video rendition of that chunk, in one
 * ffmpeg process), then one per audio track. Decoding a 1080p master's chunk costs as much as encoding a
 * small rung, so a child per (chunk × rendition) paid it once per rung.
 */
export function childJobs(plan: EncodePlan, masterKey: string): { name: string; data: ChildJobData; jobId: string }[] {
  const jobs: { name: string; data: ChildJobData; jobId: string }[] = plan.chunks.map((c) => ({ name: CHUNK_JOB_NAME, data: { titleId: plan.titleId, masterKey, chunkIndex: c.index }, jobId: `${plan.titleId}-chunk-${c.index}` }));
  for (const track of plan.audio) jobs.push({ name: AUDIO_JOB_NAME, data: { titleId: plan.titleId, masterKey, rendition: track.name }, jobId: `${plan.titleId}-${track.name}` });
  return jobs;
}

/**
 * Adds children under a title's job (each fails the parent when out of attempts): the chunk and
 * audio jobs of `childJobs`, or the trial groups of `trialJobs`.
 * @param jobOptions attempts and backoff of each child.
 * @returns how many were added.
 */
export async function addChildren(queue: Queue, parent: Job, jobs: readonly { name: string; data: ChildJobData | TrialJobData; jobId: string }[], jobOptions: { attempts: number; backoff: { type: 'exponential'; delay: number } }): Promise<number> {
  // Children of an earlier run of this title (a failed flow uploaded again) would be taken for
  // the new ones (same ids): remove them first.
  for (const j of jobs) await (await queue.getJob(j.jobId))?.remove().catch(() => {});
  await queue.addBulk(
    jobs.map((j) => ({
      name: j.name,
      data: j.data,
      opts: { ...jobOptions, jobId: j.jobId, parent: { id: parent.id!, queue: parent.queueQualifiedName }, failParentOnFailure: true, removeOnComplete: { age: 24 * 3600 } },
    })),
  );
  return jobs.length;
}

/**
 * Runs one child: encodes its chunk of every video rendition (or the audio) from a local copy of
 * the master and puts the output under the title's work prefix; a chunk's child then measures
 * the chunk of every rung against the master's same frames (when `ctx.measureQuality`) and
 * stores the per-frame scores for the title job to summarise. Safe to run again (the output is
 * overwritten). A child of an earlier version (one rendition of a chunk, `rendition` set) encodes
 * the whole chunk too: same outputs, so a flow started before an upgrade still completes.
 * @param onProgress fraction of the child done, and whether it is encoding or measuring.
 * @throws what the encode throws (the child is retried), or Error when the plan is gone.
 */
export async function runChildJob(data: ChildJobData, ctx: FlowContext, onProgress?: (fraction: number, stage: 'encode' | 'measure') => void): Promise<ChildJobResult> {
  const plan = await loadPlan(ctx.store, data.titleId);
  const started = performance.now();
  let measureS: number | undefined;
  await withTempDir(async (dir) => {
    const out = path.join(dir, 'out');
    const uploads: { prefix: string; dir: string }[] = [];
    await ctx.store.withLocalFile(data.masterKey, async (masterPath) => {
      const local = { ...plan, masterPath };
      if (data.chunkIndex === undefined) {
        if (!data.rendition) throw new Error(`an audio job of title ${data.titleId} names no rendition`);
        await encodeTitleAudio(local, data.rendition, out, ctx.paths, { signal: ctx.signal, log: ctx.log, onProgress: (f) => onProgress?.(f, 'encode') });
        uploads.push({ prefix: outputPrefix(data.titleId, data.rendition!), dir: out });
        return;
      }
      const chunk = plan.chunks.find((c) => c.index === data.chunkIndex);
      if (!chunk) throw new Error(`title ${data.titleId} has no chunk ${data.chunkIndex}`);
      const dirs = new Map(plan.rungs.map(({ name }) => [name, path.join(out, name)]));
      // Measuring with VMAF on its frame sample costs about as much as encoding (0.86× the encodes at
      // preset medium, 1080p: bench/results/encode-20s-medium-vmaf-after.md).
      const encodeShare = ctx.measureQuality ? 0.5 : 1;
      // The encode's decode of the chunk also writes the measurement's reference frames (no second decode of the master).
      const measureSettings = ctx.measureQuality ? { vmafModelPath: ctx.measureQuality.vmafModelPath, frameSample: planRungFrameSample(plan) } : undefined;
      const tap = measureSettings ? await referenceTapFor(local, measureSettings, chunk, path.join(dir, 'reference-frames.nut')) : undefined;
      await encodeLadderChunk(local, chunk, (name) => dirs.get(name)!, ctx.x264Preset, ctx.paths, { signal: ctx.signal, log: ctx.log, onProgress: (f) => onProgress?.(f * encodeShare, 'encode'), referenceTap: tap });
      for (const [name, d] of dirs) uploads.push({ prefix: outputPrefix(data.titleId, name, chunk.index), dir: d });
      if (!measureSettings) return;
      onProgress?.(encodeShare, 'measure');
      const measureStarted = performance.now();
      const scores = await measureLadderChunkQuality(local, chunk, dirs, measureSettings, ctx.paths, {
        signal: ctx.signal,
        referenceFrames: tap?.output,
        onProgress: (f) => onProgress?.(encodeShare + f * (1 - encodeShare), 'measure'),
      });
      measureS = (performance.now() - measureStarted) / 1000;
      for (const [name, frames] of scores) {
        const file = path.join(dir, `quality.${name}.json`);
        await fs.writeFile(file, JSON.stringify(frames));
        await ctx.store.putFile(chunkQualityKey(data.titleId, name, chunk.index), file);
      }
    });
    for (const u of uploads) for (const name of await fs.readdir(u.dir)) await ctx.store.putFile(`${u.prefix}/${name}`, path.join(u.dir, name));
  });
  const totalS = (performance.now() - started) / 1000;
  return { encodeS: totalS - (measureS ?? 0), ...(measureS !== undefined ? { measureS } : {}) };
}

/**
 * The quality of each rendition from its chunks' per-frame scores (frame-weighted means and the
 * 5th-percentile frame over the whole title), for the renditions every chunk of which was
 * measured; the others are left out (and measured whole by the title job).
 */
async function chunkedQuality(store: ObjectStore, plan: EncodePlan): Promise<Map<string, QualityScores>> {
  const quality = new Map<string, QualityScores>();
  for (const { name } of plan.rungs) {
    const parts: FrameScores[] = [];
    for (const chunk of plan.chunks) {
      const bytes = await store.get(chunkQualityKey(plan.titleId, name, chunk.index));
      if (!bytes) break;
      parts.push(frameScoresSchema.parse(JSON.parse(bytes.toString('utf8'))));
    }
    if (parts.length === plan.chunks.length) quality.set(name, summarizeFrames(concatFrameScores(parts)));
  }
  return quality;
}

const frameScoresSchema = z.object({ mseY: z.array(z.number()).min(1), ssim: z.array(z.number()).min(1), vmaf: z.array(z.number()).optional() });

/**
 * The title job's last step, once every child is done: fetches the children's outputs into the
 * staging folder, stitches each video rendition from its chunks, makes the poster, measures
 * and packages (title-stages.ts). The caller commits the staging area and then calls
 * `removeWork`.
 * @param encodeS the children's summed encode time, s.
 */
export async function assembleTitle(
  plan: EncodePlan,
  stagingDir: string,
  settings: { title: string; masterFileName: string; masterKey: string; vmafModelPath: string | undefined; measureRungs: boolean; encodeS: number; measureS: number; startedAtMs: number; protection?: PackageInput['protection'] },
  ctx: FlowContext,
  onProgress?: (stage: 'package' | 'measure', fraction: number, rendition?: string) => void,
): Promise<TitleRecord> {
  const { store } = ctx;
  for (const [i, { name }] of plan.rungs.entries()) {
    onProgress?.('package', i / plan.rungs.length, name);
    const chunkDirs: string[] = [];
    for (const chunk of plan.chunks) {
      const dir = path.join(stagingDir, '.chunks', name, String(chunk.index));
      await fetchPrefix(store, outputPrefix(plan.titleId, name, chunk.index), dir);
      chunkDirs.push(dir);
    }
    await stitchRendition(plan, chunkDirs, path.join(stagingDir, name));
  }
  await fs.rm(path.join(stagingDir, '.chunks'), { recursive: true, force: true });
  for (const track of plan.audio) await fetchPrefix(store, outputPrefix(plan.titleId, track.name), path.join(stagingDir, track.name));
  return store.withLocalFile(settings.masterKey, async (masterPath) => {
    const local = { ...plan, masterPath };
    const poster = await makePoster(masterPath, path.join(stagingDir, 'poster.jpg'), plan.probe.durationS, ctx.paths, ctx.signal).catch((err: unknown) => {
      ctx.log.warn({ err: String(err) }, 'no poster');
      return undefined;
    });
    const thumbnails = await makeTitleThumbnails(local, stagingDir, ctx.paths, ctx);
    // Side files: fetched here (the plan holds their store keys only).
    const sideFiles = plan.subtitles.flatMap((t) => ('sideFile' in t.source ? [t.source.sideFile] : []));
    const subtitles = await withSubtitleFiles(store, sideFiles, (local) => {
      const copies = new Map(local.map((f) => [f.key, f]));
      const tracks = plan.subtitles.map((t) => ('sideFile' in t.source ? { ...t, source: { sideFile: copies.get(t.source.sideFile.key)! } } : t));
      return packageSubtitleTracks(tracks, masterPath, { durationS: plan.probe.durationS, segmentDurationS: plan.segmentDurationS }, stagingDir, ctx.paths, ctx);
    });
    const measured = await measureRenditions(
      { plan: local, outDir: stagingDir, poster, thumbnails, subtitles, encodeS: settings.encodeS },
      {
        measureQuality: settings.measureRungs,
        vmafModelPath: settings.vmafModelPath,
        frameSample: planRungFrameSample(plan),
        ...(settings.measureRungs ? { measuredQuality: await chunkedQuality(store, plan), measuredElsewhereS: settings.measureS } : {}),
      },
      ctx.paths,
      { signal: ctx.signal, log: ctx.log, onProgress: (f, rendition) => onProgress?.('measure', f, rendition) },
    );
    const qualityMetric = settings.measureRungs || plan.analysis ? (plan.analysis?.metric ?? (settings.vmafModelPath ? 'vmaf' : 'psnr')) : undefined;
    return packageTitle({ measured, title: settings.title, masterFileName: settings.masterFileName, qualityMetric, startedAtMs: settings.startedAtMs, protection: settings.protection });
  });
}

