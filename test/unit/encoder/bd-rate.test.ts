/**
 * BD-rate (Bjøntegaard delta rate with PCHIP interpolation) on curves with known answers.
 */
import { describe, expect, it } from 'vitest';
import { bdRate, BdRateError, efficientFrontier } from '../../../src/encoder/bd-rate.js';

const curve = [
  { bitrateBps: 200_000, quality: 55 },
  { bitrateBps: 450_000, quality: 70 },
  { bitrateBps: 900_000, quality: 82 },
  { bitrateBps: 1_800_000, quality: 90 },
  { bitrateBps: 3_500_000, quality: 95 },
];

describe('bdRate', () => {
  it('is 0 for identical curves', () => {
    expect(bdRate(curve, curve)).toBeCloseTo(0, 12);
  });

  it('is -20% when the test curve needs 0.8x the bits at every quality', () => {
    const cheaper = curve.map((p) => ({ ...p, bitrateBps: p.bitrateBps * 0.8 }));
    expect(bdRate(curve, cheaper)).toBeCloseTo(-0.2, 10);
    expect(bdRate(cheaper, curve)).toBeCloseTo(0.25, 10);
  });

  it('averages over the overlapping quality range only', () => {
    // log(rate) linear in quality (rate doubles every 10 points): PCHIP reproduces the line
    // from any subset of its points, so a curve and its upper part coincide on the overlap.
    const line = [50, 60, 70, 80, 90].map((q) => ({ bitrateBps: 100_000 * 2 ** ((q - 50) / 10), quality: q }));
    expect(bdRate(line, line.slice(2))).toBeCloseTo(0, 12);
    // A test curve 0.5x cheaper on its upper part only still reads -50% there.
    expect(bdRate(line, line.slice(2).map((p) => ({ ...p, bitrateBps: p.bitrateBps / 2 })))).toBeCloseTo(-0.5, 10);
    // Two-point curves (a straight line in log-rate) work too.
    const two = [curve[0]!, curve[4]!];
    expect(bdRate(two, two.map((p) => ({ ...p, bitrateBps: p.bitrateBps / 2 })))).toBeCloseTo(-0.5, 10);
  });

  it('gives a clear error when the quality ranges do not overlap', () => {
    const low = [{ bitrateBps: 100_000, quality: 30 }, { bitrateBps: 200_000, quality: 40 }];
    const high = [{ bitrateBps: 1_000_000, quality: 80 }, { bitrateBps: 2_000_000, quality: 90 }];
    expect(() => bdRate(low, high)).toThrow(BdRateError);
    expect(() => bdRate(low, high)).toThrow(/do not overlap/);
  });

  it('rejects curves with fewer than two rising points or non-positive bitrates', () => {
    expect(() => bdRate(curve, [curve[0]!])).toThrow(/at least two points/);
    expect(() => bdRate(curve, [{ bitrateBps: 0, quality: 60 }, curve[1]!])).toThrow(BdRateError);
  });
});

describe('efficientFrontier', () => {
  it('drops points that cost more for no more quality', () => {
    const a = { bitrateBps: 100, quality: 50 };
    const b = { bitrateBps: 200, quality: 45 };
    const c = { bitrateBps: 300, quality: 60 };
    expect(efficientFrontier([c, b, a])).toEqual([a, c]);
  });
});
