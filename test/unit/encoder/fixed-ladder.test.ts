import { describe, expect, it } from 'vitest';
import { APPLE_FIXED_LADDER, fitToBox, fixedLadderFor, toEven } from '../../../src/encoder/fixed-ladder.js';

const dims = (rungs: { width: number; height: number; bitrateBps: number }[]) => rungs.map((r) => `${r.width}x${r.height}@${r.bitrateBps / 1000}k`);

describe('fixedLadderFor', () => {
  it('gives a 1080p 16:9 source the whole Apple ladder', () => {
    expect(fixedLadderFor({ displayWidth: 1920, displayHeight: 1080 })).toHaveLength(APPLE_FIXED_LADDER.length);
  });

  it('never goes above the source resolution', () => {
    expect(dims(fixedLadderFor({ displayWidth: 1280, displayHeight: 720 }))).toEqual([
      '416x234@145k',
      '640x360@365k',
      '768x432@730k',
      '768x432@1100k',
      '960x540@2000k',
      '1280x720@3000k',
      '1280x720@4500k',
    ]);
    expect(dims(fixedLadderFor({ displayWidth: 768, displayHeight: 432 }))).toEqual(['416x234@145k', '640x360@365k', '768x432@730k', '768x432@1100k']);
  });

  it("keeps a 2.4:1 source's aspect ratio inside each rung's box", () => {
    const rungs = fixedLadderFor({ displayWidth: 800, displayHeight: 332 });
    expect(dims(rungs)).toEqual(['416x172@145k', '640x266@365k', '768x318@730k', '768x318@1100k']);
    for (const r of rungs) expect(r.width / r.height).toBeCloseTo(800 / 332, 1);
  });

  it('fits a portrait (9:16) source into the boxes turned: the same rungs with width and height swapped, up to its own 1080x1920', () => {
    const rungs = fixedLadderFor({ displayWidth: 1080, displayHeight: 1920 });
    expect(dims(rungs)).toEqual(['234x416@145k', '360x640@365k', '432x768@730k', '432x768@1100k', '540x960@2000k', '720x1280@3000k', '720x1280@4500k', '1080x1920@6000k', '1080x1920@7800k']);
    // A portrait master smaller than the top box keeps the rungs that do not upscale it.
    expect(dims(fixedLadderFor({ displayWidth: 720, displayHeight: 1280 })).at(-1)).toBe('720x1280@4500k');
  });

  it('gives a source smaller than the lowest rung one rung at its own size', () => {
    expect(fixedLadderFor({ displayWidth: 320, displayHeight: 180 })).toEqual([{ width: 320, height: 180, bitrateBps: 145_000 }]);
  });

  it('rejects empty dimensions', () => {
    expect(() => fixedLadderFor({ displayWidth: 0, displayHeight: 720 })).toThrow(RangeError);
  });
});

describe('fitToBox / toEven', () => {
  it('rounds to even pixels, at least 2', () => {
    expect(toEven(172.5)).toBe(172);
    expect(toEven(173.1)).toBe(174);
    expect(toEven(0.2)).toBe(2);
  });

  it('reports upscaling', () => {
    expect(fitToBox({ displayWidth: 640, displayHeight: 360 }, 1280, 720).upscales).toBe(true);
    expect(fitToBox({ displayWidth: 640, displayHeight: 360 }, 640, 360).upscales).toBe(false);
  });
});

describe('trialBitrateCapBps', () => {
  it("caps a resolution's trials at 1.5x Apple's top bitrate for its height, 1.5x more above 30 fps, never above the rules' maximum", async () => {
    const { trialBitrateCapBps } = await import('../../../src/encoder/per-title.js');
    expect(trialBitrateCapBps(1080, 24, 12_000_000)).toBe(11_700_000);
    expect(trialBitrateCapBps(1080, 60, 12_000_000)).toBe(17_550_000);
    expect(trialBitrateCapBps(1080, 60, 10_000_000)).toBe(15_000_000);
    expect(trialBitrateCapBps(360, 30, 12_000_000)).toBe(547_500);
    expect(trialBitrateCapBps(200, 30, 12_000_000)).toBe(217_500); // below the lowest box: its cap
  });
});

describe('fixedLadderFor with the title frame rate', () => {
  it("puts the rungs of Apple's ≤ 30 fps rows (up to 768x432) at half the rate of a 48 fps or faster title, the others at the title's", () => {
    const rates = (frameRate: number, w = 1920, h = 1080) => fixedLadderFor({ displayWidth: w, displayHeight: h }, APPLE_FIXED_LADDER, frameRate).map((r) => `${r.height}:${r.frameRate ?? 'title'}`);
    expect(rates(60)).toEqual(['234:30', '360:30', '432:30', '432:30', '540:title', '720:title', '720:title', '1080:title', '1080:title']);
    expect(rates(50).slice(0, 4)).toEqual(['234:25', '360:25', '432:25', '432:25']);
    for (const fps of [24, 25, 30, 40]) expect(rates(fps).every((r) => r.endsWith(':title'))).toBe(true);
    // The row decides, not the fitted size: a 4:3 source's 432 row is 576x432 (half rate), its 540 row 720x540.
    expect(rates(60, 1440, 1080).slice(2, 5)).toEqual(['432:30', '432:30', '540:title']);
    // A portrait source: the turned rows are the same rows.
    expect(rates(60, 1080, 1920).slice(0, 5)).toEqual(['416:30', '640:30', '768:30', '768:30', '960:title']);
    // Without the frame rate, every rung at the title's (as before).
    expect(fixedLadderFor({ displayWidth: 1920, displayHeight: 1080 }).every((r) => r.frameRate === undefined)).toBe(true);
  });
});
