/**
 * Shot detection and per-shot CRF zones against the real bundled ffmpeg and x264, on a synthetic
 * master with cuts at known times.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { probePackets, resolveFfmpegPaths, type FfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import { detectCutTimesS, shotsFromCuts, x264ZonesForShots } from '../../../src/encoder/shots.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const run = promisify(execFile);
let paths: FfmpegPaths;
let dir: string;
let master: string;

// Three shots of different pictures, each moving within itself: 0–2 s, 2–3.5 s, 3.5–5 s at 24 fps.
beforeAll(async () => {
  paths = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined });
  dir = await makeTempDir();
  master = path.join(dir, 'cuts.mp4');
  const graph = [
    'testsrc2=s=320x180:r=24:d=2[a]',
    'smptebars=s=320x180:r=24:d=1.5,noise=alls=30:allf=t[b]',
    'mandelbrot=s=320x180:r=24,trim=duration=1.5,setpts=PTS-STARTPTS[c]',
    '[a][b][c]concat=n=3:v=1:a=0,format=yuv420p[v]',
  ].join(';');
  await run(paths.ffmpegPath, ['-v', 'error', '-y', '-filter_complex', graph, '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '18', master]);
});

describe('shot detection', () => {
  it('finds the cuts of a synthetic master within a frame, and no cut inside a moving shot', async () => {
    const cuts = await detectCutTimesS(master, paths);
    expect(cuts).toHaveLength(2);
    expect(cuts[0]!).toBeCloseTo(2.0, 1);
    expect(cuts[1]!).toBeCloseTo(3.5, 1);
    expect(shotsFromCuts(cuts, 24, 120)).toEqual([
      { startFrame: 0, endFrame: 48 },
      { startFrame: 48, endFrame: 84 },
      { startFrame: 84, endFrame: 120 },
    ]);
  });

  it('a file ffmpeg cannot read is one clear FfmpegError', async () => {
    await expect(detectCutTimesS(path.join(dir, 'missing.mp4'), paths)).rejects.toThrow(/could not detect the shots/);
  });

  it('x264 takes the zones: the shot given the lower CRF gets more bits per frame, the frame count is unchanged', async () => {
    const shots = shotsFromCuts(await detectCutTimesS(master, paths), 24, 120);
    const bitsPerFrame = async (crfs: number[]) => {
      const out = path.join(dir, `zoned-${crfs.join('-')}.mp4`);
      await run(paths.ffmpegPath, ['-v', 'error', '-y', '-i', master, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '30', '-x264-params', `zones=${x264ZonesForShots(shots, crfs)}`, out]);
      const packets = (await probePackets(out, paths)).sort((a, b) => a.ptsS - b.ptsS);
      expect(packets).toHaveLength(120);
      return shots.map((s) => packets.slice(s.startFrame, s.endFrame).reduce((a, p) => a + p.sizeBytes * 8, 0) / (s.endFrame - s.startFrame));
    };
    const even = await bitsPerFrame([30, 30, 30]);
    const favoured = await bitsPerFrame([30, 20, 30]);
    expect(favoured[1]!).toBeGreaterThan(1.5 * even[1]!); // −10 CRF: about 3× the bits
    expect(favoured[0]!).toBeLessThan(1.2 * even[0]!);
  });
});
