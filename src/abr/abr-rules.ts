/**
 * ABR rules, written once for the player page (as hls.js ABR controllers) and for the ABR
 * simulator (abr-sim.ts), which runs this very code: each rule picks the ladder level of the
 * next segment from the buffer level and a throughput estimate.
 *
 * - `throughput`: the highest level whose bitrate is within 0.9 × the estimated throughput
 *   (dash.js ThroughputRule, `bandwidthSafetyFactor` 0.9).
 * - `bola`: BOLA (Spiteri, Urgaonkar, Sitaraman, "BOLA: Near-Optimal Bitrate Adaptation for
 *   Online Videos", INFOCOM 2016) in dash.js's form ("From Theory to Practice", MMSys 2018):
 *   utilities vₘ = ln(Sₘ/S₁) + 1, V and γ set so the lowest level is chosen below a 10 s buffer
 *   and the highest at the buffer target (max(target, 10 s + 2 s per level)); the level
 *   maximising (V·(vₘ − 1 + γ) − Q)/Sₘ for buffer Q; an up-switch is not allowed beyond both
 *   the current level and what the throughput rule would pick (BOLA-O's oscillation guard).
 * - `dynamic`: throughput while the buffer is short, BOLA once it reaches dash.js's stable
 *   buffer time (12 s, or the buffer target when that is shorter), back to throughput below half
 *   of it (dash.js AbrController `_updateDynamicAbrStrategy`, MediaPlayerModel
 *   `getStableBufferTime`: the `stableBufferTime` setting, default 12 s).
 * - `hlsjs`: a model of hls.js's default ABR for comparison: the highest level within 0.95 ×
 *   the estimate (0.7 × for a level above the current one; hls.js `abrBandWidthFactor`,
 *   `abrBandWidthUpFactor`), the estimate the smaller of a 3 s and a 9 s half-life EWMA.
 *
 * Bitrates are bits/s, times seconds. Pure functions and small state objects: no timers, no I/O.
 */

/** A rule's view of the player when it picks the next segment's level. */
export interface AbrContext {
  /** The ladder, lowest first: each level's declared bitrate, bits/s. */
  readonly bitratesBps: readonly number[];
  /** Seconds of media buffered ahead of the playhead. */
  readonly bufferS: number;
  /** Estimated throughput, bits/s (undefined before the first sample). */
  readonly throughputBps: number | undefined;
  /** Level of the previous segment (undefined for the first). */
  readonly lastLevel: number | undefined;
  /** The player's buffer target (hls.js maxBufferLength), seconds. */
  readonly bufferTargetS: number;
}

/** A rule's choice and which rule made it (DYNAMIC reports the one it delegated to). */
export interface AbrDecision {
  readonly level: number;
  readonly rule: string;
}

export interface AbrRule {
  readonly name: AbrRuleName;
  /** Picks the next segment's level. */
  choose(ctx: AbrContext): AbrDecision;
}

export const ABR_RULE_NAMES = ['throughput', 'bola', 'dynamic', 'hlsjs'] as const;
export type AbrRuleName = (typeof ABR_RULE_NAMES)[number];

/** dash.js Settings `abr.bandwidthSafetyFactor`. */
export const THROUGHPUT_SAFETY_FACTOR = 0.9;
/** dash.js BolaRule MINIMUM_BUFFER_S and MINIMUM_BUFFER_PER_BITRATE_LEVEL_S. */
export const BOLA_MINIMUM_BUFFER_S = 10;
export const BOLA_MINIMUM_BUFFER_PER_LEVEL_S = 2;
/** hls.js defaults: abrBandWidthFactor, abrBandWidthUpFactor, abrEwmaDefaultEstimate (bits/s). */
export const HLSJS_BANDWIDTH_FACTOR = 0.95;
export const HLSJS_BANDWIDTH_UP_FACTOR = 0.7;
export const HLSJS_DEFAULT_ESTIMATE_BPS = 500_000;

/** The highest level whose bitrate is at most `budgetBps` (the lowest when none is). */
export function highestLevelWithin(bitratesBps: readonly number[], budgetBps: number): number {
  let level = 0;
  for (let i = 0; i < bitratesBps.length; i++) if (bitratesBps[i]! <= budgetBps) level = i;
  return level;
}

export class ThroughputRule implements AbrRule {
  readonly name = 'throughput';

  choose(ctx: AbrContext): AbrDecision {
    const estimate = ctx.throughputBps ?? HLSJS_DEFAULT_ESTIMATE_BPS;
    return { level: highestLevelWithin(ctx.bitratesBps, THROUGHPUT_SAFETY_FACTOR * estimate), rule: this.name };
  }
}

/** BOLA's parameters for a ladder and buffer target (dash.js `_calculateBolaParameters`). */
export function bolaParameters(bitratesBps: readonly number[], bufferTargetS: number): { utilities: number[]; gp: number; vp: number } {
  const utilities = bitratesBps.map((b) => Math.log(b / bitratesBps[0]!) + 1);
  const bufferTime = Math.max(bufferTargetS, BOLA_MINIMUM_BUFFER_S + BOLA_MINIMUM_BUFFER_PER_LEVEL_S * bitratesBps.length);
  const highest = Math.max(...utilities);
  // One level: any positive γ works; keep V finite.
  const gp = highest > 1 ? (highest - 1) / (bufferTime / BOLA_MINIMUM_BUFFER_S - 1) : 1;
  return { utilities, gp, vp: BOLA_MINIMUM_BUFFER_S / gp };
}

/** The level BOLA picks at buffer level `bufferS` (the level maximising (V·(vₘ − 1 + γ) − Q)/Sₘ). */
function bolaLevel(bitratesBps: readonly number[], params: ReturnType<typeof bolaParameters>, bufferS: number): number {
  let level = 0;
  let best = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < bitratesBps.length; i++) {
    const score = (params.vp * (params.utilities[i]! - 1 + params.gp) - bufferS) / bitratesBps[i]!;
    if (score >= best) {
      best = score;
      level = i;
    }
  }
  return level;
}

/**
 * The smallest buffer level, s, at which BOLA prefers level `m` to every lower level: from
 * (V(vₘ−1+γ) − Q)/Sₘ ≥ (V(vᵢ−1+γ) − Q)/Sᵢ for i < m, Q ≥ V·((vᵢ−1+γ)·Sₘ − (vₘ−1+γ)·Sᵢ)/(Sₘ − Sᵢ)
 * (the thresholds of BOLA's buffer-level rule, Spiteri et al. 2016 §IV; 0 for the lowest level).
 */
export function bolaMinimumBufferS(bitratesBps: readonly number[], params: ReturnType<typeof bolaParameters>, m: number): number {
  let min = 0;
  const sm = bitratesBps[m]!;
  const um = params.utilities[m]! - 1 + params.gp;
  for (let i = 0; i < m; i++) {
    const si = bitratesBps[i]!;
    if (!(sm > si)) continue;
    min = Math.max(min, (params.vp * ((params.utilities[i]! - 1 + params.gp) * sm - um * si)) / (sm - si));
  }
  return min;
}

/** Buffer length BOLA's parameters are set for: max(target, 10 s + 2 s per level) (dash.js). */
const bolaBufferTimeS = (levels: number, bufferTargetS: number) => Math.max(bufferTargetS, BOLA_MINIMUM_BUFFER_S + BOLA_MINIMUM_BUFFER_PER_LEVEL_S * levels);

export class BolaRule implements AbrRule {
  readonly name = 'bola';
  private readonly throughput = new ThroughputRule();
  /**
   * BOLA-E's placeholder buffer, s (Spiteri, Sitaraman, Sparacio, MMSys 2018 §4.1): virtual
   * buffer added to the real one so that BOLA, taking over from a throughput decision (start-up,
   * DYNAMIC's handover), keeps that level instead of falling to what a short real buffer alone
   * would pick. It shrinks as the real buffer grows (their sum stays within BOLA's buffer time),
   * is cut back when it would carry BOLA above what the throughput supports, and is dropped when
   * the buffer runs dry.
   */
  private placeholderS = 0;
  private seeded = false;

  /** The current placeholder buffer, s (tests, switch log). */
  get placeholderBufferS(): number {
    return this.placeholderS;
  }

  /**
   * Sets the placeholder so that BOLA picks `level` at the current buffer (dash.js BolaRule's
   * start-up → steady-state hand-over), never negative.
   */
  seedPlaceholder(ctx: AbrContext, level: number): void {
    const params = bolaParameters(ctx.bitratesBps, ctx.bufferTargetS);
    this.placeholderS = Math.max(0, bolaMinimumBufferS(ctx.bitratesBps, params, level) - ctx.bufferS);
    this.seeded = true;
  }

  choose(ctx: AbrContext): AbrDecision {
    const params = bolaParameters(ctx.bitratesBps, ctx.bufferTargetS);
    const byThroughput = ctx.throughputBps !== undefined ? this.throughput.choose(ctx).level : undefined;
    // Start-up on its own (no DYNAMIC in front): seed from the throughput rule's first choice.
    if (!this.seeded && byThroughput !== undefined) this.seedPlaceholder(ctx, byThroughput);
    if (ctx.bufferS <= 0 && ctx.lastLevel !== undefined) this.placeholderS = 0; // a stall: start from the real buffer
    this.placeholderS = Math.max(0, Math.min(this.placeholderS, bolaBufferTimeS(ctx.bitratesBps.length, ctx.bufferTargetS) - ctx.bufferS));
    let level = bolaLevel(ctx.bitratesBps, params, ctx.bufferS + this.placeholderS);
    // Placeholder beyond what the throughput supports: cut it back to the throughput's level.
    if (this.placeholderS > 0 && byThroughput !== undefined && level > byThroughput) {
      this.placeholderS = Math.max(0, bolaMinimumBufferS(ctx.bitratesBps, params, byThroughput) - ctx.bufferS);
      level = bolaLevel(ctx.bitratesBps, params, ctx.bufferS + this.placeholderS);
    }
    // BOLA-O: no up-switch beyond both the current level and what the throughput allows.
    if (ctx.lastLevel !== undefined && byThroughput !== undefined && level > ctx.lastLevel && level > byThroughput) level = Math.max(ctx.lastLevel, byThroughput);
    return { level, rule: this.name };
  }

  /** After a seek the buffer is empty: no placeholder until the next start-up. */
  reset(): void {
    this.placeholderS = 0;
    this.seeded = false;
  }
}

/**
 * Buffer level, s, at which DYNAMIC hands over from the throughput rule to BOLA (back below half
 * of it): dash.js's `stableBufferTime` default, 12 s (MediaPlayerModel.getStableBufferTime).
 */
export const DYNAMIC_STABLE_BUFFER_S = 12;

export class DynamicRule implements AbrRule {
  readonly name = 'dynamic';
  private readonly bola = new BolaRule();
  private readonly throughput = new ThroughputRule();
  private usingBola = false;

  /** Whether BOLA made the last decision (for tests and the switch log). */
  get bolaActive(): boolean {
    return this.usingBola;
  }

  choose(ctx: AbrContext): AbrDecision {
    // Switching on at the buffer target (until 2026-12-02) left BOLA almost unused: the buffer
    // hovers just under hls.js's maxBufferLength, so DYNAMIC ran the throughput rule nearly always.
    const on = Math.min(DYNAMIC_STABLE_BUFFER_S, ctx.bufferTargetS);
    const wasBola = this.usingBola;
    this.usingBola = ctx.bufferS >= (this.usingBola ? 0.5 * on : on);
    if (!this.usingBola) return this.throughput.choose(ctx);
    // Hand-over: BOLA starts from the level the throughput rule was playing (BOLA-E placeholder).
    if (!wasBola && ctx.lastLevel !== undefined) this.bola.seedPlaceholder(ctx, ctx.lastLevel);
    return this.bola.choose(ctx);
  }

  /** After a seek the buffer is empty: start again with the throughput rule. */
  reset(): void {
    this.usingBola = false;
    this.bola.reset();
  }
}

export class HlsJsDefaultModel implements AbrRule {
  readonly name = 'hlsjs';

  choose(ctx: AbrContext): AbrDecision {
    const estimate = ctx.throughputBps ?? HLSJS_DEFAULT_ESTIMATE_BPS;
    let level = 0;
    for (let i = 0; i < ctx.bitratesBps.length; i++) {
      const factor = ctx.lastLevel !== undefined && i > ctx.lastLevel ? HLSJS_BANDWIDTH_UP_FACTOR : HLSJS_BANDWIDTH_FACTOR;
      if (ctx.bitratesBps[i]! <= factor * estimate) level = i;
    }
    return { level, rule: this.name };
  }
}

/** A new rule by name. */
export function createAbrRule(name: AbrRuleName): AbrRule {
  switch (name) {
    case 'throughput':
      return new ThroughputRule();
    case 'bola':
      return new BolaRule();
    case 'dynamic':
      return new DynamicRule();
    case 'hlsjs':
      return new HlsJsDefaultModel();
  }
}

/**
 * Throughput estimate from download samples: two exponentially weighted moving averages with
 * half-lives in seconds of download time, the estimate the smaller (hls.js EwmaBandWidthEstimator,
 * abrEwmaFastVoD 3 s and abrEwmaSlowVoD 9 s; each sample weighs its download duration).
 */
export class EwmaThroughputEstimator {
  private fast = { estimate: 0, total: 0 };
  private slow = { estimate: 0, total: 0 };

  constructor(
    private readonly fastHalfLifeS = 3,
    private readonly slowHalfLifeS = 9,
  ) {}

  /** One download: `bytes` in `durationS` seconds. */
  sample(durationS: number, bytes: number): void {
    const d = Math.max(durationS, 0.001);
    const bps = (8 * bytes) / d;
    for (const [e, half] of [[this.fast, this.fastHalfLifeS], [this.slow, this.slowHalfLifeS]] as const) {
      const alpha = Math.exp(Math.log(0.5) / half) ** d;
      e.estimate = bps * (1 - alpha) + alpha * e.estimate;
      e.total += d;
    }
  }

  /** Bits/s, or undefined before any sample. Bias-corrected for the zero start (as hls.js). */
  estimateBps(): number | undefined {
    if (this.fast.total === 0) return undefined;
    const corrected = (e: { estimate: number; total: number }, half: number) => e.estimate / (1 - Math.exp(Math.log(0.5) / half) ** e.total);
    return Math.min(corrected(this.fast, this.fastHalfLifeS), corrected(this.slow, this.slowHalfLifeS));
  }
}
