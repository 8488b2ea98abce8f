/**
 * Hull and rung selection on hand-made RD points with known answers (pure functions; no ffmpeg).
 */
import { describe, expect, it } from 'vitest';
import { firstEncodeReaching, hullBitrateFor, hullQualityAt, PSNR_RUNG_RULES, selectRungs, topRungQuality, upperConvexHull, VMAF_RUNG_RULES, type RdPoint } from '../../../src/encoder/convex-hull.js';
import { candidateResolutions } from '../../../src/encoder/per-title.js';
import { crfForBitrate } from '../../../src/encoder/per-title-ladder.js';

const pt = (height: number, kbps: number, quality: number): RdPoint => ({ width: Math.round((height * 16) / 9 / 2) * 2, height, bitrateBps: kbps * 1000, quality });

describe('upperConvexHull', () => {
  it('keeps the upper-left boundary and drops points under it', () => {
    const a = pt(360, 100, 40);
    const b = pt(360, 200, 70);
    const under = pt(720, 200, 50); // same rate as b, lower quality
    const c = pt(720, 400, 85);
    const concaveDip = pt(540, 300, 72); // below the chord b→c (which is 77.5 at 300)
    const d = pt(720, 800, 92);
    expect(upperConvexHull([d, under, c, concaveDip, a, b])).toEqual([a, b, c, d]);
  });

  it('cuts the hull at its best quality (more bits buying less quality are dropped)', () => {
    const a = pt(360, 100, 40);
    const b = pt(720, 500, 90);
    const worse = pt(720, 900, 88);
    expect(upperConvexHull([a, b, worse])).toEqual([a, b]);
  });

  it('handles one point and no points, and rejects non-finite values', () => {
    const a = pt(360, 100, 40);
    expect(upperConvexHull([a])).toEqual([a]);
    expect(upperConvexHull([])).toEqual([]);
    expect(() => upperConvexHull([pt(360, 100, Number.NaN)])).toThrow(RangeError);
  });

  it('drops a point exactly on a chord (collinear)', () => {
    const a = pt(360, 100, 40);
    const mid = pt(540, 200, 50);
    const c = pt(720, 300, 60);
    expect(upperConvexHull([a, mid, c])).toEqual([a, c]);
  });
});

describe('hull interpolation', () => {
  const hull = [pt(360, 100, 40), pt(540, 300, 80), pt(720, 700, 90)];
  it('interpolates quality linearly in bitrate and inverts it', () => {
    expect(hullQualityAt(hull, 200_000)).toBeCloseTo(60, 10);
    expect(hullBitrateFor(hull, 60)).toBeCloseTo(200_000, 6);
    expect(hullQualityAt(hull, 50_000)).toBe(40);
    expect(hullQualityAt(hull, 900_000)).toBe(90);
    expect(hullBitrateFor(hull, 95)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('selectRungs', () => {
  it('keeps the floor when hard content needs more rungs than allowed: the rungs between are spread evenly', () => {
    // Quality rises slowly (hard content, 1080p60): 1.5x steps from 145 kbit/s to 5 Mbit/s make 10 rungs.
    const hard = upperConvexHull([pt(234, 30, 10), pt(432, 140, 25), pt(720, 600, 48), pt(1080, 5_000, 95), pt(1080, 9_000, 96)]);
    const rungs = selectRungs(hard, VMAF_RUNG_RULES);
    expect(rungs).toHaveLength(VMAF_RUNG_RULES.maxRungs);
    expect(rungs[0]!.bitrateBps).toBe(VMAF_RUNG_RULES.floorBitrateBps); // not 326 kbit/s
    expect(rungs.at(-1)!.bitrateBps).toBe(5_000_000);
    const ratios = rungs.slice(1).map((r, k) => r.bitrateBps / rungs[k]!.bitrateBps);
    for (const r of ratios) expect(r).toBeCloseTo(ratios[0]!, 2); // one geometric step
    for (let k = 1; k < rungs.length; k++) expect(rungs[k]!.height).toBeGreaterThanOrEqual(rungs[k - 1]!.height);
  });

  it('allows a rung below VMAF 30 only as the floor', () => {
    // Poor at low rates: 21.8 at the 145 kbit/s floor, 30 only at 300 + 600 × 2/12 = 400 kbit/s.
    const poor = upperConvexHull([pt(234, 100, 20), pt(360, 300, 28), pt(540, 900, 40), pt(720, 2_700, 60), pt(1080, 8_100, 80)]);
    const rungs = selectRungs(poor, VMAF_RUNG_RULES);
    expect(rungs[0]!.bitrateBps).toBe(145_000);
    expect(rungs[0]!.predictedQuality).toBeLessThan(30);
    expect(rungs[1]!.bitrateBps).toBe(400_000); // not 1.5 × 145 = 217.5 kbit/s at VMAF 24.7
    for (const r of rungs.slice(1)) expect(r.predictedQuality).toBeGreaterThanOrEqual(30 - 1e-9);
    // Without the rule, the second rung would be one step above the floor, still below VMAF 30.
    const unruled = selectRungs(poor, { ...VMAF_RUNG_RULES, minQualityAboveFloor: undefined })[1]!;
    expect(unruled.bitrateBps).toBeLessThan(400_000);
    expect(unruled.predictedQuality).toBeLessThan(30);
  });

  // A hull rising 10 VMAF points per doubling from 50 at 100 kbit/s: q(b) is piecewise linear
  // between these points, so every expected rung can be worked out by hand.
  const hull = [pt(234, 100, 50), pt(360, 200, 60), pt(540, 400, 70), pt(720, 800, 80), pt(1080, 1600, 90), pt(1080, 3200, 100)];

  it('starts at the floor, steps by one JND within 1.5x-2x, stops at saturation', () => {
    const rungs = selectRungs(hull, VMAF_RUNG_RULES);
    // floor 145k: q = 50 + 10*(45/100) = 54.5; +6 -> 60.5 at 200 + 200*0.05 = 210k, but the
    // least step is 1.5x -> 217.5k; then q(217.5k) = 60.875, +6 = 66.875 -> 200+200*0.6875 = 337.5k
    // (1.55x) ...; saturation 95 is reached at 1600 + 1600*0.5 = 2400k.
    // 145k sits nearer (in log rate) to the 360p point at 200k than to the 234p point at 100k.
    expect(rungs[0]).toMatchObject({ height: 360, bitrateBps: 145_000 });
    expect(rungs[0]!.predictedQuality).toBeCloseTo(54.5, 6);
    expect(rungs[1]!.bitrateBps).toBe(217_500);
    expect(rungs[2]!.bitrateBps).toBe(337_500);
    expect(rungs[rungs.length - 1]!.bitrateBps).toBe(2_400_000);
    expect(rungs[rungs.length - 1]!.predictedQuality).toBeCloseTo(95, 6);
    for (let i = 1; i < rungs.length; i++) {
      const ratio = rungs[i]!.bitrateBps / rungs[i - 1]!.bitrateBps;
      // Every step is 1.5x-2x, except the step to the top rung: at least TOP_MERGE_RATIO (1.2x),
      // and up to 2 x 1.2 when the top replaced a rung within 1.2x of it.
      expect(ratio).toBeGreaterThanOrEqual((i === rungs.length - 1 ? 1.2 : 1.5) - 1e-9);
      expect(ratio).toBeLessThanOrEqual((i === rungs.length - 1 ? 2.4 : 2) + 1e-9);
      expect(rungs[i]!.height).toBeGreaterThanOrEqual(rungs[i - 1]!.height);
    }
  });

  it('gives easy content (saturating early) a lower top rung than hard content', () => {
    const easy = [pt(360, 100, 80), pt(720, 400, 96)];
    const hard = [pt(360, 400, 40), pt(720, 1600, 70), pt(1080, 6000, 90)];
    const easyTop = selectRungs(easy, VMAF_RUNG_RULES).at(-1)!;
    const hardTop = selectRungs(hard, VMAF_RUNG_RULES).at(-1)!;
    expect(easyTop.bitrateBps).toBeLessThan(hardTop.bitrateBps);
    expect(selectRungs(easy, VMAF_RUNG_RULES).length).toBeLessThan(selectRungs(hard, VMAF_RUNG_RULES).length);
    // Hard content never saturates: its top is the hull's best point.
    expect(hardTop).toMatchObject({ height: 1080, bitrateBps: 6_000_000 });
  });

  it('stops a hull that flattens between VMAF 93 and 95 within 1 point of its best, not at the cap', () => {
    // A noisy 1080p60 pan: 2x steps above 2.6 Mbit/s add under 1 VMAF point.
    const flat = [pt(540, 150, 72), pt(540, 300, 85), pt(1080, 1300, 90.5), pt(1080, 2600, 92.5), pt(1080, 5200, 93.2), pt(1080, 14_000, 93.7)];
    const flatHull = upperConvexHull(flat);
    // At the 12 Mbit/s cap the hull gives 93.2 + 0.5 × 6.8/8.8 = 93.586; 1 point less is below 93,
    // so the top is where 1080p's own encodes reach 93: 2.6 Mbit/s × 2^(0.5/0.7) in log rate.
    expect(topRungQuality(flatHull, VMAF_RUNG_RULES)).toBe(93);
    const top = selectRungs(flatHull, VMAF_RUNG_RULES, flat).at(-1)!;
    expect(top.height).toBe(1080);
    expect(top.bitrateBps).toBe(Math.round(2_600_000 * 2 ** (0.5 / 0.7)));
    expect(top.predictedQuality).toBeCloseTo(93, 6);
    // Without the rule it climbs to the cap for 0.6 more points.
    const unruled = { ...VMAF_RUNG_RULES, indistinguishableQuality: undefined };
    expect(selectRungs(flatHull, unruled, flat).at(-1)!.bitrateBps).toBe(12_000_000);
    // Best 94.6 at the cap: the top gives up 1 point (93.6), no more.
    const higher = upperConvexHull([...flat.slice(0, 4), pt(1080, 5200, 93.4), pt(1080, 12_000, 94.6)]);
    expect(topRungQuality(higher, VMAF_RUNG_RULES)).toBeCloseTo(93.6, 9);
    // A hull reaching 95 within the cap, or staying below 93 at it, keeps the saturation quality.
    expect(topRungQuality(upperConvexHull([pt(720, 1000, 80), pt(1080, 4000, 96)]), VMAF_RUNG_RULES)).toBe(95);
    expect(topRungQuality(upperConvexHull([pt(720, 1000, 70), pt(1080, 20_000, 94)]), VMAF_RUNG_RULES)).toBe(95);
    expect(topRungQuality(flatHull, PSNR_RUNG_RULES)).toBe(PSNR_RUNG_RULES.saturationQuality);
  });

  it('starts at the hull when the hull starts above the floor, and caps at maxBitrateBps', () => {
    const rungs = selectRungs([pt(720, 1000, 70), pt(1080, 20_000, 94)], VMAF_RUNG_RULES);
    expect(rungs[0]!.bitrateBps).toBe(1_000_000);
    expect(rungs.at(-1)!.bitrateBps).toBe(12_000_000);
  });

  it("between two resolutions' hull points, takes the resolution whose own encodes are better there, with their quality", () => {
    // A 640x360 test pattern's trials (VMAF): 360p falls off a cliff below 252 kbit/s.
    const points = [pt(234, 87, 55.9), pt(234, 103, 72.6), pt(234, 167, 82.5), pt(234, 338, 88.0), pt(360, 215, 73.8), pt(360, 252, 87.8), pt(360, 451, 94.7), pt(360, 783, 97.9)];
    const hull = upperConvexHull(points);
    const rules = { ...VMAF_RUNG_RULES, floorBitrateBps: 145_000 };
    const onHull = selectRungs(hull, rules);
    const judged = selectRungs(hull, rules, points);
    // The hull line put a 360p rung at 217.5 kbit/s, VMAF 85.6 (it measured 78.9, below the 234p rung).
    expect(onHull[1]).toMatchObject({ height: 360, bitrateBps: 217_500 });
    expect(onHull[1]!.predictedQuality).toBeCloseTo(85.6, 0);
    // 234p's own encodes give 84.5 there, 360p's about 75: 234p, and its own quality.
    expect(judged[1]).toMatchObject({ height: 234, bitrateBps: 217_500 });
    expect(judged[1]!.predictedQuality).toBeCloseTo(84.5, 0);
    // Predicted quality rises rung by rung.
    for (let i = 1; i < judged.length; i++) expect(judged[i]!.predictedQuality).toBeGreaterThan(judged[i - 1]!.predictedQuality);
    // The top is where 360p's own encodes reach VMAF 95, in log bitrate between 451 and 783 kbit/s.
    expect(judged.at(-1)).toEqual({ width: 640, height: 360, bitrateBps: Math.round(451_000 * (783 / 451) ** (0.3 / 3.2)), predictedQuality: 95 });
  });

  it("judges a resolution whose trials end below a rung's bitrate by its best trial, not leaving the rung to a worse one", () => {
    // A 1080p60 pan: 540p's trials end at CRF 20 (302 kbit/s, VMAF 85.1); 1080p's own encodes give
    // about 73 at 326 kbit/s. The rung there used to go to 1080p, 12 VMAF below the 540p rung under it.
    const points = [pt(540, 70, 49.5), pt(540, 132, 69.7), pt(540, 302, 85.1), pt(1080, 224, 62.4), pt(1080, 410, 79.4), pt(1080, 1000, 89), pt(1080, 2400, 93)];
    const hull = upperConvexHull(points);
    expect(hull.map((p) => p.height)).toEqual([540, 540, 540, 1080, 1080]);
    const rungs = selectRungs(hull, VMAF_RUNG_RULES, points);
    const at326 = selectRungs(hull, { ...VMAF_RUNG_RULES, floorBitrateBps: 326_000 }, points)[0]!;
    expect(at326).toMatchObject({ height: 540, predictedQuality: 85.1 });
    // No rung predicted below the rung under it.
    for (let i = 1; i < rungs.length; i++) expect(rungs[i]!.predictedQuality).toBeGreaterThanOrEqual(rungs[i - 1]!.predictedQuality);
  });

  it("gives a rung between two resolutions' hull points to a third whose own encodes bracket it, rather than extrapolating past a last trial", () => {
    // A noisy 1080p60 master's trials (VMAF): the hull runs from 540p's last trial (CRF 20, 1,143
    // kbit/s) to 1080p's first (CRF 26, 3,701); 1080p's encodes start above 1,808 kbit/s. The rung
    // there went to 540p at its last trial's 79.1 (its CRF extrapolated to 17: it came out at 1.57×
    // its target bitrate); 720p's own encodes give 81.4 there.
    const points = [pt(540, 343, 63.5), pt(540, 458, 72.6), pt(540, 1143, 79.1), pt(720, 520, 64.7), pt(720, 839, 76.7), pt(720, 2494, 83.3), pt(1080, 1891, 80.1), pt(1080, 3701, 89.1), pt(1080, 6906, 92.0)];
    const hull = upperConvexHull(points);
    expect(hull.map((p) => `${p.height}/${p.bitrateBps / 1000}`)).toEqual(['540/343', '540/458', '720/839', '540/1143', '1080/3701', '1080/6906']);
    const [rung] = selectRungs(hull, { ...VMAF_RUNG_RULES, floorBitrateBps: 1_808_000 }, points);
    expect(rung).toMatchObject({ height: 720, bitrateBps: 1_808_000 });
    expect(rung!.predictedQuality).toBeCloseTo(76.7 + (6.6 * Math.log(1808 / 839)) / Math.log(2494 / 839), 6);
  });

  it('puts the top rung where one resolution\'s own encodes reach saturation, not on the hull line between two', () => {
    // 234p never reaches 45 dB; the hull line from 234p (200k, 43.5) to 720p (500k, 46) crosses 45
    // at 380 kbit/s, where 720p's own encodes give only about 40.9 dB (an easy static picture).
    const points = [pt(234, 100, 40), pt(234, 200, 43.5), pt(234, 300, 44), pt(720, 250, 33), pt(720, 500, 46), pt(720, 1000, 48)];
    const hull = upperConvexHull(points);
    const line = selectRungs(hull, PSNR_RUNG_RULES).at(-1)!;
    expect(line).toMatchObject({ height: 720, bitrateBps: 380_000, predictedQuality: 45 });
    const top = selectRungs(hull, PSNR_RUNG_RULES, points).at(-1)!;
    expect(top).toEqual({ width: 1280, height: 720, bitrateBps: Math.round(250_000 * 2 ** (12 / 13)), predictedQuality: 45 });
    expect(firstEncodeReaching(points, 45)).toMatchObject({ height: 720 });
    expect(firstEncodeReaching(points, 49)).toBeUndefined();
    // A resolution whose first trial already reaches it: that trial (no encode was made below it).
    expect(firstEncodeReaching(points, 39)).toEqual({ width: 416, height: 234, bitrateBps: 100_000, quality: 40 });
  });

  it('returns one rung for a one-point hull and refuses an empty hull', () => {
    expect(selectRungs([pt(360, 300, 90)], VMAF_RUNG_RULES)).toEqual([{ width: 640, height: 360, bitrateBps: 300_000, predictedQuality: 90 }]);
    expect(() => selectRungs([], VMAF_RUNG_RULES)).toThrow(RangeError);
  });

  it('keeps resolutions from going down as bitrate goes up', () => {
    // The hull dips from 540p back to 432p between two points (as real hulls can).
    const wobbly = [pt(234, 50, 20), pt(540, 200, 60), pt(432, 300, 70), pt(720, 1200, 95)];
    const rungs = selectRungs(wobbly, VMAF_RUNG_RULES);
    for (let i = 1; i < rungs.length; i++) expect(rungs[i]!.height).toBeGreaterThanOrEqual(rungs[i - 1]!.height);
  });
});

describe('selectRungs with half-rate variants (a 60 fps title)', () => {
  const at = (height: number, kbps: number, quality: number, frameRate?: number): RdPoint => ({ ...pt(height, kbps, quality), ...(frameRate !== undefined ? { frameRate } : {}) });
  // Half rate wins below about 400 kbit/s, the title's rate above (as the curves of
  // bench/results/half-frame-rate.md cross on noisy motion).
  const points = [
    at(234, 90, 22, 30), at(234, 160, 34, 30), at(234, 280, 44, 30),
    at(234, 140, 20), at(234, 250, 33), at(234, 420, 45),
    at(360, 200, 36, 30), at(360, 360, 50, 30), at(360, 640, 58, 30),
    at(360, 380, 50), at(360, 700, 66), at(360, 1300, 78),
    at(720, 1200, 74), at(720, 2400, 88), at(720, 4800, 96),
  ];

  it('gives the low rungs the half rate where its own encodes win, the title rate above, never half after full', () => {
    const hull = upperConvexHull(points);
    expect(hull.some((p) => p.frameRate === 30)).toBe(true);
    const rungs = selectRungs(hull, VMAF_RUNG_RULES, points);
    expect(rungs[0]).toMatchObject({ height: 234, frameRate: 30 });
    expect(rungs.at(-1)).toMatchObject({ height: 720 });
    expect(rungs.at(-1)!.frameRate).toBeUndefined();
    const firstFull = rungs.findIndex((r) => r.frameRate === undefined);
    expect(firstFull).toBeGreaterThan(0);
    expect(rungs.slice(firstFull).every((r) => r.frameRate === undefined)).toBe(true);
    // The floor at 145 kbit/s lies between two 234p@30 points (VMAF 22 at 90, 34 at 160): their
    // line, not 234p@60's curve (VMAF 20 at 140).
    expect(rungs[0]!.bitrateBps).toBe(145_000);
    expect(rungs[0]!.predictedQuality).toBeCloseTo(22 + (12 * 55) / 70, 5);
  });

  it('keeps the frame rate from going down as bitrate goes up', () => {
    // A hull that wanders back to a half-rate point above a full-rate one.
    const wobbly = [at(234, 145, 30), at(360, 300, 55, 30), at(720, 1500, 95)];
    const rungs = selectRungs(wobbly, VMAF_RUNG_RULES);
    expect(rungs[0]!.frameRate).toBeUndefined();
    expect(rungs.every((r) => r.frameRate === undefined)).toBe(true);
  });

  it('reads a half-rate rung\'s CRF off its own trials only', () => {
    const trial = (height: number, crf: number, bitrateBps: number, frameRate?: number) => ({ width: (height * 16) / 9, height, crf, bitrateBps, quality: 0, ...(frameRate ? { frameRate } : {}) });
    const trials = [trial(360, 38, 200_000), trial(360, 32, 400_000), trial(360, 38, 120_000, 30), trial(360, 32, 240_000, 30)];
    expect(crfForBitrate(trials, { width: 640, height: 360 }, 200_000)).toBe(38);
    expect(crfForBitrate(trials, { width: 640, height: 360, frameRate: 30 }, 240_000)).toBe(32);
    expect(crfForBitrate(trials, { width: 640, height: 360, frameRate: 25 }, 240_000)).toBeUndefined();
  });
});

describe('candidateResolutions', () => {
  it('fits the boxes to the aspect ratio, never upscales, and adds the source size when no box comes near it', () => {
    expect(candidateResolutions({ displayWidth: 1280, displayHeight: 720 }).map((r) => `${r.width}x${r.height}`)).toEqual(['1280x720', '960x540', '768x432', '640x360', '416x234']);
    // 2.4:1 800x332: the 768-wide box comes within 10% of the source, so the source itself is not tried.
    expect(candidateResolutions({ displayWidth: 800, displayHeight: 332 }).map((r) => `${r.width}x${r.height}`)).toEqual(['768x318', '640x266', '416x172']);
    // 4:3 640x480: the largest fitting box gives 576x432, 10% short of the source: 640x480 is tried too.
    expect(candidateResolutions({ displayWidth: 640, displayHeight: 480 }).map((r) => `${r.width}x${r.height}`)).toEqual(['640x480', '576x432', '480x360', '312x234']);
    // Smaller than every box: the source alone.
    expect(candidateResolutions({ displayWidth: 320, displayHeight: 180 })).toEqual([{ width: 320, height: 180 }]);
  });

  it('never goes above the largest box (H.264 level 4.2, as the fixed ladder): a 4K or 1440p master tops out at 1080p', () => {
    expect(candidateResolutions({ displayWidth: 3840, displayHeight: 2160 }).map((r) => `${r.width}x${r.height}`)).toEqual(['1920x1080', '1280x720', '960x540', '768x432', '640x360', '416x234']);
    expect(candidateResolutions({ displayWidth: 2560, displayHeight: 1440 })[0]).toEqual({ width: 1920, height: 1080 });
    expect(candidateResolutions({ displayWidth: 2160, displayHeight: 3840 })[0]).toEqual({ width: 1080, height: 1920 });
  });

  it('turns the boxes for a portrait source: a 1080x1920 phone recording is tried at the landscape sizes turned, up to its own', () => {
    expect(candidateResolutions({ displayWidth: 1080, displayHeight: 1920 }).map((r) => `${r.width}x${r.height}`)).toEqual(['1080x1920', '720x1280', '540x960', '432x768', '360x640', '234x416']);
    // 3:4 portrait: 480x640 fits the turned 360x640 box as 360x480 … and is tried itself.
    expect(candidateResolutions({ displayWidth: 480, displayHeight: 640 }).map((r) => `${r.width}x${r.height}`)).toEqual(['480x640', '432x576', '360x480', '234x312']);
    // Square: the boxes as they are.
    expect(candidateResolutions({ displayWidth: 720, displayHeight: 720 }).map((r) => `${r.width}x${r.height}`)).toEqual(['720x720', '540x540', '432x432', '360x360', '234x234']);
  });
});

describe('crfForBitrate (capped-CRF final encodes)', () => {
  const trial = (height: number, crf: number, bitrateBps: number) => ({ width: (height * 16) / 9, height, crf, bitrateBps, quality: 0, psnrDb: 0, ssim: 0 });
  const points = [trial(360, 38, 200_000), trial(360, 32, 400_000), trial(360, 26, 800_000), trial(720, 32, 1_500_000)];

  it('interpolates CRF in log bitrate between the trials of the rung resolution that bracket it', () => {
    const at = (b: number) => crfForBitrate(points, { width: 640, height: 360 }, b);
    expect(at(400_000)).toBe(32);
    // √2 × 400k is halfway between 400k and 800k in log bitrate: CRF halfway between 32 and 26.
    expect(at(Math.SQRT2 * 400_000)).toBe(29);
    // Beyond the trials, extrapolated along the nearest two (never held: two rungs would share a
    // CRF, encode identically and hls.js would merge their variants): half of 200k → CRF 38 + 6.
    expect(at(100_000)).toBe(44);
    expect(at(2_000_000)).toBe(18.1); // 2.5 × 800k: 26 − 6·log2(2.5)
    expect(at(150_000)).not.toBe(at(100_000));
    expect(at(1)).toBe(51); // within x264's range
    expect(crfForBitrate(points, { width: 1280, height: 720 }, 10_000_000)).toBe(32); // one trial: its CRF
    expect(crfForBitrate(points, { width: 1920, height: 1080 }, 1_000_000)).toBeUndefined();
  });
});
