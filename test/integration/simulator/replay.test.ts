/**
 * Live replay against a real edge running a registry policy agrees with the simulator on the
 * same trace, policy and size.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayTrace, startSyntheticOrigin } from '../../../src/simulator/replay.js';
import { simulate } from '../../../src/simulator/simulator.js';
import { TraceBuilder, type Trace } from '../../../src/simulator/trace.js';
import { readTrace } from '../../../src/simulator/trace-readers.js';
import { startEdgeServer } from '../../../src/edge-cache/edge-server.js';
import type { RunningServer } from '../../../src/http/listen.js';

let origin: RunningServer;
let trace: Trace;

beforeAll(async () => {
  origin = await startSyntheticOrigin();
  const full = await readTrace(path.resolve(import.meta.dirname, '../../../../shared/traces/cache/adaptsize_request.csv'));
  const b = new TraceBuilder(4000);
  for (let i = 0; i < 4000; i++) b.add(full.ids[i]!, full.sizes[i]!, full.times[i]!);
  trace = b.build('adaptsize-first-4000');
});

afterAll(async () => {
  await origin?.close();
});

describe('replay against a live edge', () => {
  for (const policy of ['s3fifo', 'sieve', 'lru'] as const) {
    it(`reports the simulator's hit ratio within 1 percentage point (${policy})`, async () => {
      const capacity = Math.floor(trace.uniqueBytes * 0.05);
      const edge = await startEdgeServer({ originUrl: origin.url, cacheBytes: capacity, policy, host: '127.0.0.1', port: 0 });
      try {
        const live = await replayTrace({ edgeUrl: edge.url, trace, ratePerS: 100_000, maxSeconds: 60 });
        expect(live.errors).toBe(0);
        expect(live.requests).toBe(trace.requests);
        const sim = simulate(trace, policy, capacity);
        expect(Math.abs(live.hitRatio - sim.hitRatio)).toBeLessThan(0.01);
        expect(live.hits).toBeGreaterThan(0);
      } finally {
        await edge.close();
      }
    });
  }
});
