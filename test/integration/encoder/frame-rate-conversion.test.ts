/**
 * Masters whose frame rate is not the title's output rate — 120 fps (published at 60, Apple's
 * cap), 0.5 fps (a slideshow, published at 1: MIN_OUTPUT_FRAME_RATE), a 59.94 fps master's half-rate rung — encoded
 * the way a measured ladder is (encodeVideoRenditions with the measurement's reference tap):
 * every rendition must have the output rate's frames, and its playlist the master's duration.
 * The bundled 2018 ffmpeg's `-vsync` is a global option: the tap's `-vsync 0` once turned off
 * the frame-rate conversion of every rendition in its process (a 3 s 120 fps master came out
 * with 360 frames and a 6 s playlist; a 20 s 1 fps master with 20 frames and 0.83 s of EXTINF).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { probePackets, resolveFfmpegPaths, runFfmpeg, type FfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import { joinFmp4Rendition, measureMediaPlaylist } from '../../../src/encoder/hls-packager.js';
import { encodeVideoRenditions, MEDIA_PLAYLIST_NAME, type VideoRenditionSpec } from '../../../src/encoder/rendition.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

let paths: FfmpegPaths;
let dir: string;

beforeAll(async () => {
  paths = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined });
  dir = await makeTempDir();
});

async function master(name: string, source: string, extra: string[] = []): Promise<string> {
  const file = path.join(dir, name);
  await runFfmpeg({ inputs: [{ source, format: 'lavfi' }], outputOptions: [...extra, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'], output: file }, paths);
  return file;
}

/** Encodes one 320x180 rung of `masterPath` at `frameRate`, with or without a reference tap beside it; frames, timestamps and playlist. */
async function encode(masterPath: string, frameRate: number, tag: string, tap: boolean) {
  const outDir = path.join(dir, tag, tap ? 'tap' : 'alone');
  const spec: VideoRenditionSpec = { masterPath, outDir, rung: { width: 320, height: 180, bitrateBps: 300_000 }, frameRate, segmentDurationS: 2, x264Preset: 'ultrafast' };
  await fs.mkdir(path.dirname(outDir), { recursive: true });
  const referenceTap = tap ? { filter: `setpts=PTS-STARTPTS,fps=fps=${frameRate},select='not(mod(n\\,7))',scale=320:180`, output: path.join(dir, tag, 'reference.nut') } : undefined;
  await encodeVideoRenditions([spec], paths, referenceTap ? { referenceTap } : {});
  const media = await measureMediaPlaylist(path.join(outDir, MEDIA_PLAYLIST_NAME));
  const joined = path.join(outDir, 'joined.mp4');
  await joinFmp4Rendition(path.join(outDir, MEDIA_PLAYLIST_NAME), media, joined);
  const packets = await probePackets(joined, paths);
  return { media, packets, playlistS: media.segments.reduce((t, s) => t + s.durationS, 0) };
}

describe('frame-rate conversion of a measured ladder encode', () => {
  it.each([
    ['a 120 fps master, published at 60', () => master('hfr.mp4', 'testsrc2=size=640x360:rate=120:duration=3'), 60, 3],
    ['a 0.5 fps slideshow, published at 1 (every picture twice)', () => master('halffps.mp4', 'testsrc2=size=640x360:rate=0.5:duration=8', ['-g', '1']), 1, 8],
    ['a 59.94 fps master, a half-rate rung at 29.97', () => master('ntsc60.mp4', 'testsrc2=size=640x360:rate=60000/1001:duration=6.006'), 30000 / 1001, 6.006],
  ])('%s: the output rate\'s frames and the master\'s duration, with the reference tap as without', async (label, make, frameRate, durationS) => {
    const file = await make();
    const tag = label.split(' ')[1]!;
    for (const tap of [false, true]) {
      const r = await encode(file, frameRate, tag, tap);
      expect(r.packets.length, `${label}, tap ${tap}`).toBe(Math.round(frameRate * durationS));
      expect(Math.abs(r.playlistS - durationS), `${label}, tap ${tap}: ${r.playlistS} s`).toBeLessThan(0.5 / frameRate);
      // Evenly spaced at the output rate.
      const steps = r.packets.map((p) => p.ptsS).sort((a, b) => a - b).slice(1).map((t, i, a) => t - (i === 0 ? r.packets.map((p) => p.ptsS).sort((x, y) => x - y)[0]! : a[i - 1]!));
      expect(Math.max(...steps.map((s) => Math.abs(s - 1 / frameRate))), `${label}, tap ${tap}`).toBeLessThan(0.002);
    }
  }, 120_000);
});
