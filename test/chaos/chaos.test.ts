/**
 * The short chaos run in CI (test/chaos/chaos-runner.ts): 45 s of faults — the origin, an
 * edge, the worker and Redis killed and restarted, a slowed upstream, a broken disk tier —
 * while two players watch through the steering service and two uploads encode. `npm run chaos`
 * runs the long version. Every check of the runner must hold.
 */
import { describe, expect, it } from 'vitest';
import { formatChaosReport, runChaos } from './chaos-runner.js';

describe('chaos (short run)', () => {
  it('loses no title, finishes every job, keeps players playing and cached objects served while parts die', async () => {
    const report = await runChaos({ durationS: Number(process.env.CHAOS_SECONDS ?? 45), players: 2, faultEveryS: 4, seed: Number(process.env.CHAOS_SEED ?? 7) });
    expect(report.faults.length, formatChaosReport(report)).toBeGreaterThanOrEqual(4);
    expect(report.failures, formatChaosReport(report)).toEqual([]);
  }, 600_000);
});
