/**
 * The complexity scan (title-complexity.ts) against the real ffmpeg, and the sample windows it
 * places (per-title-sample.ts sampleWindows): a 12 s master, 8 s of a still picture then 4 s of
 * noise, costs a third of the noise's rate on average, so the one 4 s window the 20% rule gives
 * must hold a third of a window of noise — centred, it held none.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveFfmpegPaths, runFfmpeg, type FfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import { inspectMaster } from '../../../src/encoder/master-check.js';
import { analyzeTitle, planAnalysis } from '../../../src/encoder/per-title.js';
import { sampleWindows } from '../../../src/encoder/per-title-sample.js';
import { complexityForSample, scanComplexity, scanHeights, scanSpans, SCAN_SPANS_PER_PROCESS } from '../../../src/encoder/title-complexity.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

let paths: FfmpegPaths;
let dir: string;

beforeAll(async () => {
  paths = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined });
  dir = await makeTempDir();
});

describe('scanComplexity', () => {
  it('gives every frame its bits at each scan size, and places the sample where it costs what the title costs', async () => {
    const master = path.join(dir, 'still-then-noise.mp4');
    await runFfmpeg(
      {
        inputs: [
          { source: 'smptebars=size=960x540:rate=24:duration=8', format: 'lavfi' },
          { source: 'testsrc2=size=960x540:rate=24:duration=4', format: 'lavfi' },
        ],
        outputOptions: ['-filter_complex', '[1:v]noise=alls=30:allf=t[n];[0:v][n]concat=n=2:v=1:a=0,format=yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '12'],
        output: master,
      },
      paths,
    );
    const probed = await inspectMaster(master, paths);
    const progress: number[] = [];
    const profile = await scanComplexity(master, probed, 24, paths, { onProgress: (f) => progress.push(f) });
    expect(profile.frameRate).toBe(24);
    expect(profile.frameBits).toHaveLength(2); // 270 and 540 lines
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    for (const bits of profile.frameBits) {
      expect(bits).toHaveLength(288);
      expect(mean(bits.slice(200))).toBeGreaterThan(20 * mean(bits.slice(24, 188))); // noise against a still (its first frame aside)
    }
    expect(progress.at(-1)).toBeGreaterThan(0.9);
    // The 20% rule's one 4 s window: centred it holds only the still (4–8 s); placed, about
    // 4/3 s of noise (start 8 − 4 + 4/3 ≈ 5.3 s).
    expect(sampleWindows(12, 4, 0.2, 10, 24, 1)[0]!.startS).toBeCloseTo(4, 3);
    const [placed] = sampleWindows(12, 4, 0.2, 10, 24, 1, profile);
    expect(placed!.startS).toBeGreaterThan(4.9);
    expect(placed!.startS).toBeLessThan(5.8);
    // planAnalysis takes it; without it the windows are centred.
    const centred = planAnalysis(probed, 24, { segmentDurationS: 4, minWindows: 1 }).settings.windows;
    expect(planAnalysis(probed, 24, { segmentDurationS: 4, minWindows: 1, complexity: profile }).settings.windows[0]!.startS).toBe(placed!.startS);
    expect(centred[0]!.startS).not.toBe(placed!.startS);
    // analyzeTitle scans for itself (PSNR trials at ultrafast, two CRFs: only the windows matter here).
    const analysis = await analyzeTitle(master, probed, 24, paths, { segmentDurationS: 4, minWindows: 1, crfValues: [38, 26], trialPreset: 'ultrafast', search: 'grid' });
    expect(analysis.sample.windows.map((w) => w.startS)).toEqual([placed!.startS]);
    expect(analysis.sample.placement).toEqual({ by: 'scan', readS: 12 });
  }, 90_000);

  it('has analyzeTitle scan a title over ten minutes in spans, and place every window inside them', async () => {
    // 650 s at 160x90, 5 fps: long enough for spans (40 of 6 s, 240 s ≤ 40% of it), small enough to scan in seconds.
    const master = path.join(dir, 'long.mp4');
    await runFfmpeg({ inputs: [{ source: 'testsrc2=size=160x90:rate=5:duration=650', format: 'lavfi' }], outputOptions: ['-vf', 'noise=alls=20:allf=t,format=yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '20'], output: master }, paths);
    const probed = await inspectMaster(master, paths);
    const analysis = await analyzeTitle(master, probed, 5, paths, { segmentDurationS: 4, crfValues: [38, 26], trialPreset: 'ultrafast', search: 'grid' });
    expect(analysis.sample.placement).toEqual({ by: 'scan', readS: 240, spans: 40 });
    const centred = planAnalysis(probed, 5, { segmentDurationS: 4, complexity: null });
    expect(centred.placement).toEqual({ by: 'centred' });
    const spans = scanSpans(probed.durationS, 5, centred.settings.windows)!;
    expect(analysis.sample.windows).toHaveLength(10);
    for (const w of analysis.sample.windows) {
      const [first, last] = [Math.round(w.startS * 5), Math.round((w.startS + w.durationS) * 5)];
      expect(spans.some((sp) => sp.startFrame <= first && last <= sp.startFrame + sp.frames)).toBe(true);
    }
    // Centred windows (no scan) lie between the spans, so the check above can fail.
    expect(centred.settings.windows.some((w) => !spans.some((sp) => sp.startFrame <= Math.round(w.startS * 5) && Math.round((w.startS + w.durationS) * 5) <= sp.startFrame + sp.frames))).toBe(true);
  }, 120_000);

  it('scans a long title in spans: their frames with the bits a whole scan gives them, the rest NaN', async () => {
    const master = path.join(dir, 'still-then-noise.mp4');
    const probed = await inspectMaster(master, paths);
    const whole = await scanComplexity(master, probed, 24, paths);
    // Four spans of the still (2–4 s first), then two of the noise (the last 9–11 s): more
    // than SCAN_SPANS_PER_PROCESS, so two ffmpeg runs whose bits must join in order.
    const spans = [
      { startFrame: 48, frames: 48 },
      { startFrame: 100, frames: 20 },
      { startFrame: 150, frames: 20 },
      { startFrame: 176, frames: 12 },
      { startFrame: 200, frames: 12 },
      { startFrame: 216, frames: 48 },
    ];
    expect(spans.length).toBeGreaterThan(SCAN_SPANS_PER_PROCESS);
    const sparse = await scanComplexity(master, probed, 24, paths, {}, spans);
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    for (const [k, bits] of sparse.frameBits.entries()) {
      expect(bits).toHaveLength(288);
      expect(bits.filter(Number.isFinite)).toHaveLength(160);
      expect([0, 47, 96, 99, 120, 149, 170, 175, 188, 199, 212, 215, 264, 287].every((i) => Number.isNaN(bits[i]))).toBe(true);
      // The noise span, coded from a keyframe of its own: from its second frame, the bits the
      // whole scan gave the same frames (the still's frames cost a few bytes either way).
      const noise = mean(bits.slice(217, 264)) / mean(whole.frameBits[k]!.slice(217, 264));
      expect(noise).toBeGreaterThan(0.8);
      expect(noise).toBeLessThan(1.25);
      expect(mean(bits.slice(217, 264))).toBeGreaterThan(20 * mean(bits.slice(49, 96)));
    }
    // complexityForSample reads spans when they read at most maxShare of the title (one 2 s span
    // per 4 s share here, half the title), and the windows are then placed inside them; a span past the
    // master's end is a failed scan.
    const centred = sampleWindows(12, 4, 0.2, 10, 24);
    const errors: string[] = [];
    const profile = await complexityForSample(master, probed, 24, paths, { windows: centred, perShare: 1, maxShare: 0.6, onScanError: (err) => errors.push(err.message) });
    expect(errors).toEqual([]);
    expect(profile!.frameBits[0]!.some(Number.isNaN)).toBe(true);
    for (const w of sampleWindows(12, 4, 0.2, 10, 24, undefined, profile)) {
      const first = Math.ceil(w.startS * 24 - 1e-6);
      expect(profile!.frameBits[0]!.slice(first, first + Math.round(w.durationS * 24)).every(Number.isFinite)).toBe(true);
    }
    await expect(scanComplexity(master, probed, 24, paths, {}, [{ startFrame: 270, frames: 48 }])).rejects.toThrow(/read 18 frames of the 48/);
  }, 60_000);

  it('scans at 270 and 540 lines, never above the master, and the larger only when twice the smaller', () => {
    expect(scanHeights(1080)).toEqual([270, 540]);
    expect(scanHeights(541)).toEqual([270, 540]);
    expect(scanHeights(432)).toEqual([270]); // 432 lines show what 270 do: not worth a second encode
    expect(scanHeights(181)).toEqual([180]); // even, never above the master
  });

  it('gives no profile for a file it cannot scan, and says why', async () => {
    const probed = await inspectMaster(path.join(dir, 'still-then-noise.mp4'), paths);
    const errors: string[] = [];
    expect(await complexityForSample(path.join(dir, 'gone.mp4'), probed, 24, paths, { onScanError: (err) => errors.push(err.message) })).toBeUndefined();
    expect(errors).toHaveLength(1);
  });
});
