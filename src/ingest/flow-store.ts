/**
 * What a chunked title's flow keeps in the object store (title-flow.ts), where every worker on
 * every machine can read it: the work prefix `work/<title>/` with the encode plan, the analysis
 * plan and each trial group's RD points, the children's outputs and per-chunk quality; and the
 * helpers that copy objects to a worker's disk (a prefix, the subtitle side files).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AnalysisPlan } from '../encoder/per-title.js';
import type { TrialGroupResult } from '../encoder/per-title-trials.js';
import { refineTrials } from '../encoder/per-title-search.js';
import type { SubtitleSideFile } from '../encoder/subtitles.js';
import type { EncodePlan } from '../encoder/title-stages.js';
import type { ObjectStore } from '../origin/object-store.js';
import { processRuns } from '../util/process-runs.js';

/** Store prefix of a title's work in progress: the plan and the children's outputs. */
export const workPrefix = (titleId: string): string => `work/${titleId}`;
export const planKey = (titleId: string): string => `${workPrefix(titleId)}/plan.json`;
export const outputPrefix = (titleId: string, rendition: string, chunkIndex?: number): string =>
  chunkIndex === undefined ? `${workPrefix(titleId)}/${rendition}` : `${workPrefix(titleId)}/${rendition}/${chunkIndex}`;
/** Per-frame quality of one chunk of one rendition (FrameScores as JSON), written by the child that encoded it. */
export const chunkQualityKey = (titleId: string, rendition: string, chunkIndex: number): string => `${workPrefix(titleId)}/quality/${rendition}.${chunkIndex}.json`;

/** The per-title analysis plan of a title, and each trial group's result. */
export const analysisKey = (titleId: string): string => `${workPrefix(titleId)}/analysis.json`;
export const trialsKey = (titleId: string, group: number, wave = 0): string => `${workPrefix(titleId)}/trials/${group}${wave > 0 ? `.w${wave}` : ''}.json`;

/** Writes `value` as JSON under `key`. */
export async function putJson(store: ObjectStore, key: string, value: unknown): Promise<void> {
  await withTempDir(async (dir) => {
    const file = path.join(dir, 'object.json');
    await fs.writeFile(file, JSON.stringify(value));
    await store.putFile(key, file);
  });
}

/** Writes the plan where every worker can read it. */
export async function storePlan(store: ObjectStore, plan: EncodePlan): Promise<void> {
  await putJson(store, planKey(plan.titleId), plan);
}

/** Writes a title's analysis plan where every worker can read it. */
export async function storeAnalysisPlan(store: ObjectStore, titleId: string, plan: AnalysisPlan): Promise<void> {
  await putJson(store, analysisKey(titleId), plan);
}

/**
 * Reads a title's analysis plan from the store.
 * @throws Error when it is not there.
 */
export async function loadAnalysisPlan(store: ObjectStore, titleId: string): Promise<AnalysisPlan> {
  const bytes = await store.get(analysisKey(titleId));
  if (!bytes) throw new Error(`no analysis plan for title ${titleId} in the store`);
  return JSON.parse(bytes.toString('utf8')) as AnalysisPlan;
}

const trialPointSchema = z.object({
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  bitrateBps: z.number().positive(),
  quality: z.number(),
  crf: z.number().optional(),
  targetBitrateBps: z.number().optional(),
  psnrDb: z.number().optional(),
  ssim: z.number().optional(),
  vmaf: z.number().optional(),
  codec: z.literal('hevc').optional(),
  frameRate: z.number().positive().optional(),
});
const presetProbeSchema = z.object({ preset: z.string(), width: z.number(), height: z.number(), crf: z.number(), bitrateBps: z.number(), trialBitrateBps: z.number() });
const trialGroupResultSchema = z.object({ points: z.array(trialPointSchema), presetProbe: presetProbeSchema.optional(), sampleFrames: z.number().int().nonnegative(), encodeS: z.number(), qualityS: z.number() });

/**
 * Every trial group's result, in the plan's order, over the analysis's waves 0…`lastWave`
 * (title-flow.ts): wave 0 holds every group; wave w the groups the coarse-to-fine search's
 * refinement gave trials from the points of waves before it (refineTrials, replayed here — it is
 * deterministic — so a missing result is noticed). A group's waves are merged: points in wave
 * order, times summed.
 * @throws Error naming the first group (and wave) whose result is missing or malformed.
 */
export async function loadTrialResults(store: ObjectStore, titleId: string, plan: AnalysisPlan, lastWave = 0): Promise<TrialGroupResult[]> {
  const load = async (g: number, wave: number): Promise<TrialGroupResult> => {
    const what = `trial group ${g}${wave > 0 ? ` (wave ${wave})` : ''} of title ${titleId}`;
    const bytes = await store.get(trialsKey(titleId, g, wave));
    if (!bytes) throw new Error(`${what} has no result in the store`);
    const parsed = trialGroupResultSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    if (!parsed.success) throw new Error(`${what} has a malformed result: ${parsed.error.issues[0]?.message}`);
    return parsed.data as TrialGroupResult;
  };
  const out: TrialGroupResult[] = [];
  for (let g = 0; g < plan.groups.length; g++) out.push(await load(g, 0));
  for (let wave = 1; wave <= lastWave; wave++) {
    const pending = refineTrials(plan.groups, out.map((r) => r.points));
    for (const [g, trials] of pending.entries()) {
      if (trials.length === 0) continue;
      const more = await load(g, wave);
      const r = out[g]!;
      out[g] = { ...r, points: [...r.points, ...more.points], sampleFrames: Math.max(r.sampleFrames, more.sampleFrames), encodeS: r.encodeS + more.encodeS, qualityS: r.qualityS + more.qualityS };
    }
  }
  return out;
}

/**
 * Reads a title's plan from the store.
 * @throws Error when it is not there (the flow was cleaned up or never planned).
 */
export async function loadPlan(store: ObjectStore, titleId: string): Promise<EncodePlan> {
  const bytes = await store.get(planKey(titleId));
  if (!bytes) throw new Error(`no encode plan for title ${titleId} in the store`);
  const plan = JSON.parse(bytes.toString('utf8')) as Omit<EncodePlan, 'audio' | 'subtitles'> & { subtitles?: EncodePlan['subtitles']; audio?: EncodePlan['audio'] | { name: string; bitrateBps: number; sampleRateHz: number } | null };
  // A plan stored before multi-track audio held one audio rendition (or none), not a list.
  const audio = Array.isArray(plan.audio) ? plan.audio : plan.audio ? [{ ...plan.audio, audioIndex: 0, label: 'Main', isDefault: true }] : [];
  // …and no subtitles.
  return { ...plan, audio, subtitles: plan.subtitles ?? [] };
}

/**
 * Runs `fn` with a copy on this machine of each subtitle file uploaded beside a master (each
 * `localPath` set), in a temporary folder removed afterwards.
 * @throws Error naming a file that is not in the store.
 */
export async function withSubtitleFiles<T>(store: ObjectStore, files: readonly SubtitleSideFile[], fn: (local: SubtitleSideFile[]) => Promise<T>): Promise<T> {
  if (files.length === 0) return fn([]);
  return withTempDir(async (dir) => {
    const local: SubtitleSideFile[] = [];
    for (const [k, f] of files.entries()) {
      const bytes = await store.get(f.key);
      if (!bytes) throw new Error(`the subtitle file ${f.key} is not in the object store`);
      const localPath = path.join(dir, `${k + 1}-${path.basename(f.key)}`);
      await fs.writeFile(localPath, bytes);
      local.push({ key: f.key, fileName: f.fileName, language: f.language, localPath });
    }
    return fn(local);
  });
}

/**
 * Removes the temporary folders of flows (withTempDir) whose process no longer runs on this
 * machine: a worker killed mid-job leaves its folder behind — a chunk's encodes and the raw
 * reference frames its measurement reads, a trial group's trial encodes. A folder whose pid was reused by
 * a running process is kept (the next sweep after that process ends removes it); folders named
 * before the pid was in the name are left alone. The encode worker sweeps at its start.
 * @param parent where the folders are, default the OS temp folder.
 * @returns how many folders were removed.
 */
export async function sweepDeadFlowDirs(parent = os.tmpdir()): Promise<number> {
  let removed = 0;
  for (const name of await fs.readdir(parent).catch(() => [] as string[])) {
    const m = FLOW_DIR_PATTERN.exec(name);
    if (!m || processRuns(Number(m[1]))) continue;
    await fs.rm(path.join(parent, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

/** Deletes a title's work prefix (plan and children's outputs). */
export async function removeWork(store: ObjectStore, titleId: string): Promise<void> {
  await store.remove(workPrefix(titleId));
}

/** Copies every object directly under a store prefix into a local folder. */
export async function fetchPrefix(store: ObjectStore, prefix: string, dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const names = await store.list(prefix);
  if (names.length === 0) throw new Error(`nothing under ${prefix} in the store: a child's output is missing`);
  for (const name of names) {
    const bytes = await store.get(`${prefix}/${name}`);
    if (!bytes) throw new Error(`${prefix}/${name} vanished from the store`);
    await fs.writeFile(path.join(dir, name), bytes);
  }
}

/** Name of a flow's temporary folder: `vod-flow-<pid of the process that made it>-<random>`. */
const FLOW_DIR_PATTERN = /^vod-flow-(\d+)-[0-9a-f]+$/;

/**
 * Runs `fn` with a fresh temporary folder, removed afterwards (or, when this process is killed
 * first, by the next sweepDeadFlowDirs on this machine: its name holds this process's pid).
 */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = path.join(os.tmpdir(), `vod-flow-${process.pid}-${randomBytes(6).toString('hex')}`);
  await fs.mkdir(dir, { recursive: true });
  try {
    return await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
