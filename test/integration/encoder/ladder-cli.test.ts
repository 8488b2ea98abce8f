/**
 * `vod ladder` through the real CLI: analyses a short synthetic master with the shared VMAF
 * model, prints the ladder, writes the SVG plot and the JSON analysis, publishes nothing;
 * bad input and a bad VMAF_MODEL end in one clear sentence.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveFfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import type { LadderAnalysis } from '../../../src/encoder/per-title.js';
import { makeSyntheticMaster } from '../../../fixtures/synthetic-master.js';
import { runCli } from '../../helpers/run-cli.js';
import { listFiles, makeTempDir } from '../../helpers/temp-dir.js';
import { SHARED_VMAF_MODEL as VMAF_MODEL } from '../../helpers/vmaf-model.js';

let dir: string;
let master: string;

beforeAll(async () => {
  const paths = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined });
  dir = await makeTempDir();
  master = await makeSyntheticMaster({ path: path.join(dir, 'clip.mp4'), durationS: 4, width: 640, height: 360 }, paths);
});

describe('vod ladder', () => {
  it('prints the per-title ladder built on VMAF and writes the plot and the analysis, storing nothing', async () => {
    const dataDir = await makeTempDir();
    const plot = path.join(dir, 'out', 'clip.svg');
    const json = path.join(dir, 'out', 'clip.json');
    const r = await runCli(['--data-dir', dataDir, 'ladder', master, '--points', '--plot', plot, '--json', json], { env: { VMAF_MODEL }, timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Per-title ladder \(VMAF\)/);
    expect(r.stdout).toMatch(/RD points/);
    expect(r.stdout).toMatch(/Fixed ladder on the same sample: 2 rungs/);
    const svg = await fs.readFile(plot, 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('convex hull');
    const analysis = JSON.parse(await fs.readFile(json, 'utf8')) as LadderAnalysis;
    expect(analysis.metric).toBe('vmaf');
    expect(analysis.points.length).toBeGreaterThanOrEqual(2);
    for (const p of analysis.points) {
      expect(p.vmaf).toBeGreaterThanOrEqual(0);
      expect(p.vmaf).toBeLessThanOrEqual(100);
      expect(p.quality).toBe(p.vmaf);
    }
    expect(analysis.fixedPoints).toHaveLength(2);
    expect(analysis.settings.vmafModel).toBe('vmaf_v0.6.1.pkl');
    // The coarse-to-fine search by default: the grid's trials it ran are said, out of how many.
    expect(analysis.settings.search).toBe('coarse-to-fine');
    expect(analysis.settings.gridTrials).toBe(analysis.settings.resolutions.length * analysis.settings.crfValues.length);
    const gridRun = analysis.points.filter((p) => analysis.settings.crfValues.includes(p.crf!)).length;
    expect(r.stdout).toContain(`${gridRun} of the grid's ${analysis.settings.gridTrials} trial encodes (coarse-to-fine search)`);
    // How the sample's windows were placed: a 4 s title is scanned whole.
    expect(analysis.sample.placement).toEqual({ by: 'scan', readS: 4 });
    expect(r.stdout).toMatch(/Sample: \d+ window\(s\), [\d.]+ s of 4\.0 s, placed by a complexity scan of the whole title;/);
    expect(await listFiles(dataDir)).toEqual([]);
  });

  it('tries the low resolutions of a 60 fps master at 30 fps too, unless told --no-half-rate', async () => {
    const paths = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined });
    const sixty = await makeSyntheticMaster({ path: path.join(dir, 'sixty.mp4'), durationS: 3, width: 640, height: 360, frameRate: 60, audio: false }, paths);
    const analyse = async (...flags: string[]) => {
      const json = path.join(dir, `sixty${flags.join('')}.json`);
      const r = await runCli(['--data-dir', await makeTempDir(), 'ladder', sixty, '--no-fixed', '--trial-preset', 'ultrafast', '--points', '--json', json, '--plot', json.replace(/\.json$/, '.svg'), ...flags], { env: { VMAF_MODEL: '' }, timeoutMs: 240_000 });
      expect(r.code, r.stderr).toBe(0);
      return { stdout: r.stdout, analysis: JSON.parse(await fs.readFile(json, 'utf8')) as LadderAnalysis };
    };
    const half = await analyse();
    expect(half.analysis.settings.halfFrameRate).toBe(30);
    // Both candidate sizes (360p, 234p) are low enough; the points say which rate they were encoded at.
    expect(new Set(half.analysis.points.filter((p) => p.frameRate === 30).map((p) => p.height))).toEqual(new Set([360, 234]));
    expect(half.stdout).toMatch(/640x360@30/);
    const full = await analyse('--no-half-rate');
    expect(full.analysis.settings.halfFrameRate).toBeUndefined();
    expect(full.analysis.points.every((p) => p.frameRate === undefined)).toBe(true);
  });

  it('refuses a non-video file with one sentence and exit 2', async () => {
    const notes = path.join(dir, 'notes.mp4');
    await fs.writeFile(notes, 'not a video\n'.repeat(50));
    const r = await runCli(['ladder', notes]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^vod: notes\.mp4 is not a media file ffprobe can read/);
  });

  it('refuses a missing VMAF model and a bad --crf list with one sentence', async () => {
    const badModel = await runCli(['ladder', master], { env: { VMAF_MODEL: path.join(dir, 'nope.pkl') } });
    expect(badModel.code).toBe(2);
    expect(badModel.stderr.trim()).toMatch(/^vod: Environment variable VMAF_MODEL is invalid: no such model file/);
    const badCrf = await runCli(['ladder', master, '--crf', '30']);
    expect(badCrf.code).not.toBe(0);
    expect(badCrf.stderr).toMatch(/--crf/);
  });
});
