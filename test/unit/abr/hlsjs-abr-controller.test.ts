/**
 * The hls.js ABR controller's own bookkeeping, isolated from hls.js by a structural fake of the
 * slice it uses (levels, media element, config, event emitter): what it passes to the rule and
 * that a seek starts the rule over. Real hls.js in Chromium plays with these controllers in
 * test/e2e (the ABR e2e test and `npm run bench:abr`).
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { ruleAbrController, type ControllerDecision } from '../../../src/abr/hlsjs-abr-controller.js';

/** A media element with `bufferedS` seconds buffered from the playhead at 0. */
class FakeMedia extends EventTarget {
  currentTime = 0;
  bufferedS = 0;
  get buffered() {
    const end = this.bufferedS;
    return { length: end > 0 ? 1 : 0, start: () => 0, end: () => end };
  }
}

function fakeHls(media: FakeMedia) {
  const events = new EventEmitter();
  return {
    levels: [
      { bitrate: 750_000, averageBitrate: 500_000 },
      { bitrate: 1_500_000, averageBitrate: 1_000_000 },
      { bitrate: 3_000_000, averageBitrate: 2_000_000 },
      { bitrate: 6_000_000, averageBitrate: 4_000_000 },
    ],
    media,
    config: { maxBufferLength: 30 },
    on: (e: string, l: (e: string, d: never) => void) => void events.on(e, (d: unknown) => l(e, d as never)),
    off: () => undefined,
    emit: (e: string, d: unknown) => events.emit(e, d),
  };
}

/** One main fragment of 4 s that loaded `bytes` in `ms`. */
const fragLoaded = (bytes: number, ms: number) => ({ frag: { type: 'main', duration: 4, stats: { loaded: bytes, loading: { start: 0, first: 1, end: ms } } } });

describe('hls.js ABR controller', () => {
  it("decides on the levels' average bitrates and starts DYNAMIC over after a seek", () => {
    const media = new FakeMedia();
    const hls = fakeHls(media);
    const decisions: ControllerDecision[] = [];
    const Controller = ruleAbrController('dynamic', (d) => decisions.push(d));
    const c = new Controller(hls);
    hls.emit('hlsFragLoaded', fragLoaded(2_500_000, 4000)); // 5 Mbit/s
    media.bufferedS = 20;
    // 0.9 × 5 Mbit/s = 4.5: level 3 by its average (4 Mbit/s); its BANDWIDTH (6) would not fit.
    expect(c.nextAutoLevel).toBe(3);
    expect(decisions.at(-1)!.rule).toBe('bola'); // 20 s ≥ 12 s: DYNAMIC runs BOLA
    // The switch log sees BOLA's placeholder and the idle time the rule was given: none, as 20 s
    // of a 30 s target is not a full buffer.
    expect(decisions.at(-1)!.placeholderS).toBeGreaterThanOrEqual(0);
    expect(decisions.at(-1)!.idleS).toBe(0);
    media.bufferedS = 8;
    c.nextAutoLevel; // still BOLA at 8 s (it hands back below 6 s)…
    expect(decisions.at(-1)!.rule).toBe('bola');
    media.dispatchEvent(new Event('seeking'));
    c.nextAutoLevel; // …but a seek starts over with the throughput rule
    expect(decisions.at(-1)!.rule).toBe('throughput');
    c.destroy();
  });

  it("counts a wait as BOLA's idle time only when the buffer is full, not while hls.js waits for audio", () => {
    const media = new FakeMedia();
    const hls = fakeHls(media);
    const decisions: ControllerDecision[] = [];
    const c = new (ruleAbrController('bola', (d) => decisions.push(d)))(hls);
    const clock = vi.spyOn(performance, 'now').mockReturnValue(0);
    c.nextAutoLevel; // the first fragment, before any estimate: the lowest level
    // The first fragment loads fast (a burst: 4 Mbit/s), then hls.js waits 5.4 s for the audio
    // with 4 s buffered (the Puffer session in bench:abr's switch log).
    clock.mockReturnValue(80);
    hls.emit('hlsFragLoaded', { frag: { type: 'main', duration: 4, stats: { loaded: 40_000, loading: { start: 0, first: 1, end: 80 } } } });
    media.bufferedS = 4;
    clock.mockReturnValue(5480);
    const level = c.nextAutoLevel;
    expect(decisions.at(-1)!.sinceLastS).toBeCloseTo(5.4, 6);
    expect(decisions.at(-1)!.idleS).toBe(0);
    // Seeded from the throughput rule (level 2 at 0.9 × 4 Mbit/s), not carried to the top by 5.4 s of placeholder.
    expect(level).toBeLessThanOrEqual(2);
    expect(decisions.at(-1)!.placeholderS!).toBeLessThan(15);
    // A wait with a full buffer (29 s of a 30 s target) is idle time.
    clock.mockReturnValue(6000);
    hls.emit('hlsFragLoaded', { frag: { type: 'main', duration: 4, stats: { loaded: 1_000_000, loading: { start: 5500, first: 5501, end: 6000 } } } });
    media.bufferedS = 29;
    clock.mockReturnValue(9000);
    c.nextAutoLevel;
    expect(decisions.at(-1)!.idleS).toBeCloseTo(3, 6);
    clock.mockRestore();
    c.destroy();
  });

  it('samples the link from an audio fragment over the time no video fragment was loading', () => {
    const media = new FakeMedia();
    const hls = fakeHls(media);
    for (const rule of ['bola', 'throughput'] as const) {
      const decisions: ControllerDecision[] = [];
      const c = new (ruleAbrController(rule, (d) => decisions.push(d)))(hls);
      const clock = vi.spyOn(performance, 'now').mockReturnValue(0);
      c.nextAutoLevel;
      // The Puffer start-up of bench:abr's switch log: the first video fragment, 46 KB, loads in a
      // 160 ms burst (2.3 Mbit/s); the first audio fragment, 67 KB, beside it takes 8.4 s.
      const audio = { frag: { type: 'audio', sn: 0, duration: 4, stats: { loaded: 67_000, loading: { start: 2, first: 3, end: 8400 } } } };
      // hls.js announces the init segments' loads and never reports them loaded.
      hls.emit('hlsFragLoading', { frag: { type: 'main', sn: 'initSegment', stats: { loaded: 800, loading: { start: 1, first: 2, end: 10 } } } });
      hls.emit('hlsFragLoading', { frag: { type: 'audio', sn: 'initSegment', stats: { loaded: 760, loading: { start: 2, first: 3, end: 12 } } } });
      hls.emit('hlsFragLoading', audio);
      clock.mockReturnValue(160);
      const video = { frag: { type: 'main', sn: 0, duration: 4, stats: { loaded: 46_000, loading: { start: 1, first: 2, end: 160 } } } };
      hls.emit('hlsFragLoading', video);
      hls.emit('hlsFragLoaded', video);
      clock.mockReturnValue(8400);
      hls.emit('hlsFragLoaded', audio);
      media.bufferedS = 4;
      const level = c.nextAutoLevel;
      // 8.24 s of the audio load had the link alone: ~65 kbit/s, which outweighs the 0.16 s burst.
      expect(decisions.at(-1)!.throughputBps!).toBeLessThan(200_000);
      expect(level).toBe(0);
      clock.mockRestore();
      c.destroy();
    }
  });

  it('estimates the link: the audio loaded beside a video fragment counts', () => {
    const media = new FakeMedia();
    const hls = fakeHls(media);
    const decisions: ControllerDecision[] = [];
    const c = new (ruleAbrController('throughput', (d) => decisions.push(d)))(hls);
    // The page's clock (performance.now(), ms since the page loaded), held still.
    const now = 100_000;
    const clock = vi.spyOn(performance, 'now').mockReturnValue(now);
    const load = (type: string, bytes: number, startMs: number, endMs: number) => ({ frag: { type, duration: 4, stats: { loaded: bytes, loading: { start: startMs, first: startMs + 1, end: endMs } } } });
    // An audio fragment of 0.5 MB loads wholly within the 4 s a video fragment of 1 MB took:
    // the link moved 1.5 MB in 4 s, 3 Mbit/s (the video alone: 2 Mbit/s).
    const audio = load('audio', 500_000, now - 3000, now - 1000);
    const video = load('main', 1_000_000, now - 4000, now);
    hls.emit('hlsFragLoading', video);
    hls.emit('hlsFragLoading', audio);
    hls.emit('hlsFragLoaded', audio); // wholly beside the video load: counted in its sample, not alone
    hls.emit('hlsFragLoaded', video);
    c.nextAutoLevel;
    expect(decisions.at(-1)!.throughputBps).toBeCloseTo(3_000_000, -3);
    // An audio fragment still loading (2 s so far, 0.25 MB) during the next 4 s video load of 1 MB:
    // 1.25 MB in 4 s, 2.5 Mbit/s, into the EWMA with the 3 Mbit/s sample: 2.64 Mbit/s (the smaller,
    // 3 s half-life EWMA, bias-corrected); without the audio in flight it would be 2.28.
    const later = now + 10_000;
    clock.mockReturnValue(later);
    hls.emit('hlsFragLoading', { frag: { type: 'audio', duration: 4, stats: { loaded: 250_000, loading: { start: later - 2000, first: later - 1999, end: 0 } } } });
    hls.emit('hlsFragLoaded', load('main', 1_000_000, later - 4000, later));
    c.nextAutoLevel;
    const estimate = decisions.at(-1)!.throughputBps!;
    expect(estimate).toBeCloseTo(2_642_000, -4);
    clock.mockRestore();
    c.destroy();
  });
});

