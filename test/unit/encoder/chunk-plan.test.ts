import { describe, expect, it } from 'vitest';
import { planChunks, prerollS } from '../../../src/encoder/chunk-plan.js';
import { INEXACT_SEEK_MARGIN_S, masterSeek, seeksToKeyframe, withSeekStarts } from '../../../src/encoder/master-seek.js';

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


describe('withSeekStarts (chunks of a master whose container is not sought exactly)', () => {
  const chunks = planChunks(20, 4, 4); // 0, 4, 8, 12, 16
  it('leaves the chunks of indexed containers alone', () => {
    for (const format of ['mov,mp4,m4a,3gp,3g2,mj2', 'matroska,webm', 'avi', 'mxf']) {
      expect(seeksToKeyframe(format)).toBe(true);
      expect(withSeekStarts(chunks, format, [0, 3, 6])).toEqual(chunks);
    }
  });
  it('seeks a chunk of an MPEG-TS from the margin before the keyframe at or before its start', () => {
    for (const format of ['mpegts', 'mpeg', 'h264', 'ogg', 'flv']) expect(seeksToKeyframe(format)).toBe(false);
    const sought = withSeekStarts(chunks, 'mpegts', [0, 3, 6, 9, 12, 15]);
    expect(sought.map((c) => c.seekFromS)).toEqual([undefined, 3 - INEXACT_SEEK_MARGIN_S, 6 - INEXACT_SEEK_MARGIN_S, 12 - INEXACT_SEEK_MARGIN_S, 15 - INEXACT_SEEK_MARGIN_S]);
    // Everything else is the plan's.
    expect(sought.map(({ seekFromS: _s, ...c }) => c)).toEqual(chunks);
    // Without keyframe times: from a long GOP before the start; never before the file.
    expect(withSeekStarts(chunks, 'mpegts', undefined, 10).map((c) => c.seekFromS)).toEqual([undefined, 0, 0, 1, 5]);
  });
  it('turns a seek start into an earlier seek and a negative input offset (masterSeek)', () => {
    expect(masterSeek({ startS: 0 })).toEqual([]);
    expect(masterSeek({ startS: 8 }, 0.021)).toEqual(['-ss', '8.021000']);
    expect(masterSeek({ startS: 8, seekFromS: 5 }, 0.021)).toEqual(['-ss', '5.021000', '-itsoffset', '-3.000000']);
    // A seek start at the file's start: a seek there all the same (ffmpeg drops frames before 0 only after one).
    expect(masterSeek({ startS: 4, seekFromS: 0 })).toEqual(['-ss', '0.000000', '-itsoffset', '-4.000000']);
    // A seek start after the start is not one.
    expect(masterSeek({ startS: 4, seekFromS: 6 })).toEqual(['-ss', '4.000000']);
  });
});
