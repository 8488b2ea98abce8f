import { describe, expect, it } from 'vitest';
import { planChunks, prerollS } from '../../../src/encoder/chunk-plan.js';

describe('planChunks', () => {
  it('cuts at segment boundaries, whole segments per chunk, the last chunk short', () => {
    expect(planChunks(130, 4, 48)).toEqual([
      { index: 0, startS: 0, durationS: 48, firstSegment: 0 },
      { index: 1, startS: 48, durationS: 48, firstSegment: 12 },
      { index: 2, startS: 96, durationS: 34, firstSegment: 24 },
    ]);
    // 30 s asked with 4 s segments: 7.5 segments rounds to 8 (32 s chunks).
    expect(planChunks(70, 4, 30).map((c) => [c.startS, c.durationS])).toEqual([[0, 32], [32, 32], [64, 6]]);
  });

  it('makes a title no longer than a chunk one chunk, and 0 means one chunk', () => {
    expect(planChunks(10, 4, 48)).toEqual([{ index: 0, startS: 0, durationS: 10, firstSegment: 0 }]);
    expect(planChunks(7200, 4, 0)).toEqual([{ index: 0, startS: 0, durationS: 7200, firstSegment: 0 }]);
  });

  it('never cuts a chunk shorter than a segment duration into one of its own, and ignores sub-millisecond rests', () => {
    expect(planChunks(8.0004, 4, 4).map((c) => c.startS)).toEqual([0, 4]);
    expect(planChunks(2, 4, 1)).toEqual([{ index: 0, startS: 0, durationS: 2, firstSegment: 0 }]);
  });

  it('refuses impossible inputs', () => {
    expect(() => planChunks(0, 4, 4)).toThrow(RangeError);
    expect(() => planChunks(10, 0, 4)).toThrow(RangeError);
  });

  it('measures the pre-roll from the last keyframe at or before a start', () => {
    const gop = [0, 8.333, 16.667, 25];
    expect(prerollS(gop, 0)).toBe(0);
    expect(prerollS(gop, 12)).toBeCloseTo(3.667, 3);
    expect(prerollS(gop, 16.667)).toBe(0);
    expect(prerollS(gop, 30)).toBe(5);
    expect(prerollS([], 12)).toBe(12); // nothing known: decode from the start
  });

  it('starts chunks at the segment boundaries nearest after a keyframe, within ±50% of the wanted length', () => {
    // x264's default GOP at 30 fps (250 frames = 8.33 s), 4 s segments, 12 s chunks.
    const gop250 = Array.from({ length: 8 }, (_, i) => (i * 250) / 30);
    const chunks = planChunks(60, 4, 12, gop250);
    const starts = chunks.map((c) => c.startS);
    expect(starts).toEqual([0, 12, 28, 44, 52]); // pre-rolls 3.67, 3, 2.33, 2 s (nominal 12, 24, 36, 48: 3.67, 7.33, 2.67, 6.33 s)
    for (const c of chunks) {
      expect(c.startS % 4).toBe(0); // segment boundaries only
      expect(c.firstSegment).toBe(c.startS / 4);
    }
    expect(chunks.slice(0, -1).every((c) => c.durationS >= 8 && c.durationS <= 16)).toBe(true);
    expect(chunks.reduce((t, c) => t + c.durationS, 0)).toBe(60);
    const total = (cs: { startS: number }[]) => cs.reduce((t, c) => t + prerollS(gop250, c.startS), 0);
    expect(total(chunks)).toBeCloseTo(11, 1); // against 20 s for the wanted lengths
    expect(total(planChunks(60, 4, 12))).toBeCloseTo(20, 1);
  });

  it('keeps the wanted lengths for an intra-only or short-GOP master, and the short last chunk', () => {
    const everyFrame = Array.from({ length: 130 * 24 }, (_, i) => i / 24);
    expect(planChunks(130, 4, 48, everyFrame)).toEqual(planChunks(130, 4, 48));
    const gop1s = Array.from({ length: 131 }, (_, i) => i);
    expect(planChunks(130, 4, 48, gop1s)).toEqual(planChunks(130, 4, 48));
    expect(planChunks(40, 4, 48, [0, 8.333, 16.667])).toEqual([{ index: 0, startS: 0, durationS: 40, firstSegment: 0 }]);
    // Never a sliver after a boundary: 30 s in 12 s chunks on an 8.33 s GOP cuts at 20 (3.33 s
    // pre-roll, 10 s left), not at 28 (3 s, but a 2 s last chunk).
    expect(planChunks(30, 4, 12, [0, 8.333, 16.667, 25]).map((c) => [c.startS, c.durationS])).toEqual([[0, 12], [12, 8], [20, 10]]);
  });
});

