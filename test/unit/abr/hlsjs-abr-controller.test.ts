/**
 * The hls.js ABR controller's own bookkeeping, isolated from hls.js by a structural fake of the
 * slice it uses (levels, media element, config, event emitter): what it passes to the rule and
 * that a seek starts the rule over. Real hls.js in Chromium plays with these controllers in
 * test/e2e (the ABR e2e test and `npm run bench:abr`).
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
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
    media.bufferedS = 8;
    c.nextAutoLevel; // still BOLA at 8 s (it hands back below 6 s)…
    expect(decisions.at(-1)!.rule).toBe('bola');
    media.dispatchEvent(new Event('seeking'));
    c.nextAutoLevel; // …but a seek starts over with the throughput rule
    expect(decisions.at(-1)!.rule).toBe('throughput');
    c.destroy();
  });
});
