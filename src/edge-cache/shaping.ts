/**
 * Per-session bandwidth shaping at the edge, so the player's ABR meets a realistic network
 * on a machine where everything is loopback. A playback session (cookie `vod_session`) asks
 * for a fixed rate or a real throughput trace (../shared/traces/net: TAB-separated seconds and
 * Mbit/s, the Pensieve format), aligned to the moment it asked; every /vod/ response of that
 * session is then paced through the session's one link: chunks take link time in turn, so
 * the video and audio responses share the rate as they would on a real access link. Sessions
 * that asked for nothing are not touched (the hot path only looks for the cookie).
 *
 * Shaped responses are sent `Cache-Control: no-store`: answers from the browser's own cache
 * arrive at memory speed and inflate hls.js's bandwidth estimate (hls.js issue 5826), which a
 * real viewer on that link would never see.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type http from 'node:http';
import { LRUCache } from 'lru-cache';

/** Most bytes written per pacing step (at high rates: 16 KiB is 1.3 ms at 100 Mbit/s). */
export const CHUNK_BYTES = 16 * 1024;
/** Fewest bytes written per pacing step: about one Ethernet frame's payload. */
export const MIN_CHUNK_BYTES = 1500;
/**
 * Link time one pacing step aims at, s: responses sharing the session's link take turns at this
 * grain, as the packets of parallel TCP flows interleave on a real access link (a 762-byte audio
 * init segment no longer waits behind a 16 KiB video chunk that needs 2.6 s at 50 kbit/s).
 */
export const CHUNK_LINK_TIME_S = 0.02;

/**
 * Bytes of the next pacing step at `rateBps`: CHUNK_LINK_TIME_S of link time, within
 * [MIN_CHUNK_BYTES, CHUNK_BYTES].
 */
export function pacingChunkBytes(rateBps: number): number {
  return Math.min(CHUNK_BYTES, Math.max(MIN_CHUNK_BYTES, Math.round((rateBps * CHUNK_LINK_TIME_S) / 8)));
}
/** Lowest rate a trace sample is held at, bits/s (some traces have 0 Mbit/s samples). */
export const MIN_RATE_BPS = 50_000;

export interface ThroughputTrace {
  readonly name: string;
  /** Sample start times, seconds from the trace start (increasing). */
  readonly timesS: readonly number[];
  /** Throughput from each sample's time to the next, bits/s. */
  readonly ratesBps: readonly number[];
  readonly durationS: number;
  readonly meanBps: number;
}

/**
 * Parses a Pensieve-format throughput trace (two TAB- or space-separated columns: seconds,
 * Mbit/s). The last sample lasts as long as the mean gap between samples.
 * @throws Error naming the first malformed line.
 */
export function parseThroughputTrace(name: string, text: string): ThroughputTrace {
  const timesS: number[] = [];
  const ratesBps: number[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const [t, m] = line.trim().split(/\s+/).map(Number);
    if (!Number.isFinite(t) || !Number.isFinite(m) || m! < 0 || (timesS.length > 0 && t! < timesS.at(-1)!)) {
      throw new Error(`${name} line ${i + 1}: expected "seconds<TAB>Mbit/s", got ${JSON.stringify(line.slice(0, 60))}`);
    }
    timesS.push(t!);
    ratesBps.push(m! * 1e6);
  });
  if (timesS.length === 0) throw new Error(`${name} has no samples`);
  const span = timesS.at(-1)! - timesS[0]!;
  const gap = timesS.length > 1 ? span / (timesS.length - 1) : 1;
  const durationS = span + gap;
  let weighted = 0;
  for (let i = 0; i < timesS.length; i++) weighted += ratesBps[i]! * ((i + 1 < timesS.length ? timesS[i + 1]! : timesS[i]! + gap) - timesS[i]!);
  return { name, timesS, ratesBps, durationS, meanBps: weighted / durationS };
}

/** A session's link rate over time: fixed, or a trace replayed from the session's start and looped. */
export class RateProfile {
  constructor(
    readonly fixedBps: number | undefined,
    readonly trace: ThroughputTrace | undefined,
  ) {}

  static fixed(bps: number): RateProfile {
    return new RateProfile(Math.max(MIN_RATE_BPS, bps), undefined);
  }

  static fromTrace(trace: ThroughputTrace): RateProfile {
    return new RateProfile(undefined, trace);
  }

  /** Rate in bits/s at `elapsedS` seconds after the session started shaping. */
  rateBpsAt(elapsedS: number): number {
    if (this.fixedBps !== undefined) return this.fixedBps;
    const t = this.trace!;
    const x = t.timesS[0]! + (elapsedS % t.durationS);
    let lo = 0;
    let hi = t.timesS.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (t.timesS[mid]! <= x) lo = mid;
      else hi = mid - 1;
    }
    return Math.max(MIN_RATE_BPS, t.ratesBps[lo]!);
  }

  /** Seconds from `elapsedS` until the rate next changes (Infinity for a fixed rate). */
  secondsUntilChange(elapsedS: number): number {
    if (this.fixedBps !== undefined) return Number.POSITIVE_INFINITY;
    const t = this.trace!;
    const x = t.timesS[0]! + (elapsedS % t.durationS);
    const end = t.timesS[0]! + t.durationS;
    let next = end;
    for (const s of t.timesS) {
      if (s > x) {
        next = s;
        break;
      }
    }
    return Math.max(1e-9, next - x);
  }

  /**
   * Seconds to move `bits` over this link starting `elapsedS` into the profile (the rate held
   * piecewise constant between samples, looping the trace).
   */
  transferSeconds(elapsedS: number, bits: number): number {
    let t = elapsedS;
    let left = bits;
    for (;;) {
      const rate = this.rateBpsAt(t);
      const span = this.secondsUntilChange(t);
      if (rate * span >= left) return t + left / rate - elapsedS;
      left -= rate * span;
      t += span;
    }
  }

  describe(): { kind: 'fixed'; rateBps: number } | { kind: 'trace'; trace: string; meanBps: number; durationS: number } {
    return this.fixedBps !== undefined ? { kind: 'fixed', rateBps: this.fixedBps } : { kind: 'trace', trace: this.trace!.name, meanBps: this.trace!.meanBps, durationS: this.trace!.durationS };
  }
}

export interface ShapedSession {
  readonly id: string;
  profile: RateProfile;
  startedAtMs: number;
  /** When the session's link is next free, ms since the epoch. */
  linkFreeAtMs: number;
}

/**
 * Parses a rate such as `1500k`, `2.5M`, `800000` (bits per second, SI units).
 * @returns bits/s, or undefined when unparsable.
 */
export function parseRateBps(text: string | number): number | undefined {
  if (typeof text === 'number') return text > 0 ? text : undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:bps|bit\/s)?$/.exec(text.trim());
  if (!m) return undefined;
  const mult = { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6, g: 1e9, G: 1e9 }[m[2]!]!;
  const v = Number(m[1]) * mult;
  return v > 0 ? v : undefined;
}

export class ShapingSessions {
  private readonly sessions = new LRUCache<string, ShapedSession>({ max: 10_000, ttl: 6 * 3600 * 1000 });
  private readonly traces = new Map<string, ThroughputTrace>();

  /**
   * @param tracesDir folder of throughput traces (dataset folders of .txt files); undefined = no
   *        traces (fixed rates only).
   * @param nowMs clock, ms.
   */
  constructor(
    readonly tracesDir: string | undefined,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Names of the available traces, `<dataset>/<file>`. */
  async listTraces(): Promise<{ name: string; meanBps: number; durationS: number }[]> {
    const out: { name: string; meanBps: number; durationS: number }[] = [];
    const tracesDir = this.tracesDir;
    if (!tracesDir) return out;
    for (const dataset of (await fs.readdir(tracesDir, { withFileTypes: true }).catch(() => [])).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
      for (const f of (await fs.readdir(path.join(tracesDir, dataset))).filter((n) => n.endsWith('.txt')).sort()) {
        const t = await this.loadTrace(`${dataset}/${f}`).catch(() => undefined);
        if (t) out.push({ name: t.name, meanBps: t.meanBps, durationS: t.durationS });
      }
    }
    return out;
  }

  /**
   * Loads a trace by `<dataset>/<file>` name (no path escapes the traces folder).
   * @throws Error for unknown or malformed traces.
   */
  async loadTrace(name: string): Promise<ThroughputTrace> {
    const cached = this.traces.get(name);
    if (cached) return cached;
    if (!this.tracesDir || !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\.txt$/.test(name) || name.includes('..')) throw new Error(`unknown trace ${name}`);
    const text = await fs.readFile(path.join(this.tracesDir, name), 'utf8').catch(() => {
      throw new Error(`unknown trace ${name}`);
    });
    const trace = parseThroughputTrace(name, text);
    this.traces.set(name, trace);
    return trace;
  }

  /** Starts (or restarts) shaping a session; the trace's clock starts now. */
  set(id: string, profile: RateProfile): ShapedSession {
    const now = this.nowMs();
    const s: ShapedSession = { id, profile, startedAtMs: now, linkFreeAtMs: now };
    this.sessions.set(id, s);
    return s;
  }

  get(id: string): ShapedSession | undefined {
    return this.sessions.get(id);
  }

  delete(id: string): boolean {
    return this.sessions.delete(id);
  }

  /** Seconds since the session started shaping (its trace's clock). */
  elapsedS(s: ShapedSession): number {
    return (this.nowMs() - s.startedAtMs) / 1000;
  }

  /** The session's current link rate, bits/s. */
  currentRateBps(s: ShapedSession): number {
    return s.profile.rateBpsAt((this.nowMs() - s.startedAtMs) / 1000);
  }

  /**
   * Sends `body` on `res` paced by the session's link: each chunk (pacingChunkBytes at the rate
   * of the moment) waits for the link to be free, then holds it for as long as the profile takes
   * to move its bits (RateProfile.transferSeconds: a chunk that starts in a trough of the trace
   * speeds up when the rate does). Until 2026-12-03 a 16 KiB chunk held the link at the rate of
   * its first instant: on the Puffer trace, which falls to 50 kbit/s between 2–3 Mbit/s bursts,
   * a chunk begun in a trough held the link for 2.6 s through the burst after it, and the page
   * got far less of the link than the trace (and the simulator, which integrates) gives.
   */
  send(session: ShapedSession, res: http.ServerResponse, body: Buffer): void {
    let offset = 0;
    let closed = false;
    res.once('close', () => (closed = true));
    const step = () => {
      if (closed) return;
      const now = this.nowMs();
      const startAt = Math.max(now, session.linkFreeAtMs);
      if (startAt > now + 1) {
        setTimeout(step, startAt - now);
        return;
      }
      const elapsedS = (startAt - session.startedAtMs) / 1000;
      const end = Math.min(body.length, offset + pacingChunkBytes(session.profile.rateBpsAt(elapsedS)));
      const chunk = body.subarray(offset, end);
      session.linkFreeAtMs = startAt + session.profile.transferSeconds(elapsedS, chunk.length * 8) * 1000;
      offset = end;
      if (offset >= body.length) res.end(chunk);
      else {
        res.write(chunk);
        setTimeout(step, Math.max(0, session.linkFreeAtMs - this.nowMs()));
      }
    };
    step();
  }
}

/** The session id in a Cookie header (`vod_session=<id>`), if any. */
export function sessionFromCookie(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader || !cookieHeader.includes('vod_session=')) return undefined;
  const m = /(?:^|;\s*)vod_session=([A-Za-z0-9_-]{1,64})(?:;|$)/.exec(cookieHeader);
  return m?.[1];
}
