/**
 * ABR rules, written once for the player page (as hls.js ABR controllers) and for the ABR
 * simulator (abr-sim.ts), which runs this very code: each rule picks the ladder level of the
 * next segment from the buffer level and a throughput estimate.
 *
 * - `throughput`: the highest level whose bitrate is within 0.9 × the estimated throughput
 *   (dash.js ThroughputRule, `bandwidthSafetyFactor` 0.9).
 * - `bola`: BOLA (Spiteri, Urgaonkar, Sitaraman, "BOLA: Near-Optimal Bitrate Adaptation for
 *   Online Videos", INFOCOM 2016) in its production form BOLA-E (Spiteri, Sitaraman, Sparacio,
 *   "From Theory to Practice", MMSys 2018; dash.js BolaRule and the Sabre simulator's BolaEnh):
 *   utilities vₘ = ln(Sₘ/S₁) + 1, V and γ set so the lowest level is chosen below a 10 s buffer
 *   and the highest at the buffer target (max(target, 10 s + 2 s per level)); the level
 *   maximising (V·(vₘ − 1 + γ) − Q)/Sₘ for buffer Q plus a placeholder buffer (seeded from the
 *   throughput at start-up, grown by the time the player waits with a full buffer, trimmed to
 *   the chosen level's band, dropped on a stall); an up-switch beyond both the current level and
 *   the level the throughput sustains goes at most one level above them, and only once the
 *   level has been held BOLA_UP_SWITCH_DWELL_S (Sabre's default BOLA-E takes that step at every
 *   segment, which lets BOLA alternate between the two levels around the throughput instead of
 *   sticking to the lower one as BOLA-O does); and the insufficient-buffer rule (no segment that
 *   would take more than a shrinking share, 0.9 down to 0.5, of the buffer to download).
 * - `dynamic`: throughput while the buffer is short, BOLA once it reaches dash.js's stable
 *   buffer time (12 s, or the buffer target when that is shorter), back to throughput below half
 *   of it (dash.js AbrController `_updateDynamicAbrStrategy`, MediaPlayerModel
 *   `getStableBufferTime`: the `stableBufferTime` setting, default 12 s).
 * - `hlsjs`: a model of hls.js's default ABR for comparison: the highest level within 0.95 ×
 *   the estimate (0.7 × for a level above the current one; hls.js `abrBandWidthFactor`,
 *   `abrBandWidthUpFactor`), the estimate the smaller of a 3 s and a 9 s half-life EWMA of the
 *   video fragments' own throughput (audio loads share the link meanwhile), levels compared by
 *   their peak bitrate until two segments are buffered and by their average after.
 *
 * The rules decide on each level's average bitrate (AVERAGE-BANDWIDTH, RFC 8216 §4.3.4.2: what a
 * segment costs on average; Sabre's manifests give the same), the hls.js model on BANDWIDTH (the
 * peak) too, as hls.js does. Bitrates are bits/s, times seconds. Pure functions and small state
 * objects: no timers, no I/O.
 */

/** A rule's view of the player when it picks the next segment's level. */
export interface AbrContext {
  /**
   * The ladder, lowest first: each level's average bitrate (AVERAGE-BANDWIDTH; BANDWIDTH when the
   * playlist has none), bits/s.
   */
  readonly bitratesBps: readonly number[];
  /** Each level's peak bitrate (BANDWIDTH), bits/s; only the hls.js model reads it. Default: bitratesBps. */
  readonly peakBitratesBps?: readonly number[];
  /** Duration of the segment to be loaded, s (insufficient-buffer rule, hls.js model). Default 4. */
  readonly segmentDurationS?: number;
  /**
   * Seconds the player has waited with a full buffer since its previous decision (BOLA-E adds
   * them to its placeholder buffer: dash.js getPlaceholderIncrementInSeconds, Sabre report_delay).
   */
  readonly idleS?: number;
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
  /**
   * After a seek: the buffer is gone, so a rule starts over as at start-up (dash.js BolaRule
   * `onPlaybackSeeking`, Sabre `report_seek`); the throughput estimate is kept.
   */
  reset(): void;
  /**
   * What the rule's throughput estimate measures: the link (a segment's video and audio bytes
   * over the time they took; our rules in the page count every fragment that loaded meanwhile,
   * link-throughput.ts) or, unset, the same; 'video': the video fragment's own bytes over that
   * time, as hls.js's estimator samples main fragments only while audio shares the link.
   */
  readonly throughputSample?: 'link' | 'video';
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
  private safety = INSUFFICIENT_BUFFER_SAFETY_INITIAL;

  choose(ctx: AbrContext): AbrDecision {
    const estimate = ctx.throughputBps ?? HLSJS_DEFAULT_ESTIMATE_BPS;
    const level = highestLevelWithin(ctx.bitratesBps, THROUGHPUT_SAFETY_FACTOR * estimate);
    // Once playing (a previous segment), no segment that would drain the buffer (Sabre ThroughputRule).
    if (ctx.lastLevel === undefined) return { level, rule: this.name };
    const safe = insufficientBufferLevel(ctx, level, this.safety);
    this.safety = Math.max(INSUFFICIENT_BUFFER_SAFETY, this.safety * INSUFFICIENT_BUFFER_SAFETY_INITIAL);
    return { level: safe, rule: this.name };
  }

  reset(): void {
    this.safety = INSUFFICIENT_BUFFER_SAFETY_INITIAL;
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

/**
 * The largest buffer level, s, at which BOLA still picks level `m` over every level above it:
 * V·(vₘ − 1 + γ) (the numerator of m's score reaches zero; Sabre's max_buffer_for_quality).
 */
export function bolaMaximumBufferS(params: ReturnType<typeof bolaParameters>, m: number): number {
  return params.vp * (params.utilities[m]! - 1 + params.gp);
}

/**
 * Seconds of content BOLA must have held its level before it may switch up beyond what the
 * throughput sustains (one level at a time). Sabre's BOLA-E allows that step at every segment,
 * which lets BOLA alternate between the two levels around the throughput and reach its mean;
 * dash.js's BOLA-O never allows it and sticks to the level below. Our choice, measured with
 * `vod bench abr-sim` over the 29 shared traces on two ladders (the published Big Buck Bunny
 * per-title ladder, 4 s segments; Apple's fixed ladder with synthetic VBR segments, 6 s):
 * 0 s → 7 and 6 switches/min, 79 and 196 s of stalls; 20 s → 3 switches/min, 45 and 63 s of
 * stalls, the median trace's bitrate share 0.95 and 0.92; from 40 s on the share falls (0.94,
 * 0.91) for fewer switches (README, "ABR rules").
 */
export const BOLA_UP_SWITCH_DWELL_S = 20;

/** Default segment duration when the context has none, s (our packager's 4 s segments). */
const DEFAULT_SEGMENT_S = 4;

/**
 * The insufficient-buffer rule's safety factor: 0.9 at the first decision, times 0.9 at each
 * one after, never below 0.5 (Sabre's low_buffer_safety_factor_init and low_buffer_safety_factor;
 * dash.js InsufficientBufferRule uses 0.5).
 */
export const INSUFFICIENT_BUFFER_SAFETY_INITIAL = 0.9;
export const INSUFFICIENT_BUFFER_SAFETY = 0.5;

/**
 * The highest level whose next segment downloads within `safety` × the buffer at `throughputBps`
 * (the insufficient-buffer rule: Sabre ThroughputRule/BolaEnh, dash.js InsufficientBufferRule).
 */
export function insufficientBufferLevel(ctx: AbrContext, level: number, safety: number): number {
  if (ctx.throughputBps === undefined) return level;
  const safeBits = safety * ctx.bufferS * ctx.throughputBps;
  const d = ctx.segmentDurationS ?? DEFAULT_SEGMENT_S;
  let l = level;
  while (l > 0 && ctx.bitratesBps[l]! * d > safeBits) l--;
  return l;
}

export class BolaRule implements AbrRule {
  readonly name = 'bola';
  private readonly throughput = new ThroughputRule();
  /**
   * BOLA-E's placeholder buffer, s (Spiteri, Sitaraman, Sparacio, MMSys 2018 §4.1): virtual
   * buffer added to the real one. Seeded so that BOLA, taking over from a throughput decision
   * (start-up, DYNAMIC's handover), keeps that level instead of falling to what a short real
   * buffer alone would pick; grown by the time the player waits with a full buffer (a player that
   * cannot buffer more than its target would otherwise never reach the top level); trimmed so the
   * effective buffer stays within the chosen level's band; dropped when the buffer runs dry.
   */
  private placeholderS = 0;
  private seeded = false;
  private safety = INSUFFICIENT_BUFFER_SAFETY_INITIAL;
  /** Seconds of content chosen at the current level in a row (the up-switch guard's dwell). */
  private heldS = 0;

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
    // Start-up on its own (no DYNAMIC in front): seed from the throughput rule's first choice.
    if (!this.seeded && ctx.throughputBps !== undefined) this.seedPlaceholder(ctx, this.throughput.choose(ctx).level);
    if (ctx.bufferS <= 0 && ctx.lastLevel !== undefined) this.placeholderS = 0; // a stall: start from the real buffer
    else if (this.seeded && ctx.idleS && ctx.idleS > 0) this.placeholderS += ctx.idleS;
    this.placeholderS = Math.max(0, Math.min(this.placeholderS, bolaBufferTimeS(ctx.bitratesBps.length, ctx.bufferTargetS) - ctx.bufferS));
    let level = bolaLevel(ctx.bitratesBps, params, ctx.bufferS + this.placeholderS);
    // Up-switch guard: beyond both the current level and what the throughput sustains (no safety
    // factor: this caps, it does not estimate; dash.js), at most one level above them (Sabre's
    // BolaEnh without abr_osc), and only after BOLA_UP_SWITCH_DWELL_S at the current level (BOLA-O
    // until then).
    if (ctx.lastLevel !== undefined && ctx.throughputBps !== undefined) {
      const sustained = highestLevelWithin(ctx.bitratesBps, ctx.throughputBps);
      if (level > ctx.lastLevel && level > sustained) level = this.heldS >= BOLA_UP_SWITCH_DWELL_S ? Math.min(level, Math.max(ctx.lastLevel, sustained) + 1) : Math.max(ctx.lastLevel, sustained);
    }
    // Keep the effective buffer within the chosen level's band: the excess is placeholder that
    // would carry the next decision up again (dash.js and Sabre turn it into a delay; the player
    // here loads whenever its buffer is under target, so only the placeholder is trimmed).
    const excess = ctx.bufferS + this.placeholderS - bolaMaximumBufferS(params, level);
    if (excess > 0) this.placeholderS = Math.max(0, this.placeholderS - excess);
    // The insufficient-buffer rule once playing (the first segment is the throughput's choice, as
    // Sabre's BolaEnh start-up).
    if (ctx.lastLevel === undefined) return { level, rule: this.name };
    const safe = insufficientBufferLevel(ctx, level, this.safety);
    this.safety = Math.max(INSUFFICIENT_BUFFER_SAFETY, this.safety * INSUFFICIENT_BUFFER_SAFETY_INITIAL);
    if (safe < level) {
      level = safe;
      this.placeholderS = Math.min(this.placeholderS, Math.max(0, bolaMinimumBufferS(ctx.bitratesBps, params, level) - ctx.bufferS));
    }
    this.heldS = level === ctx.lastLevel ? this.heldS + (ctx.segmentDurationS ?? DEFAULT_SEGMENT_S) : 0;
    return { level, rule: this.name };
  }

  /** After a seek the buffer is empty: no placeholder until the next start-up. */
  reset(): void {
    this.placeholderS = 0;
    this.seeded = false;
    this.safety = INSUFFICIENT_BUFFER_SAFETY_INITIAL;
    this.heldS = 0;
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
    this.throughput.reset();
  }
}

export class HlsJsDefaultModel implements AbrRule {
  readonly name = 'hlsjs';
  /** hls.js's abr-controller samples main fragments alone (onFragLoaded ignores other types). */
  readonly throughputSample = 'video';

  choose(ctx: AbrContext): AbrDecision {
    const estimate = ctx.throughputBps ?? HLSJS_DEFAULT_ESTIMATE_BPS;
    // hls.js compares a level's average bitrate once two segments are buffered, its peak
    // (BANDWIDTH) before (abr-controller findBestLevel).
    const d = ctx.segmentDurationS ?? DEFAULT_SEGMENT_S;
    const bitrates = ctx.bufferS >= 2 * d ? ctx.bitratesBps : (ctx.peakBitratesBps ?? ctx.bitratesBps);
    let level = 0;
    for (let i = 0; i < bitrates.length; i++) {
      const factor = ctx.lastLevel !== undefined && i > ctx.lastLevel ? HLSJS_BANDWIDTH_UP_FACTOR : HLSJS_BANDWIDTH_FACTOR;
      if (bitrates[i]! <= factor * estimate) level = i;
    }
    return { level, rule: this.name };
  }

  /** Stateless. */
  reset(): void {}
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
