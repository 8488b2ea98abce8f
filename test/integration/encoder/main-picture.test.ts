/**
 * admitMaster with the real ffmpeg: a master whose picture is not its first video stream is
 * copied with it first (no stream re-encoded or lost, timing kept), into Matroska when its own
 * container cannot be written; a master whose picture is first is taken as it is.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { probe, resolveFfmpegPaths, runFfmpeg, type FfmpegPaths } from '../../../src/encoder/ffmpeg.js';
import { admitMaster } from '../../../src/encoder/master-check.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

let paths: FfmpegPaths;
let dir: string;

beforeAll(async () => {
  paths = resolveFfmpegPaths({ ffmpegPath: undefined, ffprobePath: undefined });
  dir = await makeTempDir();
});

/** A 3 s master: a 96x54 preview track, then (when `previewFirst`) the 320x180 picture starting 0.5 s after the sound, then the sound. */
async function master(file: string, previewFirst: boolean): Promise<string> {
  const preview = { source: 'testsrc=size=96x54:rate=5:duration=3', format: 'lavfi' };
  const picture = { source: 'testsrc2=size=320x180:rate=25:duration=2.5', format: 'lavfi', options: ['-itsoffset', '0.5'] };
  const sound = { source: 'sine=frequency=440:duration=3', format: 'lavfi' };
  const inputs = previewFirst ? [preview, picture, sound] : [picture, preview, sound];
  await runFfmpeg({ inputs, outputOptions: ['-map', '0:v', '-map', '1:v', '-map', '2:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-f', 'matroska'], output: file }, paths);
  return file;
}

describe('admitMaster', () => {
  it('copies a master whose picture is second with it first, in Matroska when its own container is unknown, timing kept', async () => {
    // An extension ffmpeg has no muxer for: the copy falls back to Matroska.
    const file = await master(path.join(dir, 'preview-first.vid'), true);
    const work = await makeTempDir();
    const original = await probe(file, paths);
    const admitted = await admitMaster(file, paths, work);
    expect(admitted.file).toBe(path.join(work, 'preview-first.vid.mkv'));
    expect(admitted.remuxedFromStream).toBe(1);
    expect(admitted.probe.video).toMatchObject({ width: 320, height: 180 });
    expect(admitted.probe.videoStreams).toEqual([{ width: 320, height: 180, attachedPic: false }, { width: 96, height: 54, attachedPic: false }]);
    expect(admitted.probe.audioStreams).toHaveLength(1);
    expect(admitted.probe.durationS).toBeCloseTo(original.durationS, 1);
    // The picture still starts 0.5 s after the sound (the preview started with it, so the
    // original's offset is the preview's, 0; the copy's is the picture's).
    expect(admitted.probe.videoStartOffsetS).toBeGreaterThan(0.45);
    expect(admitted.probe.videoStartOffsetS).toBeLessThan(0.55);
    expect((await fs.stat(file)).size).toBeGreaterThan(0); // the master itself is untouched
  });

  it('takes a master whose picture is first as it is', async () => {
    const file = await master(path.join(dir, 'picture-first.mkv'), false);
    const work = await makeTempDir();
    const admitted = await admitMaster(file, paths, work);
    expect(admitted).toMatchObject({ file });
    expect(admitted.remuxedFromStream).toBeUndefined();
    expect(await fs.readdir(work)).toEqual([]);
  });
});
