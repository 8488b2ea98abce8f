import { describe, expect, it } from 'vitest';
import { planChunks } from '../../../src/encoder/chunk-plan.js';

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
});
