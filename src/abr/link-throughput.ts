/**
 * The access link's throughput from fragment loads that share it. hls.js loads audio and video
 * fragments in parallel (its audio and main stream controllers each fill their own buffer), so a
 * video fragment's own bytes over its own load time measure only its share of the link: on a
 * 264 kbit/s level whose audio is half of it, about half the link, which kept the page's rules at
 * the lowest levels on links several times faster (issue 15's Chromium runs: 290 kbit/s on a
 * Puffer trace averaging 1,005 where the simulator, which loads a segment's audio and video as one
 * transfer, predicted 541). Counting what every load moved while the video fragment loaded gives
 * the link's rate, which is what the rules compare with a level's AVERAGE-BANDWIDTH (video and
 * audio). hls.js's own estimator samples main fragments alone (its abr-controller ignores other
 * fragment types), so its estimate has the same shortfall; the simulator's model of it keeps it.
 *
 * Audio fragments that load while no video fragment does are samples of the link too: hls.js
 * holds the video back until the first audio fragment has arrived, and on a link that collapses
 * (the Puffer trace falls to 47 kbit/s half a second in) the only video sample before the second
 * decision was a 46 KB fragment loaded in a 2.3 Mbit/s burst, while the audio beside it took 5–8 s
 * — which the estimate ignored, so the rules chose the top level and stalled 13 s (bench:abr's
 * switch log, 2026-12-03). Those 5–8 s were partly the shaping edge's own fault, fixed the same
 * day (it held the link at a trough's rate through the burst after it; edge-cache/shaping.ts), so
 * such loads are shorter now; an audio load alone still measures the link, and is counted. Only
 * the part of such a load that no video load overlapped is sampled (uncoveredMs), so no interval
 * is counted twice.
 */

/** One fragment load: when it started and ended (performance.now() ms) and the bytes it moved. */
export interface LoadSpan {
  readonly startMs: number;
  /** Unset while still loading: it has moved `bytes` so far, up to now. */
  readonly endMs?: number | undefined;
  readonly bytes: number;
}

/**
 * Bytes that `loads` moved during `window` (ms), each load taken to move its bytes at an even rate
 * over its span (a load still in flight: over its span so far, up to `nowMs`).
 * @returns bytes, 0 when no load overlaps the window.
 */
export function bytesDuring(window: { readonly startMs: number; readonly endMs: number }, loads: readonly LoadSpan[], nowMs: number): number {
  let total = 0;
  for (const l of loads) {
    const end = l.endMs ?? nowMs;
    if (!(l.startMs > 0) || !(end > l.startMs) || !(l.bytes > 0)) continue;
    const overlap = Math.min(end, window.endMs) - Math.max(l.startMs, window.startMs);
    if (overlap > 0) total += (l.bytes * overlap) / (end - l.startMs);
  }
  return total;
}

/**
 * Milliseconds of `window` that none of `spans` covers (the window less the union of the spans;
 * a span still in flight covers up to `nowMs`). The controller samples the link from an audio
 * fragment only over the time no video fragment was loading, which no video sample has counted.
 * @returns ms, between 0 and the window's length.
 */
export function uncoveredMs(window: { readonly startMs: number; readonly endMs: number }, spans: readonly Omit<LoadSpan, 'bytes'>[], nowMs: number): number {
  const parts = spans
    .map((s) => [Math.max(s.startMs, window.startMs), Math.min(s.endMs ?? nowMs, window.endMs)] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let covered = 0;
  let reach = window.startMs;
  for (const [a, b] of parts) {
    if (b <= reach) continue;
    covered += b - Math.max(a, reach);
    reach = b;
  }
  return Math.max(0, window.endMs - window.startMs - covered);
}
