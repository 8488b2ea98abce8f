/**
 * Parsing of ffmpeg's psnr/ssim stats files and libvmaf's JSON log, and the summary of per-frame
 * scores (means, 5th-percentile frame, chunks concatenated), and the frame layout of a VMAF batch
 * scored in one process: text and numbers in, numbers out; the filters themselves run in the
 * integration tests.
 */
import { describe, expect, it } from 'vitest';
import {
  concatFrameScores,
  nearestRankPercentile,
  parsePsnrFrames,
  parseSsimFrames,
  parseVmafFrames,
  psnrFromMse,
  PSNR_CAP_DB,
  scoreOf,
  summarizeFrames,
} from '../../../src/encoder/quality-metrics.js';
import { concatenatedLayout } from '../../../src/encoder/quality-graph.js';

describe('quality metric parsers', () => {
  it('reads per-frame luma MSE and computes PSNR from the mean MSE, capped for identical frames', () => {
    expect(psnrFromMse(65.025)).toBeCloseTo(30, 10); // 255² / 65.025 = 1000 → 30 dB
    expect(psnrFromMse(0)).toBe(PSNR_CAP_DB);
    const stats = [
      'n:1 mse_avg:10.00 mse_y:50.00 mse_u:1.00 mse_v:1.00 psnr_avg:38.1 psnr_y:31.1 psnr_u:48.1 psnr_v:48.1 ',
      'n:2 mse_avg:10.00 mse_y:80.05 mse_u:1.00 mse_v:1.00 psnr_avg:38.1 psnr_y:29.1 psnr_u:48.1 psnr_v:48.1 ',
    ].join('\n');
    expect(parsePsnrFrames(stats)).toEqual([50, 80.05]);
    expect(summarizeFrames({ mseY: parsePsnrFrames(stats), ssim: [1, 1] }).psnrDb).toBeCloseTo(psnrFromMse(65.025), 10);
    expect(() => parsePsnrFrames('')).toThrow(/no frames/);
  });

  it('reads per-frame luma SSIM and VMAF', () => {
    expect(parseSsimFrames('n:1 Y:0.900000 U:0.95 V:0.95 All:0.92 (11.0)\nn:2 Y:0.800000 U:0.95 V:0.95 All:0.88 (9.2)\n')).toEqual([0.9, 0.8]);
    const log = JSON.stringify({ frames: [{ frameNum: 0, metrics: { vmaf: 90 } }, { frameNum: 6, metrics: { vmaf: 80 } }] });
    expect(parseVmafFrames(log)).toEqual([90, 80]);
    expect(() => parseVmafFrames('{"frames":[]}')).toThrow(/no frames/);
    expect(scoreOf({ psnrDb: 40, vmaf: 85 }, 'vmaf')).toBe(85);
    expect(scoreOf({ psnrDb: 40 }, 'psnr')).toBe(40);
    expect(() => scoreOf({ psnrDb: 40 }, 'vmaf')).toThrow(/no model/);
  });
});

describe('summarising per-frame scores', () => {
  it('takes the nearest-rank percentile', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1
    expect(nearestRankPercentile(xs, 5)).toBe(5);
    expect(nearestRankPercentile([7], 5)).toBe(7);
    expect(nearestRankPercentile([3, 1, 2], 50)).toBe(2);
    expect(() => nearestRankPercentile([], 5)).toThrow(RangeError);
    expect(() => nearestRankPercentile([1], 0)).toThrow(RangeError);
  });

  it('weighs chunks by their frames and reports the 5th-percentile frame a mean hides', () => {
    // Chunk A: 10 frames of VMAF 95; chunk B: 30 frames, two of them a bad moment (VMAF 20).
    const a = { mseY: Array(10).fill(1), ssim: Array(10).fill(0.99), vmaf: Array(10).fill(95) };
    const bV = [...Array(28).fill(90), 20, 20];
    const b = { mseY: [...Array(28).fill(4), 400, 400], ssim: [...Array(28).fill(0.98), 0.5, 0.5], vmaf: bV };
    const s = summarizeFrames(concatFrameScores([a, b]));
    expect(s.frames).toBe(40);
    // Frame-weighted, not the mean of the two chunk means (92.5 / 83.3 → 87.9).
    expect(s.vmaf).toBeCloseTo((10 * 95 + 28 * 90 + 2 * 20) / 40, 10);
    expect(s.psnrDb).toBeCloseTo(psnrFromMse((10 * 1 + 28 * 4 + 2 * 400) / 40), 10);
    // 5% of 40 frames = the 2nd worst: the bad moment.
    expect(s.low).toEqual({ psnrDb: psnrFromMse(400), ssim: 0.5, vmaf: 20 });
    expect(() => concatFrameScores([a, { mseY: [1], ssim: [1] }])).toThrow(/VMAF/);
    expect(summarizeFrames({ mseY: [0], ssim: [1] }).low).toEqual({ psnrDb: PSNR_CAP_DB, ssim: 1 });
    expect(() => summarizeFrames({ mseY: [], ssim: [] })).toThrow(/no frames/);
  });
});

describe('a VMAF batch concatenated into one libvmaf (concatenatedLayout)', () => {
  it('puts every triple middle of every comparison on a frame libvmaf scores (every 3rd fed frame)', () => {
    // A prepared reference of 2 pad frames and 5 triples; three comparisons.
    const layout = concatenatedLayout(3, 2 + 15);
    expect(layout).toEqual([
      { pad: 2, body: 15, padScores: 1, scores: 6 },
      { pad: 0, body: 15, padScores: 0, scores: 5 },
      { pad: 0, body: 15, padScores: 0, scores: 5 },
    ]);
    // Fed indices of the middles: 3, 6, …, 15 (first), then 17 + 1, … — each ≡ 0 (mod 3).
    let start = 0;
    const middles: number[] = [];
    for (const l of layout) {
      for (let t = 0; t < l.body / 3; t++) middles.push(start + l.pad + 3 * t + 1);
      start += l.pad + l.body;
    }
    expect(middles).toHaveLength(15);
    for (const m of middles) expect(m % 3).toBe(0);
  });

  it('leaves out a triple cut short by the end of the span, and has nothing to lay out without a whole triple', () => {
    expect(concatenatedLayout(2, 2 + 3 * 4 + 2).map((l) => l.body)).toEqual([12, 12]);
    expect(concatenatedLayout(2, 2 + 3 * 4 + 1).map((l) => l.body)).toEqual([12, 12]);
    expect(concatenatedLayout(2, 4)).toEqual([]);
  });
});
