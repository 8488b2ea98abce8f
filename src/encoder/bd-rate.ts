/**
 * Bjøntegaard delta rate (BD-rate): the average bitrate difference of a test RD curve
 * against an anchor curve at equal quality, over the quality range both cover.
 *
 * G. Bjøntegaard, "Calculation of average PSNR differences between RD-curves", ITU-T SG16
 * Q.6 VCEG-M33, Austin, April 2001: interpolate log(bitrate) as a function of quality for
 * each curve, integrate both over the overlapping quality interval, and turn the mean
 * difference of the logs back into a ratio: BD-rate = exp((∫log R_test − ∫log R_anchor) /
 * (q_high − q_low)) − 1. The interpolation is piecewise cubic Hermite (PCHIP, Fritsch–
 * Carlson slopes) as in the JCT-VC/JVET common-test-conditions sheets (JCTVC-L1100), which
 * replaced the original single cubic fit because that fit misbehaves on some curves; it also
 * works from two points up, where a cubic fit needs four.
 */

/** One point of an RD curve. */
export interface RatePoint {
  /** Bitrate, bits/s (> 0). */
  readonly bitrateBps: number;
  /** Quality (PSNR dB, VMAF, …), higher is better. */
  readonly quality: number;
}

/** Thrown when two curves cannot be compared (no shared quality range, too few points). */
export class BdRateError extends Error {
  override readonly name = 'BdRateError';
}

/**
 * The monotone part of a curve: points sorted by bitrate, keeping each point only when its
 * quality beats every cheaper point (a point that costs more for less quality is not an
 * operating point anyone would choose, and BD interpolation needs quality to rise with rate).
 */
export function efficientFrontier<T extends RatePoint>(points: readonly T[]): T[] {
  const sorted = [...points].sort((a, b) => a.bitrateBps - b.bitrateBps || b.quality - a.quality);
  const out: T[] = [];
  for (const p of sorted) if (out.length === 0 || p.quality > out[out.length - 1]!.quality) out.push(p);
  return out;
}

/** PCHIP slopes (Fritsch & Carlson 1980, endpoint rule as in SciPy's PchipInterpolator). */
function pchipSlopes(x: readonly number[], y: readonly number[]): number[] {
  const n = x.length;
  const h = Array.from({ length: n - 1 }, (_, i) => x[i + 1]! - x[i]!);
  const d = h.map((hi, i) => (y[i + 1]! - y[i]!) / hi);
  if (n === 2) return [d[0]!, d[0]!];
  const m = new Array<number>(n).fill(0);
  for (let k = 1; k < n - 1; k++) {
    const d0 = d[k - 1]!;
    const d1 = d[k]!;
    if (d0 === 0 || d1 === 0 || Math.sign(d0) !== Math.sign(d1)) continue;
    const w1 = 2 * h[k]! + h[k - 1]!;
    const w2 = h[k]! + 2 * h[k - 1]!;
    m[k] = (w1 + w2) / (w1 / d0 + w2 / d1);
  }
  const edge = (h0: number, h1: number, d0: number, d1: number): number => {
    const s = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1);
    if (Math.sign(s) !== Math.sign(d0)) return 0;
    if (Math.sign(d0) !== Math.sign(d1) && Math.abs(s) > 3 * Math.abs(d0)) return 3 * d0;
    return s;
  };
  m[0] = edge(h[0]!, h[1]!, d[0]!, d[1]!);
  m[n - 1] = edge(h[n - 2]!, h[n - 3]!, d[n - 2]!, d[n - 3]!);
  return m;
}

/** Exact integral of the PCHIP interpolant of (x, y) over [lo, hi] ⊆ [x0, x_last]. */
function pchipIntegral(x: readonly number[], y: readonly number[], lo: number, hi: number): number {
  const m = pchipSlopes(x, y);
  let total = 0;
  for (let i = 0; i < x.length - 1; i++) {
    const a = Math.max(lo, x[i]!);
    const b = Math.min(hi, x[i + 1]!);
    if (b <= a) continue;
    const h = x[i + 1]! - x[i]!;
    // Cubic Hermite on [x_i, x_i+1] in t ∈ [0, 1]; integrate its antiderivative between ta and tb.
    const p0 = y[i]!;
    const p1 = y[i + 1]!;
    const m0 = m[i]! * h;
    const m1 = m[i + 1]! * h;
    const anti = (t: number): number => {
      const t2 = t * t;
      const t3 = t2 * t;
      const t4 = t3 * t;
      const h00 = t4 / 2 - t3 + t; // ∫(2t³ − 3t² + 1)
      const h10 = t4 / 4 - (2 * t3) / 3 + t2 / 2; // ∫(t³ − 2t² + t)
      const h01 = -t4 / 2 + t3; // ∫(−2t³ + 3t²)
      const h11 = t4 / 4 - t3 / 3; // ∫(t³ − t²)
      return h * (h00 * p0 + h10 * m0 + h01 * p1 + h11 * m1);
    };
    total += anti((b - x[i]!) / h) - anti((a - x[i]!) / h);
  }
  return total;
}

/**
 * BD-rate of `test` against `anchor`, as a fraction: −0.2 means the test curve needs 20%
 * fewer bits than the anchor at equal quality, on average over the shared quality range.
 * Each curve is first reduced to its efficient frontier (see efficientFrontier).
 * @throws BdRateError when a curve has fewer than two usable points, a bitrate is not
 *         positive, or the curves' quality ranges do not overlap.
 */
export function bdRate(anchor: readonly RatePoint[], test: readonly RatePoint[]): number {
  const curves = [anchor, test].map((c, i) => {
    for (const p of c) {
      if (!(p.bitrateBps > 0 && Number.isFinite(p.bitrateBps) && Number.isFinite(p.quality))) {
        throw new BdRateError(`${i === 0 ? 'anchor' : 'test'} curve has a point with a non-positive bitrate or non-finite quality`);
      }
    }
    const f = efficientFrontier(c);
    if (f.length < 2) throw new BdRateError(`${i === 0 ? 'anchor' : 'test'} curve needs at least two points of rising quality, got ${f.length}`);
    return { q: f.map((p) => p.quality), logR: f.map((p) => Math.log(p.bitrateBps)) };
  });
  const [a, t] = curves as [{ q: number[]; logR: number[] }, { q: number[]; logR: number[] }];
  const lo = Math.max(a.q[0]!, t.q[0]!);
  const hi = Math.min(a.q[a.q.length - 1]!, t.q[t.q.length - 1]!);
  if (!(hi > lo)) {
    throw new BdRateError(
      `the curves' quality ranges do not overlap (anchor ${a.q[0]!.toFixed(2)}–${a.q[a.q.length - 1]!.toFixed(2)}, test ${t.q[0]!.toFixed(2)}–${t.q[t.q.length - 1]!.toFixed(2)})`,
    );
  }
  const meanDiff = (pchipIntegral(t.q, t.logR, lo, hi) - pchipIntegral(a.q, a.logR, lo, hi)) / (hi - lo);
  return Math.exp(meanDiff) - 1;
}
