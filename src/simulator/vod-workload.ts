/**
 * Synthetic VOD workload: a request trace of HLS segments shaped by how people watch.
 * There is no public video-segment trace of useful size (../shared/traces/cache/README.md),
 * so this generator fills the gap; every parameter has a default and a stated basis.
 *
 * Model:
 * - a catalog of titles, each with a duration, a content complexity and the fixed Apple
 *   ladder (src/encoder/fixed-ladder.ts) cut into 4 s segments; a segment's size is
 *   bitrate × duration × complexity × a per-segment VBR factor shared by all rungs;
 * - title popularity is Zipf(α) over popularity ranks; every day some new releases enter at
 *   the top ranks and push the others down (churn);
 * - sessions arrive as a Poisson process whose rate follows a daily sinusoid peaking in the
 *   evening (diurnal load); a session picks a title by popularity, starts at the first
 *   segment, watches contiguous segments in real time and abandons per an abandonment curve;
 * - each session has a sustainable rung (its bandwidth class): it starts at a low rung, climbs
 *   to it, and switches one rung up or down now and then.
 * Seeded (xoroshiro128+ from pure-rand) and reproducible: the same options give the same trace.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { APPLE_FIXED_LADDER } from '../encoder/fixed-ladder.js';
import { TraceBuilder, type Trace } from './trace.js';

export interface VodWorkloadOptions {
  /** PRNG seed. Default 1. */
  readonly seed?: number;
  /** Titles in the catalog at the start. Default 500 (an edge's share of a catalog; assumption). */
  readonly titles?: number;
  /** Simulated days. Default 1. */
  readonly days?: number;
  /** Sessions per day on average. Default 4000. */
  readonly sessionsPerDay?: number;
  /**
   * Zipf exponent of title popularity. Default 0.8: VOD catalogs show Zipf-like heads with
   * α in roughly 0.6–1 (Yu et al., "Understanding User Behavior in Large-Scale
   * Video-on-Demand Systems", EuroSys 2006; Cha et al., "I Tube, You Tube, Everybody Tubes",
   * IMC 2007).
   */
  readonly zipfAlpha?: number;
  /** New releases per day as a fraction of the catalog, entering at the top ranks. Default 0.01 (assumption). */
  readonly newReleasesPerDay?: number;
  /** Median title duration, minutes (lognormal, σ = 0.5, clamped to 5–180 min). Default 45 (episodes and films mixed; assumption). */
  readonly medianTitleMinutes?: number;
  /** Segment duration, seconds (DESIGN.md: 4 s). Default 4. */
  readonly segmentDurationS?: number;
  /**
   * Fraction of sessions that watch to the end. Default 0.3; the others leave after an
   * exponentially distributed watch time with mean `meanAbandonMinutes`. Yu et al. (EuroSys
   * 2006) found most VOD sessions end within the first minutes and only a minority finish.
   */
  readonly completionRate?: number;
  /** Mean watch time of sessions that abandon, minutes. Default 12 (assumption after Yu et al. 2006). */
  readonly meanAbandonMinutes?: number;
  /** Probability per segment of a one-rung switch up or down once at the sustainable rung. Default 0.03. */
  readonly switchProbability?: number;
  /**
   * Peak-to-mean amplitude of the diurnal sinusoid (0 = flat). Default 0.6, peak at 21:00:
   * residential video traffic peaks in the evening at well over the daily mean (Sandvine,
   * Global Internet Phenomena reports).
   */
  readonly diurnalAmplitude?: number;
}

export const VOD_WORKLOAD_DEFAULTS: Required<VodWorkloadOptions> = Object.freeze({
  seed: 1,
  titles: 500,
  days: 1,
  sessionsPerDay: 4000,
  zipfAlpha: 0.8,
  newReleasesPerDay: 0.01,
  medianTitleMinutes: 45,
  segmentDurationS: 4,
  completionRate: 0.3,
  meanAbandonMinutes: 12,
  switchProbability: 0.03,
  diurnalAmplitude: 0.6,
});

const DAY_S = 86_400;
const PEAK_HOUR = 21;

/** Object id of a segment: title × 2^20 + rung × 2^16 + segment (segments < 65536, rungs < 16). */
export function segmentObjectId(title: number, rung: number, segment: number): number {
  return title * 0x100000 + rung * 0x10000 + segment;
}

/** Deterministic uniform in (0,1) from integers (a small integer hash; not the PRNG stream). */
function hashUnit(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return ((h >>> 0) + 0.5) / 4294967296;
}

/** Standard normal from two uniforms (Box–Muller). */
function gaussian(u1: number, u2: number): number {
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * Generates the workload.
 * @returns a trace of segment requests ordered by time (seconds from the start), sizes in bytes.
 * @throws RangeError for options out of range.
 */
export function generateVodWorkload(options: VodWorkloadOptions = {}): Trace {
  const o = { ...VOD_WORKLOAD_DEFAULTS, ...options };
  if (!(o.titles >= 1 && o.days > 0 && o.sessionsPerDay > 0 && o.zipfAlpha >= 0 && o.segmentDurationS > 0)) {
    throw new RangeError('titles ≥ 1, days > 0, sessionsPerDay > 0, zipfAlpha ≥ 0 and segmentDurationS > 0 are required');
  }
  const rng = xoroshiro128plus(o.seed);
  const rand = () => uniformFloat64(rng);
  rand();
  const ladder = APPLE_FIXED_LADDER;
  const rungs = ladder.length;

  // Catalog: titles are created as needed (new releases get fresh ids).
  const durationsS: number[] = [];
  const complexity: number[] = [];
  const newTitle = () => {
    const minutes = Math.min(180, Math.max(5, o.medianTitleMinutes * Math.exp(0.5 * gaussian(rand() || 1e-12, rand()))));
    durationsS.push(minutes * 60);
    complexity.push(Math.exp(0.3 * gaussian(rand() || 1e-12, rand())));
    return durationsS.length - 1;
  };
  // rankToTitle[r] = title at popularity rank r (0 = most popular).
  const rankToTitle: number[] = Array.from({ length: o.titles }, () => newTitle());

  // Zipf CDF over ranks.
  const cdf = new Float64Array(o.titles);
  let acc = 0;
  for (let r = 0; r < o.titles; r++) cdf[r] = acc += 1 / Math.pow(r + 1, o.zipfAlpha);
  for (let r = 0; r < o.titles; r++) cdf[r]! /= acc;
  const pickRank = () => {
    const u = rand();
    let lo = 0;
    let hi = o.titles - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  // Session arrivals: thinning of a Poisson process with the diurnal rate.
  const meanRatePerS = o.sessionsPerDay / DAY_S;
  const maxRate = meanRatePerS * (1 + o.diurnalAmplitude);
  const horizonS = o.days * DAY_S;
  const events: { time: number; id: number; size: number }[] = [];
  let t = 0;
  let day = 0;
  const segBytes = (title: number, rung: number, seg: number) => {
    const vbr = Math.exp(0.25 * gaussian(hashUnit(title, seg), hashUnit(seg, title)));
    return Math.max(1, Math.round(((ladder[rung]!.bitrateBps * o.segmentDurationS) / 8) * complexity[title]! * vbr));
  };
  for (;;) {
    t += -Math.log(1 - rand()) / maxRate;
    if (t >= horizonS) break;
    // Daily churn: new releases enter at the top ranks.
    while (t >= (day + 1) * DAY_S) {
      day++;
      const releases = Math.round(o.titles * o.newReleasesPerDay);
      for (let i = 0; i < releases; i++) {
        rankToTitle.pop();
        rankToTitle.unshift(newTitle());
      }
    }
    const hourOfDay = (t % DAY_S) / 3600;
    const rate = meanRatePerS * (1 + o.diurnalAmplitude * Math.cos((2 * Math.PI * (hourOfDay - PEAK_HOUR)) / 24));
    if (rand() * maxRate > rate) continue;

    const title = rankToTitle[pickRank()]!;
    const segments = Math.max(1, Math.ceil(durationsS[title]! / o.segmentDurationS));
    const watchS = rand() < o.completionRate ? durationsS[title]! : -Math.log(1 - rand()) * o.meanAbandonMinutes * 60;
    const watched = Math.min(segments, Math.max(1, Math.ceil(watchS / o.segmentDurationS)));
    // Bandwidth class: the rung the session can sustain (skewed to the upper half of the ladder).
    const sustainable = Math.min(rungs - 1, Math.floor(Math.sqrt(rand()) * rungs));
    let rung = Math.min(2, sustainable);
    for (let s = 0; s < watched; s++) {
      const time = t + s * o.segmentDurationS;
      if (time >= horizonS) break;
      events.push({ time, id: segmentObjectId(title, rung, s), size: segBytes(title, rung, s) });
      if (rung < sustainable) rung++;
      else if (rand() < o.switchProbability) rung = Math.max(0, Math.min(sustainable, rung + (rand() < 0.5 ? -1 : 1)));
    }
  }
  events.sort((a, b) => a.time - b.time || a.id - b.id);
  const builder = new TraceBuilder(events.length);
  for (const e of events) builder.add(e.id, e.size, e.time);
  return builder.build(`vod-workload(seed=${o.seed},titles=${o.titles},days=${o.days},sessions/day=${o.sessionsPerDay},zipf=${o.zipfAlpha})`);
}

/** The workload's defaults as `vod bench hit-ratio --help` and `vod bench workload --help` list them. */
export const WORKLOAD_HELP = `Synthetic VOD workload defaults: ${Object.entries(VOD_WORKLOAD_DEFAULTS)
  .map(([k, v]) => `${k}=${v}`)
  .join(', ')} (see src/simulator/vod-workload.ts for the basis of each).`;
