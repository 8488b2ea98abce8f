/**
 * The per-title analysis's plan and conclusion as pure functions (no ffmpeg): which trial groups
 * a source gets, and how the ladder and its CRFs follow from hand-made group results.
 */
import { describe, expect, it } from 'vitest';
import type { ProbeResult } from '../../../src/encoder/media-info.js';
import { rungFrameSample, rungReferenceSpec, RUNG_QUALITY_MAX_FRAMES } from '../../../src/encoder/measure-stage.js';
import { qualityMeasurementSize, strideCoprimeWith } from '../../../src/encoder/quality-metrics.js';
import { planAnalysis, QUALITY_EXTENSION_CRFS, trialVmafSubsample } from '../../../src/encoder/per-title.js';
import { concludeAnalysis, crfForBitrate, rungMaxrate } from '../../../src/encoder/per-title-ladder.js';
import { VMAF_RUNG_RULES } from '../../../src/encoder/rung-rules.js';
import { rungVbv } from '../../../src/encoder/rendition.js';
import { MIN_SAMPLE_WINDOWS, representativeStartS, sampleGraph, samplePlacement, sampleWindows } from '../../../src/encoder/per-title-sample.js';
import { ladderRungOf, MAX_OUTPUT_FRAME_RATE, MIN_OUTPUT_FRAME_RATE, outputFrameRate, type EncodePlan } from '../../../src/encoder/title-stages.js';
import { ivtcFilter, masterPictureFilter, masterPictureOf } from '../../../src/encoder/media-info.js';
import { frameCadence, isTelecinePattern, parseRepeatedFields } from '../../../src/encoder/master-check.js';
import type { TrialGroupResult, TrialPoint } from '../../../src/encoder/per-title-trials.js';

const probe = (width: number, height: number, durationS = 60): ProbeResult => ({
  durationS,
  formatName: 'mov,mp4',
  sizeBytes: 1,
  video: { codecName: 'h264', width, height, displayWidth: width, displayHeight: height, frameRate: 60, pixelFormat: 'yuv420p', rotationDeg: 0 },
  audio: undefined,
  audioStreams: [],
  subtitleStreams: [],
});

describe('frameCadence of a variable-frame-rate stream', () => {
  const times = (n: number, rate: number, keep: (k: number) => boolean = () => true) => Array.from({ length: n }, (_, k) => k / rate).filter((_, k) => keep(k));
  it('is the rate of the usual frame interval, snapped to the nearest standard rate', () => {
    // 30 fps with one frame in seven dropped (average 25.7): 30, not the 29.97 also within 1%.
    expect(frameCadence(times(300, 30, (k) => k % 7 !== 3))).toBe(30);
    // 29.97 in a millisecond timebase (33 and 34 ms intervals), packets in decode order.
    const ms = times(300, 30000 / 1001).map((t) => Math.round(t * 1000) / 1000);
    expect(frameCadence([...ms.slice(1, 4).reverse(), ms[0]!, ...ms.slice(4)])).toBe(30000 / 1001);
    // Long stills between moving stretches are left out of the mean.
    expect(frameCadence([...times(60, 30), 5, 6, 7, ...times(60, 30).map((t) => t + 8)])).toBe(30);
    // A rate that is no standard one, to 3 decimals; too few frames to tell.
    expect(frameCadence(times(100, 14.2))).toBe(14.2);
    expect(frameCadence(times(10, 30))).toBeUndefined();
    expect(frameCadence([0, Number.NaN, 0.1])).toBeUndefined();
  });
});

describe('sampleWindows', () => {
  it('starts every window on the master\'s frame grid, just before the frame (ffmpeg reads -ss in microseconds)', () => {
    // 70.03 s at 24000/1001 fps: the centred starts (8.2525 s, ...) fall between frames.
    const rate = 24000 / 1001;
    const windows = sampleWindows(70.03, 4, 0.2, 10, rate);
    expect(windows).toHaveLength(4);
    for (const w of windows) {
      const frames = w.startS * rate;
      expect(Math.ceil(frames) - frames).toBeGreaterThan(0); // just before a frame...
      expect(Math.ceil(frames) - frames).toBeLessThan(1e-4); // ...by about a microsecond
      expect(Number(w.startS.toFixed(6))).toBeLessThan(Math.ceil(frames) / rate); // printed, still not past it
    }
    // Without a frame rate, the centred starts to the millisecond; a window at 0 stays at 0.
    expect(sampleWindows(70.03, 4, 0.2, 10).map((w) => w.startS)).toEqual([6.754, 24.261, 41.769, 59.276]);
    expect(sampleWindows(4, 4, 0.2, 10, rate)).toEqual([{ startS: 0, durationS: 4 }]);
  });

  it('cuts a short title\'s few windows into MIN_SAMPLE_WINDOWS shorter ones, one per share of the title, whole frames long', () => {
    // 12 s: one 4 s window by the 20% rule (4–8 s, the middle scene of three) → three of 32 frames, one per 4 s.
    const short = sampleWindows(12, 4, 0.2, 10, 24);
    expect(short.map((w) => [Math.round(w.startS * 24), w.durationS * 24])).toEqual([[32, 32], [128, 32], [224, 32]]);
    expect(short.reduce((t, w) => t + w.durationS, 0)).toBeCloseTo(4, 9); // the same seconds as the one window
    // 30.16 s at 12.5 fps: two 4 s windows → three of 33 frames (2.64 s), not 33.3.
    expect(sampleWindows(30.16, 4, 0.2, 10, 12.5).map((w) => w.durationS)).toEqual([2.64, 2.64, 2.64]);
    // Never shorter than MIN_SAMPLE_WINDOW_S: a 2 s window of a 5 s title is cut in two.
    expect(sampleWindows(5, 2, 0.2, 10, 25).map((w) => w.durationS)).toEqual([1, 1]);
    // Enough windows already (70 s: four 4 s), or minWindows 1: as before.
    expect(sampleWindows(70.03, 4, 0.2, 10).map((w) => w.durationS)).toEqual([4, 4, 4, 4]);
    expect(sampleWindows(12, 4, 0.2, 10, 24, 1)).toEqual([{ startS: 3.999999, durationS: 4 }]);
    expect(MIN_SAMPLE_WINDOWS).toBe(3);
  });
});

describe('representativeStartS', () => {
  const profile = (...sizes: number[][]) => ({ frameRate: 1, frameBits: sizes });
  it('keeps the centre of an even stratum, and moves off it only for a clearly closer window', () => {
    expect(representativeStartS(profile(Array(20).fill(100)), 0, 20, 4, 8)).toBe(8);
    // Within REPRESENTATIVE_TOLERANCE of the best (1% off): still the centre.
    const nearlyEven = Array.from({ length: 20 }, (_, i) => (i >= 8 && i < 12 ? 101 : 100));
    expect(representativeStartS(profile(nearlyEven), 0, 20, 4, 8)).toBe(8);
  });

  it('dodges content that repeats at the windows\' spacing, as a centred (systematic) window does not', () => {
    // Bursts of 8 frames at 1000 bits every 20 frames (frames 6–13 of each 20), quiet (100)
    // between: a stratum's mean is 460, and its centred window (frames 8–11, 28–31) is all burst.
    const bursts = Array.from({ length: 40 }, (_, i) => (i % 20 >= 6 && i % 20 < 14 ? 1000 : 100));
    const meanOf = (start: number) => bursts.slice(start, start + 4).reduce((a, b) => a + b, 0) / 4;
    expect(meanOf(8)).toBe(1000);
    // Placed: half a burst (550, the nearest a 4-frame window comes to 460), in both strata.
    expect(meanOf(representativeStartS(profile(bursts), 0, 20, 4, 8))).toBe(550);
    expect(meanOf(representativeStartS(profile(bursts), 20, 40, 4, 28))).toBe(550);
  });

  it('weighs every scan size: a window right at one size and far off at the other loses to one near at both', () => {
    // Size A: frames 0–9 dear (mean 200; only frames 8–11 match it exactly); size B: frames 8–11
    // very dear (mean 280), so that window is 257% off at B. Frames 5–8 are 50% off at A and 16%
    // at B: the best sum (as frames 11–14; the nearer to the centre given, 0, is taken).
    const a = Array.from({ length: 20 }, (_, i) => (i < 10 ? 300 : 100));
    const b = Array.from({ length: 20 }, (_, i) => (i >= 8 && i < 12 ? 1000 : 100));
    expect(representativeStartS(profile(a), 0, 20, 4, 0)).toBe(8);
    expect(representativeStartS(profile(a, b), 0, 20, 4, 0)).toBe(5);
    // A profile shorter than a window of the stratum: the centre.
    expect(representativeStartS(profile([1, 2]), 0, 20, 4, 8)).toBe(8);
  });

  it('with a profile scanned in spans, tries only windows scanned whole, against the mean of the scanned frames', () => {
    // Scanned: frames 2–7 (cheap, 100) and 12–17 (frames 12–14 at 500, 15–17 at 260); NaN elsewhere.
    // The scanned mean is (6·100 + 3·500 + 3·260) / 12 = 240: frames 14–17 (mean 320) are the
    // nearest whole window; frames 6–9 or 10–13 straddle unscanned frames and are not tried.
    const bits = Array.from({ length: 20 }, (_, i) => (i >= 2 && i < 8 ? 100 : i >= 12 && i < 15 ? 500 : i >= 15 && i < 18 ? 260 : NaN));
    expect(representativeStartS(profile(bits), 0, 20, 4, 8)).toBe(14);
    // The same frames everywhere scanned with what lies between at 240: a window there matches exactly.
    expect(representativeStartS(profile(bits.map((b) => (Number.isNaN(b) ? 240 : b))), 0, 20, 4, 8)).toBe(8);
    // No whole window scanned in the stratum: the centre.
    expect(representativeStartS(profile(bits), 5, 14, 4, 8)).toBe(8);
  });

  it('says how the windows were placed: a whole scan, spans (seconds read), or centred', () => {
    const bits = Array.from({ length: 20 }, (_, i) => (i >= 2 && i < 8 ? 100 : i >= 12 && i < 18 ? 200 : NaN));
    expect(samplePlacement({ frameRate: 4, frameBits: [bits], spans: 2 })).toEqual({ by: 'scan', readS: 3, spans: 2 });
    expect(samplePlacement({ frameRate: 4, frameBits: [bits.map(() => 1)] })).toEqual({ by: 'scan', readS: 5 });
    expect(samplePlacement(undefined)).toEqual({ by: 'centred' });
    expect(samplePlacement(null)).toEqual({ by: 'centred' });
  });
});

describe('the size quality is measured at', () => {
  it('is the display size up to 1920x1080 (turned for portrait), the VMAF v0.6.1 model\'s 1080p display', () => {
    const size = (w: number, h: number) => qualityMeasurementSize({ displayWidth: w, displayHeight: h });
    expect(size(3840, 2160)).toEqual({ width: 1920, height: 1080 });
    expect(size(2160, 3840)).toEqual({ width: 1080, height: 1920 });
    expect(size(4096, 1716)).toEqual({ width: 1920, height: 804 }); // DCI scope: the box's width binds
    expect(size(2560, 1440)).toEqual({ width: 1920, height: 1080 });
    expect(size(1920, 1080)).toEqual({ width: 1920, height: 1080 });
    expect(size(1080, 1920)).toEqual({ width: 1080, height: 1920 });
    expect(size(1280, 720)).toEqual({ width: 1280, height: 720 });
    expect(size(853, 480)).toEqual({ width: 854, height: 480 }); // made even (toEven), never scaled to the box
    // The trials of a 4K master are judged at 1080p; their candidates still come from its own size.
    const uhd = planAnalysis(probe(3840, 2160), 30, { segmentDurationS: 4 });
    expect(uhd.settings.reference).toEqual({ width: 1920, height: 1080 });
    expect(uhd.groups.map((g) => g.trials[0]!.height)[0]).toBe(1080);
    // The published rungs of a 4K master are measured at 1080p too.
    const plan = { titleId: '0000000000000001', masterPath: '/m.mp4', probe: probe(3840, 2160, 10), frameRate: 30 } as unknown as EncodePlan;
    expect(rungReferenceSpec(plan, { vmafModelPath: undefined, frameSample: 1 }, undefined)).toMatchObject({ reference: '/m.mp4', width: 1920, height: 1080, frameRate: 30 });
  });
});

describe('planAnalysis of an interlaced master', () => {
  it('deinterlaces the sample first, as the final encodes do; a progressive master not', () => {
    const interlaced = { ...probe(1920, 1080), video: { ...probe(1920, 1080).video!, frameRate: 25, interlaced: true } };
    const plan = planAnalysis(interlaced, outputFrameRate(interlaced.video), { segmentDurationS: 4 });
    expect(plan.settings.deinterlace).toBe(true);
    expect(plan.settings.frameRate).toBe(50); // a frame per field
    expect(sampleGraph(plan.settings.windows, plan.settings.reference, 50, plan.settings)).toMatch(/^\[0:v:0\]bwdif=mode=send_field:parity=auto:deint=interlaced,setpts/);
    const progressive = planAnalysis(probe(1920, 1080), 60, { segmentDurationS: 4 });
    expect(progressive.settings.deinterlace).toBeUndefined();
    expect(sampleGraph(progressive.settings.windows, progressive.settings.reference, 60, progressive.settings)).not.toMatch(/bwdif/);
  });

  it('tone-maps the sample of an HDR master, as the final encodes do', () => {
    const hdr = { ...probe(1920, 1080), video: { ...probe(1920, 1080).video!, hdr: 'hlg' as const } };
    const plan = planAnalysis(hdr, 30, { segmentDurationS: 4 });
    expect(plan.settings.hdr).toBe('hlg');
    expect(sampleGraph(plan.settings.windows, plan.settings.reference, 30, plan.settings)).toMatch(/^\[0:v:0\]zscale=t=linear.*tonemap=tonemap=mobius/);
    expect(planAnalysis(probe(1920, 1080), 30, { segmentDurationS: 4 }).settings.hdr).toBeUndefined();
  });
});

describe('outputFrameRate', () => {
  it("keeps a progressive master's rate, doubles an interlaced one's (a frame per field), halves above 60, raises below 1, and falls back to 24", () => {
    expect([23.976, 25, 30, 59.94, 60].map((frameRate) => outputFrameRate({ frameRate }))).toEqual([23.976, 25, 30, 59.94, 60]);
    expect(outputFrameRate({ frameRate: 25, interlaced: true })).toBe(50);
    expect(outputFrameRate({ frameRate: 30000 / 1001, interlaced: true })).toBeCloseTo(59.94, 2);
    expect([120, 100, 240, 90].map((frameRate) => outputFrameRate({ frameRate }))).toEqual([60, 50, 60, 45]);
    expect(outputFrameRate({ frameRate: 120000 / 1001 })).toBeCloseTo(59.94, 2);
    for (const frameRate of [0, Number.NaN, 90_000]) expect(outputFrameRate({ frameRate })).toBe(24);
    // A still-image master (a podcast's cover) keeps its own slow rate, never below one frame a second.
    expect([1, 2, 0.5, 0.1].map((frameRate) => outputFrameRate({ frameRate }))).toEqual([1, 2, MIN_OUTPUT_FRAME_RATE, MIN_OUTPUT_FRAME_RATE]);
    for (const frameRate of [23.976, 50, 120, 144, 240, 500]) expect(outputFrameRate({ frameRate })).toBeLessThanOrEqual(MAX_OUTPUT_FRAME_RATE);
    // Telecined film: the film's rate, four fifths of the coded frame rate.
    expect(outputFrameRate({ frameRate: 30000 / 1001, interlaced: true, telecined: true })).toBeCloseTo(24000 / 1001, 6);
  });
});

describe('telecine detection (idet repeated fields)', () => {
  it('reads idet and takes a 3:2 cadence (40% repeated fields) for film; interlaced video, stills and short reads not', () => {
    const idet = (n: number, t: number, b: number) => `[Parsed_idet_0 @ 0x1] Repeated Fields: Neither:   ${n} Top:    ${t} Bottom:    ${b}\n`;
    expect(parseRepeatedFields(idet(108, 36, 36))).toEqual({ neither: 108, top: 36, bottom: 36 });
    expect(parseRepeatedFields('nothing')).toBeUndefined();
    expect(isTelecinePattern(parseRepeatedFields(idet(108, 36, 36)))).toBe(true); // a telecined test pattern
    expect(isTelecinePattern(parseRepeatedFields(idet(150, 0, 0)))).toBe(false); // shot interlaced
    expect(isTelecinePattern(parseRepeatedFields(idet(3, 120, 117)))).toBe(false); // a still: every field repeats
    expect(isTelecinePattern(parseRepeatedFields(idet(30, 10, 10)))).toBe(false); // too few frames to call
    expect(isTelecinePattern(undefined)).toBe(false);
    expect(masterPictureOf({ interlaced: true, telecined: true })).toEqual({ ivtc: true });
    expect(masterPictureFilter({ ivtc: true, deinterlace: true })).toBe(ivtcFilter());
  });
});

describe('trialVmafSubsample', () => {
  it('scores about one frame per second of sample, never fewer than 16 frames per trial before the stride is made coprime with the GOP', () => {
    expect(trialVmafSubsample(24, 4, 96)).toBe(7); // 96 frames: every 6th, 6 divides the GOP → 7
    expect(trialVmafSubsample(30, 12, 120)).toBe(23); // 360 frames: every 22nd (16 scored, not 12) → 23
    expect(trialVmafSubsample(30, 40, 120)).toBe(31); // 1,200 frames: one per second, 30 → 31
    expect(trialVmafSubsample(60, 40, 240)).toBe(61);
    expect(trialVmafSubsample(10, 1, 40)).toBe(1); // fewer than 16 frames: every frame
  });
});

describe('rungFrameSample', () => {
  it('is about one frame per second, coprime with the segment, for titles up to the frame budget', () => {
    expect(rungFrameSample(24, 4)).toBe(25);
    expect(rungFrameSample(30, 4, 60)).toBe(31); // 60 frames scored of a 60 s title
    expect(rungFrameSample(24, 4, 10)).toBe(25);
    expect(rungFrameSample(30, 4, 600)).toBe(31); // 10 minutes: 581 frames, under the budget
  });
  it('stretches the stride so a long title is scored on about RUNG_QUALITY_MAX_FRAMES frames', () => {
    const stride = rungFrameSample(30, 4, 7200); // 2 hours: 216,000 frames
    expect(stride).toBe(361); // ceil(216000 / 600) = 360 shares factors with 120 → 361
    const scored = Math.floor((216_000 - 1 - Math.floor(stride / 2)) / stride) + 1;
    expect(scored).toBeLessThanOrEqual(RUNG_QUALITY_MAX_FRAMES);
    expect(scored).toBeGreaterThan(RUNG_QUALITY_MAX_FRAMES * 0.95);
    expect(rungFrameSample(60, 2, 3 * 3600)).toBe(1081); // 648,000 frames: 1,080 shares factors with 120
  });
});

describe('strideCoprimeWith', () => {
  it('moves a stride to the nearest one sharing no factor with the keyframe interval', () => {
    expect(strideCoprimeWith(24, 96)).toBe(25);
    expect(strideCoprimeWith(25, 100)).toBe(27); // 26 and 24 share a factor of 2
    expect(strideCoprimeWith(13, 50)).toBe(13);
    expect(strideCoprimeWith(30, 1)).toBe(30); // every frame a keyframe: nothing to avoid
    expect(strideCoprimeWith(3, 96)).toBe(3); // below the frame sample's minimum: every frame is compared anyway
  });
});

describe('planAnalysis', () => {
  it('makes one group per candidate resolution with the whole grid, extensions at the ends, the preset probe in the middle', () => {
    const plan = planAnalysis(probe(1920, 1080), 60, { segmentDurationS: 4, vmafModelPath: '/m/vmaf_v0.6.1.pkl', finalPreset: 'medium', includeFixed: true });
    expect(plan.resolutions.map((r) => r.height)).toEqual([1080, 720, 540, 432, 360, 234]);
    const crfGroups = plan.groups.filter((_, i) => i !== plan.fixedGroup && plan.groups[i]!.trials[0]!.frameRate === undefined);
    expect(crfGroups.map((g) => g.trials[0]!.height)).toEqual([1080, 720, 540, 432, 360, 234]);
    for (const g of crfGroups) expect(g.trials.map((t) => t.crf)).toEqual([38, 32, 26, 20]);
    // Its trials capped at the peak of the highest rung the rules allow (the 12 Mbit/s cap: rungMaxrate).
    expect(crfGroups[0]!.extensions).toEqual([expect.objectContaining({ toward: 'quality', crfs: QUALITY_EXTENSION_CRFS, trialMaxrateBps: 12_000_000 })]);
    expect(crfGroups[5]!.extensions).toEqual([expect.objectContaining({ toward: 'floor', crfs: [44, 50] })]);
    expect(crfGroups.slice(1, 5).every((g) => g.extensions!.length === 0)).toBe(true);
    expect(crfGroups.filter((g) => g.presetProbe)).toEqual([crfGroups[3]]);
    expect(crfGroups[3]!.presetProbe).toEqual({ preset: 'medium', crf: 26 });
    expect(plan.groups[plan.fixedGroup!]!.trials.every((t) => t.bitrateBps !== undefined)).toBe(true);
    // A 12 s sample at 60 fps: VMAF on every 45th frame (16 frames scored) → 47 (coprime with the 240-frame GOP), the ladder on VMAF.
    expect(plan.settings).toMatchObject({ metric: 'vmaf', vmafSubsample: 47, gop: 240, trialPreset: 'veryfast' });
    expect(plan.vmafModel).toBe('vmaf_v0.6.1.pkl');
    // The plan is plain data (a flow stores it as JSON).
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it('also trials the resolutions up to 432 lines at half rate for a title of 48 fps or more, and no other', () => {
    const halfRated = (fps: number, options: { halfRate?: boolean } = {}, w = 1920, h = 1080) => {
      const plan = planAnalysis(probe(w, h), fps, { segmentDurationS: 4, vmafModelPath: '/m/vmaf_v0.6.1.pkl', finalPreset: 'medium', ...options });
      return { plan, groups: plan.groups.filter((g) => g.trials.some((t) => t.frameRate !== undefined)) };
    };
    const at60 = halfRated(60);
    expect(at60.plan.halfFrameRate).toBe(30);
    expect(at60.groups.map((g) => g.trials[0]!.height)).toEqual([432, 360, 234]);
    for (const g of at60.groups) {
      // The whole CRF grid at 30 fps, after the title-rate groups; no extension, no preset probe.
      expect(g.trials.map((t) => [t.crf, t.frameRate])).toEqual([[38, 30], [32, 30], [26, 30], [20, 30]]);
      expect(g.extensions).toEqual([]);
      expect(g.presetProbe).toBeUndefined();
    }
    expect(at60.plan.groups.indexOf(at60.groups[0]!)).toBe(6);
    expect(halfRated(50).groups[0]!.trials[0]!.frameRate).toBe(25);
    expect(halfRated(60000 / 1001).plan.halfFrameRate).toBeCloseTo(29.97, 2);
    // A portrait source: the short side decides (432x768 … 234x416).
    expect(halfRated(60, {}, 1080, 1920).groups.map((g) => `${g.trials[0]!.width}x${g.trials[0]!.height}`)).toEqual(['432x768', '360x640', '234x416']);
    for (const fps of [24, 30, 40]) expect(halfRated(fps).groups).toEqual([]);
    expect(halfRated(60, { halfRate: false }).groups).toEqual([]);
    expect(halfRated(60, { halfRate: false }).plan.halfFrameRate).toBeUndefined();
  });

  it('has no preset probe when the final preset is the trial preset, and one group with both extensions for a tiny source', () => {
    expect(planAnalysis(probe(1920, 1080), 60, { segmentDurationS: 4, finalPreset: 'veryfast' }).groups.some((g) => g.presetProbe)).toBe(false);
    const tiny = planAnalysis(probe(320, 180), 25, { segmentDurationS: 4 });
    expect(tiny.groups).toHaveLength(1);
    expect(tiny.groups[0]!.extensions!.map((e) => e.toward)).toEqual(['quality', 'floor']);
    expect(tiny.settings.metric).toBe('psnr');
  });
});

describe('concludeAnalysis', () => {
  const pt = (height: number, crf: number, bitrateBps: number, quality: number): TrialPoint => ({ width: (height * 16) / 9, height, crf, bitrateBps, quality, vmaf: quality });
  const plan = planAnalysis(probe(1280, 720), 24, { segmentDurationS: 4, vmafModelPath: '/m/vmaf.pkl', crfValues: [38, 26], finalPreset: 'medium' });
  const groupResults = (probeRatio?: number): TrialGroupResult[] =>
    plan.groups.map((g) => {
      const h = g.trials[0]!.height;
      const scale = h / 720;
      const points = [pt(h, 38, 300_000 * scale, 40 + 30 * scale), pt(h, 26, 1_200_000 * scale, 60 + 30 * scale)];
      return {
        points,
        sampleFrames: 96,
        encodeS: 1,
        qualityS: 2,
        ...(g.presetProbe && probeRatio ? { presetProbe: { preset: 'medium', width: points[1]!.width, height: h, crf: 26, bitrateBps: points[1]!.bitrateBps * probeRatio, trialBitrateBps: points[1]!.bitrateBps } } : {}),
      };
    });

  it('builds the hull from every group and reads each rung CRF off the trials at bitrate ÷ the preset ratio', () => {
    const plain = concludeAnalysis(plan, groupResults(), 10);
    expect(plain.presetCorrection).toBeUndefined();
    expect(plain.points).toHaveLength(plan.groups.length * 2);
    expect(plain.timings).toEqual({ trialEncodeS: plan.groups.length, trialQualityS: 2 * plan.groups.length, totalS: 10 });
    expect(plain.sample.durationS).toBe(4);
    const corrected = concludeAnalysis(plan, groupResults(1.25), 10);
    expect(corrected.presetCorrection?.ratio).toBeCloseTo(1.25, 10);
    // Same rungs (the hull does not move), higher CRFs: the final preset spends 25% more bits per CRF.
    expect(corrected.rungs.map((r) => [r.width, r.height, r.bitrateBps])).toEqual(plain.rungs.map((r) => [r.width, r.height, r.bitrateBps]));
    for (const [i, r] of corrected.rungs.entries()) {
      expect(r.crf).toBe(crfForBitrate(corrected.points, r, r.bitrateBps / 1.25));
      expect(r.crf!).toBeGreaterThanOrEqual(plain.rungs[i]!.crf!);
    }
    expect(corrected.rungs.some((r, i) => r.crf! > plain.rungs[i]!.crf!)).toBe(true);
  });

  it('refuses results that do not match the plan', () => {
    expect(() => concludeAnalysis(plan, groupResults().slice(1), 1)).toThrow(RangeError);
  });

  it('with codecs h264,hevc: the same groups again for HEVC, and each codec\'s ladder from its own points only', () => {
    const both = planAnalysis(probe(1280, 720), 24, { segmentDurationS: 4, vmafModelPath: '/m/vmaf.pkl', crfValues: [38, 26], finalPreset: 'medium', codecs: ['h264', 'hevc'] });
    expect(both.groups).toHaveLength(2 * plan.groups.length);
    expect(both.groups.slice(0, plan.groups.length)).toEqual(plan.groups);
    expect(both.groups.slice(plan.groups.length)).toEqual(plan.groups.map((g) => ({ codec: 'hevc', ...g })));
    // HEVC trials: 30% fewer bits for the same quality.
    const results: TrialGroupResult[] = both.groups.map((g) => {
      const h = g.trials[0]!.height;
      const scale = h / 720;
      const k = g.codec === 'hevc' ? 0.7 : 1;
      const points = [pt(h, 38, 300_000 * scale * k, 40 + 30 * scale), pt(h, 26, 1_200_000 * scale * k, 60 + 30 * scale)].map((p) => (g.codec === 'hevc' ? { ...p, codec: 'hevc' as const } : p));
      return { points, sampleFrames: 96, encodeS: 1, qualityS: 2 };
    });
    const a = concludeAnalysis(both, results, 10);
    expect(a.points.every((p) => p.codec === undefined)).toBe(true);
    expect(a.points).toEqual(concludeAnalysis(plan, groupResults(), 10).points);
    expect(a.hevc!.points.every((p) => p.codec === 'hevc')).toBe(true);
    expect(a.hevc!.rungs.length).toBeGreaterThan(0);
    expect(a.hevc!.hull.every((p) => p.codec === 'hevc')).toBe(true);
    // The top of each ladder is its hull's highest point: 0.7× the bits for HEVC here.
    expect(Math.max(...a.hevc!.rungs.map((r) => r.bitrateBps))).toBeCloseTo(0.7 * Math.max(...a.rungs.map((r) => r.bitrateBps)), -2);
    expect(concludeAnalysis(plan, groupResults(), 10).hevc).toBeUndefined();
  });
});

describe('rungMaxrate and rungVbv', () => {
  it("peaks a rung within MAXRATE_FACTOR of the ladder's cap at the cap, never below its bitrate, and leaves the others", () => {
    expect(rungMaxrate(6_000_000, VMAF_RUNG_RULES)).toEqual({}); // peak 9 Mbit/s: under the 12 Mbit/s cap
    expect(rungMaxrate(8_100_000, VMAF_RUNG_RULES)).toEqual({ maxrateBps: 12_000_000 });
    expect(rungMaxrate(12_000_000, VMAF_RUNG_RULES)).toEqual({ maxrateBps: 12_000_000 });
    expect(rungMaxrate(13_000_000, VMAF_RUNG_RULES)).toEqual({ maxrateBps: 13_000_000 });
    // The encode gets it with the CRF.
    const top = { width: 1920, height: 1080, bitrateBps: 12_000_000, predictedQuality: 93, crf: 21.3, ...rungMaxrate(12_000_000, VMAF_RUNG_RULES) };
    expect(ladderRungOf(top, 'h264')).toEqual({ width: 1920, height: 1080, bitrateBps: 12_000_000, crf: 21.3, maxrateBps: 12_000_000 });
    expect(ladderRungOf({ ...top, frameRate: 30 }, 'hevc')).toMatchObject({ frameRate: 30, codec: 'hevc', maxrateBps: 12_000_000 });
  });

  it("gives a rung's VBV: 1.5x peak and 2x buffer by default, the buffer in that proportion to a given peak", () => {
    expect(rungVbv({ width: 640, height: 360, bitrateBps: 1_000_000 })).toEqual({ maxrateBps: 1_500_000, bufsizeBps: 2_000_000 });
    expect(rungVbv({ width: 640, height: 360, bitrateBps: 1_000_000, maxrateBps: 1_200_000 })).toEqual({ maxrateBps: 1_200_000, bufsizeBps: 1_600_000 });
  });
});
