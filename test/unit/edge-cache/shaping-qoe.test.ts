import http from 'node:http';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { QoeAggregator, qoeBeaconSchema } from '../../../src/edge-cache/qoe.js';
import { CHUNK_BYTES, MIN_CHUNK_BYTES, pacingChunkBytes, parseRateBps, parseThroughputTrace, RateProfile, sessionFromCookie, ShapingSessions } from '../../../src/edge-cache/shaping.js';
import { listen } from '../../../src/http/listen.js';

describe('throughput traces', () => {
  it('parses the Pensieve format and replays it from the session start, looping', () => {
    const t = parseThroughputTrace('x', '0.0\t1.0\n1.0\t3.0\n2.0\t0.0\n');
    expect(t.durationS).toBe(3);
    expect(t.meanBps).toBeCloseTo(4e6 / 3);
    const p = RateProfile.fromTrace(t);
    expect(p.rateBpsAt(0.5)).toBe(1e6);
    expect(p.rateBpsAt(1.5)).toBe(3e6);
    expect(p.rateBpsAt(2.5)).toBe(50_000); // a 0 Mbit/s sample is held at the floor rate
    expect(p.rateBpsAt(3.5)).toBe(1e6); // looped
    expect(() => parseThroughputTrace('bad', '0\t1\nfoo\tbar\n')).toThrow(/bad line 2/);
  });

  it('parses rates and session cookies', () => {
    expect(parseRateBps('1500k')).toBe(1_500_000);
    expect(parseRateBps('2.5M')).toBe(2_500_000);
    expect(parseRateBps(800_000)).toBe(800_000);
    expect(parseRateBps('fast')).toBeUndefined();
    expect(sessionFromCookie('a=b; vod_session=abc123; c=d')).toBe('abc123');
    expect(sessionFromCookie('vod_session=../etc')).toBeUndefined();
    expect(sessionFromCookie(undefined)).toBeUndefined();
  });

  it('paces a response at the session rate, the session sharing one link', async () => {
    const shaping = new ShapingSessions('/nonexistent');
    const s = shaping.set('t', RateProfile.fixed(2_000_000)); // 250 kB/s
    const body = Buffer.alloc(100_000);
    const server = await listen((_req: http.IncomingMessage, res: http.ServerResponse) => shaping.send(s, res, body), '127.0.0.1', 0);
    try {
      const started = Date.now();
      const [a, b] = await Promise.all([fetch(server.url).then((r) => r.arrayBuffer()), fetch(server.url).then((r) => r.arrayBuffer())]);
      const elapsed = Date.now() - started;
      expect(a.byteLength + b.byteLength).toBe(200_000);
      // 200 kB over a 250 kB/s link takes about 0.8 s; unshaped it would take milliseconds.
      expect(elapsed).toBeGreaterThan(650);
      expect(elapsed).toBeLessThan(3000);
    } finally {
      await server.close();
    }
  });

  it('paces in steps of about 20 ms of link time, one packet at least and 16 KiB at most', () => {
    expect(pacingChunkBytes(50_000)).toBe(MIN_CHUNK_BYTES); // 125 B of link time: one packet
    expect(pacingChunkBytes(2_400_000)).toBe(6_000);
    expect(pacingChunkBytes(100_000_000)).toBe(CHUNK_BYTES);
  });

  it('a chunk begun in a trough of the trace speeds up with the burst after it', async () => {
    // 50 kbit/s for 0.5 s, then 8 Mbit/s for 0.5 s (looping). 100 kB: about 3 kB in the trough,
    // the rest in the first 0.1 s of the burst — done near 0.6 s. Holding each chunk at the rate
    // of its first instant, as the edge did until 2026-12-03, a 16 KiB chunk begun in the trough
    // took 2.6 s.
    const shaping = new ShapingSessions('/nonexistent');
    const body = Buffer.alloc(100_000);
    const s = shaping.set('trough', RateProfile.fromTrace(parseThroughputTrace('trough', '0\t0.05\n0.5\t8\n')));
    const server = await listen((_req: http.IncomingMessage, res: http.ServerResponse) => shaping.send(s, res, body), '127.0.0.1', 0);
    try {
      const started = Date.now();
      const got = await fetch(server.url).then((r) => r.arrayBuffer());
      const elapsed = Date.now() - started;
      expect(got.byteLength).toBe(100_000);
      expect(elapsed).toBeGreaterThan(450); // the trough was paced, not skipped
      expect(elapsed).toBeLessThan(2000);
    } finally {
      await server.close();
    }
  });
});

describe('QoE aggregation', () => {
  it('turns beacons into rebuffer ratio, average bitrate and switches per minute', async () => {
    const registry = new Registry();
    const qoe = new QoeAggregator(registry);
    const beacon = qoeBeaconSchema.parse({
      session: 's1',
      titleId: 'x',
      events: [
        { type: 'startup', startupMs: 800, atMs: 900 },
        { type: 'heartbeat', bitrateBps: 1_000_000, bufferS: 8, playedMs: 30_000, atMs: 31_000 },
        { type: 'switch', fromBps: 1_000_000, toBps: 3_000_000, atMs: 31_500 },
        { type: 'heartbeat', bitrateBps: 3_000_000, bufferS: 8, playedMs: 30_000, atMs: 61_000 },
        { type: 'rebuffer-start', atMs: 62_000 },
        { type: 'rebuffer-end', durationMs: 3_000, atMs: 65_000 },
      ],
    });
    const s = qoe.record(beacon);
    expect(s.rebuffers).toBe(1);
    const [summary] = qoe.list();
    expect(summary!.averageBitrateBps).toBe(2_000_000);
    expect(summary!.rebufferRatio).toBeCloseTo(3 / 63);
    const text = await registry.metrics();
    // A beacon that names no ABR controller is labelled unknown.
    expect(summary!.abr).toBe('unknown');
    expect(text).toMatch(/^vod_qoe_switches_per_minute\{abr="unknown"\} 1$/m);
    expect(text).toMatch(/^vod_qoe_average_bitrate_bps\{abr="unknown"\} 2000000$/m);
    expect(text).toMatch(/^vod_qoe_startup_seconds_count\{abr="unknown"\} 1$/m);
    expect(qoeBeaconSchema.safeParse({ session: 's', events: [{ type: 'heartbeat', atMs: 1 }] }).success).toBe(false);
  });

  it('keeps each ABR controller apart, so rules compare on live traffic', async () => {
    const registry = new Registry();
    const qoe = new QoeAggregator(registry);
    const play = (session: string, abr: string, bitrateBps: number, stallMs: number) =>
      qoe.record(
        qoeBeaconSchema.parse({
          session,
          abr,
          events: [
            { type: 'heartbeat', bitrateBps, bufferS: 10, playedMs: 60_000, atMs: 61_000 },
            ...(stallMs ? [{ type: 'rebuffer-start', atMs: 62_000 }, { type: 'rebuffer-end', durationMs: stallMs, atMs: 62_000 + stallMs }] : []),
          ],
        }),
      );
    play('a', 'bola', 4_000_000, 0);
    play('b', 'bola', 2_000_000, 0);
    play('c', 'hlsjs', 1_000_000, 6_000);
    expect(qoe.list().map((s) => [s.session, s.abr])).toEqual(expect.arrayContaining([['a', 'bola'], ['c', 'hlsjs']]));
    const text = await registry.metrics();
    expect(text).toMatch(/^vod_qoe_average_bitrate_bps\{abr="bola"\} 3000000$/m);
    expect(text).toMatch(/^vod_qoe_average_bitrate_bps\{abr="hlsjs"\} 1000000$/m);
    expect(text).toMatch(/^vod_qoe_rebuffer_ratio\{abr="bola"\} 0$/m);
    expect(text).toMatch(new RegExp(`^vod_qoe_rebuffer_ratio\\{abr="hlsjs"\\} ${6 / 66}`, 'm'));
    expect(text).toMatch(/^vod_qoe_play_seconds_total\{abr="bola"\} 120$/m);
    // Names outside the closed set are refused (they would become label values).
    expect(qoeBeaconSchema.safeParse({ session: 's', abr: 'x'.repeat(40), events: [] }).success).toBe(false);
  });
});
