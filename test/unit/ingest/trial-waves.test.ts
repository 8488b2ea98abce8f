/**
 * A chunked title's analysis in waves of trial jobs (title-flow.ts trialJobs, flow-store.ts
 * loadTrialResults), on a filesystem object store with hand-made group results (no ffmpeg): which
 * jobs each wave holds, and how the waves' results merge — or fail when one is missing.
 */
import fs from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../../src/origin/fs-object-store.js';
import { loadTrialResults, putJson, trialsKey } from '../../../src/ingest/flow-store.js';
import { trialJobs } from '../../../src/ingest/title-flow.js';
import { trialJobSchema } from '../../../src/ingest/job-schema.js';
import { planAnalysis } from '../../../src/encoder/per-title.js';
import { refineTrials } from '../../../src/encoder/per-title-search.js';
import type { ProbeResult } from '../../../src/encoder/media-info.js';
import type { TrialGroupResult, TrialPoint, TrialSpec } from '../../../src/encoder/per-title-trials.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const TITLE = '0123456789abcdef';
const probe: ProbeResult = {
  durationS: 120,
  formatName: 'mov,mp4',
  sizeBytes: 1,
  video: { codecName: 'h264', width: 1280, height: 720, displayWidth: 1280, displayHeight: 720, frameRate: 24, pixelFormat: 'yuv420p', rotationDeg: 0 },
  audio: undefined,
  audioStreams: [],
  subtitleStreams: [],
};

/** A modelled trial (bitrate doubles every 6 CRF down; quality saturates, lower for small sizes). */
const measure = (t: TrialSpec): TrialPoint => {
  const bitrateBps = t.width * t.height * 0.5 * 2 ** ((30 - t.crf!) / 6);
  return { width: t.width, height: t.height, ...(t.frameRate !== undefined ? { frameRate: t.frameRate } : {}), crf: t.crf!, bitrateBps, quality: (100 - 40 * (1 - t.height / 720)) * (1 - Math.exp(-bitrateBps / (t.width * t.height * 0.4))) };
};
const result = (trials: readonly TrialSpec[]): TrialGroupResult => ({ points: trials.map(measure), sampleFrames: 96, encodeS: trials.length, qualityS: trials.length / 2 });

describe('trial jobs in waves', () => {
  it('runs the coarse trials first, then one wave per refinement round, and merges every wave per group', async () => {
    const store = new FsObjectStore(await makeTempDir());
    const plan = planAnalysis(probe, 24, { segmentDurationS: 4, finalPreset: 'medium' });
    expect(plan.search).toBe('coarse-to-fine');
    const wave0 = trialJobs(TITLE, 'masters/m.mp4', plan);
    expect(wave0.map((j) => j.jobId)).toEqual(plan.groups.map((_, g) => `${TITLE}-trials-${g}`));
    expect(wave0.map((j) => j.data.trials!.map((t) => t.crf))).toEqual([[32, 26, 20], [32, 26], [32, 26], [32, 26], [38, 32, 26]]);
    expect(wave0[0]!.data.label).toBe('1280x720 CRF 32,26,20');
    for (const j of wave0) await putJson(store, trialsKey(TITLE, j.data.group), result(j.data.trials!));

    // Each further wave: the groups refineTrials gives trials, jobs named by wave.
    let merged = await loadTrialResults(store, TITLE, plan);
    let wave = 0;
    for (let next = refineTrials(plan.groups, merged.map((r) => r.points)); next.some((t) => t.length > 0); next = refineTrials(plan.groups, merged.map((r) => r.points))) {
      wave += 1;
      const jobs = trialJobs(TITLE, 'masters/m.mp4', plan, wave, next);
      expect(jobs.length).toBe(next.filter((t) => t.length > 0).length);
      expect(jobs.every((j) => j.jobId.endsWith(`-w${wave}`) && j.data.wave === wave)).toBe(true);
      for (const j of jobs) await putJson(store, trialsKey(TITLE, j.data.group, wave), result(j.data.trials ?? plan.groups[j.data.group]!.trials));
      merged = await loadTrialResults(store, TITLE, plan, wave);
    }
    expect(wave).toBeGreaterThan(0);
    // Merged: wave 0's points first, times summed, no trial twice, fewer trials than the grid.
    const all = merged.flatMap((r) => r.points);
    expect(new Set(all.map((p) => `${p.height}/${p.crf}`)).size).toBe(all.length);
    expect(all.length).toBeLessThan(plan.groups.reduce((n, g) => n + g.trials.length, 0));
    expect(merged[0]!.points.slice(0, 3).map((p) => p.crf)).toEqual([32, 26, 20]);
    expect(merged.reduce((t, r) => t + r.encodeS, 0)).toBe(all.length);

    // A wave whose result is missing is named.
    const jobs1 = trialJobs(TITLE, 'masters/m.mp4', plan, 1, refineTrials(plan.groups, (await loadTrialResults(store, TITLE, plan)).map((r) => r.points)));
    await fs.rm(store.localPath(trialsKey(TITLE, jobs1[0]!.data.group, 1)));
    await expect(loadTrialResults(store, TITLE, plan, wave)).rejects.toThrow(`trial group ${jobs1[0]!.data.group} (wave 1) of title ${TITLE} has no result in the store`);
  });

  it("names a wave's split trials (CRFs off the grid, per-title-search.ts) in its jobs, and replays them when merging", async () => {
    const store = new FsObjectStore(await makeTempDir());
    const plan = planAnalysis(probe, 24, { segmentDurationS: 4, vmafModelPath: '/m.pkl' });
    // Noise-like 720p: below CRF 26 its bits grow 16× per 6 CRF instead of 2×.
    const noisy = (t: TrialSpec): TrialPoint => {
      const p = measure(t);
      return t.height === 720 && t.crf! < 26 ? { ...p, bitrateBps: p.bitrateBps * 2 ** ((26 - t.crf!) / 2) } : p;
    };
    for (const j of trialJobs(TITLE, 'masters/m.mp4', plan)) await putJson(store, trialsKey(TITLE, j.data.group), { ...result([]), points: j.data.trials!.map(noisy) });
    let merged = await loadTrialResults(store, TITLE, plan);
    const waveJobs: ReturnType<typeof trialJobs> = [];
    let wave = 0;
    for (let next = refineTrials(plan.groups, merged.map((r) => r.points)); next.some((t) => t.length > 0); next = refineTrials(plan.groups, merged.map((r) => r.points))) {
      wave += 1;
      const jobs = trialJobs(TITLE, 'masters/m.mp4', plan, wave, next);
      waveJobs.push(...jobs);
      for (const j of jobs) await putJson(store, trialsKey(TITLE, j.data.group, wave), { ...result([]), points: j.data.trials!.map(noisy) });
      merged = await loadTrialResults(store, TITLE, plan, wave);
    }
    expect(waveJobs.every((j) => j.data.trials !== undefined)).toBe(true);
    const split = waveJobs.filter((j) => j.data.trials!.some((t) => !plan.crfValues.includes(t.crf!)));
    expect(split.map((j) => j.data.label)).toEqual(['1280x720 CRF 23', '1280x720 CRF 22']); // 23 → 20 still over 4×: split again
    expect(merged[0]!.points.map((p) => p.crf)).toContain(23);
    // As many split trials as the group has grid trials are still named, not taken for the grid.
    const asMany = plan.groups.map((g, i) => (i === 0 ? g.trials.map((t) => ({ ...t, crf: t.crf! + 1 })) : []));
    expect(trialJobs(TITLE, 'masters/m.mp4', plan, 1, asMany)[0]!.data.trials!.map((t) => t.crf)).toEqual([39, 33, 27, 21]);
  });

  it("keeps a 60 fps plan's half-rate trials half-rate through the job data and the stored results", async () => {
    const store = new FsObjectStore(await makeTempDir());
    const plan = planAnalysis({ ...probe, video: { ...probe.video!, frameRate: 60 } }, 60, { segmentDurationS: 4 });
    const jobs = trialJobs(TITLE, 'masters/m.mp4', plan);
    const halfJobs = jobs.filter((j) => plan.groups[j.data.group]!.trials[0]!.frameRate === 30);
    expect(halfJobs.map((j) => j.data.label)).toEqual(['768x432@30 CRF 32,26', '640x360@30 CRF 32,26', '416x234@30 CRF 32,26']);
    for (const j of jobs) {
      // What the worker reads: the job data through its schema.
      const data = trialJobSchema.parse(JSON.parse(JSON.stringify(j.data)));
      expect(data.trials).toEqual(j.data.trials);
      await putJson(store, trialsKey(TITLE, j.data.group), result(data.trials!));
    }
    const loaded = await loadTrialResults(store, TITLE, plan);
    const halfPoints = loaded.flatMap((r) => r.points).filter((p) => p.frameRate === 30);
    expect(halfPoints).toHaveLength(6);
  });

  it('runs every trial in one wave for a plan made without the search (stored before it, or --full-grid)', () => {
    const { search: _dropped, ...old } = planAnalysis(probe, 24, { segmentDurationS: 4 });
    const jobs = trialJobs(TITLE, 'masters/m.mp4', old);
    expect(jobs).toHaveLength(old.groups.length);
    expect(jobs.every((j) => j.data.trials === undefined && j.data.wave === undefined)).toBe(true);
    expect(jobs[0]!.data.label).toBe('1280x720 CRF 38,32,26,20');
  });
});
