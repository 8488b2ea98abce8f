/**
 * QoE beacons: players post playback events to the edge, which turns them into Prometheus
 * metrics and keeps a short log per session. Definitions (after the QoE literature's usual
 * metrics, e.g. Dobrian et al., "Understanding the Impact of Video Quality on User
 * Engagement", SIGCOMM 2011): startup time = play request to first frame; rebuffer ratio =
 * stalled time / (stalled + playing time); average bitrate = the playing rendition's
 * BANDWIDTH weighted by playing time (from heartbeats); switches per minute of playback.
 * Every metric carries the `abr` label: the player's ABR controller (hls.js's own or one of our
 * rules, src/abr/), so `/metrics` compares rules on live traffic.
 */
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Bounds of beacon numbers: generous for any real player, finite for the metrics (a single
 * heartbeat of 1e308 bit/s once left the average bitrate at +Inf for the life of the process).
 */
/** Highest bit rate a beacon may report, bits/s (1 Gbit/s: above any HLS ladder's top rung). */
export const MAX_BEACON_BITRATE_BPS = 1e9;
/** Longest buffer a beacon may report, s. */
export const MAX_BEACON_BUFFER_S = 3600;
/** Latest event time a beacon may carry, ms since the page started (one day). */
export const MAX_BEACON_AT_MS = 86_400_000;

const bitrateBps = z.number().nonnegative().max(MAX_BEACON_BITRATE_BPS);

export const qoeEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('startup'), startupMs: z.number().nonnegative().max(600_000) }),
  z.object({ type: z.literal('switch'), fromBps: bitrateBps.optional(), toBps: bitrateBps, reason: z.string().max(200).optional() }),
  z.object({ type: z.literal('rebuffer-start') }),
  z.object({ type: z.literal('rebuffer-end'), durationMs: z.number().nonnegative().max(3_600_000) }),
  z.object({ type: z.literal('error'), details: z.string().max(200), fatal: z.boolean() }),
  z.object({
    type: z.literal('heartbeat'),
    bitrateBps,
    bufferS: z.number().nonnegative().max(MAX_BEACON_BUFFER_S),
    playedMs: z.number().nonnegative().max(600_000),
    droppedFrames: z.number().int().nonnegative().max(10_000_000).optional(),
  }),
]);

/**
 * ABR controllers a player may name in its beacons (the player page's `?abr=`): hls.js's own
 * (default and tuned) and our rules. A closed set: it is a Prometheus label value.
 */
export const QOE_ABR_NAMES = ['hlsjs', 'hlsjs-tuned', 'throughput', 'bola', 'dynamic'] as const;
export type QoeAbrName = (typeof QOE_ABR_NAMES)[number];
/** The `abr` label of beacons that name no controller. */
export const UNKNOWN_ABR = 'unknown';

export const qoeBeaconSchema = z.object({
  session: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  titleId: z.string().max(64).optional(),
  /** The ABR controller that made the session's decisions. */
  abr: z.enum(QOE_ABR_NAMES).optional(),
  events: z.array(z.intersection(qoeEventSchema, z.object({ atMs: z.number().nonnegative().max(MAX_BEACON_AT_MS) }))).max(100),
});

export type QoeBeacon = z.infer<typeof qoeBeaconSchema>;

export interface SessionSummary {
  session: string;
  titleId: string | undefined;
  /** The ABR controller the player named (UNKNOWN_ABR when none). */
  abr: QoeAbrName | typeof UNKNOWN_ABR;
  startupMs: number | undefined;
  playedMs: number;
  rebufferMs: number;
  rebuffers: number;
  switches: number;
  bitrateMsProduct: number;
  errors: number;
  lastSeenMs: number;
  events: { atMs: number; type: string; detail?: string }[];
}

type AbrLabel = QoeAbrName | typeof UNKNOWN_ABR;
interface Totals {
  playedMs: number;
  rebufferMs: number;
  switches: number;
  bitrateMsProduct: number;
}

export class QoeAggregator {
  private readonly sessions = new LRUCache<string, SessionSummary>({ max: 2000 });
  /** Totals per ABR controller, for the ratio gauges. */
  private readonly totals = new Map<AbrLabel, Totals>();
  private readonly startup: Histogram<'abr'>;
  private readonly rebuffers: Counter<'abr'>;
  private readonly rebufferSeconds: Counter<'abr'>;
  private readonly playSeconds: Counter<'abr'>;
  private readonly switches: Counter<'abr'>;
  private readonly errors: Counter<'abr' | 'fatal'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = ['abr'] as const;
    this.startup = new Histogram({ name: 'vod_qoe_startup_seconds', help: 'Startup time reported by players, by ABR controller.', buckets: [0.25, 0.5, 1, 2, 4, 8, 16], labelNames, registers });
    this.rebuffers = new Counter({ name: 'vod_qoe_rebuffers_total', help: 'Rebuffering events reported by players, by ABR controller.', labelNames, registers });
    this.rebufferSeconds = new Counter({ name: 'vod_qoe_rebuffer_seconds_total', help: 'Time players spent stalled, by ABR controller.', labelNames, registers });
    this.playSeconds = new Counter({ name: 'vod_qoe_play_seconds_total', help: 'Time players spent playing, by ABR controller.', labelNames, registers });
    this.switches = new Counter({ name: 'vod_qoe_switches_total', help: 'Rendition switches reported by players, by ABR controller.', labelNames, registers });
    this.errors = new Counter({ name: 'vod_qoe_errors_total', help: 'Player errors, by ABR controller and fatality.', labelNames: ['abr', 'fatal'], registers });
    const totals = this.totals;
    const perAbr = (gauge: Gauge<'abr'>, value: (t: Totals) => number) => {
      gauge.reset();
      for (const [abr, t] of totals) gauge.set({ abr }, value(t));
    };
    new Gauge({ name: 'vod_qoe_rebuffer_ratio', help: 'Stalled time / (stalled + playing time), all sessions of each ABR controller.', labelNames, registers, collect() { perAbr(this, (t) => (t.playedMs + t.rebufferMs > 0 ? t.rebufferMs / (t.playedMs + t.rebufferMs) : 0)); } });
    new Gauge({ name: 'vod_qoe_average_bitrate_bps', help: 'Playing-time-weighted BANDWIDTH of the renditions played, bits/s, by ABR controller.', labelNames, registers, collect() { perAbr(this, (t) => (t.playedMs > 0 ? t.bitrateMsProduct / t.playedMs : 0)); } });
    new Gauge({ name: 'vod_qoe_switches_per_minute', help: 'Rendition switches per minute of playback, by ABR controller.', labelNames, registers, collect() { perAbr(this, (t) => (t.playedMs > 0 ? t.switches / (t.playedMs / 60_000) : 0)); } });
  }

  /** Records a validated beacon. */
  record(beacon: QoeBeacon, nowMs = Date.now()): SessionSummary {
    let s = this.sessions.get(beacon.session);
    if (!s) {
      s = { session: beacon.session, titleId: beacon.titleId, abr: beacon.abr ?? UNKNOWN_ABR, startupMs: undefined, playedMs: 0, rebufferMs: 0, rebuffers: 0, switches: 0, bitrateMsProduct: 0, errors: 0, lastSeenMs: nowMs, events: [] };
      this.sessions.set(beacon.session, s);
    }
    s.lastSeenMs = nowMs;
    if (beacon.titleId) s.titleId = beacon.titleId;
    if (beacon.abr) s.abr = beacon.abr;
    const abr = s.abr;
    let t = this.totals.get(abr);
    if (!t) {
      t = { playedMs: 0, rebufferMs: 0, switches: 0, bitrateMsProduct: 0 };
      this.totals.set(abr, t);
    }
    const label = { abr };
    for (const e of beacon.events) {
      switch (e.type) {
        case 'startup':
          s.startupMs = e.startupMs;
          this.startup.observe(label, e.startupMs / 1000);
          break;
        case 'switch':
          s.switches++;
          t.switches++;
          this.switches.inc(label);
          break;
        case 'rebuffer-start':
          s.rebuffers++;
          this.rebuffers.inc(label);
          break;
        case 'rebuffer-end':
          s.rebufferMs += e.durationMs;
          t.rebufferMs += e.durationMs;
          this.rebufferSeconds.inc(label, e.durationMs / 1000);
          break;
        case 'error':
          s.errors++;
          this.errors.inc({ abr, fatal: String(e.fatal) });
          break;
        case 'heartbeat':
          s.playedMs += e.playedMs;
          s.bitrateMsProduct += e.bitrateBps * e.playedMs;
          t.playedMs += e.playedMs;
          t.bitrateMsProduct += e.bitrateBps * e.playedMs;
          this.playSeconds.inc(label, e.playedMs / 1000);
          break;
      }
      const detail = e.type === 'switch' ? `${e.fromBps ?? '?'} → ${e.toBps}${e.reason ? ` (${e.reason})` : ''}` : e.type === 'error' ? e.details : e.type === 'startup' ? `${e.startupMs} ms` : e.type === 'rebuffer-end' ? `${e.durationMs} ms` : undefined;
      if (e.type !== 'heartbeat') s.events.push({ atMs: e.atMs, type: e.type, ...(detail ? { detail } : {}) });
      if (s.events.length > 200) s.events.shift();
    }
    return s;
  }

  /** Recent sessions with their summaries, newest first. */
  list(limit = 50): (Omit<SessionSummary, 'bitrateMsProduct'> & { averageBitrateBps: number; rebufferRatio: number })[] {
    return [...this.sessions.values()]
      .sort((a, b) => b.lastSeenMs - a.lastSeenMs)
      .slice(0, limit)
      .map(({ bitrateMsProduct, ...s }) => ({
        ...s,
        averageBitrateBps: s.playedMs > 0 ? bitrateMsProduct / s.playedMs : 0,
        rebufferRatio: s.playedMs + s.rebufferMs > 0 ? s.rebufferMs / (s.playedMs + s.rebufferMs) : 0,
      }));
  }
}
