/**
 * bytesAtFinalKeyframes on hand-made packet lists: a joined sample's intra pictures are counted
 * at the final encodes' keyframe density. The real encodes' behaviour (joins coded as intra
 * pictures) is what docs/per-title.md measured; here only the arithmetic is checked.
 */
import { describe, expect, it } from 'vitest';
import { bytesAtFinalKeyframes } from '../../../src/encoder/trial-bitrate.js';

/** Packets at 24 fps, in presentation order, `intra` frames of 10,000 bytes (keyframe-flagged when listed in `keys`), the others 1,000. */
function packets(n: number, intra: readonly number[], keys: readonly number[] = [0]): { ptsS: number; sizeBytes: number; keyframe: boolean }[] {
  return Array.from({ length: n }, (_, i) => ({ ptsS: i / 24, sizeBytes: intra.includes(i) ? 10_000 : 1_000, keyframe: keys.includes(i) }));
}

describe('bytesAtFinalKeyframes', () => {
  it('counts three windows of a third of a segment at one keyframe per segment', () => {
    // 96 frames: a keyframe and two joins; the title (240 frames, 96-frame GOPs) has 3 keyframes,
    // 1.2 per 96 frames: 93 frames of 1,000 bytes spread over 94.8, plus 1.2 of 10,000.
    const sample = packets(96, [0, 32, 64]);
    expect(bytesAtFinalKeyframes(sample, { windowFrames: [32, 32, 32], gop: 96, titleFrames: 240 })).toBeCloseTo(94_800 + 12_000, 6);
    // The same bytes in decode order (packets listed out of presentation order) read the same.
    expect(bytesAtFinalKeyframes([...sample].reverse(), { windowFrames: [32, 32, 32], gop: 96, titleFrames: 240 })).toBeCloseTo(106_800, 6);
  });

  it('finds a join one frame off its nominal place, and never takes a frame twice', () => {
    const joins = { windowFrames: [32, 32, 32], gop: 96, titleFrames: 240 };
    expect(bytesAtFinalKeyframes(packets(96, [0, 33, 63]), joins)).toBeCloseTo(106_800, 6);
    // Joins two apart from nominal are not found: those frames count as ordinary ones.
    expect(bytesAtFinalKeyframes(packets(96, [0, 34, 66]), joins)).toBeGreaterThan(106_800);
  });

  it('changes nothing where the intra pictures are at the final density already', () => {
    // Ten 4 s windows of a long title: a keyframe at every window start, one per segment.
    const long = packets(960, [0, 96, 192, 288, 384, 480, 576, 672, 768, 864], [0, 96, 192, 288, 384, 480, 576, 672, 768, 864]);
    const total = long.reduce((s, p) => s + p.sizeBytes, 0);
    expect(bytesAtFinalKeyframes(long, { windowFrames: Array(10).fill(96), gop: 96, titleFrames: 96 * 150 })).toBeCloseTo(total, 6);
    // One window holding a title shorter than a segment: one keyframe in both.
    const short = packets(72, [0]);
    expect(bytesAtFinalKeyframes(short, { windowFrames: [72], gop: 96, titleFrames: 72 })).toBeCloseTo(short.reduce((s, p) => s + p.sizeBytes, 0), 6);
  });

  it('leaves a sample whose frames all cost the same (noise) as it is', () => {
    const flat = Array.from({ length: 96 }, (_, i) => ({ ptsS: i / 24, sizeBytes: 5_000, keyframe: i === 0 }));
    expect(bytesAtFinalKeyframes(flat, { windowFrames: [32, 32, 32], gop: 96, titleFrames: 240 })).toBeCloseTo(96 * 5_000, 6);
  });
});
