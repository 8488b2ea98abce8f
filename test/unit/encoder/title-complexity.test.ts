/**
 * Where the complexity scan reads a long title (title-complexity.ts scanSpans): pure planning,
 * no ffmpeg (the scan itself is tested against the real ffmpeg in
 * test/integration/encoder/title-complexity.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { sampleWindows } from '../../../src/encoder/per-title-sample.js';
import { scanSpans, SCAN_SPAN_WINDOWS, SCAN_SPANS_MAX_SHARE, SCAN_SPANS_PER_SHARE } from '../../../src/encoder/title-complexity.js';

describe('scanSpans', () => {
  it('reads a title whole while its spans would read more than SCAN_SPANS_MAX_SHARE of it', () => {
    // The default sample (ten 4 s windows) has 240 s of spans: whole up to 600 s.
    expect(SCAN_SPANS_PER_SHARE * SCAN_SPAN_WINDOWS * 4 * 10).toBe(240);
    expect(240 / SCAN_SPANS_MAX_SHARE).toBe(600);
    expect(scanSpans(599, 24, sampleWindows(599, 4, 0.2, 10, 24))).toBeUndefined();
    expect(scanSpans(601, 24, sampleWindows(601, 4, 0.2, 10, 24))).toHaveLength(40);
    expect(scanSpans(70, 24, sampleWindows(70, 4, 0.2, 10, 24))).toBeUndefined();
  });

  it('reads a two-hour title in the same spans, SCAN_SPANS_PER_SHARE in every share, each inside it', () => {
    const durationS = 7200;
    const windows = sampleWindows(durationS, 4, 0.2, 10, 24);
    expect(windows).toHaveLength(10);
    const spans = scanSpans(durationS, 24, windows)!;
    const frames = Math.round(4 * SCAN_SPAN_WINDOWS * 24);
    expect(spans).toHaveLength(10 * SCAN_SPANS_PER_SHARE);
    expect(spans.every((sp) => sp.frames === frames)).toBe(true);
    expect(spans.reduce((t, sp) => t + sp.frames, 0) / 24).toBe(240);
    const shareFrames = (durationS / 10) * 24;
    for (let i = 0; i < 10; i++) {
      const inShare = spans.filter((sp) => sp.startFrame >= i * shareFrames && sp.startFrame + sp.frames <= (i + 1) * shareFrames);
      expect(inShare).toHaveLength(SCAN_SPANS_PER_SHARE);
    }
    // In order, apart, each a window and a half: a window fits in each.
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.startFrame).toBeGreaterThan(spans[i - 1]!.startFrame + frames);
    expect(frames).toBeGreaterThan(windows[0]!.durationS * 24);
  });

  it('centres the spans in equal parts of each share, and keeps them on the title', () => {
    // 20 s at 25 fps, two windows of 4 s, one span per share: shares of 10 s, a 6 s span centred in each.
    expect(scanSpans(20, 25, [{ durationS: 4 }, { durationS: 4 }], 1, 1)).toEqual([
      { startFrame: 50, frames: 150 },
      { startFrame: 300, frames: 150 },
    ]);
    // Two per share of 20 s, 3 s each at 24 fps: centred at 5 and 15 s of each share.
    expect(scanSpans(40, 24, [{ durationS: 2 }, { durationS: 2 }], 2, 1)!.map((sp) => sp.startFrame)).toEqual([84, 324, 564, 804]);
    // Windows of 9 s: spans no longer than a share (10 s), the last ending with the title.
    expect(scanSpans(20, 25, [{ durationS: 9 }, { durationS: 9 }], 1, 1)).toEqual([
      { startFrame: 0, frames: 250 },
      { startFrame: 250, frames: 250 },
    ]);
  });
});
