/**
 * Per-title encoding against the real ffmpeg on short synthetic masters: the published
 * ladder.json agrees with the playlists, and easy content gets fewer and lower rungs than
 * hard content. No VMAF model here (PSNR drives the ladder), as on a machine without VMAF_MODEL.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import HLS from 'hls-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeTitle } from '../../../src/encoder/encode-title.js';
import { outputFrameRate } from '../../../src/encoder/title-stages.js';
import { resolveFfmpegPaths, type FfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import type { LadderReport } from '../../../src/encoder/ladder-report.js';
import { inspectMaster } from '../../../src/encoder/master-check.js';
import { analyzeTitle, candidateResolutions } from '../../../src/encoder/per-title.js';
import { runTrialGroup, runTrialGroupsTogether, type TrialGroup, type TrialPoint, type TrialSettings } from '../../../src/encoder/per-title-trials.js';
import { resolutionQualityAt, upperConvexHull } from '../../../src/encoder/convex-hull.js';
import { decodeSample } from '../../../src/encoder/per-title-sample.js';
import { measureFrameScores, measureFrameScoresBatch } from '../../../src/encoder/quality-metrics.js';
import { probePackets, runFfmpeg } from '../../../src/encoder/ffmpeg.js';
import { titleRecordSchema } from '../../../src/origin/catalog.js';
import { makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { SHARED_VMAF_MODEL as VMAF_MODEL } from '../../helpers/vmaf-model.js';

let paths: FfmpegPaths;
let dir: string;

beforeAll(async () => {
  paths = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined });
  dir = await makeTempDir();
});

/** PSNR trials at ultrafast on a 640x360 24 fps sample of these windows (one 2 s GOP per window). */
const psnrTrialSettings = (windows: TrialSettings['windows']): TrialSettings => ({
  windows,
  reference: { width: 640, height: 360 },
  frameRate: 24,
  gop: 48,
  trialPreset: 'ultrafast',
  metric: 'psnr',
  vmafSubsample: 1,
});

describe('trial groups', () => {
  it('encodes every trial of a group from one decode of the sample and judges each against the same frames', async () => {
    const master = await makeSyntheticMaster({ path: path.join(dir, 'group.mp4'), durationS: 9, audio: false }, paths);
    const settings = psnrTrialSettings([{ startS: 1, durationS: 2 }, { startS: 5.5, durationS: 2 }]);
    const work = await makeTempDir();
    const progress: number[] = [];
    const r = await runTrialGroup(master, { trials: [{ width: 640, height: 360, crf: 1 }, { width: 320, height: 180, crf: 30 }, { width: 320, height: 180, crf: 40 }] }, settings, paths, { workDir: work, onProgress: (f) => progress.push(f) });
    expect(r.sampleFrames).toBe(96); // two 2 s windows at 24 fps, concatenated
    expect(r.points.map((p) => p.crf)).toEqual([1, 30, 40]);
    // Near-lossless at the source's size: the encode pass and the quality pass saw the same
    // frames in the same order (one frame off on moving testsrc2 gives about 20 dB).
    expect(r.points[0]!.psnrDb).toBeGreaterThan(45);
    expect(r.points[1]!.bitrateBps).toBeGreaterThan(r.points[2]!.bitrateBps);
    expect(r.points[1]!.quality).toBeGreaterThan(r.points[2]!.quality);
    expect(progress.at(-1)).toBe(1);
    expect(progress.every((f, i) => i === 0 || f >= progress[i - 1]!)).toBe(true);
    expect(await fs.readdir(work)).toEqual([]); // trial files are removed once measured
  });

  it('encodes a half-rate trial of a 60 fps sample, charges its bits over the whole sample and scores it against every frame', async () => {
    const master = await makeSyntheticMaster({ path: path.join(dir, 'sixty.mp4'), durationS: 5, frameRate: 60, audio: false }, paths);
    const settings: TrialSettings = { ...psnrTrialSettings([{ startS: 1, durationS: 2 }]), frameRate: 60, gop: 120 };
    const work = await makeTempDir();
    // The half-rate trial first: the sample's frame count must still be the sample's, not the trial's.
    const r = await runTrialGroup(master, { trials: [{ width: 640, height: 360, crf: 1, frameRate: 30 }, { width: 640, height: 360, crf: 1 }] }, settings, paths, { workDir: work });
    expect(r.sampleFrames).toBe(120); // 2 s at 60 fps
    const [half, full] = r.points as [TrialPoint, TrialPoint];
    expect(half.frameRate).toBe(30);
    expect(full.frameRate).toBeUndefined();
    // Half the frames over the same 2 s: well under the full rate's bits, but more than a quarter.
    expect(half.bitrateBps / full.bitrateBps).toBeGreaterThan(0.3);
    expect(half.bitrateBps / full.bitrateBps).toBeLessThan(0.8);
    // Near-lossless pictures, but every other frame of moving testsrc2 is shown in place of the
    // next one: scored at 60 fps, the motion it leaves out costs it (scored at 30 fps it would be > 45 dB).
    expect(full.psnrDb).toBeGreaterThan(45);
    expect(half.psnrDb).toBeLessThan(35);
    expect(await fs.readdir(work)).toEqual([]);
  });

  it('gives the same points from the sample decoded once as from the master read per pass', async () => {
    const master = await makeSyntheticMaster({ path: path.join(dir, 'decoded.mp4'), durationS: 7, audio: false }, paths);
    const settings = psnrTrialSettings([{ startS: 0.5, durationS: 2 }, { startS: 4, durationS: 2 }]);
    const group = { trials: [{ width: 640, height: 360, crf: 20 }, { width: 320, height: 180, crf: 34 }] };
    const work = await makeTempDir();
    const decoded = await runTrialGroup(master, group, settings, paths, { workDir: work });
    expect(await fs.readdir(work)).toEqual([]); // the group's decoded sample is removed too
    const direct = await runTrialGroup(master, group, settings, paths, { workDir: work, decodeSample: false });
    expect(decoded.sampleFrames).toBe(direct.sampleFrames);
    for (const [k, p] of decoded.points.entries()) {
      expect(p.bitrateBps / direct.points[k]!.bitrateBps).toBeCloseTo(1, 2);
      expect(p.psnrDb).toBeCloseTo(direct.points[k]!.psnrDb!, 2);
    }
    // A shared decoded sample is read, not made again, and left to its owner.
    const shared = await decodeSample(master, settings, work, paths);
    expect(shared).toBeDefined();
    const fromShared = await runTrialGroup(master, group, settings, paths, { workDir: work, samplePath: shared });
    expect(fromShared.points.map((p) => p.psnrDb)).toEqual(decoded.points.map((p) => p.psnrDb));
    expect(await fs.readdir(work)).toEqual([path.basename(shared!)]);
    // Too big to hold as raw frames (2 h of 1080p60 is 1.3 TB): nothing is decoded, the passes read the master.
    expect(await decodeSample(master, { windows: [{ startS: 0, durationS: 7200 }], reference: { width: 1920, height: 1080 }, frameRate: 60 }, work, paths)).toBeUndefined();
    expect(await fs.readdir(work)).toEqual([path.basename(shared!)]);
  });

  it("caps the quality extension's trials at its trial maxrate: noise at a low CRF costs no more than the cap", async () => {
    const master = await makeSyntheticMaster({ path: path.join(dir, 'noisy.mp4'), durationS: 4, audio: false, videoFilter: 'noise=alls=25:allf=t' }, paths);
    const settings = psnrTrialSettings([{ startS: 1, durationS: 2 }]);
    const work = await makeTempDir();
    const capBps = 1_500_000;
    // Uncapped, this master's CRF 12 trial is far above the cap.
    const uncapped = await runTrialGroup(master, { trials: [{ width: 640, height: 360, crf: 12 }] }, settings, paths, { workDir: work });
    expect(uncapped.points[0]!.bitrateBps).toBeGreaterThan(3 * capBps);
    const r = await runTrialGroup(master, { trials: [{ width: 640, height: 360, crf: 40 }], extensions: [{ toward: 'quality', crfs: [12], saturationQuality: 99, capBps: 10 * capBps, trialMaxrateBps: capBps }] }, settings, paths, { workDir: work });
    expect(r.points.map((p) => p.crf)).toEqual([40, 12]);
    expect(r.points[0]!.bitrateBps).toBeLessThan(capBps);
    // VBV: maxrate at the cap and a buffer of 4/3 of it (the final encodes' 1.5x / 2x), which starts
    // 90% full (x264's vbv-init): over this 2 s sample at most cap + 0.9 x buffer / 2 s.
    expect(r.points[1]!.bitrateBps).toBeLessThanOrEqual(capBps + (0.9 * capBps * (4 / 3)) / 2);
    expect(r.points[1]!.quality).toBeGreaterThan(r.points[0]!.quality);
  });

  it('runs groups together — one quality pass for all their grids — with the points each group finds alone', async () => {
    const master = await makeSyntheticMaster({ path: path.join(dir, 'together.mp4'), durationS: 6, width: 320, height: 180, audio: false }, paths);
    const settings: TrialSettings = { windows: [{ startS: 0.5, durationS: 2 }, { startS: 3.5, durationS: 2 }], reference: { width: 320, height: 180 }, frameRate: 24, gop: 48, trialPreset: 'ultrafast', metric: 'vmaf', vmafSubsample: 7 };
    const groups: TrialGroup[] = [
      { trials: [{ width: 320, height: 180, crf: 30 }, { width: 320, height: 180, crf: 40 }] },
      // A floor no trial can reach: both extension CRFs are tried, one round each, after the joint pass.
      // The preset probe is this group's CRF 30 trial, not the first group's (one encode pass holds both).
      { trials: [{ width: 160, height: 90, crf: 30 }, { width: 160, height: 90, crf: 40 }], presetProbe: { preset: 'veryfast', crf: 30 }, extensions: [{ toward: 'floor', crfs: [46, 51], floorBitrateBps: 1 }] },
    ];
    const work = await makeTempDir();
    const shared = await decodeSample(master, settings, work, paths);
    const progress: number[] = [];
    const together = await runTrialGroupsTogether(master, groups, settings, paths, { workDir: work, samplePath: shared, vmafModelPath: VMAF_MODEL, onProgress: (f) => progress.push(f) });
    const alone = [];
    for (const g of groups) alone.push(await runTrialGroup(master, g, settings, paths, { workDir: work, samplePath: shared, vmafModelPath: VMAF_MODEL }));
    expect(together[1]!.points.map((p) => p.crf)).toEqual([30, 40, 46, 51]);
    for (const [i, r] of together.entries()) {
      expect(r.points).toEqual(alone[i]!.points);
      expect(r.sampleFrames).toBe(96);
    }
    expect(together[1]!.presetProbe).toEqual(alone[1]!.presetProbe);
    expect(together[1]!.presetProbe).toMatchObject({ width: 160, height: 90, crf: 30 });
    expect(together[0]!.presetProbe).toBeUndefined();
    expect(together[0]!.points[0]!.quality).toBeGreaterThan(together[1]!.points[1]!.quality);
    expect(progress.at(-1)).toBe(1);
    expect(progress.every((f, i) => i === 0 || f >= progress[i - 1]!)).toBe(true);
    expect(await fs.readdir(work)).toEqual([path.basename(shared!)]); // every trial file removed
  });

  it('searches coarse-to-fine: a subset of the grid, each point as the full grid measures it, every hull point with its CRF neighbours', async () => {
    const master = await makeSyntheticMaster({ path: path.join(dir, 'search.mp4'), durationS: 5, audio: false }, paths);
    const settings = psnrTrialSettings([{ startS: 0.5, durationS: 2 }, { startS: 3, durationS: 2 }]);
    const grid = [44, 38, 32, 26, 20];
    const groups: TrialGroup[] = [{ width: 640, height: 360 }, { width: 480, height: 270 }, { width: 320, height: 180 }].map((s) => ({ trials: grid.map((crf) => ({ ...s, crf })) }));
    const work = await makeTempDir();
    const progress: number[] = [];
    const searched = (await runTrialGroupsTogether(master, groups, settings, paths, { workDir: work, onProgress: (f) => progress.push(f) })).flatMap((r) => r.points);
    const full = (await runTrialGroupsTogether(master, groups, settings, paths, { workDir: work, search: 'grid' })).flatMap((r) => r.points);
    expect(full).toHaveLength(15);
    expect(searched.length).toBeLessThan(full.length);
    const key = (p: TrialPoint) => `${p.height}/${p.crf}`;
    for (const p of searched) expect(p).toEqual(full.find((q) => key(q) === key(p)));
    for (const p of upperConvexHull(searched)) {
      const step = grid.indexOf(p.crf!);
      for (const crf of [grid[step - 1], grid[step + 1]].filter((c) => c !== undefined)) expect(searched.map(key)).toContain(`${p.height}/${crf}`);
    }
    expect(progress.at(-1)).toBe(1);
    expect(progress.every((f, i) => i === 0 || f >= progress[i - 1]!)).toBe(true);
    expect(await fs.readdir(work)).toEqual([]);
  });

  it('measures a batch of encodes exactly as one at a time', async () => {
    const master = await makeSyntheticMaster({ path: path.join(dir, 'batch.mp4'), durationS: 3, audio: false }, paths);
    const encodes = [];
    for (const crf of [24, 36]) {
      const out = path.join(dir, `batch_crf${crf}.mp4`);
      await runFfmpeg({ inputs: [{ source: master }], outputOptions: ['-vf', 'scale=320:180', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', String(crf)], output: out }, paths);
      encodes.push(out);
    }
    const spec = { reference: master, width: 640, height: 360, frameRate: 24, ssim: true };
    const batch = await measureFrameScoresBatch(spec, encodes, paths);
    for (const [j, file] of encodes.entries()) expect(batch[j]).toEqual(await measureFrameScores({ ...spec, distorted: file }, paths));
    expect(batch[0]!.mseY![10]).toBeLessThan(batch[1]!.mseY![10]!);
  });
});


describe('per-title encode of a synthetic master', () => {
  it('writes ladder.json consistent with the published playlists (RESOLUTION, BANDWIDTH, AVERAGE-BANDWIDTH)', async () => {
    const master = await makeSyntheticMaster({ path: path.join(dir, 'moving.mp4'), durationS: 8, width: 960, height: 540 }, paths);
    const outDir = path.join(dir, 'title');
    await fs.mkdir(outDir);
    const record = await encodeTitle(
      { titleId: '00000000000000c1', title: 'Per-title', masterPath: master, masterFileName: 'moving.mp4', outDir, segmentDurationS: 4, x264Preset: 'ultrafast', ladderKind: 'per-title' },
      paths,
    );
    expect(titleRecordSchema.parse(record).ladder).toBe('per-title');
    expect(record.qualityMetric).toBe('psnr');
    const report = JSON.parse(await fs.readFile(path.join(outDir, 'ladder.json'), 'utf8')) as LadderReport;
    expect(report.ladder).toBe('per-title');
    expect(report.metric).toBe('psnr');
    const analysis = report.analysis!;

    // Every candidate resolution was tried; the hull is made of trial points; rungs rise.
    expect(new Set(analysis.points.map((p) => p.height))).toEqual(new Set(candidateResolutions({ displayWidth: 960, displayHeight: 540 }).map((r) => r.height)));
    for (const h of analysis.hull) expect(analysis.points).toContainEqual(h);
    expect(analysis.rungs.length).toBeGreaterThanOrEqual(1);
    expect(report.rungs).toHaveLength(analysis.rungs.length);
    for (let i = 1; i < analysis.rungs.length; i++) expect(analysis.rungs[i]!.bitrateBps).toBeGreaterThan(analysis.rungs[i - 1]!.bitrateBps);
    expect(analysis.sample.windows.length).toBeGreaterThanOrEqual(1);
    expect(report.timings.analysisS).toBeGreaterThan(0);
    expect(report.timings.encodeS).toBeGreaterThan(0);
    // No work files (analysis folder, joined renditions) are left in the folder to publish.
    expect((await fs.readdir(outDir)).filter((n) => n.startsWith('.'))).toEqual([]);

    // The multivariant playlist lists exactly the report's rungs, with their sizes and measured rates.
    const mv = HLS.parse(await fs.readFile(path.join(outDir, 'master.m3u8'), 'utf8'));
    if (!mv.isMasterPlaylist) throw new Error('expected a multivariant playlist');
    const audio = record.renditions.find((r) => r.kind === 'audio')!;
    const variants = mv.variants.filter((v) => !v.isIFrameOnly); // the I-frame streams are trick-play.test.ts's
    expect(variants).toHaveLength(report.rungs.length);
    // No two variants alike: hls.js merges variants of equal BANDWIDTH and RESOLUTION into one level.
    expect(new Set(variants.map((v) => `${v.bandwidth}/${v.resolution?.width}x${v.resolution?.height}`)).size).toBe(variants.length);
    expect(new Set(analysis.rungs.map((r) => `${r.height}/${r.crf}`)).size).toBe(analysis.rungs.length);
    for (const [i, rung] of report.rungs.entries()) {
      const planned = analysis.rungs[i]!;
      expect({ width: rung.width, height: rung.height, targetBitrateBps: rung.targetBitrateBps }).toEqual({ width: planned.width, height: planned.height, targetBitrateBps: planned.bitrateBps });
      const variant = variants.find((v) => v.uri === rung.uri)!;
      expect(variant, rung.uri).toBeDefined();
      expect(variant.resolution).toEqual({ width: rung.width, height: rung.height });
      expect(variant.bandwidth).toBe(rung.peakBitrateBps + audio.peakBitrateBps);
      expect(variant.averageBandwidth).toBe(rung.averageBitrateBps + audio.averageBitrateBps);
      // The published rung's quality was measured against the master.
      expect(rung.quality!.psnrDb).toBeGreaterThan(20);
      expect(rung.quality!.ssim).toBeGreaterThan(0.5);
      expect(rung.quality!.vmaf).toBeUndefined();
    }
  });

  it('publishes a half-rate low rung of a 60 fps master: FRAME-RATE, keyframes on the same segment boundaries, quality measured', async () => {
    const master = await makeSyntheticMaster({ path: path.join(dir, 'sixty-title.mp4'), durationS: 6, width: 640, height: 360, frameRate: 60, audio: false }, paths);
    const outDir = path.join(dir, 'half-rate-title');
    await fs.mkdir(outDir);
    const ladder = [
      { width: 416, height: 234, bitrateBps: 200_000, crf: 30, frameRate: 30 },
      { width: 640, height: 360, bitrateBps: 800_000, crf: 24 },
    ];
    await encodeTitle({ titleId: '00000000000000c5', title: 'Half rate', masterPath: master, masterFileName: 'sixty.mp4', outDir, segmentDurationS: 2, x264Preset: 'ultrafast', ladderKind: 'per-title', ladder }, paths);
    const mv = HLS.parse(await fs.readFile(path.join(outDir, 'master.m3u8'), 'utf8'));
    if (!mv.isMasterPlaylist) throw new Error('expected a multivariant playlist');
    const variants = mv.variants.filter((v) => !v.isIFrameOnly);
    expect(variants.map((v) => [v.uri, v.frameRate])).toEqual([['video_234p30_200k/index.m3u8', 30], ['video_360p_800k/index.m3u8', 60]]);
    const report = JSON.parse(await fs.readFile(path.join(outDir, 'ladder.json'), 'utf8')) as LadderReport;
    expect(report.rungs.map((r) => r.frameRate)).toEqual([30, undefined]);
    for (const r of report.rungs) expect(r.quality!.psnrDb).toBeGreaterThan(15);
    // Scored against all 60 frames a second, the half-rate rung loses its left-out motion.
    expect(report.rungs[0]!.quality!.psnrDb).toBeLessThan(report.rungs[1]!.quality!.psnrDb);
    // The same segments (every 2 s) in both renditions, so players switch between them seamlessly.
    const durations = async (uri: string) => {
      const m = HLS.parse(await fs.readFile(path.join(outDir, uri), 'utf8'));
      if (m.isMasterPlaylist) throw new Error('expected a media playlist');
      return m.segments.map((s) => Number(s.duration.toFixed(3)));
    };
    expect(await durations(variants[0]!.uri)).toEqual(await durations(variants[1]!.uri));
    expect(await durations(variants[0]!.uri)).toEqual([2, 2, 2]);
    // 30 frames a second in the half-rate rendition, each segment starting with a keyframe.
    const joined = path.join(dir, 'half-rate-joined.mp4');
    const folder = path.join(outDir, 'video_234p30_200k');
    const playlist = HLS.parse(await fs.readFile(path.join(folder, 'index.m3u8'), 'utf8'));
    if (playlist.isMasterPlaylist) throw new Error('expected a media playlist');
    await fs.writeFile(joined, Buffer.concat([await fs.readFile(path.join(folder, 'init.mp4')), ...(await Promise.all(playlist.segments.map((s) => fs.readFile(path.join(folder, s.uri)))))]));
    const packets = await probePackets(joined, paths);
    expect(packets).toHaveLength(180);
    expect(packets.filter((p) => p.keyframe).length).toBe(3);
  });

  it('gives trivially easy content (static bars) fewer and lower rungs than hard content (temporal noise)', async () => {
    const easy = await makeSyntheticMaster({ path: path.join(dir, 'easy.mp4'), durationS: 4, source: 'smptebars', audio: false }, paths);
    const hard = await makeSyntheticMaster({ path: path.join(dir, 'hard.mp4'), durationS: 4, videoFilter: 'noise=alls=40:allf=t+u', audio: false }, paths);
    const progress: number[] = [];
    const analyse = async (file: string) => {
      const probed = await inspectMaster(file, paths);
      return analyzeTitle(file, probed, outputFrameRate(probed.video!), paths, { segmentDurationS: 4, onProgress: (f) => progress.push(f) });
    };
    const e = await analyse(easy);
    // Progress moves through the analysis (not 0 until the end), never back, and ends at 1.
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(1);
    expect(progress.every((f, i) => i === 0 || f >= progress[i - 1]!)).toBe(true);
    // Every trial group reports as it goes: distinct values strictly between 0 and 1, at least one per group.
    expect(new Set(progress.filter((f) => f > 0 && f < 1)).size).toBeGreaterThanOrEqual(e.settings.resolutions.length);
    const h = await analyse(hard);
    expect(e.rungs.length).toBeLessThan(h.rungs.length);
    expect(e.rungs.at(-1)!.bitrateBps).toBeLessThan(h.rungs.at(-1)!.bitrateBps);
    // Easy content reaches the saturation quality; noise does not at the same bitrate.
    const top = e.rungs.at(-1)!;
    expect(top.predictedQuality).toBeGreaterThanOrEqual(45 - 1e-9);
    // ...as its own resolution's encodes give it (not the hull line between two resolutions' points,
    // which said 45 dB where that resolution's encodes give 36.5).
    expect(resolutionQualityAt(e.points, top, top.bitrateBps)).toBeCloseTo(top.predictedQuality, 0);
  });

  it('extends the grid where it falls short: toward quality at the top resolution, toward the floor at the bottom', async () => {
    // 720p noise: its trials stay under the 720p trial cap (6.75 Mbit/s) while far from 45 dB.
    const hard = await makeSyntheticMaster({ path: path.join(dir, 'noisy.mp4'), durationS: 4, width: 1280, height: 720, videoFilter: 'noise=alls=20:allf=t+u', audio: false }, paths);
    const probed = await inspectMaster(hard, paths);
    const frameRate = outputFrameRate(probed.video!);
    // A grid that ends at CRF 32 cannot reach 45 dB on noise: CRF 17 (then 14) are tried at the top.
    const short = await analyzeTitle(hard, probed, frameRate, paths, { segmentDurationS: 4, crfValues: [38, 32], trialPreset: 'ultrafast' });
    const top = short.settings.resolutions[0]!;
    expect(short.points.filter((p) => p.height === top.height).map((p) => p.crf)).toEqual(expect.arrayContaining([17]));
    expect(short.settings.extensionCrfs).toContain(17);
    const bestShort = Math.max(...short.points.filter((p) => p.crf !== 17 && p.crf !== 14).map((p) => p.quality));
    expect(short.rungs.at(-1)!.predictedQuality).toBeGreaterThan(bestShort); // the top rung gained quality
    // A grid that starts at CRF 20 never comes down to 145 kbit/s on noise: CRF 44 (then 50) at the bottom.
    const high = await analyzeTitle(hard, probed, frameRate, paths, { segmentDurationS: 4, crfValues: [26, 20], trialPreset: 'ultrafast' });
    const bottom = high.settings.resolutions.at(-1)!;
    expect(high.points.filter((p) => p.height === bottom.height).map((p) => p.crf)).toEqual(expect.arrayContaining([44]));
    expect(high.rungs[0]!.bitrateBps).toBeLessThanOrEqual(high.settings.rules.floorBitrateBps);
  });
});
