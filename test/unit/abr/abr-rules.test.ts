/**
 * The ABR rules against hand-computed decisions, and the session simulator against
 * hand-computed sessions (a constant link; a rate drop under a rule that never switches).
 */
import { describe, expect, it } from 'vitest';
import { BOLA_UP_SWITCH_DWELL_S, BolaRule, bolaMaximumBufferS, bolaMinimumBufferS, bolaParameters, DynamicRule, EwmaThroughputEstimator, HlsJsDefaultModel, insufficientBufferLevel, ThroughputRule, type AbrContext, type AbrRule } from '../../../src/abr/abr-rules.js';
import { bufferLimitS, HLSJS_MAX_BUFFER_SIZE_BYTES, simulateSession, type SimTitle } from '../../../src/abr/abr-sim.js';
import { parseThroughputTrace, RateProfile } from '../../../src/edge-cache/shaping.js';

const LADDER = [500_000, 1_000_000, 2_000_000, 4_000_000];
const ctx = (over: Partial<AbrContext>): AbrContext => ({ bitratesBps: LADDER, bufferS: 0, throughputBps: undefined, lastLevel: undefined, bufferTargetS: 30, ...over });

describe('ABR rules', () => {
  it('throughput: the highest level within 0.9 × the estimate', () => {
    const r = new ThroughputRule();
    expect(r.choose(ctx({ throughputBps: 2_100_000 })).level).toBe(1); // 1.89 Mbit/s budget
    expect(r.choose(ctx({ throughputBps: 2_300_000 })).level).toBe(2); // 2.07
    expect(r.choose(ctx({ throughputBps: 100_000 })).level).toBe(0);
  });

  it('BOLA: V and γ from the ladder and target, levels by buffer thresholds worked out by hand', () => {
    // u = 1 + ln(b/b₀) = 1, 1 + ln 2, 1 + ln 4, 1 + ln 8; target max(30, 10 + 2·4) = 30 s;
    // γ = ln 8 / (30/10 − 1) = 1.0397, V = 10/γ = 9.618: numerators 10 + 6.667·i − Q over b_i
    // (Mbit/s) cross at Q = 3.33 (0→1), 10 (1→2) and 16.67 (2→3).
    const { gp, vp } = bolaParameters(LADDER, 30);
    expect(gp).toBeCloseTo(Math.log(8) / 2, 10);
    expect(vp).toBeCloseTo(10 / gp, 10);
    const bola = new BolaRule();
    expect([2, 5, 12, 20].map((q) => bola.choose(ctx({ bufferS: q })).level)).toEqual([0, 1, 2, 3]);
    // Up-switch guard: not past both the current level and what the throughput sustains (no
    // safety factor) until the level has been held BOLA_UP_SWITCH_DWELL_S.
    expect(bola.choose(ctx({ bufferS: 20, lastLevel: 1, throughputBps: 1_200_000 })).level).toBe(1);
    expect(bola.choose(ctx({ bufferS: 20, lastLevel: 1, throughputBps: 2_500_000 })).level).toBe(2);
  });

  it('BOLA up-switch guard: after holding a level for the dwell time, one level above what the throughput sustains', () => {
    const bola = new BolaRule();
    // Buffer 20 s: BOLA alone wants level 3; the throughput (1.2 Mbit/s) sustains level 1.
    const at = () => bola.choose(ctx({ bufferS: 20, lastLevel: 1, throughputBps: 1_200_000, segmentDurationS: 4 })).level;
    const held = Array.from({ length: BOLA_UP_SWITCH_DWELL_S / 4 }, at);
    expect(held).toEqual(Array(BOLA_UP_SWITCH_DWELL_S / 4).fill(1));
    expect(at()).toBe(2); // one level above, not BOLA's 3
    expect(at()).toBe(1); // the dwell starts again after the switch (its lastLevel is still 1 here)
  });

  it('insufficient-buffer rule: no segment that takes more than safety × buffer to download', () => {
    // 5 s of buffer at 1.2 Mbit/s: 0.9 × 5 × 1.2 = 5.4 Mbit; 4 s segments of level 1 are 4 Mbit, of level 2 8 Mbit.
    expect(insufficientBufferLevel(ctx({ bufferS: 5, throughputBps: 1_200_000, segmentDurationS: 4 }), 3, 0.9)).toBe(1);
    // Safety 0.5: 3 Mbit, only level 0 (2 Mbit) fits.
    expect(insufficientBufferLevel(ctx({ bufferS: 5, throughputBps: 1_200_000, segmentDurationS: 4 }), 3, 0.5)).toBe(0);
    // The throughput rule applies it once playing: 2.3 Mbit/s affords level 2, 2 s of buffer only level 1 (0.9 × 2 × 2.3 = 4.14 Mbit).
    expect(new ThroughputRule().choose(ctx({ bufferS: 2, lastLevel: 2, throughputBps: 2_300_000, segmentDurationS: 4 })).level).toBe(1);
    expect(new ThroughputRule().choose(ctx({ bufferS: 0, throughputBps: 2_300_000, segmentDurationS: 4 })).level).toBe(2); // start-up
  });

  it('BOLA-E placeholder: the buffer thresholds by hand, BOLA keeping the level it is handed, grown by waiting, trimmed to the band, dropped on a stall', () => {
    const params = bolaParameters(LADDER, 30);
    // The crossings worked out above: 3.33 s for level 1, 10 s for level 2, 16.67 s for level 3;
    // level m's band ends where its numerator reaches zero: 10 + 6.667·m s.
    expect([0, 1, 2, 3].map((m) => bolaMinimumBufferS(LADDER, params, m))).toEqual([0, expect.closeTo(10 / 3, 6), expect.closeTo(10, 6), expect.closeTo(50 / 3, 6)]);
    expect([0, 1, 2, 3].map((m) => bolaMaximumBufferS(params, m))).toEqual([10, 50 / 3, 70 / 3, 30].map((x) => expect.closeTo(x, 6)));
    const bola = new BolaRule();
    bola.seedPlaceholder(ctx({ bufferS: 5 }), 2);
    expect(bola.placeholderBufferS).toBeCloseTo(5, 6);
    expect(bola.choose(ctx({ bufferS: 5, lastLevel: 2, throughputBps: 3_000_000 })).level).toBe(2); // 5 s alone: level 1
    // The player waited 8 s with a full buffer: 12 s real + 5 + 8 placeholder = 25 s, level 3's band;
    // the throughput (5 Mbit/s) sustains it.
    expect(bola.choose(ctx({ bufferS: 12, lastLevel: 2, throughputBps: 5_000_000, idleS: 8 })).level).toBe(3);
    // A slow link: the guard keeps level 1 at 20 s of buffer, so the placeholder is trimmed to the
    // top of level 1's band (16.67 s), here all of it.
    const slow = new BolaRule();
    slow.seedPlaceholder(ctx({ bufferS: 5 }), 3);
    expect(slow.choose(ctx({ bufferS: 20, lastLevel: 1, throughputBps: 1_200_000 })).level).toBe(1);
    expect(slow.placeholderBufferS).toBe(0);
    bola.seedPlaceholder(ctx({ bufferS: 5 }), 3);
    expect(bola.choose(ctx({ bufferS: 0, lastLevel: 3, throughputBps: 9_000_000 })).level).toBe(0); // a stall: real buffer only
    expect(bola.placeholderBufferS).toBe(0);
    // On its own, BOLA seeds from the throughput rule's first choice (dash.js start-up).
    expect(new BolaRule().choose(ctx({ bufferS: 0, throughputBps: 2_300_000 })).level).toBe(2);
  });

  it('DYNAMIC hands BOLA the level the throughput rule was playing', () => {
    const d = new DynamicRule();
    expect(d.choose(ctx({ bufferS: 8, throughputBps: 5_000_000 })).level).toBe(3);
    // At 12 s BOLA alone would pick level 2; with the placeholder it keeps level 3.
    expect(d.choose(ctx({ bufferS: 12, lastLevel: 3, throughputBps: 5_000_000 }))).toEqual({ level: 3, rule: 'bola' });
  });

  it("DYNAMIC: throughput until the buffer reaches dash.js's stable buffer time (12 s), BOLA until it falls below half", () => {
    const d = new DynamicRule();
    const at = (bufferS: number) => d.choose(ctx({ bufferS, throughputBps: 3_000_000 })).rule;
    expect([8, 12, 8, 6.5, 5.9, 10, 12].map(at)).toEqual(['throughput', 'bola', 'bola', 'bola', 'throughput', 'throughput', 'bola']);
    // A buffer target under 12 s is the threshold itself.
    const short = new DynamicRule();
    expect([7, 8, 3.9].map((bufferS) => short.choose(ctx({ bufferS, bufferTargetS: 8, throughputBps: 3_000_000 })).rule)).toEqual(['throughput', 'bola', 'throughput']);
  });

  it('hls.js model: 0.95 × the estimate to stay or go down, 0.7 × to go up; peak bitrates until two segments are buffered', () => {
    const h = new HlsJsDefaultModel();
    expect(h.choose(ctx({ throughputBps: 2_100_000, lastLevel: 1 })).level).toBe(1); // 2 Mbit/s > 0.7 × 2.1
    expect(h.choose(ctx({ throughputBps: 2_100_000, lastLevel: 2 })).level).toBe(1); // 2 > 0.95 × 2.1
    expect(h.choose(ctx({ throughputBps: 3_000_000, lastLevel: 1 })).level).toBe(2); // 2 ≤ 0.7 × 3
    // Peaks 1.5 × the averages: level 2's peak 3 Mbit/s > 0.95 × 2.2 with 4 s buffered; its average 2 ≤ 2.09 with 8 s.
    const peaks = LADDER.map((b) => 1.5 * b);
    expect(h.choose(ctx({ throughputBps: 2_200_000, lastLevel: 2, bufferS: 4, segmentDurationS: 4, peakBitratesBps: peaks })).level).toBe(1);
    expect(h.choose(ctx({ throughputBps: 2_200_000, lastLevel: 2, bufferS: 8, segmentDurationS: 4, peakBitratesBps: peaks })).level).toBe(2);
  });

  it('estimates throughput as the smaller of a fast and a slow EWMA, bias-corrected', () => {
    const e = new EwmaThroughputEstimator();
    expect(e.estimateBps()).toBeUndefined();
    e.sample(1, 1_000_000); // 8 Mbit/s
    expect(e.estimateBps()).toBeCloseTo(8_000_000, 0);
    e.sample(1, 125_000); // 1 Mbit/s: the fast average falls more
    const est = e.estimateBps()!;
    expect(est).toBeLessThan(8_000_000);
    expect(est).toBeGreaterThan(1_000_000);
  });
});

/** A title whose segments are exactly bitrate × 4 s. */
const title = (bitrates: number[], segments = 10): SimTitle => ({
  name: 'synthetic',
  bitratesBps: bitrates,
  segmentDurationsS: Array(segments).fill(4),
  segmentBytes: bitrates.map((b) => Array(segments).fill((b * 4) / 8)),
  audioSegmentBytes: [],
});
const fixedLevel = (level: number): AbrRule => ({ name: 'throughput', choose: () => ({ level, rule: 'fixed' }), reset: () => {} });

describe('ABR session simulator', () => {
  it('on a constant 10 Mbit/s link: no stall, and the throughput rule settles on the top level', () => {
    const r = simulateSession(title(LADDER), RateProfile.fixed(10_000_000), new ThroughputRule(), { sessionS: 120, latencyS: 0 });
    expect(r.stalls).toBe(0);
    expect(r.levels.slice(-10)).toEqual(Array(10).fill(3));
    expect(r.startupS).toBeGreaterThan(0);
  });

  it("the hls.js model measures its video loads alone, the page's rules the link", () => {
    // Audio as heavy as the video: the video's own throughput is half the link's.
    const t: SimTitle = { ...title([1_000_000, 2_000_000, 4_000_000]), audioSegmentBytes: Array(10).fill((1_000_000 * 4) / 8) };
    const link = RateProfile.fixed(6_000_000);
    const seen = (rule: AbrRule) => {
      const estimates: (number | undefined)[] = [];
      const spy: AbrRule = { name: rule.name, ...(rule.throughputSample ? { throughputSample: rule.throughputSample } : {}), reset: () => rule.reset(), choose: (ctx) => (estimates.push(ctx.throughputBps), rule.choose(ctx)) };
      simulateSession(t, link, spy, { sessionS: 40, latencyS: 0 });
      return estimates.at(-1)!;
    };
    expect(seen(new ThroughputRule())).toBeCloseTo(6_000_000, -3); // video and audio bytes over their time: the link
    const hlsjs = seen(new HlsJsDefaultModel());
    expect(hlsjs).toBeLessThan(4_500_000); // the video's share only
    expect(hlsjs).toBeGreaterThan(2_000_000);
  });

  it("hls.js's buffer limit: below 16 Mbit/s its 60 MB maxBufferSize lets it fill to maxMaxBufferLength, not the target", () => {
    expect(bufferLimitS(30, 2_000_000, undefined)).toBe(30);
    expect(bufferLimitS(30, 2_000_000, { maxMaxBufferS: 60, maxBufferSizeBytes: HLSJS_MAX_BUFFER_SIZE_BYTES })).toBe(60); // 480 Mbit / 2 Mbit/s = 240 s, capped
    expect(bufferLimitS(30, 12_000_000, { maxMaxBufferS: 60, maxBufferSizeBytes: HLSJS_MAX_BUFFER_SIZE_BYTES })).toBe(40); // 480 / 12 = 40 s
    expect(bufferLimitS(30, 32_000_000, { maxMaxBufferS: 60, maxBufferSizeBytes: HLSJS_MAX_BUFFER_SIZE_BYTES })).toBe(30); // 15 s: the target holds
    // In a session on a fast link the player stops loading at the limit, not at the target: the
    // time spent waiting with a full buffer shows how far ahead it stayed.
    const waited = (hlsBufferLimit?: { maxMaxBufferS: number; maxBufferSizeBytes: number }) => {
      const idle: number[] = [];
      const spy: AbrRule = { name: 'throughput', reset: () => {}, choose: (ctx) => (idle.push(ctx.idleS ?? 0), { level: 0, rule: 'fixed' }) };
      simulateSession(title([2_000_000]), RateProfile.fixed(80_000_000), spy, { sessionS: 200, latencyS: 0, ...(hlsBufferLimit ? { hlsBufferLimit } : {}) });
      return idle.findIndex((s) => s > 0); // segments loaded before the first wait
    };
    expect(waited()).toBe(8); // 8 × 4 s = 32 s > 30
    expect(waited({ maxMaxBufferS: 60, maxBufferSizeBytes: HLSJS_MAX_BUFFER_SIZE_BYTES })).toBe(16); // 64 s > 60
  });

  it("the hls.js model's samples leave out the time to first byte, as hls.js does; the page's rules count the whole load", () => {
    // 1 s of latency before each 1 s transfer: the link looks half as fast over the whole load.
    const last = (rule: AbrRule) => {
      const estimates: (number | undefined)[] = [];
      const spy: AbrRule = { name: rule.name, ...(rule.throughputSample ? { throughputSample: rule.throughputSample } : {}), reset: () => rule.reset(), choose: (ctx) => (estimates.push(ctx.throughputBps), rule.choose(ctx)) };
      simulateSession(title([8_000_000]), RateProfile.fixed(32_000_000), spy, { sessionS: 40, latencyS: 1 });
      return estimates.at(-1)!;
    };
    expect(last(new HlsJsDefaultModel())).toBeCloseTo(32_000_000, -5);
    expect(last(new ThroughputRule())).toBeCloseTo(16_000_000, -5);
  });

  it('a rate drop under a rule that never switches: stalls of the length worked out by hand', () => {
    // One 2 Mbit/s level, 4 s segments of 8 Mbit; 8 Mbit/s for 10 s, then 1 Mbit/s.
    // Segments 0–9 take 1 s each (start-up after the first: 1 s); the buffer reaches 31 s, over
    // the 30 s target, so the player waits to t = 11 s; from then each segment takes 8 s and
    // adds 4: after segments 10–15 the buffer is 26, 22, 18, 14, 10, 6; segment 16 stalls 2 s,
    // 17, 18 and 19 stall 4 s each.
    const link = RateProfile.fromTrace(parseThroughputTrace('drop', '0\t8\n10\t1\n1000\t1\n'));
    const r = simulateSession(title([2_000_000]), link, fixedLevel(0), { sessionS: 80, latencyS: 0, bufferTargetS: 30 });
    expect(r.segments).toBe(20);
    expect(r.startupS).toBeCloseTo(1, 9);
    expect(r.stalls).toBe(4);
    expect(r.stallS).toBeCloseTo(14, 9);
    expect(r.rebufferRatio).toBeCloseTo(14 / 94, 9);
    // QoE_lin: 20 segments at 2 Mbit/s, minus 4.3 × 14 s of stalls, no switches.
    expect(r.qoePerSegment * 20).toBeCloseTo(20 * 2 - 4.3 * 14, 9);
  });

  it('a session whose first segment is requested later in the trace meets the trace from there', () => {
    // 8 Mbit/s for 2 s, then 1 Mbit/s. One 2 Mbit/s level, 8 Mbit segments. From t = 0 the first
    // segment takes 1 s; from t = 3 s (startS), at 1 Mbit/s, it takes 8 s: startup 8 s, counted
    // from the request.
    const link = RateProfile.fromTrace(parseThroughputTrace('step', '0\t8\n2\t1\n1000\t1\n'));
    const at = (startS: number) => simulateSession(title([2_000_000]), link, fixedLevel(0), { sessionS: 4, latencyS: 0, startS });
    expect(at(0).startupS).toBeCloseTo(1, 9);
    expect(at(3).startupS).toBeCloseTo(8, 9);
    expect(() => at(-1)).toThrow(RangeError);
  });
});
