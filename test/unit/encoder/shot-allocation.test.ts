/**
 * Shot planning and shot-aware allocation on hand-made numbers (pure functions: no ffmpeg).
 */
import { describe, expect, it } from 'vitest';
import { allocateEqualSlope, allocateEvenQuality, shotPointAt, type ShotRd } from '../../../src/encoder/shot-allocation.js';
import { parseShowinfoTimesS, shotsFromCuts, x264ZonesForShots } from '../../../src/encoder/shots.js';

describe('shots from cut times', () => {
  it('starts a shot at the frame nearest each cut, merges a shot shorter than the minimum into the one before, and keeps the last frames in the last shot', () => {
    // 24 fps, 240 frames: cuts at 2.0 s (frame 48), 2.2 s (5 frames later: merged), 5.0 s, and 9.9 s (too close to the end).
    expect(shotsFromCuts([5.0, 2.0, 2.2, 9.9], 24, 240, 0.5)).toEqual([
      { startFrame: 0, endFrame: 48 },
      { startFrame: 48, endFrame: 120 },
      { startFrame: 120, endFrame: 240 },
    ]);
    expect(shotsFromCuts([], 25, 100)).toEqual([{ startFrame: 0, endFrame: 100 }]);
    expect(() => shotsFromCuts([1], 0, 100)).toThrow(RangeError);
  });

  it("writes x264 zones with inclusive end frames and rejects CRFs outside x264's range", () => {
    const shots = [
      { startFrame: 0, endFrame: 48 },
      { startFrame: 48, endFrame: 100 },
    ];
    expect(x264ZonesForShots(shots, [30, 24.125])).toBe('0,47,crf=30/48,99,crf=24.13');
    expect(() => x264ZonesForShots(shots, [30])).toThrow(RangeError);
    expect(() => x264ZonesForShots(shots, [30, 60])).toThrow(RangeError);
  });

  it("reads showinfo's pts_time, leaving out the first frame", () => {
    const stderr = [
      '[Parsed_showinfo_2 @ 0x1] n:   0 pts:      0 pts_time:0       pos: 1 fmt:yuv420p',
      '[Parsed_showinfo_2 @ 0x1] n:   1 pts:  24576 pts_time:2       pos: 2 fmt:yuv420p',
      'frame= 84 fps=0.0',
      '[Parsed_showinfo_2 @ 0x1] n:   2 pts:  43008 pts_time:3.5     pos: 3 fmt:yuv420p',
    ].join('\n');
    expect(parseShowinfoTimesS(stderr)).toEqual([2, 3.5]);
  });
});

/** A shot whose quality falls `slope` per CRF from `q20` at CRF 20, and whose bits halve every 6 CRF. */
const shot = (frames: number, q20: number, slope: number, bits20: number): ShotRd => ({
  frames,
  points: [20, 26, 32].map((crf) => ({ crf, bits: bits20 * 2 ** (-(crf - 20) / 6), quality: q20 - slope * (crf - 20) })),
});

describe('shot-aware allocation', () => {
  it('interpolates bits in log scale and quality linearly, clamped to the measured CRFs', () => {
    const s = shot(10, 90, 2, 8000);
    expect(shotPointAt(s, 23).bits).toBeCloseTo(8000 / Math.SQRT2, 6);
    expect(shotPointAt(s, 23).quality).toBeCloseTo(84, 9);
    expect(shotPointAt(s, 40)).toEqual(shotPointAt(s, 32));
    expect(() => shotPointAt({ frames: 1, points: [{ crf: 20, bits: 1, quality: 1 }] }, 20)).toThrow(RangeError);
  });

  // An easy shot (quality barely moves with CRF) and a hard one (3 points per CRF), same length and bits.
  const easy = shot(100, 97, 0.2, 1e6);
  const hard = shot(100, 85, 3, 1e6);
  const budget = shotPointAt(easy, 26).bits + shotPointAt(hard, 26).bits; // one CRF, 26, for both
  const constantQuality = (shotPointAt(easy, 26).quality + shotPointAt(hard, 26).quality) / 2;

  it('equal slope: moves bits from the easy shot to the hard one, within the budget, for more quality than one CRF', () => {
    const a = allocateEqualSlope([easy, hard], budget);
    expect(a.crfs[0]!).toBeGreaterThan(26);
    expect(a.crfs[1]!).toBeLessThan(26);
    expect(a.predictedBits).toBeLessThanOrEqual(budget * (1 + 1e-9));
    expect(a.predictedQuality).toBeGreaterThan(constantQuality);
  });

  it('even quality: brings the shots closer together within the budget', () => {
    const a = allocateEvenQuality([easy, hard], budget);
    expect(a.predictedBits).toBeLessThanOrEqual(budget * (1 + 1e-9));
    const [qe, qh] = a.crfs.map((c, i) => shotPointAt([easy, hard][i]!, c).quality);
    expect(Math.abs(qe! - qh!)).toBeLessThan(Math.abs(shotPointAt(easy, 26).quality - shotPointAt(hard, 26).quality));
    expect(a.crfs[1]!).toBeLessThan(a.crfs[0]!);
  });

  it('returns the cheapest choice when nothing fits the budget', () => {
    expect(allocateEqualSlope([easy, hard], 1).crfs).toEqual([32, 32]);
    expect(allocateEvenQuality([easy, hard], 1).predictedBits).toBeGreaterThan(1);
  });
});
