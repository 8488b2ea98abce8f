/**
 * `vod bench abr-sim` end to end: a real title published by a real worker, every rule over the
 * shared throughput traces, the table printed and the files written.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSimTitle } from '../../../src/abr/sim-title.js';
import { uploadMaster } from '../../../src/ingest/upload.js';
import { makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { runCli } from '../../helpers/run-cli.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { createTestStack, type TestStack } from '../../helpers/test-stack.js';

let stack: TestStack;
let titleId: string;

beforeAll(async () => {
  stack = await createTestStack({ env: { VOD_X264_PRESET: 'ultrafast' } });
  await stack.startWorker();
  const master = await makeSyntheticMaster({ path: path.join(await makeTempDir(), 'abr.mp4'), durationS: 8, width: 640, height: 360 }, stack.paths);
  titleId = (await uploadMaster({ file: master, title: 'ABR', ladder: 'fixed' }, { store: stack.store, queue: async () => stack.queue, paths: stack.paths })).titleId;
  const final = await stack.queue.waitUntilFinished(titleId, () => {});
  expect(final.state, final.failedReason).toBe('completed');
});

afterAll(async () => {
  await stack?.stop();
});

describe('vod bench abr-sim', () => {
  it('reads the title ladder and real segment sizes from the store', async () => {
    const t = await loadSimTitle(stack.store, titleId);
    expect(t.bitratesBps.length).toBe(2); // 640x360 fixed ladder: 234p and 360p
    expect(t.bitratesBps[0]!).toBeLessThan(t.bitratesBps[1]!);
    expect(t.segmentDurationsS.reduce((a, b) => a + b, 0)).toBeCloseTo(8, 0);
    for (const level of t.segmentBytes) for (const b of level) expect(b).toBeGreaterThan(0);
    expect(t.audioSegmentBytes.every((b) => b > 0)).toBe(true);
  });

  it('runs every rule over every shared trace in seconds and writes the report', async () => {
    const out = await makeTempDir();
    const r = await runCli(['--data-dir', stack.dataDir, 'bench', 'abr-sim', '--title', titleId, '--session', '120', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    for (const rule of ['throughput', 'bola', 'dynamic', 'hlsjs']) expect(r.stdout).toContain(rule);
    const csv = (await fs.readFile(path.join(out, 'abr-sim.csv'), 'utf8')).trim().split('\n');
    const traces = new Set(csv.slice(1).map((l) => l.split(',')[0]));
    expect(traces.size).toBeGreaterThanOrEqual(20);
    expect(csv.length - 1).toBe(traces.size * 4);
    expect((await fs.readFile(path.join(out, 'abr-sim.svg'), 'utf8')).startsWith('<svg')).toBe(true);
    const bad = await runCli(['--data-dir', stack.dataDir, 'bench', 'abr-sim', '--title', titleId, '--rules', 'mpc']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Unknown ABR rule 'mpc'; known: throughput, bola, dynamic, hlsjs/);
  });
});
