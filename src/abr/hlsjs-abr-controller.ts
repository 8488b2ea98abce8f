/**
 * Our ABR rules (abr-rules.ts) as an hls.js ABR controller: hls.js accepts a class as
 * `config.abrController` and asks it for `nextAutoLevel` before each fragment (hls.js API docs,
 * "abrController"; the AbrComponentAPI interface in hls.d.ts). Bundled for the player page by
 * the edge (esbuild) and loaded with `?abr=throughput|bola|dynamic`; `?abr=hlsjs` (or none)
 * keeps hls.js's own controller.
 *
 * The controller reads what the simulator's rules read: the ladder (hls.levels' average bitrates,
 * AVERAGE-BANDWIDTH, and their peaks, BANDWIDTH), the forward buffer (the media element's
 * buffered range at the playhead), the buffer target (maxBufferLength), the last main fragment's
 * duration, how long the player waited with a full buffer since that fragment loaded or since
 * its previous decision (dash.js counts the same interval, getPlaceholderIncrementInSeconds; a
 * wait with a short buffer — hls.js holding the video for the audio, a stall — is not counted)
 * and a throughput estimate (the same EWMA as the simulator's) of the link, not of the fragment
 * alone: the bytes every fragment — the audio ones loading beside it included — moved while a
 * main fragment loaded (link-throughput.ts; until 2026-12-03 the video fragment's own bytes, about
 * half the link on the lowest levels), and each audio fragment over the time no video fragment
 * was loading. Each decision is reported to `onDecision` with the rule that made it, for
 * the page's switch log. Only structural types of hls.js are used: the page supplies the
 * library.
 */
import { createAbrRule, EwmaThroughputEstimator, type AbrDecision, type AbrRuleName } from './abr-rules.js';
import { bytesDuring, uncoveredMs, type LoadSpan } from './link-throughput.js';

/** The slice of an hls.js instance the controller uses. */
interface HlsLike {
  /** hls.js Level: `bitrate` is BANDWIDTH, `averageBitrate` AVERAGE-BANDWIDTH (else BANDWIDTH). */
  readonly levels: readonly { readonly bitrate: number; readonly averageBitrate?: number }[];
  readonly media: MediaLike | null;
  readonly config: { readonly maxBufferLength: number };
  on(event: string, listener: (event: string, data: never) => void): void;
  off(event: string, listener: (event: string, data: never) => void): void;
}

/** The slice of the media element the controller uses. */
interface MediaLike {
  readonly currentTime: number;
  readonly buffered: { readonly length: number; start(i: number): number; end(i: number): number };
  addEventListener(type: 'seeking', listener: () => void): void;
  removeEventListener(type: 'seeking', listener: () => void): void;
}

/** hls.js Fragment: `stats` is replaced by the loader's when its load starts, so read it late. */
interface FragLike {
  readonly type: string;
  /** The media sequence number, or 'initSegment' for an init segment. */
  readonly sn?: number | string;
  readonly duration?: number;
  readonly stats: { readonly loaded: number; readonly aborted?: boolean; readonly loading: { readonly start: number; readonly first: number; readonly end: number } };
}

interface FragLoadedData {
  readonly frag: FragLike;
}

/** How long finished loads are kept for the link estimate, ms (a fragment load lasts seconds). */
const LOAD_HISTORY_MS = 60_000;

/** hls.js's event names (Hls.Events.FRAG_LOADING, FRAG_LOADED, MEDIA_ATTACHED, MEDIA_DETACHING). */
const FRAG_LOADING = 'hlsFragLoading';
const FRAG_LOADED = 'hlsFragLoaded';
const MEDIA_ATTACHED = 'hlsMediaAttached';
const MEDIA_DETACHING = 'hlsMediaDetaching';

/** What the page learns of each decision. */
export interface ControllerDecision extends AbrDecision {
  readonly bufferS: number;
  readonly throughputBps: number | undefined;
  /** BOLA's placeholder buffer after the decision, s (rules with one: bola, dynamic). */
  readonly placeholderS?: number;
  /** The time waited with a full buffer the rule was given (AbrContext.idleS), s. */
  readonly idleS: number;
  /** Time since the last main fragment loaded or the last decision, s (idleS when the buffer is full, else not counted). */
  readonly sinceLastS: number;
}

/** Seconds buffered ahead of the playhead. */
function forwardBufferS(media: HlsLike['media']): number {
  if (!media) return 0;
  const t = media.currentTime;
  for (let i = 0; i < media.buffered.length; i++) {
    if (media.buffered.start(i) <= t + 0.1 && t < media.buffered.end(i)) return media.buffered.end(i) - t;
  }
  return 0;
}

/** BOLA's placeholder buffer of a rule that has one (BolaRule, or DynamicRule's BOLA), s. */
function placeholderOf(rule: object): number | undefined {
  const r = rule as { placeholderBufferS?: number; bola?: { placeholderBufferS?: number } };
  return r.placeholderBufferS ?? r.bola?.placeholderBufferS;
}

/**
 * A class for hls.js `config.abrController` that runs rule `ruleName`.
 * @param onDecision called with every decision (level, rule, buffer, estimate).
 */
export function ruleAbrController(ruleName: AbrRuleName, onDecision?: (d: ControllerDecision) => void) {
  return class RuleAbrController {
    forcedAutoLevel = -1;
    private readonly hls: HlsLike;
    private readonly rule = createAbrRule(ruleName);
    private readonly estimator = new EwmaThroughputEstimator();
    private last: number | undefined;
    /** performance.now() of the last main fragment loaded or the last decision, ms. */
    private lastEventMs: number | undefined;
    private segmentDurationS: number | undefined;
    /** Fragments (any type) loading now, and loads that ended within LOAD_HISTORY_MS. */
    private readonly loading = new Set<FragLike>();
    private finished: LoadSpan[] = [];
    /** Main (video) fragment loads that ended within LOAD_HISTORY_MS. */
    private mainLoads: { startMs: number; endMs: number }[] = [];
    private readonly onFragLoading = (_e: string, data: FragLoadedData) => {
      // Init segments announce FRAG_LOADING but never FRAG_LOADED (hls.js 1.7 _loadInitSegment):
      // kept, one would count as a load in flight for a minute and hide every audio load behind it.
      if (data.frag.sn === 'initSegment') return;
      this.loading.add(data.frag);
    };
    private readonly onFragLoaded = (_e: string, data: FragLoadedData) => {
      const nowMs = performance.now();
      this.loading.delete(data.frag);
      // Loads that failed or were aborted never report FRAG_LOADED: forget them after a while.
      for (const f of this.loading) if (f.stats.aborted || (f.stats.loading.start > 0 && f.stats.loading.start < nowMs - LOAD_HISTORY_MS)) this.loading.delete(f);
      this.finished = this.finished.filter((l) => l.endMs! > nowMs - LOAD_HISTORY_MS);
      this.mainLoads = this.mainLoads.filter((l) => l.endMs > nowMs - LOAD_HISTORY_MS);
      const own = data.frag.stats;
      if (data.frag.type !== 'main') {
        if (!(own.loaded > 0 && own.loading.end > own.loading.start)) return;
        const span = { startMs: own.loading.start, endMs: own.loading.end };
        this.finished.push({ ...span, bytes: own.loaded });
        // The time no video fragment was loading is a sample of the link no video sample holds
        // (link-throughput.ts): its share of this fragment's bytes over that time.
        const videoLoads = [...this.mainLoads, ...[...this.loading].filter((f) => f.type === 'main' && f.stats.loading.start > 0).map((f) => ({ startMs: f.stats.loading.start }))];
        const alone = uncoveredMs(span, videoLoads, nowMs);
        if (alone > 0) this.estimator.sample(alone / 1000, (own.loaded * alone) / (span.endMs - span.startMs));
        return;
      }
      this.lastEventMs = nowMs;
      if (data.frag.duration && data.frag.duration > 0) this.segmentDurationS = data.frag.duration;
      // A forced level holds until a fragment has loaded (hls.js's own controller does the same:
      // hls.js re-forces the level it is loading through nextLoadLevel on every fragment).
      this.forcedAutoLevel = -1;
      const { loaded, loading } = own;
      if (loading.end > loading.start) this.mainLoads.push({ startMs: loading.start, endMs: loading.end });
      if (loaded > 0 && loading.end > loading.start) {
        // The link's bytes while this fragment loaded: its own and what the others moved meanwhile.
        const others = [...this.finished, ...[...this.loading].map((f) => ({ startMs: f.stats.loading.start, bytes: f.stats.loaded }))];
        this.estimator.sample((loading.end - loading.start) / 1000, loaded + bytesDuring({ startMs: loading.start, endMs: loading.end }, others, nowMs));
      }
    };
    /** A seek empties the buffer: the rule starts over (its reset), the estimate stays. */
    private readonly onSeeking = () => {
      this.rule.reset();
      this.last = undefined;
    };
    private media: MediaLike | null = null;
    private readonly onMediaAttached = (_e: string, data: { media: MediaLike }) => this.watch(data.media);
    private readonly onMediaDetaching = () => this.watch(null);
    /** hls.js reads `bwEstimator.getEstimate()` for `hls.bandwidthEstimate`. */
    readonly bwEstimator = { getEstimate: (): number => this.estimator.estimateBps() ?? Number.NaN };

    constructor(hls: HlsLike) {
      this.hls = hls;
      hls.on(FRAG_LOADING, this.onFragLoading);
      hls.on(FRAG_LOADED, this.onFragLoaded);
      hls.on(MEDIA_ATTACHED, this.onMediaAttached);
      hls.on(MEDIA_DETACHING, this.onMediaDetaching);
      this.watch(hls.media);
    }

    private watch(media: MediaLike | null): void {
      this.media?.removeEventListener('seeking', this.onSeeking);
      this.media = media;
      media?.addEventListener('seeking', this.onSeeking);
    }

    private decide(): number {
      const levels = this.hls.levels;
      if (levels.length === 0) return 0;
      const bufferS = forwardBufferS(this.hls.media);
      const throughputBps = this.estimator.estimateBps();
      const now = performance.now();
      const sinceLastS = this.lastEventMs === undefined ? 0 : Math.max(0, (now - this.lastEventMs) / 1000);
      this.lastEventMs = now;
      // The rules want the time waited *with a full buffer* (AbrContext.idleS): hls.js loads
      // whenever the buffer is under maxBufferLength, so a wait ends with the buffer just under it.
      // A gap with a short buffer is something else — hls.js holding the video back until the
      // first audio fragment arrived, a stall — and counting it (until 2026-12-03) grew BOLA's
      // placeholder by seconds at start-up: on the Puffer trace a 5.4 s wait for audio with 4 s
      // buffered made BOLA pick the top level, whose 1 MB fragment then took 13 s (bench:abr's
      // switch log).
      const segmentS = this.segmentDurationS ?? 4;
      const idleS = bufferS >= this.hls.config.maxBufferLength - segmentS ? sinceLastS : 0;
      const d = this.rule.choose({
        bitratesBps: levels.map((l) => l.averageBitrate || l.bitrate),
        peakBitratesBps: levels.map((l) => l.bitrate),
        segmentDurationS: this.segmentDurationS,
        bufferS,
        throughputBps,
        lastLevel: this.last,
        bufferTargetS: this.hls.config.maxBufferLength,
        idleS,
      });
      this.last = d.level;
      onDecision?.({ ...d, bufferS, throughputBps, idleS, sinceLastS, placeholderS: placeholderOf(this.rule) });
      return d.level;
    }

    get firstAutoLevel(): number {
      return this.decide();
    }

    get nextAutoLevel(): number {
      if (this.forcedAutoLevel < 0) return this.decide();
      this.last = this.forcedAutoLevel;
      return this.forcedAutoLevel;
    }

    /**
     * hls.js sets it to force the next level until a fragment loads (after a load error on the
     * level above, and with the level it is about to load).
     */
    set nextAutoLevel(level: number) {
      this.forcedAutoLevel = level;
    }

    resetEstimator(): void {}

    destroy(): void {
      this.hls.off(FRAG_LOADING, this.onFragLoading);
      this.hls.off(FRAG_LOADED, this.onFragLoaded);
      this.hls.off(MEDIA_ATTACHED, this.onMediaAttached);
      this.hls.off(MEDIA_DETACHING, this.onMediaDetaching);
      this.watch(null);
    }
  };
}

export { ABR_RULE_NAMES } from './abr-rules.js';
