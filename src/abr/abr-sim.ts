/**
 * The ABR simulator: one viewing session of a real title over a throughput trace, driven by
 * the same rule code the player page runs (abr-rules.ts), after the model of the Sabre
 * simulator (Spiteri, Sitaraman, Sparacio, MMSys 2018) and Pensieve's (Mao et al., SIGCOMM 2017):
 * segments are fetched one at a time whenever the buffer is at or below the player's target
 * (or hls.js's own buffer limit, `hlsBufferLimit`), each taking
 * a request latency plus its bytes (video and audio) at the trace's rate; playback starts
 * once `startupBufferS` is buffered; the buffer drains in real time while playing and a stall
 * lasts until the next segment arrives. The title's segments are played in a loop for
 * `sessionS` seconds of content.
 *
 * Reported per session: average bitrate (the chosen levels' average bitrates), rebuffer
 * ratio, stalls and their duration, switches per minute, startup time and QoE_lin per segment:
 * QoE = Σₖ Rₖ − μ·Σₖ Tₖ − Σₖ |Rₖ₊₁ − Rₖ| (Rₖ Mbit/s, Tₖ the stall before segment k in s, μ = 4.3;
 * Yin et al., SIGCOMM 2015, with the constants Pensieve uses).
 */
import type { RateProfile } from '../edge-cache/shaping.js';
import { EwmaThroughputEstimator, type AbrRule } from './abr-rules.js';

/** A title as the simulator needs it: the ladder and every segment's size. */
export interface SimTitle {
  readonly name: string;
  /**
   * Average bitrate of each level (the multivariant playlist's AVERAGE-BANDWIDTH, video and
   * audio), lowest first, bits/s: what the rules decide on and what a session's average bitrate
   * and QoE count.
   */
  readonly bitratesBps: readonly number[];
  /** Peak bitrate of each level (BANDWIDTH), bits/s; the hls.js model reads it. Default: bitratesBps. */
  readonly peakBitratesBps?: readonly number[];
  /** Duration of each segment, s (the same in every level). */
  readonly segmentDurationsS: readonly number[];
  /** Bytes of each segment of each level: [level][segment]. */
  readonly segmentBytes: readonly (readonly number[])[];
  /** Bytes of the audio segment fetched with each video segment (0 without audio). */
  readonly audioSegmentBytes: readonly number[];
  /** Each level's media playlist URI as the multivariant playlist names it (matching a player's loads to levels). */
  readonly levelUris?: readonly string[];
}

export interface SimSettings {
  /** Seconds of content to play (the title is looped). */
  readonly sessionS: number;
  /** The player's buffer target (hls.js maxBufferLength), s. Default 30. */
  readonly bufferTargetS?: number;
  /** Per-request latency (time to first byte), s. Default 0.08. */
  readonly latencyS?: number;
  /** Buffer needed to start playing, s. Default: one segment. */
  readonly startupBufferS?: number;
  /**
   * Trace time at which the first segment is requested, s (default 0). A real player first
   * loads its playlists and init segments, and a page its scripts, while the trace already runs
   * (the edge starts a shaped session's trace when the page asks for it); on a trace that
   * alternates bursts and troughs within seconds, as Puffer's do, where the first segment falls
   * decides much of a short session. Startup time is counted from this moment.
   */
  readonly startS?: number;
  /**
   * How far ahead hls.js's stream controller really buffers (base-stream-controller.ts
   * getMaxBufferLength, hls.js 1.7): it loads while the buffer is under
   * min(max(8·maxBufferSize / the level's BANDWIDTH, maxBufferLength), maxMaxBufferLength), so
   * below 16 Mbit/s its 60 MB maxBufferSize makes the limit maxMaxBufferLength, not the target.
   * The player page sets maxMaxBufferLength to twice maxBufferLength (player-demo/player.js):
   * with a 30 s target it buffered 60 s ahead in Chromium while this simulator stopped at 30.
   * Every controller is subject to it (the page's rules run inside hls.js); the rules are still
   * told `bufferTargetS`. Unset = the buffer target is the limit.
   */
  readonly hlsBufferLimit?: { readonly maxMaxBufferS: number; readonly maxBufferSizeBytes: number };
}

/** hls.js's default maxBufferSize, bytes (60 MB; hls.js src/config.ts). */
export const HLSJS_MAX_BUFFER_SIZE_BYTES = 60 * 1000 * 1000;

/**
 * The forward buffer the player keeps, s: the target, or hls.js's limit for a level of
 * `peakBitrateBps` when SimSettings.hlsBufferLimit is given (see there).
 */
export function bufferLimitS(targetS: number, peakBitrateBps: number, limit: SimSettings['hlsBufferLimit']): number {
  if (!limit) return targetS;
  const bySize = peakBitrateBps > 0 ? (8 * limit.maxBufferSizeBytes) / peakBitrateBps : targetS;
  return Math.min(Math.max(bySize, targetS), Math.max(targetS, limit.maxMaxBufferS));
}

/** Pensieve's rebuffer penalty μ for QoE_lin with R in Mbit/s. */
export const QOE_REBUFFER_PENALTY = 4.3;

/**
 * QoE_lin of a session per segment: (Σ_k R_k − μ·Σ_k T_k − Σ_k |R_{k+1} − R_k|) / K, R_k the
 * bitrate of segment k in Mbit/s, in play order, ΣT the stall seconds, μ = QOE_REBUFFER_PENALTY
 * (Yin et al., SIGCOMM 2015; Mao et al.'s constants, SIGCOMM 2017). NaN for no segment.
 */
export function qoeLinPerSegment(ratesMbps: readonly number[], stallS: number): number {
  let qoe = ratesMbps.reduce((a, b) => a + b, 0) - QOE_REBUFFER_PENALTY * stallS;
  for (let k = 1; k < ratesMbps.length; k++) qoe -= Math.abs(ratesMbps[k]! - ratesMbps[k - 1]!);
  return qoe / ratesMbps.length;
}

export interface SimResult {
  readonly rule: string;
  readonly segments: number;
  readonly averageBitrateBps: number;
  /** Stall time / (content time + stall time), after start-up. */
  readonly rebufferRatio: number;
  readonly stalls: number;
  readonly stallS: number;
  readonly switchesPerMinute: number;
  readonly startupS: number;
  /** QoE_lin divided by the number of segments. */
  readonly qoePerSegment: number;
  /** How many decisions each rule made (DYNAMIC delegates). */
  readonly decisionsByRule: Readonly<Record<string, number>>;
  /** Chosen level of each segment (for plots and tests). */
  readonly levels: readonly number[];
}

/**
 * Plays one session.
 * @throws RangeError for an empty title, a non-positive session length or a negative start.
 */
export function simulateSession(title: SimTitle, link: RateProfile, rule: AbrRule, settings: SimSettings): SimResult {
  const n = title.segmentDurationsS.length;
  if (n === 0 || title.bitratesBps.length === 0) throw new RangeError(`title ${title.name} has no segments`);
  if (!(settings.sessionS > 0)) throw new RangeError('the session length must be positive');
  const target = settings.bufferTargetS ?? 30;
  const latency = settings.latencyS ?? 0.08;
  const startupBuffer = settings.startupBufferS ?? title.segmentDurationsS[0]!;
  const estimator = new EwmaThroughputEstimator();
  const startS = settings.startS ?? 0;
  if (!(startS >= 0)) throw new RangeError('the start time must be 0 or more seconds');
  let t = startS;
  let buffer = 0;
  let playing = false;
  let startupS = 0;
  let content = 0;
  let stallS = 0;
  let stalls = 0;
  let switches = 0;
  let bitrateSum = 0;
  let last: number | undefined;
  const levels: number[] = [];
  const byRule: Record<string, number> = {};
  for (let k = 0; content < settings.sessionS; k++) {
    const d = title.segmentDurationsS[k % n]!;
    // The player loads the next segment once the buffer is at or below its limit (hls.js
    // loads while the buffered length is under its maximum buffer length, so the buffer peaks
    // one segment above it): the target, or hls.js's limit for the level it loads.
    const peaks = title.peakBitratesBps ?? title.bitratesBps;
    const limitS = bufferLimitS(target, peaks[last ?? 0] ?? 0, settings.hlsBufferLimit);
    let idleS = 0;
    if (playing && buffer > limitS) {
      idleS = buffer - limitS;
      t += idleS;
      buffer -= idleS;
    }
    const decision = rule.choose({
      bitratesBps: title.bitratesBps,
      peakBitratesBps: title.peakBitratesBps,
      segmentDurationS: d,
      bufferS: buffer,
      throughputBps: estimator.estimateBps(),
      lastLevel: last,
      bufferTargetS: target,
      idleS,
    });
    byRule[decision.rule] = (byRule[decision.rule] ?? 0) + 1;
    const level = Math.min(Math.max(0, decision.level), title.bitratesBps.length - 1);
    const videoBytes = title.segmentBytes[level]![k % n]!;
    const bytes = videoBytes + (title.audioSegmentBytes[k % n] ?? 0);
    const download = latency + link.transferSeconds(t + latency, bytes * 8);
    let stall = 0;
    if (playing) {
      if (download > buffer) {
        stall = download - buffer;
        stallS += stall;
        stalls++;
        buffer = 0;
      } else {
        buffer -= download;
      }
    }
    t += download;
    buffer += d;
    content += d;
    // The page's rules measure the link (video and audio loads), over the whole download;
    // hls.js its video loads alone, without the time to first byte (abr-controller.ts
    // onFragBuffered: loading time − min(TTFB, its TTFB estimate)), here the request latency.
    if (rule.throughputSample === 'video') estimator.sample(download - latency, videoBytes);
    else estimator.sample(download, bytes);
    if (!playing && buffer >= startupBuffer) {
      playing = true;
      startupS = t - startS;
    }
    if (last !== undefined && level !== last) switches++;
    bitrateSum += title.bitratesBps[level]! * d;
    levels.push(level);
    last = level;
  }
  return {
    rule: rule.name,
    segments: levels.length,
    averageBitrateBps: bitrateSum / content,
    rebufferRatio: stallS / (content + stallS),
    stalls,
    stallS,
    switchesPerMinute: switches / (content / 60),
    startupS,
    qoePerSegment: qoeLinPerSegment(levels.map((l) => title.bitratesBps[l]! / 1e6), stallS),
    decisionsByRule: byRule,
    levels,
  };
}
